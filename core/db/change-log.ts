// Reading and pruning the change log (sql/004_change_log.sql). Works on a hot standby: plain SELECTs only.
import type pg from 'pg';

export interface ChangeEntry {
  kind: 'mirrors' | 'files' | 'all_files';
  ids: number[] | null;
  paths: string[] | null;
}

export interface ChangeBatch {
  /** The reader's next cursor: every transaction below it has ended (its snapshot's xmin), as text (xid8). */
  upto: string;
  /** The highest pruned transaction id; a cursor not above it may have missed rows. */
  horizon: string;
  entries: ChangeEntry[];
}

/** Where a follower starts: rows of transactions at or above this are still to be read. */
export async function changeCursor(db: pg.Pool | pg.ClientBase): Promise<string> {
  const { rows } = await db.query('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS upto');
  return rows[0].upto;
}

/**
 * The log rows of transactions that ended between `cursor` and now, in one statement so that the rows and the
 * new cursor come from the same snapshot.
 */
export async function readChanges(db: pg.Pool | pg.ClientBase, cursor: string): Promise<ChangeBatch> {
  const { rows } = await db.query({
    name: 'change_log_read',
    text: `WITH s AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS upto)
           SELECT s.upto::text AS upto, (SELECT below::text FROM change_log_horizon) AS horizon, c.kind, c.ids, c.paths
           FROM s LEFT JOIN change_log c ON c.xid >= $1::xid8 AND c.xid < s.upto
           ORDER BY c.seq`,
    values: [cursor],
  });
  const entries: ChangeEntry[] = [];
  for (const r of rows) if (r.kind) entries.push({ kind: r.kind, ids: r.ids, paths: r.paths });
  return { upto: rows[0].upto, horizon: rows[0].horizon ?? '0', entries };
}

/**
 * How long change-log rows are kept: a sidecar away for longer (or further behind) reloads everything instead. An
 * hour bridges a replica restart or a network cut; a scan logs only the rows it changed, so the log stays small.
 */
export const CHANGE_LOG_KEEP_S = 3600;

/** Delete log rows older than `keepS` seconds (on the primary); returns how many. */
export async function pruneChangeLog(db: pg.Pool | pg.ClientBase, keepS: number): Promise<number> {
  const { rows } = await db.query('SELECT mirrorlane_prune_change_log(make_interval(secs => $1)) AS n', [keepS]);
  return Number(rows[0].n);
}

/** xid8 values as text compare as numbers. */
export function xidLte(a: string, b: string): boolean {
  return BigInt(a) <= BigInt(b);
}
