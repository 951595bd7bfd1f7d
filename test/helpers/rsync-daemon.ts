// A real rsync daemon for scanner tests: 127.0.0.1 on a free port, one read-only module, optional auth with a
// secrets file. `use chroot = no` and files in its own temp dir, so it runs as any user.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitForPort } from '../../runtime/nginx.ts';
import { freePort } from '../../runtime/ports.ts';

export interface RsyncDaemon {
  port: number;
  module: string;
  /** rsync://[user:password@]127.0.0.1:PORT/MODULE/ */
  url: string;
  logFile: string;
  log(): string;
  stop(): Promise<void>;
}

export interface RsyncDaemonOptions {
  /** Directory the module serves. */
  root: string;
  module?: string;
  auth?: { user: string; password: string };
}

export async function startRsyncDaemon(opts: RsyncDaemonOptions): Promise<RsyncDaemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-rsyncd-'));
  const port = await freePort();
  const module = opts.module ?? 'mirror';
  const logFile = path.join(dir, 'rsyncd.log');
  const lines = [
    'use chroot = no',
    `pid file = ${dir}/rsyncd.pid`,
    `lock file = ${dir}/rsyncd.lock`,
    `log file = ${logFile}`,
    'address = 127.0.0.1',
    // As root the daemon serves as nobody (its default), like nginx's workers: the tree must be world-readable,
    // and a directory made unreadable gives a real listing error.
    ...(process.getuid?.() === 0 ? ['uid = nobody', 'gid = nogroup'] : []),
    `[${module}]`,
    `path = ${opts.root}`,
    'read only = yes',
  ];
  if (opts.auth) {
    const secrets = path.join(dir, 'secrets');
    fs.writeFileSync(secrets, `${opts.auth.user}:${opts.auth.password}\n`, { mode: 0o600 });
    lines.push(`auth users = ${opts.auth.user}`, `secrets file = ${secrets}`);
  }
  const conf = path.join(dir, 'rsyncd.conf');
  fs.writeFileSync(conf, `${lines.join('\n')}\n`);

  const child: ChildProcess = spawn('rsync', ['--daemon', '--no-detach', `--config=${conf}`, `--port=${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: the daemon forks per connection, and stop() must end those too.
    detached: true,
  });
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort('127.0.0.1', port, 10_000),
      exited.then(() => {
        throw new Error(`rsync daemon exited: ${stderr.trim()}`);
      }),
    ]);
  } catch (e) {
    killGroup('SIGKILL');
    process.removeListener('exit', onExit);
    throw e;
  }
  const auth = opts.auth ? `${encodeURIComponent(opts.auth.user)}:${encodeURIComponent(opts.auth.password)}@` : '';
  return {
    port,
    module,
    url: `rsync://${auth}127.0.0.1:${port}/${module}/`,
    logFile,
    log: () => {
      try {
        return fs.readFileSync(logFile, 'utf8');
      } catch {
        return '(no rsync log)';
      }
    },
    async stop() {
      // The whole group, sessions included, whether or not the parent is still there.
      killGroup('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await exited;
      process.removeListener('exit', onExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
