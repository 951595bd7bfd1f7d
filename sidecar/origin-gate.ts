// The origin rule (core/origin-rule.ts) as the sidecar applies it before it answers with local delivery: what
// the tree has at a path the file table does not know, and which real file nginx is to serve for a path.
// nginx serves the origin with `disable_symlinks on from=<root>` (nginx/server.conf), so it is always handed the
// real path (links resolved): a symlink inside the root to a file inside the root is delivered as its target,
// anything else reaching outside is refused twice, here and by nginx.
//
// Resolutions are cached, bounded and briefly, so that a flood of requests for missing or escaping paths costs one
// realpath per path and TTL, not one per request. A stale entry is harmless: nginx opens what it is told without
// following any link, so at worst a file changed in the last seconds is answered as it was.
import { realRoot, resolveOriginPath } from '../core/origin-resolve.ts';
import type { OriginResolution } from '../core/origin-rule.ts';
import type { OriginKind } from './decide.ts';

export interface OriginGateOptions {
  /** How long one resolution is believed. */
  ttlMs?: number;
  /** Paths remembered at most (oldest dropped first). */
  capacity?: number;
  now?: () => number;
}

interface Entry {
  at: number;
  value: Promise<OriginResolution>;
}

export class OriginGate {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private rootAt: number | null = null;
  private rootValue: Promise<string | null> = Promise.resolve(null);
  /** Resolutions done (cache misses), for /health and tests. */
  resolved = 0;

  constructor(
    private readonly root: string,
    opts: OriginGateOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 2000;
    this.capacity = opts.capacity ?? 10000;
    this.now = opts.now ?? Date.now;
  }

  /** The file table's view of the tree for a path it has no row for: only what the rule allows is there. */
  async kind(originPath: string): Promise<OriginKind> {
    const r = await this.resolve(originPath);
    if (r.kind === 'file') return 'file';
    // nginx lists no directory reached through a symlink: do not send the client to one.
    if (r.kind === 'dir' && !r.linked) return 'dir';
    return 'none';
  }

  /** The origin path of the real file nginx is to serve for `originPath`, or null when the rule refuses it. */
  async deliverable(originPath: string): Promise<string | null> {
    const r = await this.resolve(originPath);
    return r.kind === 'file' ? r.real : null;
  }

  resolve(originPath: string): Promise<OriginResolution> {
    const t = this.now();
    const hit = this.entries.get(originPath);
    if (hit && t - hit.at < this.ttlMs) return hit.value;
    this.resolved++;
    const value = this.realRoot().then(
      (rootDir): Promise<OriginResolution> => (rootDir === null ? Promise.resolve({ kind: 'unreadable', code: 'origin root' }) : resolveOriginPath(rootDir, originPath)),
    );
    this.remember(originPath, { at: t, value });
    return value;
  }

  /** The real root, resolved again once per TTL (a remounted or re-pointed root is seen). */
  private realRoot(): Promise<string | null> {
    const t = this.now();
    if (this.rootAt === null || t - this.rootAt >= this.ttlMs) {
      this.rootAt = t;
      this.rootValue = realRoot(this.root).catch(() => null);
    }
    return this.rootValue;
  }

  private remember(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }
}
