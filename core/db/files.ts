// Queries on the packed file table.
import type pg from 'pg';
import type { FileRow } from '../types.ts';
import { fileWrite } from './transaction.ts';

export const FILE_COLUMNS = `id, path, size, mtime, encode(sha256, 'hex') AS sha256, encode(sha1, 'hex') AS sha1,
  encode(md5, 'hex') AS md5, mirrors`;

export function fileFromRow(r: Record<string, any>): FileRow {
  return {
    id: r.id,
    path: r.path,
    size: r.size,
    mtime: r.mtime,
    sha256: r.sha256,
    sha1: r.sha1,
    md5: r.md5,
    mirrors: r.mirrors,
  };
}

/** One file row by path, one index probe (the CLI's file commands; the sidecar's misses go through filesByPaths). */
export async function fileByPath(db: pg.Pool | pg.ClientBase, path: string): Promise<FileRow | null> {
  const { rows } = await db.query({ name: 'file_by_path', text: `SELECT ${FILE_COLUMNS} FROM file WHERE path = $1`, values: [path] });
  return rows.length ? fileFromRow(rows[0]) : null;
}

/** Several lookups in one round trip (the sidecar batches concurrent cache misses): path → row, found ones only. */
export async function filesByPaths(db: pg.Pool | pg.ClientBase, paths: string[]): Promise<Map<string, FileRow>> {
  const { rows } = await db.query({ name: 'files_by_paths', text: `SELECT ${FILE_COLUMNS} FROM file WHERE path = ANY($1::text[])`, values: [paths] });
  const out = new Map<string, FileRow>();
  for (const r of rows) {
    const f = fileFromRow(r);
    out.set(f.path, f);
  }
  return out;
}

// Patterns below are LIKE patterns with "\" as escape character (see globToLike in core/cli-parse.ts).

/** Files whose path matches `like` (all files when null), optionally only those `mirrorId` holds; path order. */
export async function listFiles(
  db: pg.Pool | pg.ClientBase,
  like: string | null,
  opts: { mirrorId?: number; limit?: number } = {},
): Promise<FileRow[]> {
  const { rows } = await db.query({
    name: 'file_list',
    text: `SELECT ${FILE_COLUMNS} FROM file
           WHERE ($1::text IS NULL OR path LIKE $1) AND ($2::smallint IS NULL OR mirrors @> ARRAY[$2::smallint])
           ORDER BY path LIMIT $3`,
    values: [like, opts.mirrorId ?? null, opts.limit ?? null],
  });
  return rows.map(fileFromRow);
}

export async function countFiles(db: pg.Pool | pg.ClientBase, like: string | null = null, mirrorId: number | null = null): Promise<number> {
  const { rows } = await db.query({
    name: 'file_count',
    text: `SELECT count(*) AS n FROM file
           WHERE ($1::text IS NULL OR path LIKE $1) AND ($2::smallint IS NULL OR mirrors @> ARRAY[$2::smallint])`,
    values: [like, mirrorId],
  });
  return Number(rows[0].n);
}

export interface ArrayChange {
  /** Rows whose path matched. */
  matched: number;
  /** Rows actually rewritten (the others already were in the wanted state). */
  changed: number;
}

// The writers below run under the file-table writer lock (core/db/transaction.ts): a set-based update of many rows
// locks them in whatever order its join yields, and two such updates over overlapping rows deadlock.

/**
 * Mark `mirrorId` as holding every file matching `like`, in one statement. Rows that already list it are left
 * alone (no duplicate, no needless row rewrite); the condition is on the row being updated so a concurrent
 * add cannot slip a duplicate in.
 */
export function addMirrorToFiles(db: pg.Pool | pg.ClientBase, like: string, mirrorId: number): Promise<ArrayChange> {
  return fileWrite(db, (c) => addMirrorQuery(c, like, mirrorId));
}

