// Scan one mirror: list what it holds, make the listing exact and UTC, check files over 2 GiB, apply it to the packed
// file table, record the outcome on the mirror row.
//
// Protocols are tried in the order rsync → FTP → HTTP → HTTPS among the URLs the mirror has. When one fails
// (refused, bad password, a broken or truncated listing, a page that is not an index), the next one is tried, within
// the same overall deadline (config scan.timeoutS): mirrors often firewall rsync or run a broken FTP server while
// their web server is fine, and every listing we accept is complete. The failed attempts are reported as warnings
// when a later one succeeds. A failed listing never reaches the file table: applyMirrorListing rolls back when the
// listing throws, so the mirror keeps what the last good scan found.
import type pg from 'pg';
import type { Config } from '../config.ts';
import type { Mirror } from '../types.ts';
import { applyMirrorListing, outdatedRules } from './apply-listing.ts';
import { listFtp } from './ftp.ts';
import { listHttp } from './http-crawl.ts';
import { verifyLargeFiles } from './large-files.ts';
import { originFiles } from './origin-lookup.ts';
import { recordScanResult } from './record-scan.ts';
import { listRsync } from './rsync.ts';
import { normaliseSubtree } from './subtree.ts';
import type { ApplyResult, ListedFile } from './types.ts';

export type ScanProtocol = 'rsync' | 'ftp' | 'http' | 'https';

export interface ScanAttempt {
  protocol: ScanProtocol;
  url: string;
}

/** The URLs to try, in order. */
export function scanAttempts(m: Pick<Mirror, 'rsyncUrl' | 'ftpUrl' | 'httpUrl' | 'httpsUrl'>): ScanAttempt[] {
  const out: ScanAttempt[] = [];
  if (m.rsyncUrl) out.push({ protocol: 'rsync', url: m.rsyncUrl });
  if (m.ftpUrl) out.push({ protocol: 'ftp', url: m.ftpUrl });
  if (m.httpUrl) out.push({ protocol: 'http', url: m.httpUrl });
  if (m.httpsUrl) out.push({ protocol: 'https', url: m.httpsUrl });
  return out;
}

export interface ScanMirrorOptions {
  /** Only this directory ("/pub/iso"); files elsewhere are left alone. */
  subtree?: string;
  scan: Pick<Config['scan'], 'timeoutS' | 'outdatedAllowedMinutes' | 'tzDetection' | 'verifyLargeFiles'>;
  signal?: AbortSignal;
  /** Per request (page, HEAD, MDTM, range check); default min(60 s, the scan timeout). */
  requestTimeoutMs?: number;
  /** Parallel requests to this mirror (pages, HEAD, MDTM connections). */
  concurrency?: number;
}

export interface ScanOutcome {
  mirrorId: number;
  identifier: string;
  ok: boolean;
  /** The protocol that succeeded, or the last one tried; '' when the mirror has no URL. */
  protocol: ScanProtocol | '';
  result: ApplyResult | null;
  /** '' on success. */
  error: string;
  /** Attempts that failed before the one that succeeded, and files left out by the large-file check. */
  warnings: string[];
  /** Clock error an FTP listing was corrected by (ms, mirror − origin); null for other protocols. */
  tzOffsetMs: number | null;
  durationMs: number;
}

/** A failure of the mirror (listing, network), as opposed to one of our database. */
class ListingFailure extends Error {}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function* failuresTagged(files: AsyncIterable<ListedFile> | Iterable<ListedFile>): AsyncGenerator<ListedFile> {
  try {
    yield* files;
  } catch (e) {
    throw new ListingFailure(message(e));
  }
}

/** Store the detected clock error; written only when it changed, so sidecars are not told about nothing. */
async function storeTzOffset(pool: pg.Pool, mirrorId: number, ms: number): Promise<void> {
  await pool.query({
    name: 'scan_store_tz_offset',
    text: 'UPDATE mirror SET tz_offset_ms = $2, updated_at = now() WHERE id = $1 AND tz_offset_ms <> $2',
    values: [mirrorId, ms],
  });
}

