// The benchmark's data: 50 mirrors around the world and a packed file table of N files, filled set-based
// (INSERT ... SELECT FROM generate_series, one statement), each file held by a deterministic subset of the mirrors.
import type pg from 'pg';
import { insertMirror } from '../../core/db/mirrors.ts';
import { GEO } from '../../test/helpers/geoip-fixture.ts';

/** Path of file number i (1-based). Must match file_path() in bench/wrk/paths.lua and PATH_SQL below. */
export function filePath(i: number): string {
  return `/pub/releases/15.${i % 7}/repo/d${i % 997}/package-${i}-1.${i % 13}.x86_64.rpm`;
}
const PATH_SQL = `'/pub/releases/15.' || (i % 7) || '/repo/d' || (i % 997) || '/package-' || i || '-1.' || (i % 13) || '.x86_64.rpm'`;

// country, continent, lat, lng: 26 in Europe, 10 in North America, 2 in South America, 9 in Asia, 3 in Oceania.
const PLACES: [string, string, number, number][] = [
  ['DE', 'EU', 50.11, 8.68], ['DE', 'EU', 52.52, 13.4], ['DE', 'EU', 48.14, 11.58], ['DE', 'EU', 53.55, 9.99],
  ['DE', 'EU', 51.34, 12.37], ['DE', 'EU', 50.94, 6.96], ['DE', 'EU', 49.45, 11.08], ['DE', 'EU', 48.78, 9.18],
  ['FR', 'EU', 48.86, 2.35], ['FR', 'EU', 45.76, 4.84], ['FR', 'EU', 43.3, 5.37], ['FR', 'EU', 43.6, 1.44],
  ['NL', 'EU', 52.37, 4.9], ['NL', 'EU', 51.92, 4.48], ['NL', 'EU', 52.09, 5.12],
  ['GB', 'EU', 51.51, -0.13], ['GB', 'EU', 53.48, -2.24], ['GB', 'EU', 55.95, -3.19],
  ['SE', 'EU', 59.33, 18.07], ['SE', 'EU', 57.71, 11.97], ['IT', 'EU', 45.46, 9.19], ['IT', 'EU', 41.9, 12.5],
  ['CH', 'EU', 47.37, 8.54], ['AT', 'EU', 48.21, 16.37], ['PL', 'EU', 52.23, 21.01], ['CZ', 'EU', 50.08, 14.44],
  ['US', 'NA', 40.71, -74.0], ['US', 'NA', 37.77, -122.42], ['US', 'NA', 41.88, -87.63], ['US', 'NA', 47.61, -122.33],
  ['US', 'NA', 33.75, -84.39], ['US', 'NA', 32.78, -96.8], ['US', 'NA', 39.74, -104.99], ['US', 'NA', 42.36, -71.06],
  ['CA', 'NA', 43.65, -79.38], ['CA', 'NA', 49.28, -123.12],
  ['BR', 'SA', -23.55, -46.63], ['BR', 'SA', -22.91, -43.17],
  ['JP', 'AS', 35.68, 139.69], ['JP', 'AS', 34.69, 135.5], ['JP', 'AS', 43.06, 141.35], ['JP', 'AS', 33.59, 130.4],
  ['CN', 'AS', 31.23, 121.47], ['KR', 'AS', 37.57, 126.98], ['SG', 'AS', 1.35, 103.82], ['IN', 'AS', 19.08, 72.88],
  ['TW', 'AS', 25.03, 121.57],
  ['AU', 'OC', -33.87, 151.21], ['AU', 'OC', -37.81, 144.96], ['NZ', 'OC', -36.85, 174.76],
];

/**
 * Register `count` enabled mirrors (ids 1..count in a fresh database): http for all, https for 4 in 5, IPv6 for
 * 7 in 10, scores 50/100/200; one shares the Berlin fixture client's AS, one also serves FR, one is continent-only.
 */
