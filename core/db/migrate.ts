// Applies the numbered plain-SQL migrations of sql/, each in its own transaction, once.
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { PROJECT_ROOT } from '../config.ts';

export interface Migration {
  version: number;
  name: string;
  file: string;
}

export function listMigrations(dir = path.join(PROJECT_ROOT, 'sql')): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), file: path.join(dir, f) }));
}

export interface MigrationStatus {
  applied: { version: number; name: string; appliedAt: Date }[];
  pending: Migration[];
}

async function ensureVersionTable(client: pg.ClientBase): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())`);
}

export async function migrationStatus(pool: pg.Pool): Promise<MigrationStatus> {
  const exists = await pool.query(`SELECT to_regclass('schema_version') IS NOT NULL AS ok`);
  const rows = exists.rows[0].ok
    ? (await pool.query('SELECT version, name, applied_at FROM schema_version ORDER BY version')).rows
    : [];
  const done = new Set(rows.map((r) => r.version as number));
  return {
    applied: rows.map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at })),
    pending: listMigrations().filter((m) => !done.has(m.version)),
  };
}

/** Apply what is pending; returns the migrations applied now. Safe to run again and from two hosts at once. */
export async function migrate(pool: pg.Pool): Promise<Migration[]> {
  const client = await pool.connect();
  const applied: Migration[] = [];
  try {
    // One migrator at a time, across hosts sharing the database.
    await client.query('SELECT pg_advisory_lock(7243100)');
    await ensureVersionTable(client);
    const { rows } = await client.query('SELECT version FROM schema_version');
    const done = new Set(rows.map((r) => r.version as number));
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue;
      const sql = fs.readFileSync(m.file, 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_version (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${path.basename(m.file)} failed: ${(e as Error).message}`);
      }
      applied.push(m);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(7243100)').catch(() => {});
    client.release();
  }
  return applied;
}

/**
 * Why this code cannot work on the database's schema, or null when it can: the schema must be exactly the one its
 * migrations build. Older: `mirrorlane db migrate` first. Newer: a newer Mirrorlane migrated it, this one would
 * misread its tables. Throws when the database cannot be asked (the caller decides whether that is fatal).
 */
export async function schemaProblem(pool: pg.Pool, known: Migration[] = listMigrations()): Promise<string | null> {
  const latest = known.length === 0 ? 0 : known[known.length - 1].version;
  const exists = await pool.query(`SELECT to_regclass('schema_version') IS NOT NULL AS ok`);
  const { rows } = exists.rows[0].ok ? await pool.query('SELECT coalesce(max(version), 0) AS v FROM schema_version') : { rows: [{ v: 0 }] };
  const have = Number(rows[0].v);
  if (have < latest) return `database schema is version ${have}, this Mirrorlane needs ${latest}: run \`mirrorlane db migrate\` first`;
  if (have > latest) return `database schema is version ${have}, newer than this Mirrorlane understands (${latest}): upgrade Mirrorlane on this host`;
  return null;
}
