// Download statistics of the sidecar: counted in memory per UTC day (per mirror, per file) and added to
// PostgreSQL in batches, one statement a second and on shutdown, never one write per request: a sidecar killed
// outright (SIGKILL, out of memory) loses at most the last second of counts.
//
// A flush that fails (database down) puts its counts back and the next tick retries. Memory is bounded by the
// number of per-file rows held (maxFileRows, 200 000 by default: some 20 MB): once it is reached, requests for
// files that have no row yet are still counted per mirror but not per file (droppedFileCounts and a log line say
// so). Per-mirror rows are never dropped: there are at most (mirrors + 1) of them a day. A flush whose COMMIT
// succeeded but whose answer was lost is retried and counted twice: rare, and preferred to losing counts.
// Counts still in memory when the process stops are saved by close(); if the database is down then, they are lost.
import type http from 'node:http';
import type pg from 'pg';
import { addStats, mirrorStatsOfDay, ORIGIN_MIRROR_ID, type DayCount, type StatsBatch } from '../core/db/stats.ts';
import type { FileRow } from '../core/types.ts';
import type { Decision } from './decide.ts';
import type { FileCache } from './file-cache.ts';
import { SidecarMetrics } from './metrics.ts';
import type { MirrorTable } from './mirror-table.ts';
import { mirrorStatsJson, renderMirrorStats, type MirrorStatsInput, type MirrorStatsLine } from './render-mirrorstats.ts';
import { buildHistory, HistoryReader, historyDays } from './stats-history.ts';

export interface Counts {
  requests: number;
  bytes: number;
}

interface DayBucket {
  mirrors: Map<number, Counts>;
  files: Map<number, Counts>;
}

type Buckets = Map<string, DayBucket>;

const DAY_MS = 86_400_000;

/** "YYYY-MM-DD" of a time in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function add(map: Map<number, Counts>, id: number, requests: number, bytes: number): boolean {
  const c = map.get(id);
  if (c) {
    c.requests += requests;
    c.bytes += bytes;
    return false;
  }
  map.set(id, { requests, bytes });
  return true;
}

function rows(buckets: Buckets, which: keyof DayBucket): DayCount[] {
  const out: DayCount[] = [];
  for (const [day, b] of buckets) for (const [id, c] of b[which]) out.push({ day, id, requests: c.requests, bytes: c.bytes });
  return out;
}

export interface DownloadStatsOptions {
  /** Writes one batch; throws when it could not (the counts are then kept). */
  flush: (batch: StatsBatch) => Promise<void>;
  intervalMs?: number;
  /** Per-file rows held in memory at most (pending and in flight). */
  maxFileRows?: number;
  now?: () => number;
  log?: (message: string) => void;
}

export class DownloadStats {
  private pending: Buckets = new Map();
  private inFlight: Buckets | null = null;
  /** Per-file rows in `pending` and `inFlight`: what the bound applies to. */
  private fileRows = 0;
  // Today's bucket, so that record() does not format a date per request.
  private bucket: DayBucket | null = null;
  private bucketStart = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private failing = false;
  private warnedBound = false;
  private readonly intervalMs: number;
  private readonly maxFileRows: number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;

  flushes = 0;
  failedFlushes = 0;
  /** Requests counted per mirror only, because the per-file bound was reached. */
  droppedFileCounts = 0;
  lastFlushAt: number | null = null;

