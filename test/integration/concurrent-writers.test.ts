// Eight writers side by side on overlapping file rows of a real PostgreSQL: `file add` and `file rm` for several
// mirrors, scan applies and probe-style single-row removals. Without one locking order, set-based updates of
// overlapping rows deadlock ("deadlock detected"); here every writer must succeed and the result be exact.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { addMirrorToFiles, removeMirrorFromFiles } from '../../core/db/files.ts';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { applyMirrorListing } from '../../core/scan/apply-listing.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';

const FILES = 3000;
const ROUNDS = 4;
let cluster: RunningPostgres;
let pool: pg.Pool;
const path = (i: number) => `/c/${String(i).padStart(5, '0')}`;

describe('concurrent writers', { timeout: 180_000 }, () => {
  before(async () => {
    cluster = await startTempCluster();
    pool = createPool(cluster.url, 12);
    await migrate(pool);
    await pool.query(`INSERT INTO mirror (identifier, http_url) SELECT 'm' || i, 'http://127.0.15.' || i || '/' FROM generate_series(1, 8) i`);
    // Rows in an order unlike their paths, so that joins visit them in different orders.
    await pool.query(
      `INSERT INTO file (path, size, mtime) SELECT '/c/' || lpad(i::text, 5, '0'), 10, 1000
       FROM generate_series(0, $1 - 1) i ORDER BY md5(i::text)`,
      [FILES],
    );
  });
  after(async () => {
    await pool?.end();
    await cluster?.stop();
  });

  test(`8 writers on ${FILES} overlapping rows, ${ROUNDS} rounds: no failure, exact result`, async () => {
    const listing = (keep: (i: number) => boolean) =>
      Array.from({ length: FILES }, (_, i) => i)
        .filter(keep)
        .map((i) => ({ path: path(i), size: 10, mtime: 1000 }));
    const probeStyle = async (mirrorId: number) => {
      for (let i = FILES - 1; i >= 0; i -= 37) {
        await pool.query('UPDATE file SET mirrors = array_remove(mirrors, $2::smallint) WHERE path = $1 AND mirrors @> ARRAY[$2::smallint]', [path(i), mirrorId]);
      }
    };
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.allSettled([
        addMirrorToFiles(pool, '/c/%', 1),
        addMirrorToFiles(pool, '/c/%', 2),
        addMirrorToFiles(pool, '/c/%', 3),
        removeMirrorFromFiles(pool, '/c/0%', 4).then(() => addMirrorToFiles(pool, '/c/%', 4)),
        applyMirrorListing(pool, 5, listing((i) => i % 2 === 0), { outdatedAllowedMinutes: {} }),
        applyMirrorListing(pool, 6, listing((i) => i % 3 !== 0), { outdatedAllowedMinutes: {} }),
        addMirrorToFiles(pool, '/c/%', 7).then(() => probeStyle(7)),
        removeMirrorFromFiles(pool, '/c/%', 8).then(() => addMirrorToFiles(pool, '/c/0%', 8)),
      ]);
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason?.message ?? r.reason));
      assert.deepEqual(failed, [], `round ${round}`);
    }
    const count = async (sql: string) => Number((await pool.query(sql)).rows[0].n);
    for (const m of [1, 2, 3, 4]) assert.equal(await count(`SELECT count(*) n FROM file WHERE mirrors @> '{${m}}'`), FILES, `mirror ${m}`);
    assert.equal(await count(`SELECT count(*) n FROM file WHERE mirrors @> '{5}'`), FILES / 2);
    assert.equal(await count(`SELECT count(*) n FROM file WHERE mirrors @> '{6}'`), FILES - FILES / 3);
    assert.equal(await count(`SELECT count(*) n FROM file WHERE mirrors @> '{7}'`), FILES - Math.ceil(FILES / 37));
    assert.equal(await count(`SELECT count(*) n FROM file WHERE mirrors @> '{8}'`), await count(`SELECT count(*) n FROM file WHERE path LIKE '/c/0%'`));
    assert.equal(await count(`SELECT count(*) n FROM file WHERE cardinality(mirrors) <> (SELECT count(DISTINCT m) FROM unnest(mirrors) m)`), 0, 'no duplicate ids');
  });
});
