// What sits beside a file row (sql/005): its piece hashes and the copies the last mirror scans found wrong.
// Read only for the answers that show them, never on the redirect path.
import type pg from 'pg';
import type { Pieces } from '../scan/pieces.ts';

type Db = pg.Pool | pg.ClientBase;

/**
 * The piece hashes of a file, if they describe the content `sha256` (hex) names: a row cached before the file
 * changed must not get the new content's pieces, nor the other way round.
 */
export async function piecesOf(db: Db, fileId: number, sha256: string | null): Promise<Pieces | null> {
  if (sha256 === null) return null;
  const { rows } = await db.query({
    name: 'file_pieces_of',
    text: `SELECT piece_size, sha256, sha1 FROM file_pieces WHERE file_id = $1 AND content = decode($2, 'hex')`,
    values: [fileId, sha256],
  });
  if (!rows.length) return null;
  return { pieceSize: rows[0].piece_size, sha256: rows[0].sha256, sha1: rows[0].sha1 };
}

/** The stored zsync control file (no URL lines) of the content `sha256` names, or null. */
export async function zsyncOf(db: Db, fileId: number, sha256: string | null): Promise<Buffer | null> {
  if (sha256 === null) return null;
  const { rows } = await db.query({
    name: 'file_zsync_of',
    text: `SELECT control FROM file_zsync WHERE file_id = $1 AND content = decode($2, 'hex')`,
    values: [fileId, sha256],
  });
  return rows.length ? (rows[0].control as Buffer) : null;
}

export type MismatchReason = 'size' | 'older' | 'mtime';

export interface Mismatch {
  mirrorId: number;
  reason: MismatchReason;
}

const REASONS: Record<string, MismatchReason> = { s: 'size', o: 'older', m: 'mtime' };

/** The mirrors whose copy of a file the last scan saw but did not count, and why. */
export async function mismatchesOf(db: Db, fileId: number): Promise<Mismatch[]> {
  const { rows } = await db.query({
    name: 'file_mismatches_of',
    text: 'SELECT mirror_id, reason FROM file_mismatch WHERE file_id = $1 ORDER BY mirror_id',
    values: [fileId],
  });
  return rows.map((r) => ({ mirrorId: r.mirror_id, reason: REASONS[r.reason] ?? 'size' }));
}

/** Mismatches of many files at once (`file ls`): file id → its mismatches with mirror identifiers. */
export async function mismatchesOfFiles(db: Db, fileIds: number[]): Promise<Map<number, { mirror: string; reason: MismatchReason }[]>> {
  const out = new Map<number, { mirror: string; reason: MismatchReason }[]>();
  if (!fileIds.length) return out;
  const { rows } = await db.query(
    `SELECT x.file_id, m.identifier, x.reason FROM file_mismatch x JOIN mirror m ON m.id = x.mirror_id
     WHERE x.file_id = ANY($1::integer[]) ORDER BY x.file_id, m.identifier`,
    [fileIds],
  );
  for (const r of rows) {
    const list = out.get(r.file_id) ?? [];
    list.push({ mirror: r.identifier, reason: REASONS[r.reason] ?? 'size' });
    out.set(r.file_id, list);
  }
  return out;
}

/** The wording an answer uses for a mismatch, as an exclusion reason. */
export function mismatchText(reason: MismatchReason): string {
  return reason === 'size' ? 'file size differs' : reason === 'older' ? 'older copy' : 'mtime differs';
}
