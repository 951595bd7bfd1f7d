// Listing a mirror over FTP with basic-ftp. LIST everywhere (vsftpd and many mirrors have no MLSD): sizes are
// exact, times are coarse ("Jun 07 2023": a day; "Nov 22 05:08": a minute) and, on misconfigured servers, in local
// time. Exact times come from MDTM, one round trip per file, so the policy is (see refine.ts):
//
//   1. LIST the whole tree, directory by directory (CWD + LIST: vsftpd answers a LIST of a missing path with an
//      empty listing, CWD fails loudly).
//   2. Timezone sample (config scan.tzDetection): up to 100 files spread over the tree that the origin has with the
//      same size get an MDTM; detectTzOffset() on (origin, MDTM) pairs gives the server's constant clock error.
//      When the sample cannot decide (fewer than 3 files, e.g. a small subtree; no 90 % majority, e.g. a mirror in
//      the middle of its sync), the offset found by an earlier scan stays in force.
//   3. Every other file that may be a current copy (same size, listed time within its precision, outdated
//      allowance and ±14 h of the origin's) gets an MDTM; the rest keep their listed time.
//   4. All mtimes are corrected by the offset (ListedFile.mtime is UTC).
//
// MDTMs run over up to `connections` control connections in parallel (fewer if the server refuses more).
import { Client, FileType, parseList, type FileInfo } from 'basic-ftp';
import type { OriginFile, OutdatedRule } from '../file-currency.ts';
import { runLimited } from './limit.ts';
import { refineListing, type ExactValues, type OriginLookup, type RoughFile } from './refine.ts';
import { detectTzOffset, spreadSample } from './tz-offset.ts';
import type { ListedFile } from './types.ts';

export class FtpListError extends Error {}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_S = 86400;

/** A listed time as a range: [start, start + span) in Unix seconds, read as UTC. */
export interface TimeRange {
  start: number;
  span: number;
}

/**
 * The time column of a LIST line as basic-ftp reports it (rawModifiedAt), read as UTC:
 * "Jun 07 2023" (a day), "Nov 22 05:08" (a minute in the year that puts it at most six months back from `nowS`,
 * or a day ahead: servers print the year for anything older or in the future), and DOS "06-07-23 08:09AM".
 * null when unreadable.
 */
export function parseFtpListTime(raw: string, nowS: number): TimeRange | null {
  const s = raw.trim().replace(/\s+/g, ' ');
  let m = /^([A-Za-z]{3}) (\d{1,2}) (\d{4})$/.exec(s);
  if (m) {
    const mon = MONTHS.indexOf(m[1].toLowerCase());
    if (mon < 0) return null;
    return { start: Date.UTC(+m[3], mon, +m[2]) / 1000, span: DAY_S };
  }
  m = /^([A-Za-z]{3}) (\d{1,2}) (\d{1,2}):(\d{2})$/.exec(s);
  if (m) {
    const mon = MONTHS.indexOf(m[1].toLowerCase());
    if (mon < 0) return null;
    const year = new Date(nowS * 1000).getUTCFullYear();
    let start = Date.UTC(year, mon, +m[2], +m[3], +m[4]) / 1000;
    // Two days of grace: the server's clock zone may be up to 14 h ahead of ours.
    if (start > nowS + 2 * DAY_S) start = Date.UTC(year - 1, mon, +m[2], +m[3], +m[4]) / 1000;
    return { start, span: 60 };
  }
  m = /^(\d{2})-(\d{2})-(\d{2}|\d{4}) (\d{1,2}):(\d{2}) ?([AP]M)$/i.exec(s);
  if (m) {
    let year = +m[3];
    if (m[3].length === 2) year += year < 70 ? 2000 : 1900;
    let hour = +m[4] % 12;
    if (m[6].toUpperCase() === 'PM') hour += 12;
    return { start: Date.UTC(year, +m[1] - 1, +m[2], hour, +m[5]) / 1000, span: 60 };
  }
  return null;
}

