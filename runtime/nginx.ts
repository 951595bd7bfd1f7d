// Runs a private nginx (own prefix, pid, logs, temp paths) in the foreground as a child process.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeStaticNginxConfig, type LocalMirrorServer } from '../core/nginx-config.ts';

const execFileP = promisify(execFile);

export const NGINX_BIN = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p)) ?? 'nginx';

export interface RunningNginx {
  prefix: string;
  process: ChildProcess;
  errorLog: string;
  accessLog: string;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** `nginx -t` on the config: a syntax error in the njs file or the templates shows up here, with nginx's words. */
export async function testNginxConfig(prefix: string): Promise<void> {
  try {
    await execFileP(NGINX_BIN, ['-t', '-q', '-p', prefix, '-c', path.join(prefix, 'conf', 'nginx.conf'), '-e', path.join(prefix, 'logs', 'error.log')]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`nginx rejected its config: ${(err.stderr || err.message).trim()}`);
  }
}

export function waitForPort(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect({ host, port });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Parse "127.0.0.1:8080" / "[::1]:8080" / "8080" into host and port for readiness checks. */
export function parseListen(listen: string): { host: string; port: number } {
  const word = listen.split(/\s+/)[0];
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(word);
  if (m) return { host: m[1] ?? m[2], port: Number(m[3]) };
  if (/^\d+$/.test(word)) return { host: '127.0.0.1', port: Number(word) };
  throw new Error(`cannot read listen address ${listen}`);
}

export async function startNginx(prefix: string, waitFor: { host: string; port: number }[]): Promise<RunningNginx> {
  await testNginxConfig(prefix);
  const errorLog = path.join(prefix, 'logs', 'error.log');
  const child = spawn(NGINX_BIN, ['-p', prefix, '-c', path.join(prefix, 'conf', 'nginx.conf'), '-e', errorLog, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Stopped by whoever started it (stop()), not by a Ctrl-C meant for that process.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await Promise.race([
      Promise.all(waitFor.map((w) => waitForPort(w.host, w.port))),
      exited.then((code) => {
        throw new Error(`nginx exited with ${code}: ${stderr.trim() || 'see ' + errorLog}`);
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    prefix,
    process: child,
    errorLog,
    accessLog: path.join(prefix, 'logs', 'access.log'),
    async reload() {
      await testNginxConfig(prefix);
      child.kill('SIGHUP');
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** An nginx that only serves directories, e.g. local mirrors for tests: listen → root. */
export async function startStaticNginx(prefix: string, servers: LocalMirrorServer[]): Promise<RunningNginx> {
  writeStaticNginxConfig(prefix, servers);
  return startNginx(prefix, servers.map((s) => parseListen(s.listen)));
}