  constructor(private readonly opts: DownloadStatsOptions) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.maxFileRows = opts.maxFileRows ?? 200_000;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
  }

  /** One download: `bytes` is the file's size; fileId null when the file row is unknown. */
  record(mirrorId: number, fileId: number | null, bytes: number): void {
    const b = this.today();
    add(b.mirrors, mirrorId, 1, bytes);
    if (fileId === null) return;
    const c = b.files.get(fileId);
    if (c) {
      c.requests++;
      c.bytes += bytes;
    } else if (this.fileRows < this.maxFileRows) {
      b.files.set(fileId, { requests: 1, bytes });
      this.fileRows++;
    } else {
      this.droppedFileCounts++;
      if (!this.warnedBound) {
        this.warnedBound = true;
        this.log(`statistics: ${this.maxFileRows} per-file rows waiting to be saved; new files are counted per mirror only until a flush succeeds`);
      }
    }
  }

  private today(): DayBucket {
    const t = this.now();
    if (this.bucket && t >= this.bucketStart && t < this.bucketStart + DAY_MS) return this.bucket;
    const day = utcDay(t);
    this.bucketStart = Date.parse(day);
    let b = this.pending.get(day);
    if (!b) {
      b = { mirrors: new Map(), files: new Map() };
      this.pending.set(day, b);
    }
    this.bucket = b;
    return b;
  }

  /** Rows held in memory, not yet in the database. */
  get pendingRows(): number {
    let n = this.fileRows;
    for (const buckets of [this.pending, this.inFlight]) for (const b of buckets?.values() ?? []) n += b.mirrors.size;
    return n;
  }

  /** Counts of `day` per mirror not yet in the database (pending or being written). */
  unsaved(day: string): Map<number, Counts> {
    const out = new Map<number, Counts>();
    for (const buckets of [this.pending, this.inFlight]) {
      for (const [id, c] of buckets?.get(day)?.mirrors ?? []) add(out, id, c.requests, c.bytes);
    }
    return out;
  }

  /**
   * Write what is pending; resolves true when it is saved (or nothing was pending). Flushes run one at a time;
   * when none is running, what is pending is taken at once (before this returns).
   */
  flush(): Promise<boolean> {
    const run = this.queued > 0 ? this.chain.then(() => this.flushOnce()) : this.flushOnce();
    this.queued++;
    this.chain = run.finally(() => this.queued--);
    return run;
  }

  private async flushOnce(): Promise<boolean> {
    if (!this.pending.size) return true;
    const taken = this.pending;
    this.pending = new Map();
    this.bucket = null;
    this.inFlight = taken;
    const batch = { mirrors: rows(taken, 'mirrors'), files: rows(taken, 'files') };
    try {
      await this.opts.flush(batch);
      this.fileRows -= batch.files.length;
      this.flushes++;
      this.lastFlushAt = this.now();
      if (this.failing) this.log(`statistics saved again (${batch.mirrors.length + batch.files.length} rows)`);
      this.failing = false;
      this.warnedBound = false;
      return true;
    } catch (e) {
      this.putBack(taken);
      this.failedFlushes++;
      if (!this.failing) this.log(`statistics not saved (${(e as Error).message}); keeping the counts in memory, retrying`);
      this.failing = true;
      return false;
    } finally {
      this.inFlight = null;
    }
  }

  /** Merge a batch that could not be written into what was counted meanwhile. */
  private putBack(taken: Buckets): void {
    for (const [day, t] of taken) {
      const b = this.pending.get(day);
      if (!b) {
        this.pending.set(day, t);
        continue;
      }
      for (const [id, c] of t.mirrors) add(b.mirrors, id, c.requests, c.bytes);
      // A file counted in both is one row again.
      for (const [id, c] of t.files) if (!add(b.files, id, c.requests, c.bytes)) this.fileRows--;
    }
  }

  /** Flush every intervalMs until close(). */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = () => {
      this.timer = null;
      void this.flush().then(() => {
        if (!this.closed) this.schedule(tick);
      });
    };
    this.schedule(tick);
  }

  private schedule(tick: () => void): void {
    this.timer = setTimeout(tick, this.intervalMs);
    // Statistics alone must not keep a process alive.
    this.timer.unref();
  }

  /** Stop the timer and save what is left; counts that cannot be saved now are lost (and logged). */
  async close(): Promise<boolean> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const saved = await this.flush();
    if (!saved) this.log(`statistics: ${this.pendingRows} unsaved rows lost at shutdown`);
    return saved;
  }
}

export interface Download {
  /** ORIGIN_MIRROR_ID for a local delivery. */
  mirrorId: number;
  /** The mirror's identifier; null for the origin. */
  mirror: string | null;
  fileId: number | null;
  bytes: number;
}

/** What a decision adds to the statistics: null when it is not a download (404, listing, page, ...). */
export function downloadOf(d: Decision, row: FileRow | null, identifierOf: (id: number) => string | undefined): Download | null {
  if (d.t === 'local') {
    // A self-serving host that is one of the mirrors counts its downloads for that mirror.
    const m = d.m ?? ORIGIN_MIRROR_ID;
    return { mirrorId: m, mirror: m === ORIGIN_MIRROR_ID ? null : (identifierOf(m) ?? null), fileId: row?.id ?? null, bytes: row?.size ?? 0 };
  }
  if (d.t !== 'redirect') return null;
  return { mirrorId: d.m, mirror: identifierOf(d.m) ?? null, fileId: row?.id ?? null, bytes: row?.size ?? 0 };
}

/**
 * `?mirrorstats` in a download URL's query string asks for the statistics page, on any file path, existing or
 * not (`/pub/anything?mirrorstats`). Not on a path ending in "/": nginx lists directories itself, without njs.
 */
export function isMirrorStatsQuery(query: string): boolean {
  return query.includes('mirrorstats') && new URLSearchParams(query).has('mirrorstats');
}

// ---- the sidecar's wiring: counters, metrics, the page and the socket routes ----

export interface SidecarStatsDeps {
  pool: pg.Pool;
  mirrors: MirrorTable;
  cache: FileCache;
  log: (message: string) => void;
  flushIntervalMs?: number;
  now?: () => number;
}

