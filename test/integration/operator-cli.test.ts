// The operator's CLI against a real PostgreSQL and real HTTP mirrors (a private nginx on 127.0.13.x): input refused
// the same way by every entry point, one-line errors from the real launcher, and `file check`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { promisify } from 'node:util';
import type pg from 'pg';
import { PROJECT_ROOT } from '../../core/config.ts';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { startStaticNginx, type RunningNginx } from '../../runtime/nginx.ts';
import { freePort } from '../../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { runCaptured, runOk } from '../helpers/cli-run.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

const execFileP = promisify(execFile);

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let env: NodeJS.ProcessEnv;
let nginx: RunningNginx | null = null;
const mirrorUrls: Record<string, string> = {};
const cli = (...args: string[]) => runCaptured(args, env);
const ok = (...args: string[]) => runOk(args, env);

const test = (name: string, fn: () => Promise<void>) =>
  itWithLogs(name, fn, () => `--- PostgreSQL log ---\n${tailFile(cluster.logFile)}\n--- nginx error log ---\n${nginx ? tailFile(nginx.errorLog) : ''}`);

/** Exit `code`, exactly one line on stderr matching `re`, and no stack trace. */
function oneLine(r: { code: number; err: string }, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit ${r.code}, stderr: ${r.err}`);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.err}`);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.err, /\n\s+at /);
}

