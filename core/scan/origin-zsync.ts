// The origin scan's zsync step: a control file for every file hashed in this scan that is big enough, into the
// temp table origin_zsync, written back with the rest (see origin-scan.ts).
import path from 'node:path';
import type pg from 'pg';
import { makeZsync, zsyncAvailable, zsyncLength } from './zsync.ts';

/** Create origin_zsync and fill it; returns how many control files were made. */
export async function makeOriginZsyncs(
  client: pg.ClientBase,
  realRoot: string,
  minSize: number | null,
  warn: (path: string, reason: string) => void,
): Promise<number> {
  await client.query('CREATE TEMP TABLE origin_zsync (path text NOT NULL, content bytea NOT NULL, control bytea NOT NULL)');
  if (minSize === null) return 0;
  const { rows } = await client.query('SELECT path, size, sha256 FROM origin_hashed WHERE size >= $1 AND size > 0 ORDER BY path', [minSize]);
  if (!rows.length) return 0;
  if (!zsyncAvailable()) {
    warn('/', 'zsyncmake is not installed (Debian package zsync): no .zsync control files made');
    return 0;
  }
  let made = 0;
  for (const r of rows) {
    try {
      const control = await makeZsync(path.join(realRoot, r.path), path.basename(r.path));
      // The file may have changed since it was hashed: a control file of other bytes must not be kept.
      if (zsyncLength(control) !== Number(r.size)) {
        warn(r.path, 'changed while zsyncmake read it; no .zsync this time');
        continue;
      }
      await client.query('INSERT INTO origin_zsync (path, content, control) VALUES ($1, $2, $3)', [r.path, r.sha256, control]);
      made++;
    } catch (e) {
      warn(r.path, (e as Error).message);
    }
  }
  return made;
}

/** Inside the write-back transaction: the new control files replace the old ones. */
export async function writeOriginZsyncs(client: pg.ClientBase): Promise<void> {
  await client.query(
    `INSERT INTO file_zsync AS z (file_id, content, control)
     SELECT f.id, o.content, o.control FROM origin_zsync o JOIN file f ON f.path = o.path
     ON CONFLICT (file_id) DO UPDATE SET content = EXCLUDED.content, control = EXCLUDED.control`,
  );
}