/**
 * basic-ftp's parseList drops lines it cannot read and calls device files "File"; a dropped line would make the
 * listing silently short. This parses line by line, skips "." "..", special files and the "total" line, and throws
 * on anything unreadable.
 */
export function parseFtpListStrict(raw: string): FileInfo[] {
  const out: FileInfo[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line.trim() === '' || /^total\s+\d+\s*$/i.test(line)) continue;
    let parsed: FileInfo[];
    try {
      parsed = parseList(line);
    } catch {
      parsed = [];
    }
    if (parsed.length === 0) {
      if (/\s\.\.?$/.test(line)) continue; // "." and ".." entries
      throw new FtpListError(`unreadable LIST line: ${JSON.stringify(line)}`);
    }
    const info = parsed[0];
    const typeChar = /^[\s\d]*(\S)/.exec(line)?.[1] ?? '';
    if (info.type === FileType.File && 'bcps'.includes(typeChar)) continue;
    out.push(info);
  }
  return out;
}

/** A success reply to LIST that admits failure ("226 Transfer done (but failed to open directory)."), or null. */
export function listReplyFailure(replies: readonly string[]): string | null {
  for (const chunk of replies) {
    for (const line of chunk.split(/\r?\n/)) {
      if (/^2\d\d[ -]/.test(line) && /\bfail|\berror|denied/i.test(line)) return line.trim();
    }
  }
  return null;
}

export interface FtpTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Path segments below the login directory (RFC 1738: an FTP URL path is relative to it). */
  segments: string[];
}

/** ftp://[user[:pass]@]host[:port]/path/ → connection data; anonymous when the URL names no user. */
export function ftpTarget(baseUrl: string): FtpTarget {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new FtpListError(`not an FTP URL: ${redactFtpUrl(baseUrl)}`);
  }
  if (u.protocol !== 'ftp:') throw new FtpListError(`not an FTP URL: ${redactFtpUrl(baseUrl)}`);
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 21,
    user: u.username ? dec(u.username) : 'anonymous',
    password: u.username ? dec(u.password) : 'mirrorlane@',
    segments: u.pathname.split('/').filter((s) => s !== '').map(dec),
  };
}

