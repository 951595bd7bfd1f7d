// Warm cache of file rows in front of PostgreSQL. A Map keeps insertion order, which is all an LRU needs:
// a hit moves the entry to the end, the oldest entry is evicted first. Misses (path not in the table) are
// cached too, so a flood of requests for a missing file costs one query. Entries are dropped one by one as the
// change log names them; `epoch` counts drops so that a lookup that started before a drop does not store the
// row it read (possibly older than the change) after it.
import type { FileRow } from '../core/types.ts';

export class FileCache {
  private readonly entries = new Map<string, FileRow | null>();
  hits = 0;
  epoch = 0;
  misses = 0;

  constructor(private readonly capacity: number) {}

  /** undefined: not cached; null: cached as absent from the file table. */
  get(path: string): FileRow | null | undefined {
    const v = this.entries.get(path);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(path);
    this.entries.set(path, v);
    return v;
  }

  /** Store a looked-up row; `since` is the epoch read before the lookup started (skipped if a drop came between). */
  set(path: string, row: FileRow | null, since = this.epoch): void {
    if (this.capacity <= 0 || since !== this.epoch) return;
    this.entries.delete(path);
    this.entries.set(path, row);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  /** Forget these paths (changed in the file table). */
  drop(paths: Iterable<string>): void {
    this.epoch++;
    for (const p of paths) this.entries.delete(p);
  }

  get size(): number {
    return this.entries.size;
  }
}
