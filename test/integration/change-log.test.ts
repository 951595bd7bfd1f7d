// The change log on a real PostgreSQL: triggers record exactly what changed, a follower reads every committed
// change once whatever the commit order, drops only those rows, and reloads everything after a pruned gap.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { pruneChangeLog, readChanges, changeCursor } from '../../core/db/change-log.ts';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { ChangeFollower, type FollowerTarget } from '../../sidecar/change-follower.ts';

let cluster: RunningPostgres;
let pool: pg.Pool;

interface Seen {
  mirrorReloads: number;
  dropped: string[];
  allDropped: number;
}

function recorder(): { seen: Seen; target: FollowerTarget } {
  const seen: Seen = { mirrorReloads: 0, dropped: [], allDropped: 0 };
  return {
    seen,
    target: {
      reloadMirrors: async () => {
        seen.mirrorReloads++;
      },
      dropFiles: (paths) => seen.dropped.push(...paths),
      dropAllFiles: () => seen.allDropped++,
      connected: () => {},
      log: () => {},
    },
  };
}

async function addFile(db: pg.Pool | pg.ClientBase, path: string): Promise<void> {
  await db.query('INSERT INTO file (path, size, mtime) VALUES ($1, 1, 1)', [path]);
}

describe('change log', { timeout: 60_000 }, () => {
  before(async () => {
    cluster = await startTempCluster();
    pool = createPool(cluster.url, 6);
    await migrate(pool);
    await pool.query(`INSERT INTO mirror (identifier, http_url) VALUES ('m1', 'http://127.0.15.1/')`);
  });
  after(async () => {
    await pool?.end();
    await cluster?.stop();
  });

  test('triggers log file paths, mirror ids, and not probe bookkeeping', async () => {
    const start = await changeCursor(pool);
    await addFile(pool, '/log/a');
    await pool.query(`UPDATE file SET mirrors = '{1}' WHERE path = '/log/a'`);
    await pool.query(`UPDATE mirror SET probe_at = now(), probe_successes = probe_successes + 1`);
    await pool.query(`UPDATE mirror SET score = 7 WHERE identifier = 'm1'`);
    await pool.query(`DELETE FROM file WHERE path = '/log/a'`);
    await pool.query(`UPDATE file SET size = 2 WHERE path = '/nothing'`);
    const batch = await readChanges(pool, start);
    assert.deepEqual(
      batch.entries.map((e) => [e.kind, e.paths ?? e.ids]),
      [['files', ['/log/a']], ['files', ['/log/a']], ['mirrors', [1]], ['files', ['/log/a']]],
    );
  });

  test('a follower drops only the changed paths and reloads mirrors on a mirror change', async () => {
    const { seen, target } = recorder();
    const f = new ChangeFollower(pool, target, { pollMs: 60_000 });
    await f.poll();
    assert.equal(seen.allDropped, 1, 'the first sync starts from an empty cache');
    assert.equal(seen.mirrorReloads, 1);
    await addFile(pool, '/f/one');
    await addFile(pool, '/f/two');
    await f.poll();
    assert.deepEqual(seen.dropped.sort(), ['/f/one', '/f/two']);
    assert.equal(seen.allDropped, 1, 'no whole-cache drop for row changes');
    assert.equal(seen.mirrorReloads, 1);
    await pool.query(`UPDATE mirror SET enabled = NOT enabled WHERE identifier = 'm1'`);
    await f.poll();
    assert.equal(seen.mirrorReloads, 2);
    await f.poll();
    assert.equal(seen.mirrorReloads, 2, 'each change is applied once');
    await f.close();
  });

  test('a change committed after a later-numbered one is still seen (commit order differs from log order)', async () => {
    const { seen, target } = recorder();
    const f = new ChangeFollower(pool, target, { pollMs: 60_000 });
    await f.poll();
    const early = await pool.connect();
    try {
      await early.query('BEGIN');
      await addFile(early, '/order/early'); // gets its xid and log row first ...
      await addFile(pool, '/order/late'); // ... this one commits first
      await f.poll();
      await early.query('COMMIT');
    } finally {
      early.release();
    }
    await f.poll();
    assert.deepEqual([...new Set(seen.dropped)].sort(), ['/order/early', '/order/late']);
    await f.close();
  });

  test('after the log was pruned past its cursor a follower reloads everything', async () => {
    const { seen, target } = recorder();
    const f = new ChangeFollower(pool, target, { pollMs: 60_000 });
    await f.poll();
    await addFile(pool, '/prune/x');
    await pool.query(`UPDATE change_log SET at = now() - interval '2 hours'`);
    assert.ok((await pruneChangeLog(pool, 3600)) > 0);
    await f.poll();
    assert.equal(seen.allDropped, 2, 'full reload after the gap');
    assert.equal(seen.mirrorReloads, 2);
    assert.deepEqual(seen.dropped, [], 'the pruned rows are not needed');
    await addFile(pool, '/prune/y');
    await f.poll();
    assert.deepEqual(seen.dropped, ['/prune/y'], 'and then follows row by row again');
    await f.close();
  });

  test('a statement touching more rows than the log lists drops the whole cache', async () => {
    const { seen, target } = recorder();
    const f = new ChangeFollower(pool, target, { pollMs: 60_000 });
    await f.poll();
    await pool.query(`INSERT INTO file (path, size, mtime) SELECT '/big/' || i, 1, 1 FROM generate_series(1, 50001) i`);
    await f.poll();
    assert.equal(seen.allDropped, 2);
    assert.deepEqual(seen.dropped, []);
    await f.close();
  });

  test('database away: the follower keeps its state and resumes from its cursor', async () => {
    const { seen, target } = recorder();
    const states: boolean[] = [];
    target.connected = (up) => states.push(up);
    const f = new ChangeFollower(pool, target, { pollMs: 60_000 });
    await f.poll();
    const { pgCtl } = await import('../../runtime/postgres.ts');
    pgCtl(cluster, 'stop');
    await f.poll();
    pgCtl(cluster, 'start');
    // The pool's idle connections died with the server: the first queries may fail.
    for (let i = 0; i < 10; i++) if (await pool.query('SELECT 1').then(() => true, () => false)) break;
    await addFile(pool, '/away/z');
    await f.poll();
    assert.deepEqual(states, [true, false, true]);
    assert.deepEqual(seen.dropped, ['/away/z']);
    assert.equal(seen.allDropped, 1, 'no reload needed: the log bridged the outage');
    await f.close();
  });
});