async function addMirrorQuery(db: pg.ClientBase, like: string, mirrorId: number): Promise<ArrayChange> {
  // Two plain statements under the writer lock: a scan of the matching rows updating in place, no join.
  const matched = await db.query({ name: 'file_count_like', text: 'SELECT count(*) AS n FROM file WHERE path LIKE $1', values: [like] });
  const upd = await db.query({
    name: 'file_add_mirror',
    text: `UPDATE file SET mirrors = array_append(mirrors, $2::smallint) WHERE path LIKE $1 AND NOT mirrors @> ARRAY[$2::smallint]`,
    values: [like, mirrorId],
  });
  return { matched: Number(matched.rows[0].n), changed: upd.rowCount ?? 0 };
}

/** Take `mirrorId` out of every file matching `like`, in one statement. */
export function removeMirrorFromFiles(db: pg.Pool | pg.ClientBase, like: string, mirrorId: number): Promise<ArrayChange> {
  return fileWrite(db, (c) => removeMirrorQuery(c, like, mirrorId));
}

async function removeMirrorQuery(db: pg.ClientBase, like: string, mirrorId: number): Promise<ArrayChange> {
  const matched = await db.query({ name: 'file_count_like', text: 'SELECT count(*) AS n FROM file WHERE path LIKE $1', values: [like] });
  const upd = await db.query({
    name: 'file_remove_mirror',
    text: `UPDATE file SET mirrors = array_remove(mirrors, $2::smallint) WHERE path LIKE $1 AND mirrors @> ARRAY[$2::smallint]`,
    values: [like, mirrorId],
  });
  return { matched: Number(matched.rows[0].n), changed: upd.rowCount ?? 0 };
}

/**
 * Create or refresh a file row from the origin's metadata and add `mirrorIds` to its holders (existing holders
 * stay: judging whether their copies are still current is the scanner's job). sha1/md5 of an existing row are
 * dropped when the SHA-256 changed, so no stale hash survives next to a new one.
 */
export function upsertFile(
  db: pg.Pool | pg.ClientBase,
  file: { path: string; size: number; mtime: number; sha256: string | null },
  mirrorIds: number[],
): Promise<FileRow> {
  return fileWrite(db, (c) => upsertQuery(c, file, mirrorIds));
}

async function upsertQuery(db: pg.ClientBase, file: { path: string; size: number; mtime: number; sha256: string | null }, mirrorIds: number[]): Promise<FileRow> {
  const { rows } = await db.query({
    name: 'file_upsert',
    text: `INSERT INTO file (path, size, mtime, sha256, mirrors) VALUES ($1, $2, $3, decode($4, 'hex'), $5::smallint[])
           ON CONFLICT (path) DO UPDATE SET
             size = EXCLUDED.size,
             mtime = EXCLUDED.mtime,
             sha256 = coalesce(EXCLUDED.sha256, file.sha256),
             sha1 = CASE WHEN EXCLUDED.sha256 IS DISTINCT FROM file.sha256 AND EXCLUDED.sha256 IS NOT NULL THEN NULL ELSE file.sha1 END,
             md5 = CASE WHEN EXCLUDED.sha256 IS DISTINCT FROM file.sha256 AND EXCLUDED.sha256 IS NOT NULL THEN NULL ELSE file.md5 END,
             mirrors = file.mirrors || ARRAY(SELECT DISTINCT m FROM unnest(EXCLUDED.mirrors) m WHERE m <> ALL (file.mirrors))
           RETURNING ${FILE_COLUMNS}`,
    values: [file.path, file.size, file.mtime, file.sha256, mirrorIds],
  });
  return fileFromRow(rows[0]);
}

/** Delete the file rows themselves; returns how many. */
export function deleteFiles(db: pg.Pool | pg.ClientBase, like: string): Promise<number> {
  return fileWrite(db, async (c) => {
    const res = await c.query({ name: 'file_delete', text: 'DELETE FROM file WHERE path LIKE $1', values: [like] });
    return res.rowCount ?? 0;
  });
}
