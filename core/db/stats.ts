// Download statistics in PostgreSQL (sql/003_stats.sql): the sidecar's batched upsert and the reports.
// Days are UTC dates, passed and returned as "YYYY-MM-DD" strings (never JS Dates: those shift with the zone).
import type pg from 'pg';

type Db = pg.Pool | pg.ClientBase;

/** mirror_id of downloads the origin served itself. */
export const ORIGIN_MIRROR_ID = 0;

export interface DayCount {
  day: string;
  /** mirror id (0: origin) or file id. */
  id: number;
  requests: number;
  bytes: number;
}

export interface StatsBatch {
  mirrors: DayCount[];
  files: DayCount[];
}

function columns(rows: DayCount[]): [string[], number[], number[], number[]] {
  return [rows.map((r) => r.day), rows.map((r) => r.id), rows.map((r) => r.requests), rows.map((r) => r.bytes)];
}

/**
 * Add a batch to both tables in ONE statement (so it is all or nothing), with arrays as parameters so that any
 * batch size takes 8 parameters. Rows are upserted in key order: two sidecars flushing overlapping keys take
 * their row locks in the same order and cannot deadlock.
 */
export async function addStats(db: Db, batch: StatsBatch): Promise<void> {
  if (!batch.mirrors.length && !batch.files.length) return;
  await db.query({
    name: 'stats_add',
    text: `WITH m AS (
             INSERT INTO stats_mirror_day AS t (day, mirror_id, requests, bytes)
             SELECT * FROM unnest($1::date[], $2::smallint[], $3::bigint[], $4::bigint[]) AS u(day, id, r, b) ORDER BY 1, 2
             ON CONFLICT (day, mirror_id) DO UPDATE SET requests = t.requests + EXCLUDED.requests, bytes = t.bytes + EXCLUDED.bytes
             RETURNING 1),
           f AS (
             INSERT INTO stats_file_day AS t (day, file_id, requests, bytes)
             SELECT * FROM unnest($5::date[], $6::integer[], $7::bigint[], $8::bigint[]) AS u(day, id, r, b) ORDER BY 1, 2
             ON CONFLICT (day, file_id) DO UPDATE SET requests = t.requests + EXCLUDED.requests, bytes = t.bytes + EXCLUDED.bytes
             RETURNING 1)
           SELECT (SELECT count(*) FROM m) AS mirrors, (SELECT count(*) FROM f) AS files`,
    values: [...columns(batch.mirrors), ...columns(batch.files)],
  });
}

/** The per-mirror rows of one day (the ?mirrorstats page). */
export async function mirrorStatsOfDay(db: Db, day: string): Promise<Map<number, { requests: number; bytes: number }>> {
  const { rows } = await db.query({
    name: 'stats_mirror_of_day',
    text: 'SELECT mirror_id, requests, bytes FROM stats_mirror_day WHERE day = $1::date',
    values: [day],
  });
  return new Map(rows.map((r) => [r.mirror_id as number, { requests: r.requests as number, bytes: r.bytes as number }]));
}

export interface MirrorTotal {
  mirrorId: number;
  /** null when the mirror was deleted since. */
  identifier: string | null;
  operatorName: string | null;
  country: string | null;
  requests: number;
  bytes: number;
}

/** Requests and bytes per mirror (and the origin) from `from` to `to`, both included; busiest first. */
export async function mirrorTotals(db: Db, from: string, to: string): Promise<MirrorTotal[]> {
  const { rows } = await db.query({
    name: 'stats_mirror_totals',
    text: `SELECT s.mirror_id, m.identifier, m.operator_name, m.country,
                  sum(s.requests)::bigint AS requests, sum(s.bytes)::bigint AS bytes
           FROM stats_mirror_day s LEFT JOIN mirror m ON m.id = s.mirror_id
           WHERE s.day BETWEEN $1::date AND $2::date
           GROUP BY s.mirror_id, m.identifier, m.operator_name, m.country
           ORDER BY requests DESC, s.mirror_id`,
    values: [from, to],
  });
  return rows.map((r) => ({
    mirrorId: r.mirror_id,
    identifier: r.identifier,
    operatorName: r.operator_name,
    country: r.country,
    requests: r.requests,
    bytes: r.bytes,
  }));
}

export interface FileTotal {
  fileId: number;
  /** null when the file row was deleted since. */
  path: string | null;
  requests: number;
  bytes: number;
}

export interface FileTotals {
  /** Over all files of the range, not only the top ones. */
  files: number;
  requests: number;
  bytes: number;
  top: FileTotal[];
}

/** The `limit` most requested files from `from` to `to`, and the totals over all files. */
export async function fileTotals(db: Db, from: string, to: string, limit: number): Promise<FileTotals> {
  const { rows } = await db.query({
    name: 'stats_file_totals',
    text: `WITH per_file AS (
             SELECT file_id, sum(requests)::bigint AS requests, sum(bytes)::bigint AS bytes
             FROM stats_file_day WHERE day BETWEEN $1::date AND $2::date GROUP BY file_id)
           SELECT p.file_id, f.path, p.requests, p.bytes,
                  count(*) OVER () AS n, sum(p.requests) OVER ()::bigint AS all_requests, sum(p.bytes) OVER ()::bigint AS all_bytes
           FROM per_file p LEFT JOIN file f ON f.id = p.file_id
           ORDER BY p.requests DESC, p.file_id
           LIMIT $3`,
    values: [from, to, limit],
  });
  return {
    files: rows.length ? Number(rows[0].n) : 0,
    requests: rows.length ? rows[0].all_requests : 0,
    bytes: rows.length ? rows[0].all_bytes : 0,
    top: rows.map((r) => ({ fileId: r.file_id, path: r.path, requests: r.requests, bytes: r.bytes })),
  };
}

/** Per-mirror rows of the days from `from` to `to` (both included), for the ?mirrorstats history chart. */
export async function mirrorStatsOfDays(db: Db, from: string, to: string): Promise<DayCount[]> {
  const { rows } = await db.query({
    name: 'stats_mirror_of_days',
    text: `SELECT to_char(day, 'YYYY-MM-DD') AS day, mirror_id, requests, bytes FROM stats_mirror_day
           WHERE day BETWEEN $1::date AND $2::date ORDER BY day, mirror_id`,
    values: [from, to],
  });
  return rows.map((r) => ({ day: r.day as string, id: r.mirror_id as number, requests: r.requests as number, bytes: r.bytes as number }));
}
