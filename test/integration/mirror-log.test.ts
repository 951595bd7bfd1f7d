// The per-mirror event history against a real PostgreSQL: admin edits through the CLI, a real probe round
// against a closed and then an open loopback port, scans recorded by the scanner's own writer, notes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { recordScanResult } from '../../core/scan/record-scan.ts';
import { freePort } from '../../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { runCaptured, runOk } from '../helpers/cli-run.ts';
import { writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let env: NodeJS.ProcessEnv;
const ok = (...args: string[]) => runOk(args, env);
const test = (name: string, fn: () => Promise<void>) => itWithLogs(name, fn, () => `--- PostgreSQL log ---\n${tailFile(cluster.logFile)}`);

before(async () => {
  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-log-'));
  fs.mkdirSync(path.join(dir, 'origin'));
  const geo = writeGeoIpFixtures(path.join(dir, 'geoip'));
  const configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(configFile, JSON.stringify({ varDir: dir, origin: { root: 'origin' }, geoip: { city: [geo.city], asn: geo.asn }, probe: { upAfter: 1, timeoutMs: 2000 } }));
  env = { DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: configFile, USER: 'tester', PATH: process.env.PATH };
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Ev {
  kind: string;
  source: string;
  field: string;
  oldValue: unknown;
  newValue: unknown;
  detail: Record<string, unknown>;
}

async function events(id: string, ...extra: string[]): Promise<Ev[]> {
  return JSON.parse(await ok('mirror', 'log', id, '--json', ...extra)) as Ev[];
}

describe('mirror log', () => {
  test('admin edits, enable/disable, rename and notes are logged with old and new values', async () => {
    await ok('mirror', 'add', 'ev1', '--http', 'http://127.0.17.1/pub/', '--country', 'DE', '--lat', '50', '--lng', '8');
    await ok('mirror', 'edit', 'ev1', '--score', '40', '--https', 'https://ev1.example/pub/');
    await ok('mirror', 'enable', 'ev1');
    await ok('mirror', 'disable', 'ev1');
    await ok('mirror', 'note', 'add', 'ev1', 'asked', 'for', 'IPv6');
    await ok('mirror', 'rename', 'ev1', 'ev1b');
    const evs = await events('ev1b');
    const brief = evs.map((e) => [e.kind, e.source, e.field, e.oldValue, e.newValue]);
    assert.deepEqual(brief, [
      ['created', 'admin', '', null, 'ev1'],
      // an https URL the operator gives is pinned: the probe's detection leaves it alone
      ['edit', 'admin', 'https_pinned', false, true],
      ['edit', 'admin', 'https_url', null, 'https://ev1.example/pub/'],
      ['edit', 'admin', 'score', 100, 40],
      ['enabled', 'admin', '', false, true],
      ['disabled', 'admin', '', true, false],
      ['note', 'admin', '', null, 'asked for IPv6'],
      ['edit', 'admin', 'identifier', 'ev1', 'ev1b'],
    ]);
    assert.equal(evs[6].detail.author, 'tester');
    const text = await ok('mirror', 'log', 'ev1b');
    assert.match(text, /admin +edit score: 100 → 40/);
    assert.match(text, /admin +note by tester: asked for IPv6/);
    // mirror show ends with the last few events
    const show = await ok('mirror', 'show', 'ev1b');
    assert.match(show, /last events \(all: mirrorlane mirror log ev1b\):\n( {2}.*\n){4} {2}.*edit identifier: ev1 → ev1b/);
    assert.doesNotMatch(show, /created as ev1/, 'only the last 5 of 8 events');
  });

  test('a scan is logged with counts and duration; a failed one with its error and no counts', async () => {
    await ok('mirror', 'add', 'ev2', '--http', 'http://127.0.17.2/pub/');
    const { rows } = await pool.query(`SELECT id FROM mirror WHERE identifier = 'ev2'`);
    await recordScanResult(pool, rows[0].id, { found: 12, held: 10, added: 10, removed: 0, ms: 1234 }, 'rsync');
    await recordScanResult(pool, rows[0].id, new Error('rsync: connection refused'), 'rsync', 80);
    const scans = (await events('ev2')).filter((e) => e.kind === 'scan');
    assert.equal(scans.length, 2);
    assert.deepEqual(scans[0].detail, { protocol: 'rsync', durationMs: 1234, error: '', found: 12, held: 10, added: 10, removed: 0 });
    assert.deepEqual(scans[1].detail, { protocol: 'rsync', durationMs: 80, error: 'rsync: connection refused', found: null, held: null, added: null, removed: null });
    const text = await ok('mirror', 'log', 'ev2');
    assert.match(text, /scan +scan over rsync in 1\.2 s: found 12, held 10, added 10, removed 0/);
    assert.match(text, /scan +scan over rsync failed in 0\.1 s: rsync: connection refused/);
  });

  test('a real probe logs each health change with its reason, and nothing for a quiet round', async () => {
    const port = await freePort();
    await ok('mirror', 'add', 'ev3', '--http', `http://127.0.0.1:${port}/pub/`, '--enable');
    await ok('probe', 'ev3');
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      await ok('probe', 'ev3');
      await ok('probe', 'ev3');
    } finally {
      server.close();
    }
    const health = (await events('ev3')).filter((e) => e.kind === 'health');
    assert.deepEqual(
      health.map((e) => [e.source, e.oldValue, e.newValue, e.detail.reason]),
      [
        ['probe', 'unknown', 'down', 'connection refused'],
        ['probe', 'down', 'up', ''],
      ],
    );
  });

  test('--since filters by time; bad dates get one line and exit 2', async () => {
    await pool.query(`UPDATE mirror_event SET at = now() - interval '3 days' WHERE kind = 'created' AND new_value = '"ev2"'`);
    const recent = await events('ev2', '--since', '1d');
    assert.ok(!recent.some((e) => e.kind === 'created'));
    assert.ok(recent.some((e) => e.kind === 'scan'));
    const all = await events('ev2', '--since', '2000-01-01');
    assert.ok(all.some((e) => e.kind === 'created'));
    const bad = await runCaptured(['mirror', 'log', 'ev2', '--since', 'last tuesday'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /^error: --since must be a date .*got 'last tuesday'\n$/);
    const missing = await runCaptured(['mirror', 'log', 'nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /mirror 'nope' not found/);
  });
});
