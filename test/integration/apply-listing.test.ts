// applyMirrorListing against a real throw-away PostgreSQL: what a mirror scan does to the packed file table.
// A failing test carries the tail of the PostgreSQL log.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { checkCopy } from '../../core/file-currency.ts';
import { applyMirrorListing, recordScanResult } from '../../core/scan/apply-listing.ts';
import { CopyWriter, copyText } from '../../core/scan/copy-lines.ts';
import type { ListedFile } from '../../core/scan/types.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

const T = 1_700_000_000;
let cluster: RunningPostgres;
let pool: pg.Pool;
let mirrorA: number;
let mirrorB: number;


/** `it` whose failures show the PostgreSQL log. */
function test(name: string, fn: () => Promise<void>): void {
  itWithLogs(name, fn, () => `--- PostgreSQL log (${cluster.logFile}) ---\n${tailFile(cluster.logFile)}`);
}

async function addOrigin(files: { path: string; size: number; mtime: number; mirrors?: number[] }[]): Promise<void> {
  for (const f of files) {
    await pool.query('INSERT INTO file (path, size, mtime, mirrors) VALUES ($1, $2, $3, $4::smallint[])', [f.path, f.size, f.mtime, f.mirrors ?? []]);
  }
}

/** path -> mirror ids, for every file row. */
async function holdings(): Promise<Record<string, number[]>> {
  const { rows } = await pool.query('SELECT path, mirrors FROM file ORDER BY path');
  return Object.fromEntries(rows.map((r) => [r.path, r.mirrors]));
}

/** Paths the mirror holds. */
async function heldBy(mirrorId: number): Promise<string[]> {
  const { rows } = await pool.query('SELECT path FROM file WHERE mirrors @> ARRAY[$1::smallint] ORDER BY path', [mirrorId]);
  return rows.map((r) => r.path);
}

const none = { outdatedAllowedMinutes: {} };

before(async () => {
  cluster = await startTempCluster();
  pool = createPool(cluster.url, 4);
  await migrate(pool);
  const { rows } = await pool.query(
    `INSERT INTO mirror (identifier, http_url) VALUES ('a', 'http://a.example/'), ('b', 'http://b.example/') RETURNING id`,
  );
  [mirrorA, mirrorB] = rows.map((r) => r.id);
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
});

beforeEach(async () => {
  await pool.query('DELETE FROM file');
});

