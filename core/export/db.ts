// Reading and writing a whole snapshot: mirrors, notes and AS peers, each in one transaction. SQL text is built
// only from the field table of schema.ts, never from input; data travels as one jsonb parameter per table.
import type pg from 'pg';
import { MIRROR_FIELDS, NOTE_FIELDS, PEER_FIELDS, type Field, type Row, type Snapshot } from './schema.ts';

/** Timestamps as text with microseconds: a JavaScript Date would drop them and break the byte-for-byte round trip. */
const timeText = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function selectExpr(f: Field, col = f.name): string {
  if (f.kind === 'time' || f.kind === 'time?') return `${timeText(col)} AS ${f.name}`;
  if (f.sqlType === 'cidr[]') return `${col}::text[] AS ${f.name}`;
  return col === f.name ? col : `${col} AS ${f.name}`;
}

/** Everything, read in one repeatable-read transaction so the three tables agree. */
export async function readSnapshot(pool: pg.Pool): Promise<Snapshot> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const mirrors = await client.query(`SELECT ${MIRROR_FIELDS.map((f) => selectExpr(f)).join(', ')} FROM mirror ORDER BY identifier COLLATE "C"`);
    const noteCols = NOTE_FIELDS.map((f) => selectExpr(f, f.name === 'mirror' ? 'm.identifier' : `n.${f.name}`));
    // Notes of equal time keep the order they were written in (their id).
    const notes = await client.query(
      `SELECT ${noteCols.join(', ')} FROM mirror_note n JOIN mirror m ON m.id = n.mirror_id
       ORDER BY m.identifier COLLATE "C", n.created_at, n.id`,
    );
    const peerCols = PEER_FIELDS.map((f) => selectExpr(f, f.name === 'mirror' ? 'm.identifier' : `p.${f.name}`));
    const peers = await client.query(
      `SELECT ${peerCols.join(', ')} FROM as_peer p JOIN mirror m ON m.id = p.mirror_id ORDER BY p.client_asn, m.identifier COLLATE "C"`,
    );
    await client.query('COMMIT');
    return { mirrors: mirrors.rows.map(numbers), notes: notes.rows, peers: peers.rows.map(numbers) };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/** bigint columns arrive as numbers already (pool.ts); this keeps the row independent of that global setting. */
function numbers(r: Row): Row {
  for (const k of ['asn', 'file_max_size', 'client_asn']) if (typeof r[k] === 'string') r[k] = Number(r[k]);
  return r;
}

export interface ImportCounts {
  mirrorsInserted: number;
  /** --replace: mirrors already there under the same identifier, overwritten and keeping their id and files. */
  mirrorsUpdated: number;
  /** --replace: mirrors not in the snapshot, deleted with their notes, peers and file holdings. */
  mirrorsDeleted: number;
  notesDeleted: number;
  peersDeleted: number;
  notes: number;
  peers: number;
}

/** Raised when, without --replace, mirrors of the snapshot exist already. */
export class ImportConflict extends Error {
  constructor(readonly identifiers: string[]) {
    const more = identifiers.length > 1 ? ` (and ${identifiers.length - 1} more: ${identifiers.slice(1, 6).join(', ')}${identifiers.length > 6 ? ', …' : ''})` : '';
    super(`mirror '${identifiers[0]}' exists already${more}: use --replace to make the database equal the file`);
  }
}

/** `x(col type, …)` for jsonb_to_recordset, plus `_ord` (the row's position) to keep the file's order. */
function recordDef(fields: readonly Field[]): string {
  return [...fields.map((f) => `${f.name} ${f.sqlType}`), '_ord integer'].join(', ');
}

function payload(rows: Row[]): string {
  return JSON.stringify(rows.map((r, i) => ({ ...r, _ord: i })));
}

/**
 * Write a validated snapshot in one transaction. Without `replace`, every mirror must be new (else ImportConflict,
 * nothing written). With `replace`, the database ends up holding exactly the snapshot's mirrors, notes and peers:
 * all notes and peers go; mirrors whose identifier the snapshot lacks are deleted; mirrors it has are overwritten
 * in place, keeping their id and so the files the scanner found on them; the rest are inserted.
 * `dryRun` does all of it and rolls back, so the counts and every database-side check are real.
 */
