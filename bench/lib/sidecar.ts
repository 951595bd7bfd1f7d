// The sidecar as its own process for the benchmark: started, stopped and swapped between configurations, and
// optionally under `node --cpu-prof` (a flag NODE_OPTIONS does not accept, so that start spawns node itself).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../core/config.ts';
import { spawnSidecar, waitForPidFile, waitForSocket, type SidecarProcess } from '../../runtime/sidecar-process.ts';

/** `mirrorlane serve --config FILE`; with `cpuProfileDir` under `node --cpu-prof`, written there when it exits. */
export async function startSidecar(configFile: string, socket: string, logFile: string, cpuProfileDir?: string): Promise<SidecarProcess> {
  if (!cpuProfileDir) return spawnSidecar(configFile, socket, logFile);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir, '--import', 'tsx', path.join(PROJECT_ROOT, 'cli', 'main.ts'), 'serve', '--config', configFile],
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

/**
 * Stop one sidecar, then start the next on the same socket. Not `serve --replace`: when the replaced process
 * exits, Node closes its listening handle and libuv unlinks the socket path, which by then is the new
 * sidecar's (measured here; see the Performance section of README.md).
 */
export async function swapSidecar(
  current: SidecarProcess | null,
  configFile: string,
  socket: string,
  logFile: string,
  cpuProfileDir?: string,
): Promise<SidecarProcess> {
  await stopSidecar(current);
  return startSidecar(configFile, socket, logFile, cpuProfileDir);
}
