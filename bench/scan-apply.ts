// Mirror-scan table update throughput: `npx tsx bench/scan-apply.ts [files] [--fillfactor N]` (default 1 000 000
// files; --fillfactor sets the file table's fillfactor first, to see what room for HOT updates buys).
// Starts a throw-away PostgreSQL, fills the file table, then times applyMirrorListing for a mirror holding every
// file (first scan), a rescan where 1 % changed (half with a wrong size, half whose origin got newer), and an
// unchanged rescan; beside it, the naive way (one UPDATE per listed file, MirrorBrain's scanner) over a sample.
// Figures vary by machine; tests never assert on them.
import { performance } from 'node:perf_hooks';
import { migrate } from '../core/db/migrate.ts';
import { createPool } from '../core/db/pool.ts';
import { applyMirrorListing } from '../core/scan/apply-listing.ts';
import type { ApplyResult, ListedFile } from '../core/scan/types.ts';
import { startTempCluster } from '../runtime/postgres.ts';

const args = process.argv.slice(2);
const ffAt = args.indexOf('--fillfactor');
const FILLFACTOR = ffAt >= 0 ? Number(args.splice(ffAt, 2)[1]) : null;
const N = Number(args[0] ?? 1_000_000);
if (!(N > 0) || (FILLFACTOR !== null && !(FILLFACTOR >= 10 && FILLFACTOR <= 100))) {
  console.error('usage: tsx bench/scan-apply.ts [files] [--fillfactor 10..100]');
  process.exit(2);
}
const NAIVE_SAMPLE = Math.min(20_000, N);
const T0 = 1_700_000_000;

// The same file set in SQL (to fill the table) and in JS (to list it), so no listing has to be read back.
const PATH_SQL = `'/pub/releases/' || (i % 10) || '/d' || (i / 1000) || '/package-' || i || '.tar.xz'`;
const SIZE_SQL = `1000 + (i::bigint * 7919) % 100000000`;
const MTIME_SQL = `${T0} + i % 86400`;
const pathOf = (i: number) => `/pub/releases/${i % 10}/d${Math.floor(i / 1000)}/package-${i}.tar.xz`;
const sizeOf = (i: number) => 1000 + ((i * 7919) % 100_000_000);
const mtimeOf = (i: number) => T0 + (i % 86400);

/** Every file as the mirror lists it; `wrongSize` picks files whose copy has another size. */
function* listing(wrongSize: (i: number) => boolean = () => false): Generator<ListedFile> {
  for (let i = 1; i <= N; i++) yield { path: pathOf(i), size: sizeOf(i) + (wrongSize(i) ? 1 : 0), mtime: mtimeOf(i) };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function report(name: string, r: ApplyResult): void {
  console.log(
    `${name.padEnd(34)} ${fmt(r.ms).padStart(7)} ms  ${fmt((r.found / r.ms) * 1000).padStart(9)} files/s` +
      `   found ${fmt(r.found)} held ${fmt(r.held)} added ${fmt(r.added)} removed ${fmt(r.removed)}`,
  );
}

const cluster = await startTempCluster();
const pool = createPool(cluster.url, 4);
try {
  await migrate(pool);
  const { rows: mirrors } = await pool.query(
    `INSERT INTO mirror (identifier, http_url) VALUES ('bench', 'http://bench.example/'), ('naive', 'http://naive.example/')
     RETURNING id`,
  );
  const [mirrorId, naiveId] = mirrors.map((r) => r.id as number);

  let t = performance.now();
  await pool.query(
    `INSERT INTO file (path, size, mtime, sha256)
     SELECT ${PATH_SQL}, ${SIZE_SQL}, ${MTIME_SQL}, sha256(int4send(i)) FROM generate_series(1, ${N}) AS i`,
  );
  if (FILLFACTOR !== null) {
    await pool.query(`ALTER TABLE file SET (fillfactor = ${FILLFACTOR})`);
    await pool.query('VACUUM FULL file');
  }
  await pool.query('VACUUM ANALYZE file');
  console.log(`filled ${fmt(N)} file rows in ${fmt(performance.now() - t)} ms`);
  const sizePerFile = async () => {
    const { rows } = await pool.query(`SELECT pg_total_relation_size('file')::float8 / greatest(count(*), 1) AS b FROM file`);
    return `${Math.round(rows[0].b)} bytes`;
  };
  console.log(`table size per file (fresh, with indexes${FILLFACTOR === null ? '' : `, fillfactor ${FILLFACTOR}`}): ${await sizePerFile()}`);
  console.log('');

  const opts = { outdatedAllowedMinutes: {} };
  report('first scan (all held)', await applyMirrorListing(pool, mirrorId, listing(), opts));

  // 1 % changed: 0.5 % of the origin files got newer, 0.5 % of the copies have another size.
  await pool.query(`UPDATE file SET mtime = mtime + 3600 WHERE id % 200 = 0`);
  await pool.query('VACUUM ANALYZE file');
  report('rescan, 1 % changed', await applyMirrorListing(pool, mirrorId, listing((i) => i % 200 === 100), opts));
  report('rescan, nothing changed', await applyMirrorListing(pool, mirrorId, listing((i) => i % 200 === 100), opts));

  // The naive way: one statement per listed file, each its own transaction (synchronous_commit is off in this
  // cluster, which flatters it: a production server waits for the WAL flush on each).
  const client = await pool.connect();
  try {
    t = performance.now();
    for (let i = 1; i <= NAIVE_SAMPLE; i++) {
      await client.query({
        name: 'naive_update',
        text: `UPDATE file SET mirrors = array_append(mirrors, $1::smallint)
               WHERE path = $2 AND size = $3 AND abs(mtime - $4::float8) <= 1 AND NOT mirrors @> ARRAY[$1::smallint]`,
        values: [naiveId, pathOf(i), sizeOf(i), mtimeOf(i)],
      });
    }
    const ms = performance.now() - t;
    console.log(
      `${`naive, one UPDATE per file (${fmt(NAIVE_SAMPLE)})`.padEnd(34)} ${fmt(ms).padStart(7)} ms  ` +
        `${fmt((NAIVE_SAMPLE / ms) * 1000).padStart(9)} files/s   (${fmt((N / NAIVE_SAMPLE) * ms / 1000)} s for ${fmt(N)})`,
    );
  } finally {
    client.release();
  }
  console.log('');
  // A first scan writes a new version of every row; VACUUM makes the old ones reusable space, it does not shrink.
  console.log(`table size per file after the scans (old row versions included): ${await sizePerFile()}`);
} finally {
  await pool.end();
  await cluster.stop();
}
