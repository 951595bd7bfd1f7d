// Coarse listings (FTP LIST, HTML directory indexes) give times to the minute or the day and sometimes sizes like
// "2.8G"; the currency rule needs the exact size and the mtime to the second. The policy, shared by FTP (MDTM) and
// HTTP (HEAD):
//
//   - an entry that cannot be a current copy whatever its exact values are (no such origin file, a size outside the
//     listed precision, or a time range that misses the origin's mtime, its outdated allowance and ±14 h of possible
//     timezone error) keeps its listed values: the applier rejects it anyway, and no request is spent on it;
//   - every other entry is looked up exactly (one MDTM or HEAD), because "same size, same minute" is not "same file"
//     and the selection trusts what the scan records.
//
// So a current mirror costs one lookup per file it holds and a stale one costs little. Pure, apart from the
// resolver and origin callbacks the caller passes.
import type { OriginFile, OutdatedRule } from '../file-currency.ts';
import { runLimited } from './limit.ts';
import type { ListedFile } from './types.ts';

/** An entry of a coarse listing: what it says, and how precise that is. */
export interface RoughFile {
  /** Origin path. */
  path: string;
  /** Listed size in bytes (the middle of the range when approximate). */
  size: number;
  /** How far the true size may be from `size` (0: exact; Infinity: the listing shows no size). */
  sizeSlack: number;
  /** Start of the listed time range, Unix seconds as the listing states them (no timezone correction). */
  mtime: number;
  /** Length of the range in seconds: 1 exact, 60 a minute, 86400 a day; Infinity: no time shown. */
  mtimeSpan: number;
}

/**
 * What an exact lookup found: null when the file is not there (MDTM 550, HEAD 404). A value it could not learn
 * (no Content-Length, no Last-Modified) is left out and the listed one stays.
 */
export type ExactValues = { size?: number; mtime?: number } | null;

/** Exact already: nothing a lookup could add. */
export function isExact(entry: RoughFile): boolean {
  return entry.sizeSlack === 0 && entry.mtimeSpan <= 1;
}

/** How far off a server's clock zone can be from UTC: the widest real offset. */
export const MAX_TZ_ERROR_S = 14 * 3600;

/** The largest outdated allowance that applies to `path`, in seconds (checkCopy's rule). */
export function allowanceS(path: string, rules: readonly OutdatedRule[]): number {
  let s = 0;
  for (const r of rules) if (r.prefix !== '' && path.startsWith(r.prefix) && r.minutes * 60 > s) s = r.minutes * 60;
  return s;
}

/**
 * Could the exact values behind this rough entry pass checkCopy against `origin`, for any timezone error up to
 * ±14 h? False only when certainly not.
 */
export function mayBeCurrent(entry: RoughFile, origin: OriginFile, rules: readonly OutdatedRule[]): boolean {
  if (entry.sizeSlack !== Infinity && !(Math.abs(entry.size - origin.size) <= entry.sizeSlack)) return false;
  if (!Number.isFinite(entry.mtimeSpan) || !Number.isFinite(entry.mtime)) return true;
  // Accepted copy times: [origin − allowance − 1, origin + 1]; listed range: [mtime, mtime + span), widened by the
  // timezone error either way.
  const lo = entry.mtime - MAX_TZ_ERROR_S;
  const hi = entry.mtime + entry.mtimeSpan - 1 + MAX_TZ_ERROR_S;
  return lo <= origin.mtime + 1 && hi >= origin.mtime - allowanceS(origin.path, rules) - 1;
}

/** Origin rows for the given paths (absent paths: not in the origin). */
export type OriginLookup = (paths: string[]) => Promise<Map<string, OriginFile>>;

export interface RefineOptions {
  origin: OriginLookup;
  rules: readonly OutdatedRule[];
  /** Exact values of one file (MDTM, HEAD); throws on errors that make the listing unreliable. */
  resolve: (path: string) => Promise<ExactValues>;
  /** Parallel lookups. */
  concurrency: number;
  /** Paths already looked up exactly (e.g. the timezone sample), with their answers. */
  known?: Map<string, ExactValues>;
  signal?: AbortSignal;
  /** Origin rows fetched per query. */
  batch?: number;
}

export interface Refined {
  files: ListedFile[];
  /** Exact lookups made here (not counting `known`). */
  lookups: number;
  /** Entries dropped because the lookup said they are gone. */
  vanished: number;
}

/** Turn a coarse listing into exact ListedFiles by the policy above. Mtimes stay uncorrected for timezone. */
export async function refineListing(entries: readonly RoughFile[], opts: RefineOptions): Promise<Refined> {
  const batch = opts.batch ?? 1000;
  const toResolve: number[] = [];
  for (let i = 0; i < entries.length; i += batch) {
    const slice = entries.slice(i, i + batch);
    const origin = await opts.origin(slice.map((e) => e.path));
    slice.forEach((e, j) => {
      const o = origin.get(e.path);
      if (o && !isExact(e) && !opts.known?.has(e.path) && mayBeCurrent(e, o, opts.rules)) toResolve.push(i + j);
    });
  }
  const exact = new Map<string, ExactValues>(opts.known ?? []);
  await runLimited(toResolve, opts.concurrency, async (idx) => {
    opts.signal?.throwIfAborted();
    exact.set(entries[idx].path, await opts.resolve(entries[idx].path));
  });

  const files: ListedFile[] = [];
  let vanished = 0;
  for (const e of entries) {
    if (!exact.has(e.path)) {
      files.push({ path: e.path, size: e.size, mtime: e.mtime });
      continue;
    }
    const v = exact.get(e.path);
    if (v === null || v === undefined) {
      vanished++;
      continue;
    }
    files.push({ path: e.path, size: v.size ?? e.size, mtime: v.mtime ?? e.mtime });
  }
  return { files, lookups: toResolve.length, vanished };
}
