// The embedded PostgreSQL of `npm start`, run directly from the packaged binaries (runtime/embedded-pg-bin.ts):
// data under varDir/pg, a random password in varDir/pg-password, 127.0.0.1 only. The server runs in its own
// process group, so a Ctrl-C in the terminal reaches the sidecars first and they save their statistics before
// the database stops. When the server dies (or an operator stops it to restart it), it is started again on the
// same port; stop() stops whichever postmaster runs on the data folder.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { embeddedPgBin } from './embedded-pg-bin.ts';
import { freePort } from './ports.ts';
import type { RunningPostgres } from './postgres.ts';

const isRoot = () => process.getuid?.() === 0;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface EmbeddedPostgres extends RunningPostgres {
  dataDir: string;
  binDir: string;
}

interface Ids {
  uid: number;
  gid: number;
}

/** The postgres user (created, as Debian's package would, when missing), or null when not root. */
function serverUser(): Ids | null {
  if (!isRoot()) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** The process id in a postmaster.pid when that process still runs, else null (and a stale file is removed). */
export function livePostmaster(dataDir: string): number | null {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    fs.rmSync(pidFile, { force: true });
    return null;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
  return false;
}

/** Fast shutdown (SIGINT: sessions end, data is flushed), then immediate if it hangs. */
async function stopPostmaster(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  if (await waitGone(pid, 15_000)) return;
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  await waitGone(pid, 5_000);
}

function initdb(bin: string, dataDir: string, password: string, user: Ids | null, logFile: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The password file must be readable by the server's user: a private temp folder handed to it.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-initdb-'));
  const pwFile = path.join(tmp, 'pw');
  fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  if (user) {
    for (const p of [dataDir, tmp, pwFile]) fs.chownSync(p, user.uid, user.gid);
  }
  try {
    execFileSync(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C', '--no-instructions'],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const text = (err.stderr?.toString() || err.message).trim();
    fs.appendFileSync(logFile, `initdb failed:\n${text}\n`);
    const last = text.split('\n').filter(Boolean).pop() ?? '';
    throw new Error(`embedded PostgreSQL: initdb failed (${last}); see ${logFile}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Last meaningful line of the server log, to put in a one-line error. */
function lastLogLine(logFile: string): string {
  try {
    const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
    return (lines.reverse().find((l) => /FATAL|ERROR|PANIC|could not/.test(l)) ?? lines[0] ?? '').trim();
  } catch {
    return '';
  }
}

export async function startEmbedded(varDir: string, log: (line: string) => void): Promise<EmbeddedPostgres> {
  const user = serverUser();
  const bin = embeddedPgBin(log, user !== null);
  const dataDir = path.join(varDir, 'pg');
  const pwFile = path.join(varDir, 'pg-password');
  const logFile = path.join(varDir, 'log', 'postgres.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (fresh) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.writeFileSync(pwFile, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
    log('initialising the embedded PostgreSQL under ' + dataDir);
    initdb(bin, dataDir, fs.readFileSync(pwFile, 'utf8').trim(), user, logFile);
  } else {
    // A server left by an earlier run that was killed outright: stop it, or this start cannot use the data.
    const orphan = livePostmaster(dataDir);
    if (orphan !== null) {
      log(`stopping a PostgreSQL left running by an earlier start (pid ${orphan})`);
      await stopPostmaster(orphan);
    }
  }
  const password = fs.readFileSync(pwFile, 'utf8').trim();
  const port = await freePort();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  let child: ChildProcess | null = null;
  let stopping = false;
  const launch = async (): Promise<void> => {
    const out = fs.openSync(logFile, 'a');
    if (user) fs.fchownSync(out, user.uid, user.gid);
    const proc = spawn(
      path.join(bin, 'postgres'),
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=100'],
      { stdio: ['ignore', out, out], detached: true, ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
    fs.closeSync(out);
    child = proc;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.once('exit', (code, signal) => {
      if (stopping || child !== proc) return;
      log(`embedded PostgreSQL exited (${signal ?? code}); starting it again on port ${port}`);
      void restartLater();
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`embedded PostgreSQL did not start: ${lastLogLine(logFile) || 'no reason logged'}; see ${logFile}`);
      }
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      try {
        await c.connect();
        await c.end();
        return;
      } catch (e) {
        await c.end().catch(() => {});
        const code = (e as { code?: string }).code;
        // 57P03: starting up; ECONNREFUSED: not listening yet.
        if (Date.now() > deadline) throw new Error(`embedded PostgreSQL did not accept connections within 60 s (${code ?? e}); see ${logFile}`);
        await Promise.race([exited, sleep(100)]);
      }
    }
  };
  const restartLater = async () => {
    // Someone may have started it again already (pg_ctl restart): wait for that postmaster to go first.
    for (let i = 0; i < 50 && !stopping; i++) {
      const other = livePostmaster(dataDir);
      if (other === null) break;
      await sleep(200);
    }
    if (stopping || livePostmaster(dataDir) !== null) return;
    try {
      await launch();
      log('embedded PostgreSQL is back');
    } catch (e) {
      log((e as Error).message);
      if (!stopping) setTimeout(() => void restartLater(), 2000);
    }
  };
  await launch();

  if (fresh) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE DATABASE mirrorlane');
    await client.end();
  }
  return {
    url: url.replace(/\/postgres$/, '/mirrorlane'),
    logFile,
    dataDir,
    binDir: bin,
    async stop() {
      stopping = true;
      const pid = livePostmaster(dataDir) ?? child?.pid ?? null;
      if (pid !== null) await stopPostmaster(pid);
    },
  };
}