export function redactFtpUrl(url: string): string {
  return url.replace(/^(ftp:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

export interface FtpListOptions {
  /** Origin path of the directory to list ("/pub/iso"); "" or undefined for everything. */
  subtree?: string;
  /** Per-command timeout (basic-ftp's socket timeout), ms. */
  requestTimeoutMs: number;
  /** Aborting closes every connection; the listing then throws. */
  signal?: AbortSignal;
  origin: OriginLookup;
  rules: readonly OutdatedRule[];
  /** Detect and correct a constant clock-zone error (config scan.tzDetection). */
  tzDetection: boolean;
  /** The offset detected by an earlier scan: used when this one's sample cannot decide. */
  previousTzOffsetMs?: number;
  /** Files in the timezone sample. */
  sampleSize?: number;
  /** Parallel control connections for MDTM. */
  connections?: number;
  /** Listing bigger than this is an error, not a truncation. */
  maxFiles?: number;
  /** "Now" for year inference of "Nov 22 05:08" times, Unix seconds. */
  nowS?: number;
}

export interface FtpListing {
  /** Exact where it matters, mtimes corrected by tzOffsetMs. */
  files: ListedFile[];
  /** Clock error of the server (mirror − origin) the mtimes were corrected by; 0 without detection. */
  tzOffsetMs: number;
  /** Whether this scan's sample decided tzOffsetMs (else it is previousTzOffsetMs, or 0 without detection). */
  tzDecided: boolean;
  /** Files in the timezone sample. */
  sample: number;
  /** MDTM commands sent. */
  mdtm: number;
  directories: number;
}

function isNotFound(e: unknown): boolean {
  return (e as { code?: unknown }).code === 550;
}

/** List an FTP mirror (see the policy at the top of this file). Throws on any failure: never a short listing. */
export async function listFtp(baseUrl: string, opts: FtpListOptions): Promise<FtpListing> {
  const target = ftpTarget(baseUrl);
  const subSegments = (opts.subtree ?? '').split('/').filter((s) => s !== '');
  const maxFiles = opts.maxFiles ?? 5_000_000;
  const nowS = opts.nowS ?? Date.now() / 1000;
  const clients: Client[] = [];
  const where = `${target.host}:${target.port}`;

  // The control replies of the listing connection: vsftpd answers a LIST of a directory it cannot read with an
  // empty listing and "226 Transfer done (but failed to open directory)", which must not pass for an empty
  // directory. basic-ftp only shows replies to its logger.
  const replies: string[] = [];
  let capturing = false;
  const open = async (): Promise<Client> => {
    const c = new Client(opts.requestTimeoutMs);
    c.parseList = parseFtpListStrict;
    if (!clients.length) {
      c.ftp.log = (m: string) => {
        if (capturing && m.startsWith('< ')) replies.push(m.slice(2));
      };
    }
    clients.push(c);
    await c.access({ host: target.host, port: target.port, user: target.user, password: target.password });
    return c;
  };
  const onAbort = () => clients.forEach((c) => c.close());
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const fail = (e: unknown, what: string): never => {
    if (opts.signal?.aborted) throw new FtpListError(`FTP ${where}: ${what} aborted: ${reasonText(opts.signal.reason)}`);
    if (e instanceof FtpListError) throw new FtpListError(`FTP ${where}: ${what}: ${e.message}`);
    throw new FtpListError(`FTP ${where}: ${what}: ${(e as Error).message ?? String(e)}`);
  };

  try {
    opts.signal?.throwIfAborted();
    let main: Client;
    try {
      main = await open();
    } catch (e) {
      return fail(e, 'cannot log in');
    }
    const home = await main.pwd().catch((e) => fail(e, 'PWD'));
    const absOf = (rel: string[]) => (home.endsWith('/') ? home : `${home}/`) + rel.join('/');

    // 1. The tree, breadth first.
    const rough: RoughFile[] = [];
    const links: string[][] = [];
    const queue: string[][] = [subSegments];
    let directories = 0;
    while (queue.length) {
      const rel = queue.shift()!;
      const abs = absOf([...target.segments, ...rel]);
      let list: FileInfo[];
      try {
        await main.cd(abs);
        replies.length = 0;
        capturing = true;
        list = await main.list();
      } catch (e) {
        return fail(e, `listing ${abs}`);
      } finally {
        capturing = false;
      }
      const failed = listReplyFailure(replies);
      if (failed) return fail(new FtpListError(`server says: ${failed}`), `listing ${abs}`);
      directories++;
      for (const f of list) {
        if (f.name === '.' || f.name === '..' || f.name.includes('/')) continue;
        if (f.type === FileType.Directory) {
          queue.push([...rel, f.name]);
        } else if (f.type === FileType.File) {
          const range = parseFtpListTime(f.rawModifiedAt, nowS);
          if (!range) return fail(new FtpListError(`unreadable time ${JSON.stringify(f.rawModifiedAt)} of ${f.name}`), `listing ${abs}`);
          rough.push({ path: `/${[...rel, f.name].join('/')}`, size: f.size, sizeSlack: 0, mtime: range.start, mtimeSpan: range.span });
          if (rough.length > maxFiles) throw new FtpListError(`FTP ${where}: more than ${maxFiles} files: listing refused`);
        }
        else if (f.type === FileType.SymbolicLink) links.push([...rel, f.name]);
        // Unknown types are skipped.
      }
    }

    // Symlinks: one to a file counts as that file (SIZE and MDTM follow the link on the server), as over HTTP and
    // rsync. Never walked as directories: following links into directories invites loops.
    for (const rel of links.slice(0, 1000)) {
      const abs = absOf([...target.segments, ...rel]);
      let size: number;
      try {
        size = await main.size(abs);
      } catch (e) {
        if (opts.signal?.aborted) return fail(e, `SIZE ${abs}`);
        continue; // a directory or a broken link: 550
      }
      let mtime: number;
      try {
        mtime = (await main.lastMod(abs)).getTime() / 1000;
      } catch (e) {
        if (opts.signal?.aborted) return fail(e, `MDTM ${abs}`);
        continue;
      }
      if (!Number.isFinite(mtime)) continue;
      rough.push({ path: `/${rel.join('/')}`, size, sizeSlack: 0, mtime, mtimeSpan: 1 });
    }

    // The origin rows of the listed paths, fetched once.
    const origin = new Map<string, OriginFile>();
    for (let i = 0; i < rough.length; i += 1000) {
      for (const [k, v] of await opts.origin(rough.slice(i, i + 1000).map((r) => r.path))) origin.set(k, v);
    }

    // MDTM over a small pool of connections; extra ones are opened lazily and their failure is not fatal.
    const want = Math.max(1, opts.connections ?? 4);
    const idle: Client[] = [main];
    let opening = 0;
    const waiters: ((c: Client) => void)[] = [];
    const acquire = async (): Promise<Client> => {
      const c = idle.pop();
      if (c) return c;
      if (clients.length + opening < want) {
        opening++;
        try {
          return await open();
        } catch {
          // The server limits connections per client: go on with those we have.
        } finally {
          opening--;
        }
      }
      return new Promise((resolve) => waiters.push(resolve));
    };
    const release = (c: Client) => {
      const w = waiters.shift();
      if (w) w(c);
      else idle.push(c);
    };
    let mdtm = 0;
    const mdtmOf = async (path: string): Promise<ExactValues> => {
      const c = await acquire();
      try {
        mdtm++;
        const d = await c.lastMod(absOf([...target.segments, ...path.split('/').filter((s) => s !== '')]));
        const t = d.getTime() / 1000;
        if (!Number.isFinite(t)) throw new FtpListError(`unreadable MDTM answer for ${path}`);
        return { mtime: t };
      } catch (e) {
        // Gone since LIST (the mirror is syncing): not there.
        if (isNotFound(e)) return null;
        return fail(e, `MDTM ${path}`);
      } finally {
        release(c);
      }
    };

    // 2. Timezone sample.
    const known = new Map<string, ExactValues>();
    let tzOffsetMs = 0;
    let tzDecided = false;
    let sample = 0;
    if (opts.tzDetection) {
      const candidates = rough.filter((r) => origin.get(r.path)?.size === r.size);
      const picked = spreadSample(candidates, opts.sampleSize ?? 100);
      sample = picked.length;
      await runLimited(picked, want, async (r) => {
        known.set(r.path, await mdtmOf(r.path));
      });
      const pairs = picked.flatMap((r) => {
        const v = known.get(r.path);
        return v?.mtime !== undefined ? [{ origin: origin.get(r.path)!.mtime, mirror: v.mtime }] : [];
      });
      const detected = detectTzOffset(pairs);
      tzDecided = detected.offsetMs !== null;
      tzOffsetMs = detected.offsetMs ?? opts.previousTzOffsetMs ?? 0;
    }

    // 3. Exact times where they can change the verdict.
    const refined = await refineListing(rough, {
      origin: async () => origin,
      rules: opts.rules,
      resolve: mdtmOf,
      concurrency: want,
      known,
      signal: opts.signal,
      batch: Number.MAX_SAFE_INTEGER,
    });

    // 4. UTC.
    const shiftS = tzOffsetMs / 1000;
    const files = shiftS ? refined.files.map((f) => ({ ...f, mtime: f.mtime - shiftS })) : refined.files;
    return { files, tzOffsetMs, tzDecided, sample, mdtm, directories };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    for (const c of clients) c.close();
  }
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.name === 'TimeoutError' ? 'timed out' : reason.message;
  return String(reason ?? 'aborted');
}