export async function seedMirrors(pool: pg.Pool, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const [country, continent, lat, lng] = PLACES[i % PLACES.length];
    const n = i + 1;
    const m = await insertMirror(pool, {
      identifier: `mirror-${n}`,
      httpUrl: `http://mirror-${n}.example.org/mirrorlane/`,
      httpsUrl: n % 5 === 0 ? null : `https://mirror-${n}.example.org/mirrorlane/`,
      operatorName: `Operator ${n}`,
      operatorUrl: `https://operator-${n}.example.org/`,
      adminEmail: `admin@mirror-${n}.example.org`,
      country,
      continent,
      lat,
      lng,
      asn: n === 2 ? GEO.berlin.asn : 65000 + n,
      ipv6: n % 10 < 7,
      score: [50, 100, 200][n % 3],
      enabled: true,
      otherCountries: n === 13 ? ['FR', 'BE'] : [],
      continentOnly: n === 45,
    });
    ids.push(m.id);
  }
  return ids;
}

export interface FillResult {
  rows: number;
  seconds: number;
  holders: { min: number; avg: number; max: number };
  avgPathBytes: number;
}

/**
 * Replace the file table's contents with files 1..n, inserted in path order (as a scan walking the tree sorted
 * would), then VACUUM ANALYZE. File i is held by mirror m (of the ids 1..mirrors) with a probability rising
 * from 0.2 (mirror 1) to 0.8 (the last): 25 holders on average, 10 to 40 in practice. Sizes from 100 kB up (above
 * the local-delivery minimum), one mtime, a SHA-256 (the hash the origin scan computes by default).
 */
export async function fillFiles(pool: pg.Pool, n: number, mirrors: number): Promise<FillResult> {
  const t0 = performance.now();
  // CASCADE: the tables beside file (pieces, zsync, mismatches) refer to its rows.
  await pool.query('TRUNCATE file RESTART IDENTITY CASCADE');
  // hashint8 makes the subset deterministic; referencing i keeps the subquery per row (no InitPlan).
  await pool.query(
    `INSERT INTO file (path, size, mtime, sha256, mirrors)
     SELECT ${PATH_SQL},
            100000 + (i::bigint * 7919) % 500000000,
            1700000000 + (i::bigint * 31) % 31536000,
            sha256(convert_to(i::text, 'UTF8')),
            ARRAY(SELECT m::smallint FROM generate_series(1, $2::int) m
                  WHERE (hashint8(i::bigint * 1000 + m) & 1023) < 1024 * (0.2 + 0.6 * (m - 1) / greatest($2::int - 1, 1)))
     FROM generate_series(1, $1::int) i
     ORDER BY 1`,
    [n, mirrors],
  );
  await pool.query('VACUUM ANALYZE file');
  const seconds = (performance.now() - t0) / 1000;
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n, min(cardinality(mirrors))::int AS min, avg(cardinality(mirrors))::float8 AS avg,
            max(cardinality(mirrors))::int AS max, avg(octet_length(path))::float8 AS path_bytes FROM file`,
  );
  const r = rows[0];
  return { rows: r.n, seconds, holders: { min: r.min, avg: r.avg, max: r.max }, avgPathBytes: r.path_bytes };
}

export interface TableSize {
  rows: number;
  /** pg_total_relation_size: heap, indexes, TOAST, free space and visibility maps. */
  total: number;
  heap: number;
  indexes: number;
  bytesPerFile: number;
}

export async function fileTableSize(pool: pg.Pool): Promise<TableSize> {
  const { rows } = await pool.query(
    `SELECT (SELECT count(*) FROM file)::float8 AS n, pg_total_relation_size('file')::float8 AS total,
            pg_relation_size('file')::float8 AS heap, pg_indexes_size('file')::float8 AS indexes`,
  );
  const r = rows[0];
  return { rows: r.n, total: r.total, heap: r.heap, indexes: r.indexes, bytesPerFile: r.n > 0 ? r.total / r.n : 0 };
}