/** How long the page reuses the database's part of its numbers (the unsaved part is always live). */
const PAGE_DB_TTL_MS = 5000;
/** The page waits no longer for the database: nginx gives the sidecar 500 ms by default. */
const PAGE_DB_WAIT_MS = 300;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('database too slow')), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class SidecarStats {
  readonly counts: DownloadStats;
  readonly metrics: SidecarMetrics;
  private pageRows: { day: string; flushes: number; at: number; rows: ReturnType<typeof mirrorStatsOfDay> } | null = null;
  private readonly history: HistoryReader;

  constructor(private readonly deps: SidecarStatsDeps) {
    this.counts = new DownloadStats({
      flush: (batch) => addStats(deps.pool, batch),
      intervalMs: deps.flushIntervalMs,
      log: deps.log,
      now: deps.now,
    });
    this.metrics = new SidecarMetrics({ cache: deps.cache, mirrors: deps.mirrors, stats: this.counts });
    this.history = new HistoryReader(deps.pool);
    this.counts.start();
  }

  /**
   * Count one answer; `d` null when decide() failed. `startedAt` is performance.now() before decide().
   * `download` false (a HEAD) measures the decision but counts no download.
   */
  track(d: Decision | null, row: FileRow | null, startedAt: number, download = true): void {
    this.metrics.decision(d ? d.t : 'error', (performance.now() - startedAt) / 1000);
    // A failed decision is answered by nginx's fallback (a fallback mirror or the origin): which, we do not know.
    if (!download || d === null) return;
    const dl = downloadOf(d, row, (id) => this.deps.mirrors.get(id)?.identifier);
    if (!dl) return;
    this.counts.record(dl.mirrorId, dl.fileId, dl.bytes);
    this.metrics.download(dl.mirror, dl.bytes);
  }

  /**
   * The ?mirrorstats page (HTML, or JSON with `json`) as a decision: today per mirror, and the last 30 days.
   * Never rejects: without the database it shows what it has.
   */
  async page(json = false): Promise<Decision> {
    this.metrics.decision('mirrorstats', null);
    const now = (this.deps.now ?? Date.now)();
    const day = utcDay(now);
    const [saved, past] = await Promise.all([
      within(this.savedOfDay(day, now), PAGE_DB_WAIT_MS).catch(() => null),
      within(this.history.before(day, now), PAGE_DB_WAIT_MS).catch(() => null),
    ]);
    const unsaved = this.counts.unsaved(day);
    const ids = new Set([...(saved?.keys() ?? []), ...unsaved.keys()]);
    for (const m of this.deps.mirrors.all()) if (m.enabled) ids.add(m.id);
    const today: DayCount[] = [...ids].map((id) => {
      const a = saved?.get(id);
      const b = unsaved.get(id);
      return { day, id, requests: (a?.requests ?? 0) + (b?.requests ?? 0), bytes: (a?.bytes ?? 0) + (b?.bytes ?? 0) };
    });
    const lineOf = (id: number, c: Counts): MirrorStatsLine => {
      const m = this.deps.mirrors.get(id);
      return {
        origin: id === ORIGIN_MIRROR_ID,
        identifier: id === ORIGIN_MIRROR_ID ? null : (m?.identifier ?? null),
        operatorName: m?.operatorName ?? '',
        operatorUrl: m?.operatorUrl ?? '',
        country: m?.country ?? '',
        requests: c.requests,
        bytes: c.bytes,
      };
    };
    const history = buildHistory(historyDays(day), [...(past ?? []), ...today]);
    const input: MirrorStatsInput = {
      day,
      generatedAt: new Date(now),
      lines: today.map((r) => lineOf(r.id, r)),
      history: { days: history.days, series: history.series.map((s) => ({ ...lineOf(s.id, { requests: 0, bytes: 0 }), requests: s.requests, bytes: s.bytes })) },
      databaseDown: saved === null,
      historyMissing: past === null,
    };
    const h = { 'Cache-Control': 'no-cache' };
    if (json) return { t: 'body', status: 200, type: 'application/json', body: `${JSON.stringify(mirrorStatsJson(input), null, 1)}\n`, h };
    return { t: 'body', status: 200, type: 'text/html; charset=utf-8', body: renderMirrorStats(input), h };
  }

  /**
   * The database's counts of `day`, shared by the requests of a few seconds so that a busy page costs one query
   * now and then; a flush of this sidecar makes them stale at once (its counts move from memory to the table).
   * A failure is shared too: with the database down, the page does not try a connection per request.
   */
  private savedOfDay(day: string, now: number): ReturnType<typeof mirrorStatsOfDay> {
    const c = this.pageRows;
    if (c && c.day === day && c.flushes === this.counts.flushes && now - c.at < PAGE_DB_TTL_MS) return c.rows;
    const rows = mirrorStatsOfDay(this.deps.pool, day);
    this.pageRows = { day, flushes: this.counts.flushes, at: now, rows };
    rows.catch(() => {}); // awaited by the pages; an unhandled rejection when none is left waiting
    return rows;
  }

  /** Routes of the sidecar's own socket: GET /metrics, POST /stats/flush. False when the path is not ours. */
  route(pathname: string, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (pathname === '/metrics') {
      this.metrics.render().then(
        (m) => res.writeHead(200, { 'Content-Type': m.type }).end(m.body),
        (e) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`),
      );
      return true;
    }
    if (pathname === '/stats/flush') {
      if (req.method !== 'POST') {
        res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain' }).end('use POST\n');
        return true;
      }
      void this.counts.flush().then((saved) => {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ saved, pendingRows: this.counts.pendingRows }));
      });
      return true;
    }
    return false;
  }

  close(): Promise<boolean> {
    return this.counts.close();
  }
}
