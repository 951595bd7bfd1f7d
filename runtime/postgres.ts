// Starting a real PostgreSQL: Debian's server in a private temp cluster (tests). The embedded server of
// `npm start` is in embedded-pg.ts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';

export interface RunningPostgres {
  url: string;
  /** The same server over its unix socket, when it has one (cheaper per query than TCP on the same host). */
  socketUrl?: string;
  logFile: string;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/** The newest Debian PostgreSQL server binaries, or null. */
export function debianPgBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return null;
  const versions = fs
    .readdirSync(base)
    .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : null;
}

/** Run a command as the postgres user when we are root (PostgreSQL refuses root). */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/**
 * A throw-away cluster in a temp folder, tuned for tests (no fsync). Listens on 127.0.0.1 and a socket in its
 * own folder only.
 */
export async function startTempCluster(): Promise<RunningPostgres> {
  const bin = debianPgBin();
  if (!bin) throw new Error('PostgreSQL server not found under /usr/lib/postgresql: apt-get install postgresql');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (isRoot()) execFileSync('chown', ['postgres:postgres', dir]);
  const [initCmd, initArgs] = asPostgres(path.join(bin, 'initdb'), [
    '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'pipe' });
  const port = await freePort();
  const [ctlCmd, ctlArgs] = asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-o', tempClusterOptions(port, dir), 'start']);
  execFileSync(ctlCmd, ctlArgs, { stdio: 'pipe' });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    socketUrl: `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    logFile,
    async stop() {
      const [c, a] = asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      try {
        execFileSync(c, a, { stdio: 'pipe' });
      } catch {
        /* already stopped */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The server options of a throw-away cluster (also given to a test replica, so that pgCtl restarts it alike). */
export function tempClusterOptions(port: number | string, dir: string): string {
  return `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
}

/** Restart helper for tests that take the database down and bring it back (same port, same data). */
export function pgCtl(cluster: RunningPostgres, action: 'stop' | 'start'): void {
  const bin = debianPgBin()!;
  const dir = path.dirname(cluster.logFile);
  const data = path.join(dir, 'data');
  const args =
    action === 'stop'
      ? ['-D', data, '-m', 'fast', '-w', 'stop']
      : ['-D', data, '-l', cluster.logFile, '-w', '-o', tempClusterOptions(new URL(cluster.url).port, dir), 'start'];
  const [c, a] = asPostgres(path.join(bin, 'pg_ctl'), args);
  execFileSync(c, a, { stdio: 'pipe' });
}
