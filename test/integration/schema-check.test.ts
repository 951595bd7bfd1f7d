// The sidecar refuses a database schema it does not understand, with one line that says what to do; it starts on
// the schema its migrations build. Real PostgreSQL, `mirrorlane serve` run in-process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import type pg from 'pg';
import { listMigrations, migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { runCaptured } from '../helpers/cli-run.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let env: NodeJS.ProcessEnv;
/** `serve` that must refuse to start: stopped with SIGTERM after 15 s if it started anyway, so the test fails, not hangs. */
async function serveRefusing(): Promise<{ code: number; err: string }> {
  const timer = setTimeout(() => process.emit('SIGTERM', 'SIGTERM'), 15_000);
  try {
    return await runCaptured(['serve'], env);
  } finally {
    clearTimeout(timer);
  }
}

const test = (name: string, fn: () => Promise<void>) => itWithLogs(name, fn, () => `--- PostgreSQL log ---\n${tailFile(cluster.logFile)}`);

before(async () => {
  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-schema-'));
  fs.mkdirSync(path.join(dir, 'origin'));
  const geo = writeGeoIpFixtures(path.join(dir, 'geoip'));
  const configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(configFile, JSON.stringify({ varDir: dir, origin: { root: 'origin' }, geoip: { city: [geo.city], asn: geo.asn } }));
  env = { DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: configFile, PATH: process.env.PATH };
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('sidecar and the schema version', () => {
  const latest = listMigrations().at(-1)!;

  test('a schema from a newer Mirrorlane: serve refuses with one line, exit 1, no socket', async () => {
    await pool.query(`INSERT INTO schema_version (version, name) VALUES ($1, 'from_the_future')`, [latest.version + 1]);
    try {
      const r = await serveRefusing();
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`schema is version ${latest.version + 1}, newer than this Mirrorlane understands \\(${latest.version}\\)`));
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.doesNotMatch(r.err, /\n\s+at /);
      assert.ok(!fs.existsSync(path.join(dir, 'run', 'sidecar.sock')));
    } finally {
      await pool.query('DELETE FROM schema_version WHERE version = $1', [latest.version + 1]);
    }
  });

  test('a schema with a migration pending: serve says to run db migrate', async () => {
    await pool.query('DELETE FROM schema_version WHERE version = $1', [latest.version]);
    try {
      const r = await serveRefusing();
      assert.equal(r.code, 1);
      assert.match(r.err, /this Mirrorlane needs \d+: run `mirrorlane db migrate` first/);
    } finally {
      await pool.query('INSERT INTO schema_version (version, name) VALUES ($1, $2)', [latest.version, latest.name]);
    }
  });

  test('the current schema: serve starts and stops on SIGTERM', async () => {
    const listeners = process.listenerCount('SIGTERM');
    const running = runCaptured(['serve'], env);
    const deadline = Date.now() + 15_000;
    while (process.listenerCount('SIGTERM') === listeners && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    process.emit('SIGTERM', 'SIGTERM');
    const r = await running;
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /sidecar listening on/);
  });
});
