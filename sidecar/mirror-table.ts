// The mirror table held in memory, reloaded when PostgreSQL announces a change (NOTIFY mirrorlane).
// One dedicated connection LISTENs; when it breaks, the last-known table stays in use and the
// connection is retried with backoff, reloading everything once it is back (changes may have been missed).
import pg from 'pg';
import { listMirrors } from '../core/db/mirrors.ts';
import { TYPE_PARSERS } from '../core/db/pool.ts';
import { peersByAsn } from '../core/db/peers.ts';
import type { Mirror } from '../core/types.ts';

export interface MirrorTableEvents {
  /** The file table changed, or notifications may have been missed: drop cached file rows. */
  onFilesChanged(): void;
  log(message: string): void;
}

export class MirrorTable {
  private byId = new Map<number, Mirror>();
  /** Client AS → mirror ids it prefers (the as_peer table). */
  peers: ReadonlyMap<number, readonly number[]> = new Map();
  private listener: pg.Client | null = null;
  private closed = false;
  private retryMs = 250;
  private retryTimer: NodeJS.Timeout | null = null;
  loadedAt: Date | null = null;
  listening = false;

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly events: MirrorTableEvents,
  ) {}

  get(id: number): Mirror | undefined {
    return this.byId.get(id);
  }

  all(): Mirror[] {
    return [...this.byId.values()];
  }

  private reloadsStarted = 0;
  private reloadApplied = 0;

  async reload(): Promise<void> {
    // Reloads triggered by a burst of NOTIFYs may finish out of order: a later-started one read newer data,
    // so an earlier one finishing after it must not overwrite it.
    const seq = ++this.reloadsStarted;
    const [mirrors, peers] = await Promise.all([listMirrors(this.pool), peersByAsn(this.pool)]);
    if (seq < this.reloadApplied) return;
    this.reloadApplied = seq;
    this.byId = new Map(mirrors.map((m) => [m.id, m]));
    this.peers = peers;
    this.loadedAt = new Date();
  }

  /** Connect the listener and load the table; does not throw: a database that is down is retried. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'mirrorlane-sidecar-listen', types: TYPE_PARSERS });
    client.on('error', () => this.lost(client, 'listener connection failed'));
    client.on('end', () => this.lost(client, 'listener connection ended'));
    try {
      await client.connect();
      client.on('notification', (msg) => this.notified(msg.payload ?? ''));
      await client.query('LISTEN mirrorlane');
      this.listener = client;
      // Load after LISTEN so no change falls between the two.
      await this.reload();
      this.events.onFilesChanged();
      this.listening = true;
      // A retry delay above the first one means the database was away: say that it is back.
      if (this.retryMs > 250) this.events.log(`database is back; ${this.all().length} mirrors loaded`);
      this.retryMs = 250;
    } catch (e) {
      this.events.log(`database not reachable (${(e as Error).message}); using the last-known mirror table, retrying`);
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      this.scheduleRetry();
    }
  }

  private notified(payload: string): void {
    if (payload === 'files') {
      this.events.onFilesChanged();
    } else {
      this.reload().catch((e) => this.events.log(`mirror reload failed: ${(e as Error).message}`));
    }
  }

  private lost(client: pg.Client, why: string): void {
    if (this.listener !== client || this.closed) return;
    this.listener = null;
    this.listening = false;
    this.events.log(`${why}; keeping the last-known mirror table, reconnecting`);
    client.end().catch(() => {});
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const l = this.listener;
    this.listener = null;
    if (l) await l.end().catch(() => {});
  }
}
