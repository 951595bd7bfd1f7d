// File-row lookups on a cache miss, batched under load. Pure apart from the fetch function it is given.
//
// While fewer than `maxInFlight` queries run, a lookup goes to the database at once, alone: at low load nothing
// waits. When that many are running, new lookups wait, and the next free slot takes all of them (up to
// `maxBatch`) in one query (`path = ANY($1)`). Under load the database then sees one round trip per batch, not
// per request, which is where a cold redirect spends its time (the pg driver and the protocol, not the index).
import type { FileRow } from '../core/types.ts';

interface Waiter {
  resolve: (row: FileRow | null) => void;
  reject: (e: unknown) => void;
}

export interface BatcherOptions {
  /** Queries at a time; keep it below the pool size so that other work still gets a connection. */
  maxInFlight: number;
  /** Paths per query at most. */
  maxBatch: number;
}

export class FileRowBatcher {
  private pending = new Map<string, Waiter[]>();
  private inFlight = 0;
  /** Queries sent and paths asked for: the batching at work, for /health. */
  queries = 0;
  paths = 0;

  constructor(
    private readonly fetch: (paths: string[]) => Promise<Map<string, FileRow>>,
    private readonly opts: BatcherOptions = { maxInFlight: 4, maxBatch: 256 },
  ) {}

  /** The row of `path`, null when the table has none; rejects when the database cannot answer. */
  get(path: string): Promise<FileRow | null> {
    const row = this.enqueue(path);
    this.pump();
    return row;
  }

  /** The rows of several paths, asked together: one query when a slot is free (one promise per path). */
  getMany(paths: readonly string[]): Promise<FileRow | null>[] {
    const rows = paths.map((p) => this.enqueue(p));
    if (rows.length > 0) this.pump();
    return rows;
  }

  private enqueue(path: string): Promise<FileRow | null> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(path);
      // The same path asked twice while waiting is one lookup.
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(path, [{ resolve, reject }]);
    });
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.pending.size > 0) {
      const batch = new Map<string, Waiter[]>();
      for (const [path, waiters] of this.pending) {
        batch.set(path, waiters);
        this.pending.delete(path);
        if (batch.size >= this.opts.maxBatch) break;
      }
      this.inFlight++;
      this.queries++;
      this.paths += batch.size;
      this.fetch([...batch.keys()]).then(
        (rows) => {
          for (const [path, waiters] of batch) for (const w of waiters) w.resolve(rows.get(path) ?? null);
        },
        (e: unknown) => {
          for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
        },
      ).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }
}
