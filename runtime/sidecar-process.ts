// The sidecar as its own process (`mirrorlane serve`), for setups and tests that kill, restart or replace it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freshCliBundle } from '../bin/cli-bundle.js';
import { PROJECT_ROOT } from '../core/config.ts';
import { sidecarPidFile } from '../sidecar/server.ts';

export interface SidecarProcess {
  process: ChildProcess;
  logFile: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Date.now() when it was spawned. */
  startedAt?: number;
}

/** How to run the CLI with node: the bundle while it is up to date (no tsx per request), else through tsx. */
export function cliEntry(): string[] {
  const bundle = freshCliBundle();
  return bundle ? [bundle] : ['--import', 'tsx', path.join(PROJECT_ROOT, 'cli', 'main.ts')];
}

/** Resolves once something accepts connections on the unix socket. */
export function waitForSocket(socket: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = net.connect(socket);
      c.once('connect', () => {
        c.destroy();
        resolve();
      });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > deadline) reject(new Error(`sidecar socket ${socket} not accepting after ${timeoutMs} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

/** Resolves once the sidecar with this pid has bound the socket (it writes its pid file after binding). */
export function waitForPidFile(socket: string, pid: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      let owner = '';
      try {
        owner = fs.readFileSync(sidecarPidFile(socket), 'utf8').trim();
      } catch {
        /* not written yet */
      }
      if (owner === String(pid)) resolve();
      else if (Date.now() > deadline) reject(new Error(`sidecar ${pid} did not take ${socket} within ${timeoutMs} ms`));
      else setTimeout(check, 25);
    };
    check();
  });
}

/** Start `mirrorlane serve --config FILE`, its output appended to logFile; resolves when it serves the socket. */
export async function spawnSidecar(configFile: string, socket: string, logFile: string, extraArgs: string[] = []): Promise<SidecarProcess> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...cliEntry(), 'serve', '--config', configFile, ...extraArgs], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', out, out],
    // Its own process group: a Ctrl-C in the terminal reaches the process that started it, which stops the
    // sidecars before the database (their last statistics need it).
    detached: true,
  });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitForPidFile(socket, child.pid!).then(() => waitForSocket(socket)),
    exited.then(() => {
      throw new Error(`sidecar exited at start: see ${logFile}`);
    }),
  ]);
  return { process: child, logFile, exited, startedAt };
}
