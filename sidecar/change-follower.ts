// Follows the change log (sql/004_change_log.sql) so that a sidecar drops only what changed, on a primary or on
// a hot-standby replica alike. Polling is the mechanism (a replica cannot LISTEN); on a primary a LISTEN
// connection wakes the poll early. While the database is away the caches stay as they are and the poll retries;
// a cursor the log can no longer serve (pruned past it) means a full reload.
import pg from 'pg';
import { changeCursor, readChanges, xidLte, type ChangeBatch } from '../core/db/change-log.ts';
import { TYPE_PARSERS } from '../core/db/pool.ts';

export interface ChangePlan {
  /** The log cannot tell what changed since the cursor: reload the mirror table and drop every file row. */
  reloadAll: boolean;
  mirrors: boolean;
  allFiles: boolean;
  /** File rows to drop from the cache (deduplicated). */
  paths: string[];
  next: string;
}

/** What a batch read at `cursor` asks of the caches. Pure. */
export function planChanges(cursor: string, batch: ChangeBatch): ChangePlan {
  const plan: ChangePlan = { reloadAll: false, mirrors: false, allFiles: false, paths: [], next: batch.upto };
  if (batch.horizon !== '0' && xidLte(cursor, batch.horizon)) {
    plan.reloadAll = true;
    return plan;
  }
  const paths = new Set<string>();
  for (const e of batch.entries) {
    if (e.kind === 'mirrors') plan.mirrors = true;
    else if (e.kind === 'all_files') plan.allFiles = true;
    else for (const p of e.paths ?? []) paths.add(p);
  }
  if (!plan.allFiles) plan.paths = [...paths];
  return plan;
}

export interface FollowerTarget {
  /** Reload the mirror table (and peers). */
  reloadMirrors(): Promise<void>;
  dropFiles(paths: string[]): void;
  dropAllFiles(): void;
  /** The follower is in step with the database (true) or cannot reach it (false). */
  connected(up: boolean): void;
  log(message: string): void;
}

export interface FollowerOptions {
  /** Poll interval, ms: the bound on how late a change is seen (plus the longest write transaction). */
  pollMs: number;
  /** Try LISTEN on this URL as a wake-up (refused on a replica, then polling alone). */
  listenUrl?: string | null;
}

export class ChangeFollower {
  private cursor: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private up = false;
  private wasDown = false;
  private listener: pg.Client | null = null;
  private listenRetryAt = 0;
  /** Batches applied, full reloads done: for /health and tests. */
  polls = 0;
  reloads = 0;

  constructor(
    private readonly db: pg.Pool,
    private readonly target: FollowerTarget,
    private readonly opts: FollowerOptions,
  ) {}

  /** First sync (does not throw: a database that is down is retried), then poll for ever. */
  async start(): Promise<void> {
    await this.poll();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll().finally(() => this.schedule());
    }, this.opts.pollMs);
  }

  /** Read and apply the log now; concurrent calls share one run (and one more after it). */
  poll(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.step();
      } while (this.again && !this.closed);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async step(): Promise<void> {
    try {
      if (this.cursor === null) {
        // Cursor first, then the load: everything below the cursor is in what the load reads.
        const start = await changeCursor(this.db);
        await this.fullReload();
        this.cursor = start;
      } else {
        const batch = await readChanges(this.db, this.cursor);
        const plan = planChanges(this.cursor, batch);
        if (plan.reloadAll) {
          this.target.log('change log pruned past this sidecar\'s position: reloading everything');
          await this.fullReload();
        } else {
          if (plan.allFiles) this.target.dropAllFiles();
          else if (plan.paths.length) this.target.dropFiles(plan.paths);
          if (plan.mirrors) await this.target.reloadMirrors();
        }
        this.cursor = plan.next;
        this.polls++;
      }
      this.setUp(true);
      void this.ensureListener();
    } catch (e) {
      if (this.up) this.target.log(`change log not readable (${(e as Error).message}); answering from caches, retrying`);
      this.setUp(false);
    }
  }

  private async fullReload(): Promise<void> {
    await this.target.reloadMirrors();
    this.target.dropAllFiles();
    this.reloads++;
  }

  private setUp(up: boolean): void {
    if (up !== this.up) {
      this.up = up;
      // The first connection is no news; one after the database was away is (operators look for it in the log).
      if (!up) this.wasDown = true;
      else if (this.wasDown) this.target.log('database is back; following the change log again');
      this.target.connected(up);
    }
  }

  /** LISTEN on the primary as a wake-up; on a replica PostgreSQL refuses it and polling alone remains. */
  private async ensureListener(): Promise<void> {
    const url = this.opts.listenUrl;
    if (!url || this.listener || this.closed || Date.now() < this.listenRetryAt) return;
    this.listenRetryAt = Date.now() + 30_000;
    const client = new pg.Client({ connectionString: url, application_name: 'mirrorlane-sidecar-listen', types: TYPE_PARSERS });
    const lost = () => {
      if (this.listener === client) this.listener = null;
      client.end().catch(() => {});
    };
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      client.on('notification', () => void this.poll());
      await client.query('LISTEN mirrorlane');
      if (this.closed) await client.end();
      else this.listener = client;
    } catch {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }

  get listening(): boolean {
    return this.listener !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
    const l = this.listener;
    this.listener = null;
    if (l) await l.end().catch(() => {});
  }
}
