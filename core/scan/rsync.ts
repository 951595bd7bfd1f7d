// Listing a mirror over rsync: Debian's rsync client in --list-only mode, its output parsed line by line as it
// streams. rsync reports exact sizes and second-precise mtimes as Unix times (printed in the client's TZ, so the
// client always runs with TZ=UTC): no refinement and no timezone fix are needed.
import { spawn } from 'node:child_process';
import type { ListedFile } from './types.ts';

export type RsyncEntry =
  | { kind: 'file'; path: string; size: number; mtime: number }
  /** Directory, symlink, device, FIFO or socket: not a file a client could download. */
  | { kind: 'other'; type: string; path: string };

export class RsyncListError extends Error {}

// "-rw-r--r--        1234 2023/06/07 08:09:10 sub/b c.tar.gz": type + 9 permission characters (an ACL/xattr
// marker may follow), the size right-aligned in at least 11 columns, date, time, ONE space, then the name, which may
// itself start with or contain spaces.
const LINE = /^([-dlpscbD])[-rwxsStTlL]{9}[.+@]?\s+(\d+) (\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) (.+)$/;

/**
 * rsync prints bytes it considers unprintable as "\#ooo" (octal), and a literal backslash that would read as such
 * an escape as "\#134": undoing the escapes gives the raw bytes of the name, which are UTF-8 on any sane mirror.
 * `line` must hold the output bytes one char per byte (latin1).
 */
function decodeName(raw: string): string {
  const bytes = raw.replace(/\\#([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8) & 0xff));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/**
 * One line of `TZ=UTC rsync --list-only -r --no-h` output (bytes as latin1 chars, see decodeName). Throws on a line
 * of any other shape, naming it: a listing we cannot read entirely must not pass for a short one.
 */
export function parseRsyncListLine(line: string): RsyncEntry {
  const m = LINE.exec(line);
  if (!m) throw new RsyncListError(`unexpected rsync output line: ${JSON.stringify(line)}`);
  const [, type, size, y, mo, d, h, mi, s, rawName] = m;
  const path = decodeName(rawName);
  if (type !== '-') return { kind: 'other', type, path };
  const mtime = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) / 1000;
  const n = Number(size);
  if (!Number.isSafeInteger(n) || Number.isNaN(mtime)) throw new RsyncListError(`unreadable size or date in rsync output line: ${JSON.stringify(line)}`);
  return { kind: 'file', path, size: n, mtime };
}

export interface RsyncTarget {
  /** rsync://[user@]host[:port]/module/path/ without the password: safe to show and to put on a command line. */
  url: string;
  /** Percent-decoded; '' when the URL has none (rsync then never prompts). */
  password: string;
}

/**
 * Split a mirror's rsync URL ("rsync://user:pass@host/module/path/") into the URL for the command line and the
 * password, and append the subtree (an origin path such as "/pub/iso", or "" for everything).
 */
export function rsyncTarget(baseUrl: string, subtree = ''): RsyncTarget {
  const m = /^rsync:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)(\/.*)?$/i.exec(baseUrl.trim());
  if (!m) throw new RsyncListError(`not an rsync URL: ${redactRsyncUrl(baseUrl)}`);
  const [, user, pass, hostPort, rawPath] = m;
  let path = rawPath ?? '/';
  if (!path.endsWith('/')) path += '/';
  const sub = subtree.replace(/^\/+|\/+$/g, '');
  if (sub) path += `${sub}/`;
  let password = '';
  try {
    password = pass ? decodeURIComponent(pass) : '';
  } catch {
    password = pass ?? '';
  }
  return { url: `rsync://${user ? `${user}@` : ''}${hostPort}${path}`, password };
}

