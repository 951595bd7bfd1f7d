// A few seconds of memory for the extras beside a file row (pieces, mismatches, zsync data) that Metalink,
// torrent, JSON and mirror list answers read: a page viewed often then costs one query per file and period, not
// one per view (measured with npm run bench: ?json fell from 16.8 % to 6.5 % of `return 302` when each answer
// queried them). Keyed by path: what the change log names as changed is dropped at once (sidecar/server.ts), so
// a scan that changes a file's holders shows at once; what changes without touching the row (a mismatch's reason)
// may show that many seconds late. Concurrent asks for one key share one query; a failed query is not remembered.

export class TtlMemo<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  drop(keys: Iterable<string>): void {
    for (const k of keys) this.entries.delete(k);
  }

  clear(): void {
    this.entries.clear();
  }

  get(key: string, load: () => Promise<T>): Promise<T> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && t - hit.at < this.ttlMs) return hit.value;
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { at: t, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }
}
