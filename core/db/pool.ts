// Connection to PostgreSQL: the configured DATABASE_URL, or the embedded server that `npm start` runs.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config.ts';

/**
 * smallint[] (file.mirrors, read for every cache miss): "{3,17,42}" split at commas. pg's generic array parser
 * walks it character by character and was the driver's largest cost per cold redirect. Ours never hold NULL.
 */
export function parseSmallintArray(v: string): number[] {
  if (v.length <= 2) return [];
  const parts = v.slice(1, -1).split(',');
  const out = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) out[i] = Number(parts[i]);
  return out;
}
// Not among pg-types' named builtins (those are scalar types).
export const INT2_ARRAY_OID = 1005;

/**
 * The type parsers of Mirrorlane's connections, given to each pool and client rather than set process-wide, so
 * that other code in the process that uses pg (a library, a test) gets pg's own. bigint columns (size, mtime,
 * asn) become numbers: they fit in a double for any real file or AS number.
 */
export const TYPE_PARSERS: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary') {
      if (oid === pg.types.builtins.INT8) return (v: string) => Number(v);
      if (oid === INT2_ARRAY_OID) return parseSmallintArray;
    }
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export class DatabaseError extends Error {}

/** Where `npm start` records the address of the embedded server it started. */
export function embeddedUrlFile(config: Config): string {
  return path.join(config.varDir, 'run', 'database-url');
}

export function databaseUrl(config: Config): string {
  if (config.databaseUrl) return config.databaseUrl;
  try {
    return fs.readFileSync(embeddedUrlFile(config), 'utf8').trim();
  } catch {
    throw new DatabaseError('no database configured: set DATABASE_URL, or run `npm start` to start the embedded PostgreSQL');
  }
}

/** One line that says what is wrong with the database connection and what to do. */
export function describeDbError(e: unknown, url?: string): string {
  const err = e as NodeJS.ErrnoException & { code?: string };
  const where = url ? ` at ${redactUrl(url)}` : '';
  switch (err.code) {
    case 'ECONNREFUSED':
      return `database is down or not listening${where}: start PostgreSQL (or \`npm start\`) and retry`;
    case 'ENOTFOUND':
      return `database host not found${where}: check DATABASE_URL`;
    case '28P01':
    case '28000':
      return `database refused the login${where}: check user and password in DATABASE_URL`;
    case '3D000':
      return `database does not exist${where}: create it (createdb) or fix DATABASE_URL`;
    case '42P01':
      return `database schema is missing${where}: run \`mirrorlane db migrate\``;
    default:
      return `database error${where}: ${err.message ?? String(e)}`;
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

export function createPool(url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, application_name: 'mirrorlane', types: TYPE_PARSERS });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return pool;
}
