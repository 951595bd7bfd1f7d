// A probe round: pick the mirrors and a small file each should hold, check them with bounded concurrency, judge,
// and write what changed. And the watch loop that runs rounds until told to stop.
//
// Writes per mirror and round: at most one UPDATE of the mirror row. When health, reason or since change (or the
// mirror is disabled) that UPDATE sets them together with the probe counters, so the statement-level trigger sends
// one NOTIFY 'mirrors'; otherwise it sets only probe_at/probe_successes/probe_failures, which the trigger ignores
// (sql/002), so a quiet round makes the sidecars reload nothing.
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { listMirrors } from '../db/mirrors.ts';
import { addNote } from '../db/notes.ts';
import type { Mirror } from '../types.ts';
import { findCapabilities, planCapabilities, probeCa, writeCapabilities, type CapabilityChange, type CapabilityFindings } from './capabilities.ts';
import { checkMirror } from './check.ts';
import type { MirrorCheck, ProbeTarget } from './types.ts';
import { judge, transition, type HealthRecord, type MissingFile, type Verdict } from './state.ts';
import { parseTraceTimestamp } from './trace.ts';

/** Probe files are drawn at random among this many of the smallest files a mirror holds. */
export const CANDIDATES_PER_MIRROR = 5;
/** How many of the table's smallest files the one-pass candidate query considers for all mirrors at once. */
const SMALLEST_FILES = 20_000;
/** The watch loop re-reads the candidates this often: finding the smallest files scans the file table. */
export const CANDIDATE_TTL_MS = 10 * 60_000;
export const DEFAULT_CONCURRENCY = 16;
export const NOTE_AUTHOR = 'mirrorlane probe';

export interface MirrorProbeResult {
  id: number;
  identifier: string;
  check: MirrorCheck;
  verdict: Verdict;
  before: HealthRecord;
  after: HealthRecord;
  /** health, reason or since changed (and were written). */
  changed: boolean;
  /** The probed file the mirror did not hold, now taken out of its files; null if none (or already gone). */
  removedFile: MissingFile | null;
  /** The mirror was disabled because of the missing file (probe.disableOnMissing). */
  disabled: boolean;
  /** IPv6 / https found out (probe.capabilities) and what was written of it; absent when not checked. */
  capabilities?: { found: CapabilityFindings; changed: CapabilityChange };
}

export interface ProbeRoundReport {
  startedAt: Date;
  /** In identifier order. Mirrors whose check was cut short by the stop signal are left out (nothing written). */
  results: MirrorProbeResult[];
  /** Problems of the round itself, not of a mirror (the origin's trace file unreadable). */
  warnings: string[];
}

export interface ProbeRoundOptions {
  /** Probe these mirrors (enabled or not); default: every enabled mirror. */
  identifiers?: string[];
  concurrency?: number;
  /** For picking the probe file among the candidates; tests make it deterministic. */
  random?: () => number;
  now?: () => Date;
  /** Called as each mirror's result is written, before the round ends. */
  onResult?: (r: MirrorProbeResult) => void;
  /** Stops the round: requests in flight are cut, their mirrors are not written. */
  signal?: AbortSignal;
  candidates?: CandidateCache;
  /** CA certificates for https checks (probeCa of probe.caFile); set by probeRound. */
  ca?: string[];
}

export class UnknownMirrorsError extends Error {
  constructor(readonly identifiers: string[]) {
    super(`unknown mirror${identifiers.length > 1 ? 's' : ''}: ${identifiers.join(', ')}`);
  }
}

/** The mirrors of a round, in identifier order: the named ones (all must exist), else the enabled ones. Pure. */
export function selectMirrors(all: Mirror[], identifiers: string[] | undefined): Mirror[] {
  if (!identifiers?.length) return all.filter((m) => m.enabled);
  const byName = new Map(all.map((m) => [m.identifier, m]));
  const missing = identifiers.filter((id) => !byName.has(id));
  if (missing.length) throw new UnknownMirrorsError(missing);
  return [...new Set(identifiers)].sort().map((id) => byName.get(id)!);
}

/** Run `fn` over `items`, at most `limit` at a time. Every item runs; the first error is thrown at the end. */
export async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let firstError: { e: unknown } | null = null;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (e) {
        firstError ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (firstError) throw (firstError as { e: unknown }).e;
  return out;
}

/**
 * The smallest files each mirror holds according to the file table. One query per refresh for all mirrors;
 * between refreshes (watch loop) a file found missing is dropped from the cache as it is from the table.
 */
export class CandidateCache {
  private byMirror = new Map<number, { at: number; files: ProbeTarget[] }>();

  /** `smallest`: how many of the table's smallest files the one-pass query considers (tests make it small). */
  constructor(
    private readonly ttlMs = 0,
    private readonly smallest = SMALLEST_FILES,
  ) {}