/** The URL with its password replaced, for messages. */
export function redactRsyncUrl(url: string): string {
  return url.replace(/^(rsync:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

const EXIT_MEANING: Record<number, string> = {
  1: 'syntax or usage error',
  2: 'protocol incompatibility',
  3: 'errors selecting input/output files, dirs',
  5: 'error starting client-server protocol (refused, unknown module or failed auth)',
  10: 'error in socket I/O',
  12: 'error in rsync protocol data stream',
  23: 'partial transfer due to error',
  24: 'partial transfer due to vanished source files',
  30: 'timeout in data send/receive',
  35: 'timeout waiting for daemon connection',
};

/** Symlinks resolved per listing at most (one short rsync run each). */
const MAX_LINKS = 1000;

/**
 * What one path is once its links are followed (`rsync --list-only -L`, no -r): the file's size and mtime, or null
 * for a directory, a broken link or an error. Its own process group, killed whole after `timeoutMs`.
 */
function statLink(url: string, env: NodeJS.ProcessEnv, timeoutMs: number, bin: string, ioTimeoutS: number, signal?: AbortSignal): Promise<{ size: number; mtime: number } | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--list-only', '-L', '--no-h', '--no-motd', `--timeout=${ioTimeoutS}`, `--contimeout=${Math.min(ioTimeoutS, 60)}`, url], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    let out = '';
    let cut: string | null = null;
    const kill = (why: string) => {
      cut = why;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      child.stdout.destroy();
    };
    const timer = setTimeout(() => kill(`rsync listing timed out after ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const onAbort = () => kill('rsync listing aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (d: string) => {
      if (out.length < 4096) out += d;
    });
    child.stdout.on('error', () => {});
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new RsyncListError(`cannot run rsync: ${e.message}`));
    });
    // 'close', not 'exit': all of the output is read by then (the kill above also closes the pipe).
    child.once('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      if (cut) return reject(new RsyncListError(cut));
      const line = out.split('\n')[0];
      if (code !== 0 || !line) return resolve(null);
      try {
        const e = parseRsyncListLine(line);
        resolve(e.kind === 'file' ? { size: e.size, mtime: e.mtime } : null);
      } catch {
        resolve(null);
      }
    });
  });
}

export interface RsyncListOptions {
  /** Origin path of the directory to list ("/pub/iso"); "" or undefined for the whole mirror. */
  subtree?: string;
  /** Kill rsync after this long (the listing then fails). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** rsync binary; tests may point elsewhere. */
  rsyncBin?: string;
}

/**
 * Stream the files of an rsync mirror. Paths are origin paths ("/pub/x.iso"). The iterator throws, after the last
 * file it could read, when rsync exits non-zero, is killed by the timeout or prints a line it cannot parse: the
 * consumer (applyMirrorListing) then rolls back instead of taking a truncated listing for the truth.
 */
export async function* listRsync(baseUrl: string, opts: RsyncListOptions): AsyncGenerator<ListedFile> {
  const started = Date.now();
  const target = rsyncTarget(baseUrl, opts.subtree);
  const prefix = `/${(opts.subtree ?? '').replace(/^\/+|\/+$/g, '')}`.replace(/\/$/, '');
  const ioTimeoutS = Math.max(5, Math.ceil(opts.timeoutMs / 1000));
  const args = ['--list-only', '-r', '--no-h', '--no-motd', `--timeout=${ioTimeoutS}`, `--contimeout=${Math.min(ioTimeoutS, 60)}`, target.url];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    // Times are printed in the client's zone; C locale keeps the output format fixed.
    TZ: 'UTC',
    LC_ALL: 'C',
    // Always set, even empty: without it rsync would prompt on the terminal for a module that wants a password.
    RSYNC_PASSWORD: target.password,
  };
  if (process.env.RSYNC_PROXY) env.RSYNC_PROXY = process.env.RSYNC_PROXY;

  // Its own process group: rsync forks, and a child left behind would hold the pipe open (the listing would never
  // end) and outlive the scan. Killing the group ends them all.
  const child = spawn(opts.rsyncBin ?? 'rsync', args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    // A process that left the group could still hold the pipes: stop reading them.
    child.stdout.destroy();
    child.stderr.destroy();
  };
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 16_384) stderr += d;
  });
  let spawnError: Error | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      spawnError = e;
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, opts.timeoutMs);
  const onAbort = () => {
    aborted = true;
    killGroup();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  let lineNo = 0;
  const links: string[] = [];
  const handle = (raw: Buffer): ListedFile | null => {
    lineNo++;
    const line = raw.toString('latin1');
    if (line === '') return null;
    let entry: RsyncEntry;
    try {
      entry = parseRsyncListLine(line);
    } catch (e) {
      throw new RsyncListError(`line ${lineNo}: ${(e as Error).message}`);
    }
    if (entry.kind === 'other' && entry.type === 'l') links.push(entry.path);
    if (entry.kind !== 'file') return null;
    return { path: `${prefix}/${entry.path}`, size: entry.size, mtime: entry.mtime };
  };

  try {
    let rest = Buffer.alloc(0);
    const cut = () => {
      if (timedOut) return new RsyncListError(`rsync listing timed out after ${Math.round(opts.timeoutMs / 1000)} s`);
      if (aborted) return new RsyncListError('rsync listing aborted');
      return null;
    };
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        let nl: number;
        while ((nl = buf.indexOf(0x0a)) >= 0) {
          const file = handle(buf.subarray(0, nl));
          buf = buf.subarray(nl + 1);
          if (file) yield file;
        }
        rest = Buffer.from(buf);
      }
    } catch (e) {
      // The pipe destroyed by the timeout or an abort ends the loop with a stream error: say why instead.
      throw cut() ?? e;
    }
    const { code, signal } = await exited;
    if (spawnError) throw new RsyncListError(`cannot run rsync: ${(spawnError as Error).message}`);
    const early = cut();
    if (early) throw early;
    if (code !== 0) {
      const why = code !== null ? `exit code ${code}${EXIT_MEANING[code] ? ` (${EXIT_MEANING[code]})` : ''}` : `signal ${signal}`;
      const last = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ');
      throw new RsyncListError(`rsync ${redactRsyncUrl(target.url)} failed: ${why}${last ? `: ${last}` : ''}`);
    }
    // rsync ends every line with a newline; a last line without one is read like the others (a broken one throws).
    if (rest.length) {
      const file = handle(rest);
      if (file) yield file;
    }
    // Symlinks: a link to a file counts as that file, as over HTTP and FTP. Resolved one by one without -r, so a
    // link to a directory (or a loop) is never walked: `-r --copy-links` on a tree with `again -> .` grew for ever.
    for (const link of links.slice(0, MAX_LINKS)) {
      // The daemon expands wildcards in source paths: such names are left out rather than misread.
      if (/[*?[\\]/.test(link)) continue;
      const left = opts.timeoutMs - (Date.now() - started);
      if (left <= 0) throw new RsyncListError(`rsync listing timed out after ${Math.round(opts.timeoutMs / 1000)} s`);
      const f = await statLink(target.url + link, env, left, opts.rsyncBin ?? 'rsync', ioTimeoutS, opts.signal);
      if (f) yield { path: `${prefix}/${link}`, size: f.size, mtime: f.mtime };
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    // The consumer stopped early or threw, or rsync exited and left a child: leave nothing behind.
    killGroup();
  }
}
