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
import type { DayCount, StatsBatch } from '../core/db/stats.ts';

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
