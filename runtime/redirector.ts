// The serving half of Mirrorlane on one host: the sidecar and a private nginx in front of it.
// `npm start` and the integration tests both start it this way. The sidecar runs in this process, or as its own
// process (`mirrorlane serve`) when a config file is given for it, so that it can be killed and replaced.
import path from 'node:path';
import type { Config } from '../core/config.ts';
import type { GeoIp } from '../core/geoip.ts';
import { writeManagedNginxConfig, type LocalMirrorServer } from '../core/nginx-config.ts';
import { runSidecar } from '../sidecar/server.ts';
import { parseListen, startNginx, type RunningNginx } from './nginx.ts';
import { spawnSidecar, type SidecarProcess } from './sidecar-process.ts';

export interface RunningRedirector {
  nginx: RunningNginx;
  /** Set when the sidecar runs as its own process. */
  sidecarProcess: SidecarProcess | null;
  /** Start the sidecar process again (after it was killed), or a new one; `replace`: take over from the running one. */
  restartSidecar(replace?: boolean): Promise<SidecarProcess>;
  stop(): Promise<void>;
}

export interface RedirectorOptions {
  nginxPrefix: string;
  mirrors?: LocalMirrorServer[];
  geo?: GeoIp;
  log?: (m: string) => void;
  workers?: number | 'auto';
  /** Run the sidecar as `mirrorlane serve --config FILE` instead of in this process. */
  sidecarConfigFile?: string;
}

export async function startRedirector(config: Config, opts: RedirectorOptions): Promise<RunningRedirector> {
  const logFile = path.join(config.varDir, 'log', 'sidecar.log');
  const startProcess = (replace = false) => spawnSidecar(opts.sidecarConfigFile!, config.sidecar.socket, logFile, replace ? ['--replace'] : []);
  let proc: SidecarProcess | null = null;
  let closeInProcess: (() => Promise<void>) | null = null;
  if (opts.sidecarConfigFile) proc = await startProcess();
  else closeInProcess = (await runSidecar(config, { geo: opts.geo, log: opts.log })).close;

  const stopSidecar = async () => {
    if (closeInProcess) await closeInProcess();
    if (proc && proc.process.exitCode === null && proc.process.signalCode === null) {
      proc.process.kill('SIGTERM');
      await proc.exited;
    }
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
    sidecarProcess: proc,
    async restartSidecar(replace = false) {
      if (!opts.sidecarConfigFile) throw new Error('the sidecar runs in this process: nothing to restart');
      proc = await startProcess(replace);
      running.sidecarProcess = proc;
      return proc;
    },
    async stop() {
      await nginx.stop();
      await stopSidecar();
    },
  };
  return running;
}
