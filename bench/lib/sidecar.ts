// The sidecar as its own process for the benchmark: started, stopped and swapped between configurations, and
// optionally under `node --cpu-prof` (a flag NODE_OPTIONS does not accept, so that start spawns node itself).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../core/config.ts';
import { cliEntry, spawnSidecar, waitForPidFile, waitForSocket, type SidecarProcess } from '../../runtime/sidecar-process.ts';

/**
 * `mirrorlane serve --config FILE --instance N`; with `cpuProfileDir` under `node --cpu-prof`, written there when
 * it exits.
 */
export async function startSidecar(configFile: string, socket: string, logFile: string, instance = 1, cpuProfileDir?: string): Promise<SidecarProcess> {
  // No probes or scans from a benchmark's sidecars: they would take its made-up mirrors down.
  const extra = ['--instance', String(instance), '--no-scheduler'];
  if (!cpuProfileDir) return spawnSidecar(configFile, socket, logFile, extra);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir, ...cliEntry(), 'serve', '--config', configFile, ...extra],
    { cwd: PROJECT_ROOT, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitForPidFile(socket, child.pid!).then(() => waitForSocket(socket)),
    exited.then(() => {
      throw new Error(`profiled sidecar exited at start: see ${logFile}`);
    }),
  ]);
  return { process: child, logFile, exited };
}

/**
 * SIGTERM (the sidecar drains and saves its statistics; a profiled one also writes its profile), SIGKILL after
 * `graceMs`; resolves when it is gone, true when it had to be killed.
 */
export async function stopSidecar(p: SidecarProcess | null, graceMs = 15_000): Promise<boolean> {
  if (!p || p.process.exitCode !== null || p.process.signalCode !== null) return false;
  p.process.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    p.process.kill('SIGKILL');
  }, graceMs);
  await p.exited;
  clearTimeout(timer);
  return killed;
}

/** All the sidecars of a config (sidecar.processes), each logging to its own file in logDir; profiles of the first only. */
export async function startSidecars(configFile: string, sockets: string[], logDir: string, cpuProfileDir?: string): Promise<SidecarProcess[]> {
  const procs: SidecarProcess[] = [];
  for (let i = 0; i < sockets.length; i++) {
    const log = path.join(logDir, i === 0 ? 'sidecar.log' : `sidecar-${i + 1}.log`);
    procs.push(await startSidecar(configFile, sockets[i], log, i + 1, i === 0 ? cpuProfileDir : undefined));
  }
  return procs;
}

/** stopSidecar for each; true when one had to be killed. */
export async function stopSidecars(procs: SidecarProcess[], graceMs = 15_000): Promise<boolean> {
  const killed = await Promise.all(procs.map((p) => stopSidecar(p, graceMs)));
  return killed.some(Boolean);
}
