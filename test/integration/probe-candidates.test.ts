// Which files the prober tries on each mirror: its smallest ones. One pass over the table serves all mirrors; a
// mirror with too few among the table's smallest files is looked up on its own. Against a real PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../core/db/migrate.ts';
import { insertMirror } from '../../core/db/mirrors.ts';
import { createPool } from '../../core/db/pool.ts';
import { CANDIDATES_PER_MIRROR, CandidateCache } from '../../core/probe/run.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';

let pgc: RunningPostgres;
let pool: pg.Pool;
const ids: Record<string, number> = {};

/** The exact answer, one query per mirror: its 5 smallest files by (size, path). */
async function exact(id: number): Promise<string[]> {
  const { rows } = await pool.query('SELECT path FROM file WHERE mirrors @> ARRAY[$1::smallint] ORDER BY size, path LIMIT $2', [id, CANDIDATES_PER_MIRROR]);
  return rows.map((r) => r.path);
}

describe('probe candidates', () => {
  before(async () => {
    pgc = await startTempCluster();
    pool = createPool(pgc.url, 2);
    await migrate(pool);
    for (const name of ['all', 'big-only', 'sparse', 'empty']) ids[name] = (await insertMirror(pool, { identifier: name, httpUrl: `http://${name}.example/`, enabled: true })).id;
    // 30 files of sizes 1..30 (two of size 7: the path breaks the tie). "all" holds every one, "big-only" the
    // six biggest, "sparse" three spread out, "empty" none.
    for (let i = 1; i <= 30; i++) {
      const size = i === 8 ? 7 : i;
      const holders = [ids.all, ...(i >= 25 ? [ids['big-only']] : []), ...([3, 10, 20].includes(i) ? [ids.sparse] : [])];
      await pool.query('INSERT INTO file (path, size, mtime, mirrors) VALUES ($1, $2, 0, $3::smallint[])', [`/f/${String(31 - i).padStart(2, '0')}`, size, holders]);
    }
  });
  after(async () => {
    await pool?.end();
    await pgc?.stop();
  });

  test('one pass over the 10 smallest files, the others looked up alone: the same as a query per mirror', async () => {
    const got = await new CandidateCache(0, 10).get(pool, Object.values(ids));
    for (const [name, id] of Object.entries(ids)) {
      assert.deepEqual(got.get(id)!.map((f) => f.path), await exact(id), name);
    }
    assert.equal(got.get(ids.all)!.length, 5);
    assert.deepEqual(got.get(ids.sparse)!.map((f) => f.size), [3, 10, 20]);
    assert.deepEqual(got.get(ids['big-only'])!.map((f) => f.size), [25, 26, 27, 28, 29]);
    assert.deepEqual(got.get(ids.empty), []);
  });

  test('with the default window (all 30 files in it) the answer is the same', async () => {
    const got = await new CandidateCache(0).get(pool, Object.values(ids));
    for (const [name, id] of Object.entries(ids)) assert.deepEqual(got.get(id)!.map((f) => f.path), await exact(id), name);
  });
});