/** Scan one mirror. Never throws for a mirror's fault: the outcome says what went wrong. */
export async function scanMirror(pool: pg.Pool, mirror: Mirror, opts: ScanMirrorOptions): Promise<ScanOutcome> {
  const started = Date.now();
  const subtree = normaliseSubtree(opts.subtree);
  const deadline = AbortSignal.timeout(opts.scan.timeoutS * 1000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const requestTimeoutMs = opts.requestTimeoutMs ?? Math.min(60_000, opts.scan.timeoutS * 1000);
  const concurrency = opts.concurrency ?? 4;
  const rules = outdatedRules(opts.scan.outdatedAllowedMinutes);
  const origin = (paths: string[]) => originFiles(pool, paths);
  const largeBase = mirror.httpUrl ?? mirror.httpsUrl;

  const outcome: ScanOutcome = {
    mirrorId: mirror.id,
    identifier: mirror.identifier,
    ok: false,
    protocol: '',
    result: null,
    error: '',
    warnings: [],
    tzOffsetMs: null,
    durationMs: 0,
  };
  const failures: string[] = [];
  const attempts = scanAttempts(mirror);
  if (!attempts.length) failures.push('mirror has no URL to scan');

  for (const attempt of attempts) {
    if (signal.aborted) break;
    outcome.protocol = attempt.protocol;
    outcome.tzOffsetMs = null;
    let storeTz: number | null = null;
    const dropped: string[] = [];
    try {
      let files: AsyncIterable<ListedFile> | Iterable<ListedFile>;
      try {
        if (attempt.protocol === 'rsync') {
          files = listRsync(attempt.url, { subtree, timeoutMs: Math.max(1000, opts.scan.timeoutS * 1000 - (Date.now() - started)), signal });
        } else if (attempt.protocol === 'ftp') {
          const ftp = await listFtp(attempt.url, {
            subtree,
            requestTimeoutMs,
            signal,
            origin,
            rules,
            tzDetection: opts.scan.tzDetection,
            previousTzOffsetMs: mirror.tzOffsetMs,
            connections: concurrency,
          });
          files = ftp.files;
          outcome.tzOffsetMs = ftp.tzOffsetMs;
          // Stored when this scan decided it, or 0 when detection is off (the listing was taken as UTC).
          storeTz = !opts.scan.tzDetection || ftp.tzDecided ? ftp.tzOffsetMs : null;
        } else {
          files = (await listHttp(attempt.url, { subtree, requestTimeoutMs, signal, origin, rules, concurrency })).files;
        }
      } catch (e) {
        throw new ListingFailure(message(e));
      }
      if (opts.scan.verifyLargeFiles) {
        files = verifyLargeFiles(files, {
          baseUrl: largeBase,
          timeoutMs: requestTimeoutMs,
          signal,
          onDropped: (p) => dropped.push(`${p}: over 2 GiB and not served past 2^31 bytes; not counted`),
        });
      }
      const result = await applyMirrorListing(pool, mirror.id, failuresTagged(files), { subtree, outdatedAllowedMinutes: opts.scan.outdatedAllowedMinutes });
      if (storeTz !== null) await storeTzOffset(pool, mirror.id, storeTz);
      outcome.ok = true;
      outcome.result = result;
      outcome.warnings.push(...dropped);
      break;
    } catch (e) {
      if (!(e instanceof ListingFailure)) {
        // Our own database failed: no point trying another protocol.
        failures.push(`${attempt.protocol}: ${message(e)}`);
        break;
      }
      const why = signal.aborted && !opts.signal?.aborted ? `scan timed out after ${opts.scan.timeoutS} s (${message(e)})` : message(e);
      failures.push(`${attempt.protocol}: ${why}`);
    }
  }

  outcome.durationMs = Date.now() - started;
  if (outcome.ok) {
    outcome.warnings.unshift(...failures.map((f) => `failed first: ${f}`));
  } else {
    outcome.error = failures.join('; ') || 'scan aborted';
  }
  try {
    await recordScanResult(pool, mirror.id, outcome.ok ? outcome.result : new Error(outcome.error), outcome.protocol, outcome.durationMs);
  } catch (e) {
    outcome.ok = false;
    outcome.error = [outcome.error, `recording the scan result failed: ${message(e)}`].filter(Boolean).join('; ');
  }
  return outcome;
}