describe('applyMirrorListing', () => {
  test('counts found, held, added and removed', async () => {
    await addOrigin([
      { path: '/pub/a.iso', size: 100, mtime: T },
      { path: '/pub/b.iso', size: 200, mtime: T },
      { path: '/pub/c.iso', size: 300, mtime: T },
      { path: '/pub/gone.iso', size: 400, mtime: T, mirrors: [mirrorA] },
    ]);
    const r = await applyMirrorListing(
      pool,
      mirrorA,
      [
        { path: '/pub/a.iso', size: 100, mtime: T },
        { path: '/pub/b.iso', size: 200, mtime: T },
        { path: '/pub/c.iso', size: 301, mtime: T }, // truncated or other version
        { path: '/pub/not-in-origin.iso', size: 1, mtime: T }, // found only
      ],
      none,
    );
    assert.deepEqual({ ...r, ms: 0 }, { found: 4, held: 2, added: 2, removed: 1, ms: 0 });
    assert.ok(r.ms >= 0);
    assert.deepEqual(await heldBy(mirrorA), ['/pub/a.iso', '/pub/b.iso']);
  });

  test('a copy with another size or an older mtime is not held; a newer one only within 1 s', async () => {
    await addOrigin([
      { path: '/f/size', size: 10, mtime: T },
      { path: '/f/older', size: 10, mtime: T },
      { path: '/f/older-1s', size: 10, mtime: T },
      { path: '/f/newer-1s', size: 10, mtime: T },
      { path: '/f/newer-2s', size: 10, mtime: T },
    ]);
    const r = await applyMirrorListing(
      pool,
      mirrorA,
      [
        { path: '/f/size', size: 11, mtime: T },
        { path: '/f/older', size: 10, mtime: T - 60 },
        { path: '/f/older-1s', size: 10, mtime: T - 1 },
        { path: '/f/newer-1s', size: 10, mtime: T + 1 },
        { path: '/f/newer-2s', size: 10, mtime: T + 2 },
      ],
      none,
    );
    assert.equal(r.held, 2);
    assert.deepEqual(await heldBy(mirrorA), ['/f/newer-1s', '/f/older-1s']);
  });

  test('outdated allowance by prefix: the largest matching allowance counts, newer copies never', async () => {
    await addOrigin([
      { path: '/repo/repodata/repomd.xml', size: 5, mtime: T },
      { path: '/repo/repodata/old.xml', size: 5, mtime: T },
      { path: '/repo/packages/x.rpm', size: 5, mtime: T },
      { path: '/repo/repodata/newer.xml', size: 5, mtime: T },
    ]);
    const listing = [
      { path: '/repo/repodata/repomd.xml', size: 5, mtime: T - 50 * 60 }, // 50 min old: allowed by the 60 min rule
      { path: '/repo/repodata/old.xml', size: 5, mtime: T - 61 * 60 - 2 }, // beyond 60 min + 1 s
      { path: '/repo/packages/x.rpm', size: 5, mtime: T - 5 * 60 }, // only /repo/ (1 min) matches
      { path: '/repo/repodata/newer.xml', size: 5, mtime: T + 50 }, // newer: never
    ];
    const r = await applyMirrorListing(pool, mirrorA, listing, {
      outdatedAllowedMinutes: { '/repo/': 1, '/repo/repodata/': 60, '/other/': 1000 },
    });
    assert.equal(r.held, 1);
    assert.deepEqual(await heldBy(mirrorA), ['/repo/repodata/repomd.xml']);
    // Without the rules nothing is current.
    const r2 = await applyMirrorListing(pool, mirrorA, listing, none);
    assert.deepEqual([r2.held, r2.removed], [0, 1]);
  });

  test('a subtree scan ignores listed files outside it and removes only inside it', async () => {
    await addOrigin([
      { path: '/pub/isos/a.iso', size: 1, mtime: T, mirrors: [mirrorA] },
      { path: '/pub/isos/b.iso', size: 1, mtime: T },
      { path: '/pub/isos-old/c.iso', size: 1, mtime: T, mirrors: [mirrorA] },
      { path: '/pub/src/d.tar', size: 1, mtime: T, mirrors: [mirrorA] },
      { path: '/pub/src/e.tar', size: 1, mtime: T },
    ]);
    const r = await applyMirrorListing(
      pool,
      mirrorA,
      [
        { path: '/pub/isos/b.iso', size: 1, mtime: T },
        { path: '/pub/src/e.tar', size: 1, mtime: T }, // outside the subtree: not added
      ],
      { ...none, subtree: '/pub/isos' }, // no trailing slash: /pub/isos-old/ must not count as inside
    );
    assert.deepEqual({ ...r, ms: 0 }, { found: 1, held: 1, added: 1, removed: 1, ms: 0 });
    assert.deepEqual(await heldBy(mirrorA), ['/pub/isos-old/c.iso', '/pub/isos/b.iso', '/pub/src/d.tar']);
  });

  test('a listing that throws midway changes nothing and the error comes through', async () => {
    await addOrigin([
      { path: '/x/1', size: 1, mtime: T, mirrors: [mirrorA] },
      { path: '/x/2', size: 1, mtime: T },
      { path: '/x/3', size: 1, mtime: T, mirrors: [mirrorB] },
    ]);
    const before = await holdings();
    const boom = new Error('connection reset by mirror');
    async function* failing(): AsyncGenerator<ListedFile> {
      yield { path: '/x/2', size: 1, mtime: T };
      yield { path: '/x/3', size: 1, mtime: T };
      throw boom;
    }
    await assert.rejects(applyMirrorListing(pool, mirrorA, failing(), none), (e) => e === boom);
    function* failingSync(): Generator<ListedFile> {
      yield { path: '/x/2', size: 1, mtime: T };
      throw boom;
    }
    await assert.rejects(applyMirrorListing(pool, mirrorA, failingSync(), none), (e) => e === boom);
    assert.deepEqual(await holdings(), before);
    // The pool's connections are fine afterwards (no temp table or transaction left behind).
    const r = await applyMirrorListing(pool, mirrorA, [{ path: '/x/2', size: 1, mtime: T }], none);
    assert.deepEqual([r.held, r.added, r.removed], [1, 1, 1]);
  });

  test('a rescan of the same listing changes no row', async () => {
    await addOrigin([
      { path: '/r/1', size: 1, mtime: T },
      { path: '/r/2', size: 2, mtime: T, mirrors: [mirrorA] },
      { path: '/r/3', size: 3, mtime: T, mirrors: [mirrorA] },
    ]);
    const listing = [
      { path: '/r/1', size: 1, mtime: T },
      { path: '/r/2', size: 2, mtime: T },
    ];
    const first = await applyMirrorListing(pool, mirrorA, listing, none);
    assert.deepEqual([first.held, first.added, first.removed], [2, 1, 1]);
    const versions = (await pool.query('SELECT path, xmin::text FROM file ORDER BY path')).rows;
    const again = await applyMirrorListing(pool, mirrorA, listing, none);
    assert.deepEqual({ ...again, ms: 0 }, { found: 2, held: 2, added: 0, removed: 0, ms: 0 });
    // No row was rewritten: the sidecars' caches and the table's bloat are spared.
    assert.deepEqual((await pool.query('SELECT path, xmin::text FROM file ORDER BY path')).rows, versions);
  });

  test('two mirrors do not disturb each other', async () => {
    await addOrigin([
      { path: '/m/1', size: 1, mtime: T },
      { path: '/m/2', size: 1, mtime: T },
      { path: '/m/3', size: 1, mtime: T },
    ]);
    await applyMirrorListing(pool, mirrorA, [{ path: '/m/1', size: 1, mtime: T }, { path: '/m/2', size: 1, mtime: T }], none);
    await applyMirrorListing(pool, mirrorB, [{ path: '/m/2', size: 1, mtime: T }, { path: '/m/3', size: 1, mtime: T }], none);
    assert.deepEqual(await holdings(), { '/m/1': [mirrorA], '/m/2': [mirrorA, mirrorB], '/m/3': [mirrorB] });
    // A drops /m/2 and /m/1; B keeps its files. Both at once, as parallel scans run.
    await Promise.all([
      applyMirrorListing(pool, mirrorA, [{ path: '/m/3', size: 1, mtime: T }], none),
      applyMirrorListing(pool, mirrorB, [{ path: '/m/2', size: 1, mtime: T }, { path: '/m/3', size: 1, mtime: T }], none),
    ]);
    assert.deepEqual(await holdings(), { '/m/1': [], '/m/2': [mirrorB], '/m/3': [mirrorB, mirrorA] });
  });

  test('paths with spaces, tabs, newlines, backslashes and unicode match their origin rows', async () => {
    const odd = ['/o/with space', '/o/tab\there', '/o/new\nline', '/o/back\\slash\\n', '/o/ünïcødé 文件 🚀', '/o/cr\rlf', '/o/\\.'];
    await addOrigin(odd.map((path) => ({ path, size: 7, mtime: T })));
    const r = await applyMirrorListing(pool, mirrorA, odd.map((path) => ({ path, size: 7, mtime: T })), none);
    assert.deepEqual([r.found, r.held, r.added], [odd.length, odd.length, odd.length]);
    assert.deepEqual((await heldBy(mirrorA)).sort(), [...odd].sort());
  });

  test('a path listed twice is one file; bad sizes and mtimes and NUL bytes are found, never held', async () => {
    await addOrigin([
      { path: '/d/twice', size: 1, mtime: T },
      { path: '/d/twice-current', size: 1, mtime: T },
      { path: '/d/nan', size: 1, mtime: T },
      { path: '/d/frac', size: 1, mtime: T },
    ]);
    const r = await applyMirrorListing(
      pool,
      mirrorA,
      [
        { path: '/d/twice', size: 1, mtime: T },
        { path: '/d/twice', size: 2, mtime: T },
        { path: '/d/twice-current', size: 1, mtime: T },
        { path: '/d/twice-current', size: 1, mtime: T + 1 },
        { path: '/d/nan', size: 1, mtime: NaN },
        { path: '/d/frac', size: 1.5, mtime: T },
        { path: '/d/nul\0', size: 1, mtime: T },
      ],
      none,
    );
    assert.deepEqual([r.found, r.held, r.added], [7, 2, 2]);
    assert.deepEqual(await holdings(), { '/d/frac': [], '/d/nan': [], '/d/twice': [mirrorA], '/d/twice-current': [mirrorA] });
    // Dropped again: removed once, not once per listing row.
    const again = await applyMirrorListing(pool, mirrorA, [], none);
    assert.deepEqual([again.found, again.held, again.removed], [0, 0, 2]);
  });

  test('large files count only when verified', async () => {
    const big = 3 * 2 ** 31;
    await addOrigin([
      { path: '/big/ok.iso', size: big, mtime: T },
      { path: '/big/unverified.iso', size: big, mtime: T },
      { path: '/big/small', size: 10, mtime: T },
    ]);
    const listing = [
      { path: '/big/ok.iso', size: big, mtime: T },
      { path: '/big/unverified.iso', size: big, mtime: T },
      { path: '/big/small', size: 10, mtime: T },
    ];
    const r = await applyMirrorListing(pool, mirrorA, listing, { ...none, verified: { minSize: 2 ** 31, paths: new Set(['/big/ok.iso']) } });
    assert.equal(r.held, 2);
    assert.deepEqual(await heldBy(mirrorA), ['/big/ok.iso', '/big/small']);
  });

  test('an unknown mirror id fails and changes nothing', async () => {
    await addOrigin([{ path: '/u/1', size: 1, mtime: T }]);
    await assert.rejects(applyMirrorListing(pool, 999, [{ path: '/u/1', size: 1, mtime: T }], none), /mirror id 999 does not exist/);
    assert.deepEqual(await holdings(), { '/u/1': [] });
  });
});