  async get(db: pg.Pool, mirrorIds: number[], nowMs = Date.now()): Promise<Map<number, ProbeTarget[]>> {
    const stale = mirrorIds.filter((id) => {
      const c = this.byMirror.get(id);
      return !c || nowMs - c.at >= this.ttlMs;
    });
    if (stale.length) {
      for (const id of stale) this.byMirror.set(id, { at: nowMs, files: [] });
      const add = (rows: { mirror_id: number; path: string; size: number }[]) => {
        for (const r of rows) this.byMirror.get(Number(r.mirror_id))!.files.push({ path: r.path, size: Number(r.size) });
      };
      // One pass over the table for all mirrors: their smallest files are among the table's smallest ones. A
      // query per mirror (below) scanned the whole table each time: 19 s for 50 mirrors on 1 000 000 files.
      const { rows } = await db.query({
        name: 'probe_candidates_smallest',
        text: `WITH small AS (SELECT path, size, mirrors FROM file ORDER BY size, path LIMIT $3),
                    ranked AS (SELECT m AS mirror_id, path, size, row_number() OVER (PARTITION BY m ORDER BY size, path) AS rn
                               FROM small, unnest(mirrors) AS m WHERE m = ANY($1::smallint[]))
               SELECT mirror_id, path, size FROM ranked WHERE rn <= $2 ORDER BY mirror_id, rn`,
        values: [stale, CANDIDATES_PER_MIRROR, this.smallest],
      });
      add(rows);
      // A mirror with too few of those (one that carries only big files) is looked up on its own.
      const short = stale.filter((id) => this.byMirror.get(id)!.files.length < CANDIDATES_PER_MIRROR);
      if (short.length) {
        for (const id of short) this.byMirror.get(id)!.files = [];
        const r = await db.query({
          name: 'probe_candidates',
          text: `SELECT m.id AS mirror_id, c.path, c.size
                 FROM unnest($1::smallint[]) AS m(id)
                 CROSS JOIN LATERAL (SELECT path, size FROM file WHERE mirrors @> ARRAY[m.id] ORDER BY size, path LIMIT $2) AS c`,
          values: [short, CANDIDATES_PER_MIRROR],
        });
        add(r.rows);
      }
    }
    return new Map(mirrorIds.map((id) => [id, this.byMirror.get(id)?.files ?? []]));
  }

  drop(mirrorId: number, filePath: string): void {
    const c = this.byMirror.get(mirrorId);
    if (c) c.files = c.files.filter((f) => f.path !== filePath);
  }
}

/** Random among the candidates, so that a file deleted since the scan is not the one probed every time. */
export function pickFile(candidates: ProbeTarget[], random: () => number = Math.random): ProbeTarget | null {
  if (!candidates.length) return null;
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
}

/** The origin's trace timestamp, or null with a warning when the check is off or cannot be made. */
export async function readOriginTrace(config: Config): Promise<{ trace: { path: string; originS: number } | null; warning: string | null }> {
  const p = config.probe;
  if (!p.traceFile || p.traceMaxAgeS <= 0) return { trace: null, warning: null };
  const file = path.join(config.origin.root, p.traceFile);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    return { trace: null, warning: `trace check skipped: origin trace ${file} not readable (${(e as NodeJS.ErrnoException).code ?? e})` };
  }
  const originS = parseTraceTimestamp(text);
  if (originS === null) return { trace: null, warning: `trace check skipped: origin trace ${file} holds no timestamp on its first line` };
  return { trace: { path: p.traceFile, originS }, warning: null };
}

function healthOf(m: Mirror): HealthRecord {
  return { health: m.health, reason: m.healthReason, since: m.healthSince, successes: m.probeSuccesses, failures: m.probeFailures };
}

/** Take the mirror out of one file's row; true if it was listed. */
async function removeFromFile(db: pg.Pool, mirrorId: number, filePath: string): Promise<boolean> {
  const res = await db.query({
    name: 'probe_remove_file',
    text: 'UPDATE file SET mirrors = array_remove(mirrors, $2::smallint) WHERE path = $1 AND mirrors @> ARRAY[$2::smallint]',
    values: [filePath, mirrorId],
  });
  return (res.rowCount ?? 0) > 0;
}

/** One UPDATE of the mirror row: the health columns only when they change (see the top of this file). */
async function writeHealth(db: pg.Pool, id: number, next: HealthRecord, changed: boolean, disable: boolean, at: Date): Promise<boolean> {
  if (!changed && !disable) {
    await db.query({
      name: 'probe_bookkeeping',
      text: 'UPDATE mirror SET probe_at = $2, probe_successes = $3, probe_failures = $4 WHERE id = $1',
      values: [id, at, next.successes, next.failures],
    });
    return false;
  }
  const { rows } = await db.query({
    name: 'probe_state',
    text: `UPDATE mirror m SET health = $2, health_reason = $3, health_since = $4, probe_at = $5, probe_successes = $6,
             probe_failures = $7, enabled = m.enabled AND NOT $8
           FROM mirror prev WHERE m.id = $1 AND prev.id = m.id
           RETURNING prev.enabled AND NOT m.enabled AS disabled`,
    values: [id, next.health, next.reason, next.since, at, next.successes, next.failures, disable],
  });
  return rows.length > 0 && rows[0].disabled === true;
}

