// The mirror table held in memory. sidecar/change-follower.ts reloads it when the change log says mirrors or AS
// peers changed; while the database is away the last-known table stays in use.
import type pg from 'pg';
import { listMirrors } from '../core/db/mirrors.ts';
import { peersByAsn } from '../core/db/peers.ts';
import type { Mirror } from '../core/types.ts';

export class MirrorTable {
  private byId = new Map<number, Mirror>();
  /** Client AS → mirror ids it prefers (the as_peer table). */
  peers: ReadonlyMap<number, readonly number[]> = new Map();
  loadedAt: Date | null = null;
  /** The change follower is in step with the database (shown by /health and /metrics). */
  listening = false;

  constructor(private readonly pool: pg.Pool) {}

  get(id: number): Mirror | undefined {
    return this.byId.get(id);
  }

  all(): Mirror[] {
    return [...this.byId.values()];
  }

  private reloadsStarted = 0;
  private reloadApplied = 0;

  async reload(): Promise<void> {
    // Overlapping reloads may finish out of order: a later-started one read newer data,
    // so an earlier one finishing after it must not overwrite it.
    const seq = ++this.reloadsStarted;
    const [mirrors, peers] = await Promise.all([listMirrors(this.pool), peersByAsn(this.pool)]);
    if (seq < this.reloadApplied) return;
    this.reloadApplied = seq;
    this.byId = new Map(mirrors.map((m) => [m.id, m]));
    this.peers = peers;
    this.loadedAt = new Date();
  }
}