// One table of cases, judged by checkCopy (the rule in JS) and by applyMirrorListing (the rule in SQL): they must
// agree on every case. Mirror listings reach applyMirrorListing already timezone-corrected, so the SQL side gets
// the copy's mtime minus the offset that checkCopy is given separately.
describe('the currency rule: checkCopy and the SQL of applyMirrorListing agree', () => {
  const cases: {
    name: string;
    path?: string;
    origin?: { size: number; mtime: number };
    copy: { size: number; mtime: number };
    rules?: Record<string, number>;
    tzOffsetMs?: number;
    current: boolean;
  }[] = [
    { name: 'identical', copy: { size: 43_000, mtime: T }, current: true },
    { name: 'size differs', copy: { size: 12_345, mtime: T }, current: false },
    { name: 'size 0 vs 43 000', copy: { size: 0, mtime: T }, current: false },
    { name: 'empty origin file, empty copy', origin: { size: 0, mtime: T }, copy: { size: 0, mtime: T }, current: true },
    { name: '1 s newer', copy: { size: 43_000, mtime: T + 1 }, current: true },
    { name: '1 s older', copy: { size: 43_000, mtime: T - 1 }, current: true },
    { name: '0.5 s older', copy: { size: 43_000, mtime: T - 0.5 }, current: true },
    { name: '1.25 s newer', copy: { size: 43_000, mtime: T + 1.25 }, current: false },
    { name: '1.000001 s older', copy: { size: 43_000, mtime: T - 1.000001 }, current: false },
    { name: '2 s older', copy: { size: 43_000, mtime: T - 2 }, current: false },
    { name: '10 s newer', copy: { size: 43_000, mtime: T + 10 }, current: false },
    { name: '100 s older', copy: { size: 43_000, mtime: T - 100 }, current: false },
    { name: '100 s older, /test/ 2 min', copy: { size: 43_000, mtime: T - 100 }, rules: { '/test/': 2 }, current: true },
    { name: '100 s older, /test/ 1 min', copy: { size: 43_000, mtime: T - 100 }, rules: { '/test/': 1 }, current: false },
    { name: '61 s older, /test/ 1 min (the 1 s slack)', copy: { size: 43_000, mtime: T - 61 }, rules: { '/test/': 1 }, current: true },
    { name: '61.5 s older, /test/ 1 min', copy: { size: 43_000, mtime: T - 61.5 }, rules: { '/test/': 1 }, current: false },
    { name: '100 s older, /wrong/ 2 min', copy: { size: 43_000, mtime: T - 100 }, rules: { '/wrong/': 2 }, current: false },
    {
      name: '100 s older, several rules: the largest matching one',
      copy: { size: 43_000, mtime: T - 100 },
      rules: { '/wrong/': 60, '/test/': 1, '/': 2 },
      current: true,
    },
    { name: '10 s newer, /test/ 2 min', copy: { size: 43_000, mtime: T + 10 }, rules: { '/test/': 2 }, current: false },
    { name: '3 h older, /test/ 2 min', copy: { size: 43_000, mtime: T - 3 * 3600 }, rules: { '/test/': 2 }, current: false },
    { name: 'empty prefix is no wildcard', copy: { size: 43_000, mtime: T - 100 }, rules: { '': 2 }, current: false },
    { name: 'zero minutes', copy: { size: 43_000, mtime: T - 100 }, rules: { '/test/': 0 }, current: false },
    { name: 'fractional minutes', copy: { size: 43_000, mtime: T - 30 }, rules: { '/test/': 0.5 }, current: true },
    { name: 'fractional minutes, just beyond', copy: { size: 43_000, mtime: T - 31.5 }, rules: { '/test/': 0.5 }, current: false },
    { name: 'prefix is literal, not a substring', path: '/other/test/test.tgz', copy: { size: 43_000, mtime: T - 100 }, rules: { '/test/': 2 }, current: false },
    { name: 'prefix without trailing slash', path: '/testing/x', copy: { size: 43_000, mtime: T - 100 }, rules: { '/test': 2 }, current: true },
    { name: 'prefix is the whole path', copy: { size: 43_000, mtime: T - 100 }, rules: { '/test/test.tgz': 2 }, current: true },
    { name: 'prefix with LIKE wildcards is literal', path: '/a_b/x', copy: { size: 43_000, mtime: T - 100 }, rules: { '/a%/': 2 }, current: false },
    { name: 'timezone 1 h, corrected', copy: { size: 43_000, mtime: T + 3600 }, tzOffsetMs: 3_600_000, current: true },
    { name: 'timezone 1 h, not corrected', copy: { size: 43_000, mtime: T + 3600 }, current: false },
    { name: 'negative timezone offset', copy: { size: 43_000, mtime: T - 1800 }, tzOffsetMs: -1_800_000, current: true },
    { name: 'timezone offset that does not match', copy: { size: 43_000, mtime: T + 7200 }, tzOffsetMs: 3_600_000, current: false },
    { name: 'unknown mtime (NaN)', copy: { size: 43_000, mtime: NaN }, current: false },
    { name: 'NaN mtime under a rule', copy: { size: 43_000, mtime: NaN }, rules: { '/test/': 60 }, current: false },
    { name: 'mtime -Infinity', copy: { size: 43_000, mtime: -Infinity }, rules: { '/test/': 60 }, current: false },
    { name: 'mtime 0 (epoch)', copy: { size: 43_000, mtime: 0 }, current: false },
    { name: 'origin mtime before 1970', origin: { size: 43_000, mtime: -100 }, copy: { size: 43_000, mtime: -100.5 }, current: true },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const path = c.path ?? '/test/test.tgz';
      const origin = { path, ...(c.origin ?? { size: 43_000, mtime: T }) };
      const rules = { outdatedAllowed: Object.entries(c.rules ?? {}).map(([prefix, minutes]) => ({ prefix, minutes })), tzOffsetMs: c.tzOffsetMs };
      const js = checkCopy(origin, c.copy, rules).ok;

      await addOrigin([origin]);
      const corrected = c.copy.mtime - (c.tzOffsetMs ? c.tzOffsetMs / 1000 : 0);
      const r = await applyMirrorListing(pool, mirrorA, [{ path, size: c.copy.size, mtime: corrected }], {
        outdatedAllowedMinutes: c.rules ?? {},
      });
      const sql = r.held === 1;
      assert.deepEqual({ js, sql }, { js: c.current, sql: c.current });
    });
  }
});