async function probeOne(
  db: pg.Pool,
  config: Config,
  m: Mirror,
  file: ProbeTarget | null,
  trace: { path: string; originS: number } | null,
  opts: ProbeRoundOptions,
): Promise<MirrorProbeResult | null> {
  const p = config.probe;
  const check = await checkMirror(m, file, trace, {
    timeoutMs: p.timeoutMs,
    userAgent: p.userAgent,
    followRedirects: !p.refuseRedirects,
    signal: opts.signal,
    ca: opts.ca,
  });
  // A check cut short says nothing about the mirror.
  if (opts.signal?.aborted) return null;
  const verdict = judge(check, { refuseRedirects: p.refuseRedirects, traceMaxAgeS: p.traceMaxAgeS });
  const before = healthOf(m);
  const result: MirrorProbeResult = { id: m.id, identifier: m.identifier, check, verdict, before, after: before, changed: false, removedFile: null, disabled: false };
  if (verdict.skipped) return result;

  // The file first, so that sidecars reloading on the mirror's NOTIFY already see the row without it.
  if (verdict.missing && (await removeFromFile(db, m.id, verdict.missing.path))) {
    result.removedFile = verdict.missing;
    opts.candidates?.drop(m.id, verdict.missing.path);
  }
  const now = opts.now?.() ?? new Date();
  const t = transition(before, verdict, p, now);
  const disable = p.disableOnMissing && m.enabled && result.removedFile?.kind === 'gone';
  result.disabled = await writeHealth(db, m.id, t.next, t.changed, disable, now);
  result.after = t.next;
  result.changed = t.changed;
  // Capabilities only of a mirror that answered: a dead one says nothing about IPv6 or https.
  if (p.capabilities !== false && verdict.ok && !opts.signal?.aborted) {
    const found = await findCapabilities(m, { timeoutMs: p.timeoutMs, userAgent: p.userAgent, followRedirects: !p.refuseRedirects, signal: opts.signal, ca: opts.ca });
    const changed = opts.signal?.aborted ? {} : planCapabilities(m, found);
    if (await writeCapabilities(db, m.id, changed)) result.capabilities = { found, changed };
    else result.capabilities = { found, changed: {} };
  }
  if (result.disabled) {
    const f = result.removedFile!;
    await addNote(db, m.id, NOTE_AUTHOR, `disabled: ${f.path} missing (${f.why}) although the scan listed it (probe.disableOnMissing)`);
  }
  return result;
}

/** One round over the mirrors. Throws on database errors and unknown mirror names, never because of a mirror. */
export async function probeRound(db: pg.Pool, config: Config, opts: ProbeRoundOptions = {}): Promise<ProbeRoundReport> {
  const startedAt = opts.now?.() ?? new Date();
  const mirrors = selectMirrors(await listMirrors(db), opts.identifiers);
  const warnings: string[] = [];
  const { trace, warning } = await readOriginTrace(config);
  if (warning) warnings.push(warning);
  let ca: string[] | undefined;
  try {
    ca = opts.ca ?? probeCa(config.probe.caFile);
  } catch (e) {
    throw new Error(`probe.caFile ${config.probe.caFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? e}): fix the path or remove the setting`);
  }
  opts = { ...opts, ca };
  const cache = opts.candidates ?? new CandidateCache(0);
  const candidates = await cache.get(db, mirrors.map((m) => m.id));
  const results = await mapBounded(mirrors, opts.concurrency ?? DEFAULT_CONCURRENCY, async (m) => {
    const r = await probeOne(db, config, m, pickFile(candidates.get(m.id) ?? [], opts.random), trace, opts);
    if (r) opts.onResult?.(r);
    return r;
  });
  return { startedAt, results: results.filter((r): r is MirrorProbeResult => r !== null), warnings };
}

export interface WatchOptions extends ProbeRoundOptions {
  intervalS: number;
  signal: AbortSignal;
  onRound?: (report: ProbeRoundReport) => void;
  /** A round that failed (database gone for a moment): reported, and the loop goes on. Without it, it throws. */
  onError?: (e: unknown) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Probe rounds every intervalS seconds (from the start of one round to the start of the next; a round longer
 * than that is followed at once) until the signal aborts. Candidates are cached across rounds.
 */
export async function watchProbes(db: pg.Pool, config: Config, opts: WatchOptions): Promise<void> {
  const candidates = opts.candidates ?? new CandidateCache(CANDIDATE_TTL_MS);
  while (!opts.signal.aborted) {
    const started = Date.now();
    try {
      opts.onRound?.(await probeRound(db, config, { ...opts, candidates }));
    } catch (e) {
      if (opts.signal.aborted) break;
      if (!opts.onError || e instanceof UnknownMirrorsError) throw e;
      opts.onError(e);
    }
    await sleep(Math.max(0, opts.intervalS * 1000 - (Date.now() - started)), opts.signal);
  }
}