export async function writeSnapshot(pool: pg.Pool, snap: Snapshot, opts: { replace: boolean; dryRun?: boolean }): Promise<ImportCounts> {
  const client = await pool.connect();
  const counts: ImportCounts = { mirrorsInserted: 0, mirrorsUpdated: 0, mirrorsDeleted: 0, notesDeleted: 0, peersDeleted: 0, notes: 0, peers: 0 };
  const identifiers = snap.mirrors.map((m) => m.identifier as string);
  const cols = MIRROR_FIELDS.map((f) => f.name);
  try {
    await client.query('BEGIN');
    // No mirror may appear or go between our checks and our writes; readers (the sidecars) are not blocked.
    await client.query('LOCK TABLE mirror IN SHARE ROW EXCLUSIVE MODE');
    if (opts.replace) {
      counts.notesDeleted = (await client.query('DELETE FROM mirror_note')).rowCount ?? 0;
      counts.peersDeleted = (await client.query('DELETE FROM as_peer')).rowCount ?? 0;
      counts.mirrorsDeleted = (await client.query('DELETE FROM mirror WHERE identifier <> ALL($1::text[])', [identifiers])).rowCount ?? 0;
      const upd = await client.query(
        `UPDATE mirror m SET (${cols.join(', ')}) = (${cols.map((c) => `x.${c}`).join(', ')})
         FROM jsonb_to_recordset($1::jsonb) AS x(${recordDef(MIRROR_FIELDS)}) WHERE m.identifier = x.identifier`,
        [payload(snap.mirrors)],
      );
      counts.mirrorsUpdated = upd.rowCount ?? 0;
    } else {
      // Case-insensitively, as the unique index of migration 007: 'Mir-A' in the file collides with 'mir-a'.
      const { rows } = await client.query(
        'SELECT identifier FROM mirror WHERE lower(identifier) = ANY(SELECT lower(u) FROM unnest($1::text[]) AS u) ORDER BY identifier COLLATE "C"',
        [identifiers],
      );
      if (rows.length) throw new ImportConflict(rows.map((r) => r.identifier as string));
    }
    const ins = await client.query(
      `INSERT INTO mirror (${cols.join(', ')})
       SELECT ${cols.map((c) => `x.${c}`).join(', ')} FROM jsonb_to_recordset($1::jsonb) AS x(${recordDef(MIRROR_FIELDS)})
       WHERE NOT EXISTS (SELECT 1 FROM mirror m WHERE m.identifier = x.identifier) ORDER BY x._ord`,
      [payload(snap.mirrors)],
    );
    counts.mirrorsInserted = ins.rowCount ?? 0;
    // Notes in file order, so notes of equal time get ids (and so an export order) as before.
    const notes = await client.query(
      `INSERT INTO mirror_note (mirror_id, created_at, author, body)
       SELECT m.id, x.created_at, x.author, x.body FROM jsonb_to_recordset($1::jsonb) AS x(${recordDef(NOTE_FIELDS)})
       JOIN mirror m ON m.identifier = x.mirror ORDER BY x._ord`,
      [payload(snap.notes)],
    );
    counts.notes = notes.rowCount ?? 0;
    const peers = await client.query(
      `INSERT INTO as_peer (client_asn, mirror_id, created_at)
       SELECT x.client_asn, m.id, x.created_at FROM jsonb_to_recordset($1::jsonb) AS x(${recordDef(PEER_FIELDS)})
       JOIN mirror m ON m.identifier = x.mirror ORDER BY x._ord`,
      [payload(snap.peers)],
    );
    counts.peers = peers.rowCount ?? 0;
    // Validation checked the references; a difference here is a bug, and must not commit half a snapshot.
    if (counts.notes !== snap.notes.length || counts.peers !== snap.peers.length) {
      throw new Error(`import wrote ${counts.notes}/${snap.notes.length} notes and ${counts.peers}/${snap.peers.length} peers`);
    }
    await client.query(opts.dryRun ? 'ROLLBACK' : 'COMMIT');
    return counts;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
