// Transactions that are retried whole on the failures PostgreSQL asks to retry (deadlock, serialization), and
// the file-table writer transaction: every writer of many file rows takes the same advisory lock first
// (core/scan/file-lock.ts), so that two of them never lock overlapping rows in different orders.
import type pg from 'pg';
import { lockFileTable } from '../scan/file-lock.ts';

/** SQLSTATEs after which the same transaction, run again, may succeed. */
const RETRYABLE = new Set(['40P01', '40001']);

export function isRetryable(e: unknown): boolean {
  return RETRYABLE.has((e as { code?: string }).code ?? '');
}

/** Run `fn` in BEGIN/COMMIT on one pooled client, again (up to `attempts` times) when it fails retryably. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      if (!isRetryable(e) || attempt >= attempts) throw e;
      // A little random wait, so two retriers do not meet again at once.
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * attempt));
    } finally {
      client.release(broken);
    }
  }
}

/**
 * A write of many file rows: in a transaction holding the file-table writer lock when given a pool; as is when
 * given a client (the caller's transaction, which must take the lock itself).
 */
export async function fileWrite<T>(db: pg.Pool | pg.ClientBase, fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  if (!isPool(db)) return fn(db);
  return inTransaction(db, async (client) => {
    await lockFileTable(client);
    return fn(client);
  });
}

function isPool(db: pg.Pool | pg.ClientBase): db is pg.Pool {
  return typeof (db as pg.Pool).totalCount === 'number';
}