describe('recordScanResult', () => {
  test('a result sets the counts and clears the error; a failure keeps the counts', async () => {
    await recordScanResult(pool, mirrorA, new Error('first\nfailure'), 'ftp', 1234);
    let { rows } = await pool.query('SELECT * FROM mirror WHERE id = $1', [mirrorA]);
    assert.equal(rows[0].scan_error, 'first failure');
    assert.equal(rows[0].scan_protocol, 'ftp');
    assert.equal(rows[0].scan_duration_ms, 1234);
    assert.ok(rows[0].scan_at instanceof Date);

    await recordScanResult(pool, mirrorA, { found: 10, held: 8, added: 3, removed: 1, ms: 55 }, 'rsync');
    ({ rows } = await pool.query('SELECT * FROM mirror WHERE id = $1', [mirrorA]));
    assert.deepEqual(
      [rows[0].scan_protocol, rows[0].scan_duration_ms, rows[0].scan_files_found, rows[0].scan_files_held, rows[0].scan_files_added, rows[0].scan_files_removed, rows[0].scan_error],
      ['rsync', 55, 10, 8, 3, 1, ''],
    );

    await recordScanResult(pool, mirrorA, 'x'.repeat(2000), 'http');
    ({ rows } = await pool.query('SELECT * FROM mirror WHERE id = $1', [mirrorA]));
    assert.equal(rows[0].scan_files_held, 8);
    assert.equal(rows[0].scan_duration_ms, null);
    assert.ok(rows[0].scan_error.length <= 500);
  });
});

