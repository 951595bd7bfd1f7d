// The serving half of Mirrorlane on one host: the sidecar and a private nginx in front of it.
// `npm start` and the integration tests both start it this way. The sidecar runs in this process, or as its own
// process (`mirrorlane serve`) when a config file is given for it, so that it can be killed and replaced.
import path from 'node:path';
import { sidecarSockets, writeConfigFile, type Config } from '../core/config.ts';
import type { GeoIp } from '../core/geoip.ts';
import { writeManagedNginxConfig, type LocalMirrorServer } from '../core/nginx-config.ts';
import { runSidecar } from '../sidecar/server.ts';
import { parseListen, startNginx, type RunningNginx } from './nginx.ts';
import { spawnSidecar, type SidecarProcess } from './sidecar-process.ts';

export interface RunningRedirector {
  nginx: RunningNginx;
  /** Set when the sidecar runs as its own process: the first one (sidecar.socket). */
  sidecarProcess: SidecarProcess | null;
  /** All sidecar processes, by instance (index 0 = instance 1); empty when the sidecar runs in this process. */
  sidecarProcesses: SidecarProcess[];
  /**
   * Start sidecar process `instance` (default 1) again (after it was killed), or a new one; `replace`: take over
   * from the running one.
   */
  restartSidecar(replace?: boolean, instance?: number): Promise<SidecarProcess>;
  stop(): Promise<void>;
}

export interface RedirectorOptions {
  nginxPrefix: string;
  mirrors?: LocalMirrorServer[];
  geo?: GeoIp;
  log?: (m: string) => void;
  workers?: number | 'auto';
  /**
   * Run the sidecar as `mirrorlane serve --config FILE` instead of in this process. With sidecar.processes > 1
   * they always run as processes, from this file or from the config written under varDir/run.
   */
  sidecarConfigFile?: string;
}

export async function startRedirector(config: Config, opts: RedirectorOptions): Promise<RunningRedirector> {
  const sockets = sidecarSockets(config);
  let configFile = opts.sidecarConfigFile;
  if (!configFile && sockets.length > 1) {
    configFile = path.join(config.varDir, 'run', 'sidecar-config.json');
    writeConfigFile(config, configFile);
  }
  const logFile = (n: number) => path.join(config.varDir, 'log', n === 1 ? 'sidecar.log' : `sidecar-${n}.log`);
  const startProcess = (n: number, replace = false) =>
    spawnSidecar(configFile!, sockets[n - 1], logFile(n), [...(n === 1 ? [] : ['--instance', String(n)]), ...(replace ? ['--replace'] : [])]);
  const procs: SidecarProcess[] = [];
  let closeInProcess: (() => Promise<void>) | null = null;
  try {
    if (configFile) for (let n = 1; n <= sockets.length; n++) procs.push(await startProcess(n));
    else closeInProcess = (await runSidecar(config, { geo: opts.geo, log: opts.log })).close;
  } catch (e) {
    for (const p of procs) p.process.kill('SIGTERM');
    throw e;
  }

  const stopSidecar = async () => {
    if (closeInProcess) await closeInProcess();
    await Promise.all(
      procs.map(async (p) => {
        if (p.process.exitCode === null && p.process.signalCode === null) {
          p.process.kill('SIGTERM');
          await p.exited;
        }
      }),
    );
  };
  let nginx: RunningNginx;
  try {
    writeManagedNginxConfig(config, { prefix: opts.nginxPrefix, listen: config.nginx.listen, mirrors: opts.mirrors, workers: opts.workers });
    const ports = [...config.nginx.listen, ...(opts.mirrors ?? []).map((m) => m.listen)].map(parseListen);
    nginx = await startNginx(opts.nginxPrefix, ports);
  } catch (e) {
    await stopSidecar();
    throw e;
  }
  const running: RunningRedirector = {
    nginx,
    sidecarProcess: procs[0] ?? null,
    sidecarProcesses: procs,
    async restartSidecar(replace = false, instance = 1) {
      if (!configFile) throw new Error('the sidecar runs in this process: nothing to restart');
      const p = await startProcess(instance, replace);
      procs[instance - 1] = p;
      running.sidecarProcess = procs[0];
      return p;
    },
    async stop() {
      await nginx.stop();
      await stopSidecar();
    },
  };
  return running;
}
