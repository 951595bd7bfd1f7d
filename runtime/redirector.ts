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
  /**
   * Restart a sidecar process that exits by itself (crash, SIGKILL, out of memory): what `npm start` does.
   * Off in tests that kill sidecars on purpose and restart them themselves.
   */
  supervise?: boolean;
  /** Let the sidecar processes run the scheduler (probes, scheduled scans; one of them works). Off by default. */
  scheduler?: boolean;
}

export async function startRedirector(config: Config, opts: RedirectorOptions): Promise<RunningRedirector> {
  const sockets = sidecarSockets(config);
  let configFile = opts.sidecarConfigFile;
  if (!configFile && sockets.length > 1) {
    configFile = path.join(config.varDir, 'run', 'sidecar-config.json');
    writeConfigFile(config, configFile);
  }
  const logFile = (n: number) => path.join(config.varDir, 'log', n === 1 ? 'sidecar.log' : `sidecar-${n}.log`);
  const procs: SidecarProcess[] = [];
  let stopping = false;
  const spawnOne = (n: number, replace = false) =>
    spawnSidecar(configFile!, sockets[n - 1], logFile(n), [
      ...(n === 1 ? [] : ['--instance', String(n)]),
      ...(replace ? ['--replace'] : []),
      ...(opts.scheduler ? [] : ['--no-scheduler']),
    ]);
  const startProcess = async (n: number, replace = false) => {
    const p = await spawnOne(n, replace);
    if (opts.supervise) void p.exited.then(() => onExit(n, p));
    return p;
  };
  /** Supervision: a sidecar that went without being asked is started again, sooner the longer it had run. */
  const restartDelay = new Map<number, number>();
  const onExit = async (n: number, p: SidecarProcess) => {
    if (stopping || procs[n - 1] !== p) return;
    const ranMs = Date.now() - (p.startedAt ?? 0);
    const delay = ranMs > 10_000 ? 200 : Math.min((restartDelay.get(n) ?? 100) * 2, 10_000);
    restartDelay.set(n, delay);
    opts.log?.(`sidecar ${n} (pid ${p.process.pid}) exited (${p.process.signalCode ?? p.process.exitCode}); starting it again in ${delay} ms`);
    await new Promise((r) => setTimeout(r, delay));
    if (stopping || procs[n - 1] !== p) return;
    try {
      procs[n - 1] = await startProcess(n);
      running.sidecarProcess = procs[0];
      opts.log?.(`sidecar ${n} is back (pid ${procs[n - 1].process.pid})`);
    } catch (e) {
      opts.log?.(`sidecar ${n} did not start again: ${(e as Error).message}`);
      void onExit(n, p);
    }
  };
  let closeInProcess: (() => Promise<void>) | null = null;
  try {
    if (configFile) for (let n = 1; n <= sockets.length; n++) procs.push(await startProcess(n));
    else closeInProcess = (await runSidecar(config, { geo: opts.geo, log: opts.log })).close;
  } catch (e) {
    stopping = true;
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
    stopping = true;
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
      stopping = true;
      await nginx.stop();
      await stopSidecar();
    },
  };
  return running;
}