describe('CopyWriter', () => {
  test('many small chunks arrive complete and unescaped', async () => {
    const client = await pool.connect();
    try {
      await client.query('CREATE TEMP TABLE copy_probe (n integer, s text)');
      const writer = new CopyWriter(client, 'COPY copy_probe (n, s) FROM STDIN', 64);
      const values = Array.from({ length: 500 }, (_, i) => (i % 100 === 7 ? 'ß'.repeat(300) : `v${i}\t\\${i % 3 ? '\n' : '\r'}é`));
      for (const [i, v] of values.entries()) {
        const sent = writer.push(`${i}\t${copyText(v)}\n`);
        if (sent) await sent;
      }
      await writer.end();
      assert.equal(writer.rows, 500);
      const { rows } = await client.query('SELECT s FROM copy_probe ORDER BY n');
      assert.deepEqual(rows.map((r) => r.s), values);
    } finally {
      await client.query('DROP TABLE IF EXISTS copy_probe');
      client.release();
    }
  });

  test("the server's error surfaces, and the connection stays usable", async () => {
    const client = await pool.connect();
    try {
      await client.query('CREATE TEMP TABLE copy_probe (n integer)');
      const writer = new CopyWriter(client, 'COPY copy_probe (n) FROM STDIN', 16);
      const push = async (line: string) => {
        const sent = writer.push(line);
        if (sent) await sent;
      };
      await assert.rejects(async () => {
        for (let i = 0; i < 100; i++) await push(i === 50 ? 'not a number\n' : `${i}\n`);
        await writer.end();
      }, /invalid input syntax for type integer/);
      await writer.discard();
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
    } finally {
      await client.query('DROP TABLE IF EXISTS copy_probe');
      client.release();
    }
  });
});