/** The real launcher, as an operator runs it. */
async function launcher(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await execFileP(path.join(PROJECT_ROOT, 'bin', 'mirrorlane'), args, { env: { ...env, ...extraEnv }, timeout: 60_000 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

const MTIME = new Date('2026-11-01T10:00:00Z');

function tree(root: string, files: Record<string, string>): string {
  for (const [p, body] of Object.entries(files)) {
    const abs = path.join(root, p);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, body);
    fs.utimesSync(abs, MTIME, MTIME);
  }
  return root;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-op-'));
  // nginx workers run as nobody when the tests run as root.
  fs.chmodSync(dir, 0o755);
  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  const iso = 'x'.repeat(6000);
  const origin = tree(path.join(dir, 'origin'), { 'pub/x.iso': iso });
  const roots = {
    right: tree(path.join(dir, 'm-right'), { 'pub/x.iso': iso }),
    short: tree(path.join(dir, 'm-short'), { 'pub/x.iso': iso.slice(0, 100) }),
    empty: tree(path.join(dir, 'm-empty'), { 'pub/other.txt': 'other' }),
  };
  const servers = [];
  for (const [i, [name, root]] of Object.entries(roots).entries()) {
    const host = `127.0.13.${i + 1}`;
    const listen = `${host}:${await freePort(host)}`;
    servers.push({ listen, root });
    mirrorUrls[name] = `http://${listen}/`;
  }
  nginx = await startStaticNginx(path.join(dir, 'nginx'), servers);
  const geo = writeGeoIpFixtures(path.join(dir, 'geoip'));
  const configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(configFile, JSON.stringify({ varDir: dir, origin: { root: origin }, geoip: { city: [geo.city], asn: geo.asn } }));
  env = { DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: configFile, USER: 'tester', PATH: process.env.PATH };
  await ok('origin', 'scan');
});

after(async () => {
  await nginx?.stop();
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('one rule per field, whatever the entry point', () => {
  test('country QQ: refused by mirror add, mirror list --country and import (country, other_countries, excluded_countries)', async () => {
    oneLine(await cli('mirror', 'add', 'qq', '--http', 'http://qq.example/', '--country', 'QQ'), 2, /^error: --country must be an ISO 3166-1 country code/);
    oneLine(await cli('mirror', 'list', '--country', 'QQ'), 2, /^error: --country must be an ISO 3166-1 country code .*got 'QQ'/);
    await ok('mirror', 'add', 'good', '--http', 'http://good.example/', '--country', 'DE', '--lat', '50', '--lng', '8');
    const exported = JSON.parse(await ok('export'));
    await ok('mirror', 'delete', 'good', '--yes');
    const variants: [string, (m: Record<string, unknown>) => void][] = [
      ['country', (m) => void (m.country = 'QQ')],
      ['other_countries', (m) => void (m.other_countries = ['QQ'])],
      ['excluded_countries', (m) => void (m.excluded_countries = ['QQ'])],
    ];
    for (const [field, change] of variants) {
      const snap = structuredClone(exported);
      change(snap.mirrors[0]);
      const file = path.join(dir, `qq-${field}.json`);
      fs.writeFileSync(file, JSON.stringify(snap));
      oneLine(await cli('import', file), 1, new RegExp(`mirrors\\[0\\] \\(mirror 'good'\\): ${field} must be .*ISO 3166-1 country code.*QQ`));
    }
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM mirror');
    assert.equal(rows[0].n, 0, 'nothing imported');
  });

  test('identifiers that differ only by case are refused by mirror add, rename and import', async () => {
    await ok('mirror', 'add', 'mir-a', '--http', 'http://a.example/', '--country', 'DE', '--lat', '50', '--lng', '8');
    oneLine(await cli('mirror', 'add', 'mir-A', '--http', 'http://b.example/', '--country', 'DE'), 1, /'mir-A' differs from mirror 'mir-a' only by case/);
    await ok('mirror', 'add', 'mir-b', '--http', 'http://b.example/', '--country', 'DE', '--lat', '50', '--lng', '8');
    oneLine(await cli('mirror', 'rename', 'mir-b', 'MIR-A'), 1, /'MIR-A' differs from mirror 'mir-a' only by case/);
    // A change of case of one mirror's own identifier is a rename like any other.
    await ok('mirror', 'rename', 'mir-b', 'Mir-B');
    const snap = JSON.parse(await ok('export'));
    const a = snap.mirrors.find((m: { identifier: string }) => m.identifier === 'mir-a');
    const file = path.join(dir, 'case.json');
    fs.writeFileSync(file, JSON.stringify({ ...snap, mirrors: [{ ...a, identifier: 'MIR-a' }], notes: [], peers: [] }));
    oneLine(await cli('import', file), 1, /mirror 'mir-a' exists already/);
    // The database refuses it too (migration 007), whatever writes.
    await assert.rejects(pool.query(`INSERT INTO mirror (identifier, http_url) VALUES ('MIR-B', 'http://c.example/')`), /mirror_identifier_lower/);
    await ok('mirror', 'delete', 'mir-a', '--yes');
    await ok('mirror', 'delete', 'Mir-B', '--yes');
  });

  test('mirror add with country and coordinates does not warn about GeoIP', async () => {
    // 127.0.13.9 is not in the GeoIP fixtures: GeoIP knows nothing of it.
    const given = await cli('mirror', 'add', 'placed', '--http', 'http://127.0.13.9/', '--country', 'FR', '--lat', '48.8', '--lng', '2.3');
    assert.equal(given.code, 0, given.err);
    assert.equal(given.err, '');
    const unplaced = await cli('mirror', 'add', 'unplaced', '--http', 'http://127.0.13.9/');
    assert.equal(unplaced.code, 0, unplaced.err);
    assert.match(unplaced.err, /warning: GeoIP knows nothing about 127\.0\.13\.9/);
    await ok('mirror', 'delete', 'placed', '--yes');
    await ok('mirror', 'delete', 'unplaced', '--yes');
  });

  test('origin scan --dir of a directory that does not exist: exit 1, one line', async () => {
    oneLine(await cli('origin', 'scan', '--dir', '/no-such-dir/'), 1, /^error: --dir \/no-such-dir\/: no such directory under origin\.root/);
    assert.match(await ok('origin', 'scan', '--dir', '/pub/'), /^1 files under \/pub\//);
  });
});

describe('errors from the real launcher: one line, no stack trace', () => {
  test('database unreachable', async () => {
    const port = await freePort();
    oneLine(await launcher(['mirror', 'list'], { DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/none` }), 1, /^error: database is down or not listening at /);
  });

  test('a misspelt config key', async () => {
    const bad = path.join(dir, 'misspelt.json');
    fs.writeFileSync(bad, JSON.stringify({ origin: { roots: '/srv' } }));
    oneLine(await launcher(['--config', bad, 'mirror', 'list']), 1, /^error: .*origin\.roots/);
  });

  test('an unknown flag: the suggestion and the usage hint on the same line, exit 2', async () => {
    oneLine(await launcher(['mirror', 'list', '--contry', 'DE']), 2, /^error: unknown option '--contry' \(Did you mean --country\?\); see `mirrorlane mirror list --help`$/);
  });

  test('--debug adds the stack trace', async () => {
    const port = await freePort();
    const r = await launcher(['--debug', 'mirror', 'list'], { DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/none` });
    assert.equal(r.code, 1);
    assert.match(r.err, /\n\s+at /);
    assert.match(r.err, /error: database is down/);
  });
});

describe('file check', () => {
  test('HEADs every mirror: one has it, one has the wrong size, one lacks it; the table and reality side by side', async () => {
    for (const [name, url] of Object.entries(mirrorUrls)) {
      await ok('mirror', 'add', name, '--http', url, '--country', 'DE', '--lat', '50', '--lng', '8', '--enable');
      await ok('file', 'add', '/pub/x.iso', '--mirror', name);
    }
    const json = JSON.parse(await ok('file', 'check', '/pub/x.iso', '--json'));
    const by = Object.fromEntries(json.mirrors.map((m: { mirror: string }) => [m.mirror, m]));
    assert.equal(json.has, 1);
    assert.deepEqual([by.right.has, by.right.status, by.right.size, by.right.verdict], [true, 200, 6000, 'has it']);
    assert.equal(by.right.mtime, MTIME.getTime() / 1000);
    assert.deepEqual([by.short.has, by.short.size, by.short.verdict], [false, 100, 'size differs: 100 B, origin 6000 B']);
    assert.deepEqual([by.empty.has, by.empty.status, by.empty.verdict], [false, 404, 'missing (HTTP 404)']);
    for (const m of json.mirrors) assert.equal(m.listed, true);
    const table = await ok('file', 'check', 'pub/x.iso');
    assert.match(table, /^\/pub\/x\.iso: 5\.9 KiB, modified 2026-11-01 10:00:00Z; 1 of 3 mirrors have it, the table lists 3$/m);
    assert.match(table, /│ short +│ yes +│ no +│ 200 +│ 100 +│/);
    assert.match(table, /2 mirror\(s\) differ from the table/);
    oneLine(await cli('file', 'check', '/pub/nothing.iso'), 1, /'\/pub\/nothing\.iso' is not in the file table/);
  });
});
