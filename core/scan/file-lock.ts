// One writer at a time on the file table's bulk updates (mirror scans, origin scans).
import type pg from 'pg';

/** Advisory lock key; migrations use 7243100. */
const FILE_TABLE_LOCK = 7243101;

/**
 * Take the bulk-writer lock until the end of the current transaction. Parallel mirror scans update overlapping
 * sets of file rows in whatever order their joins produce, which deadlocks; and a mirror scan must not judge
 * copies against rows an origin scan is rewriting. The locked part is only the set-based statements (seconds), not
 * the listing, so serialising it costs little.
 */
export async function lockFileTable(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [FILE_TABLE_LOCK]);
}
