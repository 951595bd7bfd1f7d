// The mirrorlane CLI against a real throw-away PostgreSQL: runCli in-process for most cases, bin/mirrorlane.js
// as a real subprocess for the launcher. A failing test carries the tail of the PostgreSQL log.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { promisify } from 'node:util';
import type pg from 'pg';
import { PROJECT_ROOT } from '../../core/config.ts';
import { listMigrations, migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { describeOriginFile, OriginFileError } from '../../core/origin-file.ts';
import { freePort } from '../../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { GEO, GEO_NO_DATA, writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { runCaptured, runOk } from '../helpers/cli-run.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

const execFileP = promisify(execFile);

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (...args: string[]) => runCaptured(args, env);
const ok = (...args: string[]) => runOk(args, env);

/** `it` whose failures show the PostgreSQL log. */
const test = (name: string, fn: () => Promise<void>) => itWithLogs(name, fn, () => `--- PostgreSQL log (${cluster.logFile}) ---\n${tailFile(cluster.logFile)}`);

async function mirrorRow(identifier: string): Promise<Record<string, any> | undefined> {
  const { rows } = await pool.query('SELECT * FROM mirror WHERE identifier = $1', [identifier]);
  return rows[0];
}

async function holders(filePath: string): Promise<string[]> {
  const { rows } = await pool.query(
    `SELECT m.identifier FROM file f CROSS JOIN unnest(f.mirrors) AS u(mirror_id) JOIN mirror m ON m.id = u.mirror_id
     WHERE f.path = $1 ORDER BY 1`,
    [filePath],
  );
  return rows.map((r) => r.identifier);
}

before(async () => {
  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-cli-'));
  const origin = path.join(dir, 'origin');
  fs.mkdirSync(path.join(origin, 'pub', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(origin, 'pub', 'a.iso'), 'hello\n');
  fs.writeFileSync(path.join(origin, 'pub', 'b.iso'), 'b');
  fs.writeFileSync(path.join(origin, 'pub', '100%_x.txt'), 'pct');
  fs.writeFileSync(path.join(dir, 'outside.txt'), 'secret');
  fs.symlinkSync(path.join(dir, 'outside.txt'), path.join(origin, 'pub', 'escape.txt'));
  fs.symlinkSync(path.join(origin, 'pub', 'a.iso'), path.join(origin, 'pub', 'inside-link.iso'));

  const geo = writeGeoIpFixtures(path.join(dir, 'geoip'));
  const configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({ varDir: dir, origin: { root: 'origin' }, geoip: { city: [geo.city], asn: geo.asn } }),
  );
  env = { DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: configFile, USER: 'tester', PATH: process.env.PATH };
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('db', () => {
  test('db status lists the applied migration, nothing pending, and the counts', async () => {
    const out = await ok('db', 'status');
    assert.match(out, /│ 1 +│ initial +│/);
    assert.match(out, /│ 2 +│ scan_probe_peers +│/);
    assert.match(out, /pending: none/);
    assert.match(out, /mirrors: 0 \(0 enabled\), files: 0/);
    const json = JSON.parse(await ok('db', 'status', '--json'));
    assert.deepEqual(json.applied.map((m: { version: number }) => m.version), listMigrations().map((m) => m.version));
    assert.deepEqual(json.pending, []);
    assert.deepEqual(json.counts, { mirrors: 0, enabledMirrors: 0, files: 0 });
  });

  test('db migrate on an up-to-date schema says so', async () => {
    const latest = listMigrations().at(-1)!.version;
    assert.match(await ok('db', 'migrate'), new RegExp(`^schema is up to date \\(version ${latest}\\)$`, 'm'));
  });
});

describe('mirror add', () => {
  test('adds a mirror with explicit fields, disabled, and says how to enable it', async () => {
    const out = await ok(
      'mirror', 'add', 'alpha',
      '--http', 'http://alpha.example/pub',
      '--https', 'https://alpha.example/pub/',
      '--rsync', 'rsync://user:pw@alpha.example/pub',
      '--country', 'at', '--other-countries', 'ch,li', '--lat', '48.2', '--lng', '16.37', '--asn', 'AS64600',
      '--prefix', '198.51.100.0/24,2001:db8:1::/48', '--score', '250', '--max-size', '4G', '--ipv6',
      '--exclude-countries', 'ru', '--operator-name', 'Alpha Org', '--admin-email', 'admin@alpha.example',
    );
    assert.match(out, /added mirror 'alpha' \(id \d+\): country AT, continent EU/);
    assert.match(out, /mirrorlane mirror enable alpha/);
    const row = await mirrorRow('alpha');
    assert.ok(row);
    assert.equal(row.http_url, 'http://alpha.example/pub/');
    assert.equal(row.rsync_url, 'rsync://user:pw@alpha.example/pub/');
    assert.equal(row.country, 'AT');
    assert.equal(row.continent, 'EU');
    assert.deepEqual(row.other_countries, ['CH', 'LI']);
    assert.equal(row.lat, 48.2);
    assert.equal(Number(row.asn), 64600);
    assert.equal(row.score, 250);
    assert.equal(Number(row.file_max_size), 4 * 2 ** 30);
    assert.equal(row.ipv4, true);
    assert.equal(row.ipv6, true);
    assert.equal(row.enabled, false);
    assert.equal(row.operator_name, 'Alpha Org');
    assert.deepEqual(row.excluded_countries, ['RU']);
  });

  test('--enable adds it enabled; ** is a wildcard country', async () => {
    await ok('mirror', 'add', 'world', '--https', 'https://world.example/', '--country', '**', '--continent', 'eu', '--enable', '--asn', '1', '--lat', '0', '--lng', '0');
    const row = await mirrorRow('world');
    assert.equal(row?.enabled, true);
    assert.equal(row?.country, '**');
    assert.equal(row?.continent, 'EU');
  });

  test('bad values are refused with the flag named, exit 2, nothing added', async () => {
    const cases: [string[], RegExp][] = [
      [['--http', 'http://b.example/', '--score', 'abc'], /^error: --score must be an integer 0\.\.10000, got 'abc'\n$/],
      [['--http', 'ftp://b.example/'], /--http must be a http:\/\/ URL, got 'ftp:\/\/b\.example\/'/],
      [['--https', 'https://u:p@b.example/'], /--https may not contain a user name or password/],
      [['--http', 'http://b.example/', '--country', 'XX'], /--country must be an ISO 3166-1 country code.*got 'XX'/],
      [['--http', 'http://b.example/', '--lat', '10'], /--lat and --lng go together/],
      [['--http', 'http://b.example/', '--prefix', '198.51.100.1/24'], /did you mean 198\.51\.100\.0\/24\?/],
      [['--country', 'DE'], /at least one URL: give --http, --https, --ftp or --rsync/],
    ];
    for (const [args, message] of cases) {
      const r = await cli('mirror', 'add', 'bravo', ...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, message);
      assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    }
    assert.equal(await mirrorRow('bravo'), undefined);
    const badId = await cli('mirror', 'add', '-bad', '--http', 'http://b.example/');
    assert.equal(badId.code, 2);
  });

  test('an identifier that exists already is a failure, exit 1', async () => {
    const r = await cli('mirror', 'add', 'alpha', '--http', 'http://other.example/', '--country', 'DE');
    assert.equal(r.code, 1);
    assert.match(r.err, /mirror 'alpha' already exists/);
  });

  test('fills country, continent, coordinates and AS from GeoIP of the first URL host', async () => {
    const out = await ok('mirror', 'add', 'geo-de', '--http', 'http://127.0.0.2/pub/');
    assert.match(out, /GeoIP of 127\.0\.0\.2: country DE, continent EU, coordinates [\d.]+,[\d.]+, AS64510/);
    const row = await mirrorRow('geo-de');
    assert.equal(row?.country, 'DE');
    assert.equal(row?.continent, 'EU');
    assert.equal(Number(row?.asn), 64510);
    assert.ok(Math.abs(row?.lat - 50.1) < 1 && Math.abs(row?.lng - 8.7) < 1, `Frankfurt: ${row?.lat},${row?.lng}`);
  });

  test('GeoIP fills only what is missing; a given country brings its own continent', async () => {
    await ok('mirror', 'add', 'geo-mixed', '--https', 'https://127.0.0.3/', '--country', 'ca', '--asn', '65000');
    const row = await mirrorRow('geo-mixed');
    assert.equal(row?.country, 'CA');
    assert.equal(row?.continent, 'NA');
    assert.equal(Number(row?.asn), 65000);
    assert.ok(Math.abs(row?.lat - 40.7) < 1, `coordinates from GeoIP (New York): ${row?.lat}`);
  });
});

describe('mirror list and show', () => {
  test('list prints a table with health, location, score, URLs and files', async () => {
    const out = await ok('mirror', 'list');
    assert.match(out, /│ identifier +│ enabled +│ health +│ country +│ cont\. +│ score +│ urls +│ files +│/);
    assert.match(out, /│ alpha +│ no +│ unknown +│ AT +│ EU +│ 250 +│ alpha\.example \(http https rsync\) +│ 0 +│/);
    assert.ok(!out.includes('\u001b['), 'no colour codes when stdout is not a terminal');
  });

  test('list --json and its filters', async () => {
    const all = JSON.parse(await ok('mirror', 'list', '--json'));
    assert.ok(all.some((m: { identifier: string }) => m.identifier === 'alpha'));
    const alpha = all.find((m: { identifier: string }) => m.identifier === 'alpha');
    assert.equal(alpha.fileCount, 0);
    assert.equal(alpha.httpsUrl, 'https://alpha.example/pub/');
    const at = JSON.parse(await ok('mirror', 'list', '--country', 'at', '--json'));
    assert.deepEqual(at.map((m: { identifier: string }) => m.identifier), ['alpha']);
    const enabled = JSON.parse(await ok('mirror', 'list', '--enabled', '--json'));
    assert.deepEqual(enabled.map((m: { identifier: string }) => m.identifier), ['world']);
    const disabled = JSON.parse(await ok('mirror', 'list', '--disabled', '--continent', 'EU', '--json'));
    assert.ok(disabled.every((m: { enabled: boolean; continent: string }) => !m.enabled && m.continent === 'EU'));
    assert.ok(disabled.some((m: { identifier: string }) => m.identifier === 'alpha'));
    const bad = await cli('mirror', 'list', '--continent', 'XY');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--continent must be a continent code/);
  });

  test('show prints every field; --json too; an unknown mirror names the fix', async () => {
    const out = await ok('mirror', 'show', 'alpha');
    for (const re of [/^identifier +alpha$/m, /^rsync +rsync:\/\/user:pw@alpha\.example\/pub\/$/m, /^other countries +CH LI$/m, /^asn +AS64600$/m, /^prefixes +198\.51\.100\.0\/24 2001:db8:1::\/48$/m, /^max size +4294967296 \(4\.0 GiB\)$/m, /^admin email +admin@alpha\.example$/m, /^files held +0$/m, /^notes: none$/m]) {
      assert.match(out, re);
    }
    const json = JSON.parse(await ok('mirror', 'show', 'alpha', '--json'));
    assert.equal(json.identifier, 'alpha');
    assert.deepEqual(json.prefixes, ['198.51.100.0/24', '2001:db8:1::/48']);
    assert.deepEqual(json.notes, []);
    const missing = await cli('mirror', 'show', 'nope');
    assert.equal(missing.code, 1);
    assert.equal(missing.err, "error: mirror 'nope' not found: see `mirrorlane mirror list`\n");
  });
});

describe('mirror edit', () => {
  test('changes several fields at once and lists the changes', async () => {
    const out = await ok('mirror', 'edit', 'alpha', '--score', '300', '--country', 'DE', '--no-rsync', '--no-ipv6', '--country-only', '--public-notes', 'Fast', '--no-other-countries');
    assert.match(out, /score: 250 → 300/);
    assert.match(out, /country: AT → DE/);
    assert.match(out, /rsync: rsync:\/\/user:pw@alpha\.example\/pub\/ → \(none\)/);
    const row = await mirrorRow('alpha');
    assert.equal(row?.score, 300);
    assert.equal(row?.country, 'DE');
    assert.equal(row?.continent, 'EU');
    assert.equal(row?.rsync_url, null);
    assert.equal(row?.ipv6, false);
    assert.equal(row?.country_only, true);
    assert.equal(row?.public_notes, 'Fast');
    assert.deepEqual(row?.other_countries, []);
  });

  test('a new country brings its continent unless one is given; --no-coordinates clears both', async () => {
    await ok('mirror', 'edit', 'alpha', '--country', 'jp', '--no-coordinates', '--no-asn', '--no-max-size');
    const row = await mirrorRow('alpha');
    assert.equal(row?.continent, 'AS');
    assert.equal(row?.lat, null);
    assert.equal(row?.lng, null);
    assert.equal(row?.asn, null);
    assert.equal(row?.file_max_size, null);
  });

  test('an invalid value changes nothing', async () => {
    const before = await mirrorRow('alpha');
    const r = await cli('mirror', 'edit', 'alpha', '--score', '99', '--https', 'http://x.example/');
    assert.equal(r.code, 2);
    assert.match(r.err, /--https must be a https:\/\/ URL/);
    assert.deepEqual(await mirrorRow('alpha'), before);
  });

  test('refuses to remove the last URL', async () => {
    await ok('mirror', 'edit', 'alpha', '--no-http');
    const r = await cli('mirror', 'edit', 'alpha', '--no-https');
    assert.equal(r.code, 2);
    assert.match(r.err, /refusing to remove the last URL/);
    assert.equal((await mirrorRow('alpha'))?.https_url, 'https://alpha.example/pub/');
    const swap = await cli('mirror', 'edit', 'alpha', '--no-https', '--http', 'http://alpha.example/');
    assert.equal(swap.code, 0, swap.err);
  });

  test('no field flag is a usage error; an unknown flag is commander’s error plus a hint', async () => {
    const none = await cli('mirror', 'edit', 'alpha');
    assert.equal(none.code, 2);
    assert.match(none.err, /nothing to change/);
    const unknown = await cli('mirror', 'edit', 'alpha', '--scroe', '5');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown option '--scroe'/);
    assert.match(unknown.err, /Did you mean --score\?/);
    assert.match(unknown.err, /^error: unknown option '--scroe' \(Did you mean --score\?\); see `mirrorlane mirror edit --help`\n$/);
  });
});

describe('enable, disable, rename, notes', () => {
  test('enable and disable several mirrors; an unknown one changes nothing', async () => {
    const r = await cli('mirror', 'enable', 'alpha', 'ghost');
    assert.equal(r.code, 1);
    assert.match(r.err, /mirror 'ghost' not found, nothing changed/);
    assert.equal((await mirrorRow('alpha'))?.enabled, false);
    const out = await ok('mirror', 'enable', 'alpha', 'world');
    assert.match(out, /enabled mirror 'alpha'/);
    assert.match(out, /mirror 'world' was already enabled/);
    assert.equal((await mirrorRow('alpha'))?.enabled, true);
    await ok('mirror', 'disable', 'world');
    assert.equal((await mirrorRow('world'))?.enabled, false);
  });

  test('rename, and a taken name is refused', async () => {
    const taken = await cli('mirror', 'rename', 'world', 'alpha');
    assert.equal(taken.code, 1);
    assert.match(taken.err, /mirror 'alpha' already exists/);
    assert.match(await ok('mirror', 'rename', 'world', 'globe'), /renamed mirror 'world' to 'globe'/);
    assert.equal(await mirrorRow('world'), undefined);
    assert.ok(await mirrorRow('globe'));
    const bad = await cli('mirror', 'rename', 'globe', 'no spaces');
    assert.equal(bad.code, 2);
  });

  test('notes are dated, have an author and show up in show', async () => {
    await ok('mirror', 'note', 'add', 'alpha', 'contacted', 'the', 'admin');
    await ok('mirror', 'note', 'add', 'alpha', 'fixed', '--author', 'ops');
    const notes = JSON.parse(await ok('mirror', 'note', 'list', 'alpha', '--json'));
    assert.deepEqual(notes.map((n: { author: string; body: string }) => [n.author, n.body]), [['tester', 'contacted the admin'], ['ops', 'fixed']]);
    assert.ok(!Number.isNaN(Date.parse(notes[0].createdAt)));
    assert.match(await ok('mirror', 'note', 'list', 'alpha'), /│ \d{4}-\d\d-\d\d \d\d:\d\dZ │ tester +│ contacted the admin │/);
    assert.match(await ok('mirror', 'show', 'alpha'), /^ {2}\d{4}-\d\d-\d\d \d\d:\d\dZ {2}ops: fixed$/m);
  });
});

describe('files', () => {
  test('file add of an exact path creates the row from the origin tree', async () => {
    const out = await ok('file', 'add', 'pub/a.iso', '--mirror', 'alpha');
    assert.match(out, /created file row '\/pub\/a\.iso'/);
    const { rows } = await pool.query(`SELECT size, mtime, encode(sha256, 'hex') AS sha256 FROM file WHERE path = '/pub/a.iso'`);
    assert.equal(Number(rows[0].size), 6);
    assert.equal(rows[0].sha256, '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03'); // sha256("hello\n")
    assert.equal(Number(rows[0].mtime), Math.floor(fs.statSync(path.join(dir, 'origin', 'pub', 'a.iso')).mtimeMs / 1000));
    assert.deepEqual(await holders('/pub/a.iso'), ['alpha']);
    await ok('file', 'add', '/pub/b.iso', '--mirror', 'alpha');
    await ok('file', 'add', '/pub/100%_x.txt', '--mirror', 'alpha');
    await ok('file', 'add', '/pub/inside-link.iso', '--mirror', 'alpha');
  });

  test('file add refuses escapes, directories and missing files', async () => {
    for (const [p, re] of [
      ['/pub/escape.txt', /outside the origin tree/],
      ['/pub/../outside.txt', /may not contain '\.\.'/],
      ['/pub/sub', /not a regular file/],
      ['/pub/none.iso', /does not exist in the origin tree/],
    ] as const) {
      const r = await cli('file', 'add', p, '--mirror', 'alpha');
      assert.equal(r.code, 1, p);
      assert.match(r.err, re);
    }
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM file WHERE path IN ('/pub/escape.txt', '/pub/sub', '/pub/none.iso')`);
    assert.equal(rows[0].n, 0);
  });

  test('file add with wildcards appends once, set-based, and reports counts', async () => {
    assert.match(await ok('file', 'add', '/pub/*.iso', '--mirror', 'globe'), /now holds 3 matching file\(s\): 3 changed, 0 already held/);
    assert.match(await ok('file', 'add', '/pub/?.iso', '--mirror', 'globe'), /2 matching file\(s\): 0 changed, 2 already held/);
    assert.deepEqual(await holders('/pub/a.iso'), ['alpha', 'globe']);
    assert.deepEqual(await holders('/pub/100%_x.txt'), ['alpha']);
    const none = await cli('file', 'add', '/nothing/*', '--mirror', 'globe');
    assert.equal(none.code, 1);
    assert.match(none.err, /no file matches '\/nothing\/\*'/);
  });

  test('file ls shows path, size, mtime and mirrors; % and _ are literal', async () => {
    const out = await ok('file', 'ls', '/pub/*');
    assert.match(out, /│ \/pub\/a\.iso +│ 6 B +│ \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ │ alpha globe +│/);
    const literal = JSON.parse(await ok('file', 'ls', '/pub/100%_x.txt', '--json'));
    assert.deepEqual(literal.map((f: { path: string }) => f.path), ['/pub/100%_x.txt']);
    const notWild = JSON.parse(await ok('file', 'ls', '/pub/1__%', '--json'));
    assert.deepEqual(notWild, [], '_ and % do not act as wildcards');
    const byMirror = JSON.parse(await ok('file', 'ls', '--mirror', 'globe', '--json'));
    assert.deepEqual(byMirror.map((f: { path: string }) => f.path), ['/pub/a.iso', '/pub/b.iso', '/pub/inside-link.iso']);
    assert.deepEqual(byMirror[0].mirrors, ['alpha', 'globe']);
    const limited = await cli('file', 'ls', '--limit', '1', '--json');
    assert.equal(JSON.parse(limited.out).length, 1);
    assert.match(limited.err, /showing the first 1 of 4 files/);
  });

  test('file rm takes a mirror off matching files; --forget needs --yes', async () => {
    assert.match(await ok('file', 'rm', '*/b.iso', '--mirror', 'globe'), /taken off 1 of 1 matching file\(s\)/);
    assert.deepEqual(await holders('/pub/b.iso'), ['alpha']);
    const noYes = await cli('file', 'rm', '/pub/inside-link.iso', '--forget');
    assert.equal(noYes.code, 2);
    assert.match(noYes.err, /rerun with --yes/);
    assert.match(await ok('file', 'rm', '/pub/inside-link.iso', '--forget', '--yes'), /deleted 1 file row/);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM file WHERE path = '/pub/inside-link.iso'`);
    assert.equal(rows[0].n, 0);
    const both = await cli('file', 'rm', '*', '--forget', '--mirror', 'alpha');
    assert.equal(both.code, 2);
  });
});

describe('mirror delete', () => {
  test('refuses without --yes when not on a terminal, then deletes and the trigger clears file rows', async () => {
    const refused = await cli('mirror', 'delete', 'globe');
    assert.equal(refused.code, 2);
    assert.match(refused.err, /refusing to delete mirror 'globe' without confirmation: rerun with --yes/);
    assert.ok(await mirrorRow('globe'));
    assert.deepEqual(await holders('/pub/a.iso'), ['alpha', 'globe']);
    assert.match(await ok('mirror', 'delete', 'globe', '--yes'), /deleted mirror 'globe' \(id \d+\); it was taken out of 1 file rows/);
    assert.equal(await mirrorRow('globe'), undefined);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM file WHERE array_length(mirrors, 1) IS NOT NULL AND NOT mirrors <@ (SELECT array_agg(id) FROM mirror)`);
    assert.equal(rows[0].n, 0, 'no file row lists a deleted mirror');
    assert.deepEqual(await holders('/pub/a.iso'), ['alpha']);
  });
});

describe('iplookup, nginx-config', () => {
  test('iplookup prints location, AS and the attribution', async () => {
    const us = GEO.mirrorUS;
    const out = await ok('iplookup', us.ip);
    assert.match(out, new RegExp(`^country +${us.country} \\(United States\\)$`, 'm'));
    assert.match(out, new RegExp(`^continent +${us.continent} \\(North America\\)$`, 'm'));
    assert.match(out, new RegExp(`^city +${us.city}$`, 'm'));
    assert.match(out, new RegExp(`^coordinates +${us.lat},${us.lng}$`, 'm'));
    assert.match(out, new RegExp(`^asn +AS${us.asn} ${us.asOrg}$`, 'm'));
    assert.ok(out.trimEnd().split('\n').length > 6, 'attribution lines follow the fields');
    const jp = GEO.mirrorJP;
    const json = JSON.parse(await ok('iplookup', jp.ip, '--json'));
    assert.equal(json.country, jp.country);
    assert.equal(json.asn, jp.asn);
    assert.ok(Array.isArray(json.attribution));
    const unknown = JSON.parse(await ok('iplookup', GEO_NO_DATA[1], '--json'));
    assert.equal(unknown.country, null);
    assert.equal(unknown.asn, null);
    const bad = await cli('iplookup', 'no-such-host.invalid');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^error: cannot resolve host 'no-such-host\.invalid'/);
  });

  test('nginx-config prints both parts with a header saying where they go', async () => {
    const out = await ok('nginx-config');
    assert.match(out, /part 1: inside the http \{ \} block/);
    assert.match(out, /part 2: inside the server \{ \} block/);
    const http = await ok('nginx-config', '--part', 'http');
    assert.doesNotMatch(http, /part 1/);
    assert.equal((await cli('nginx-config', '--part', 'both')).code, 2);
  });
});

describe('serve', () => {
  test('runs the sidecar on its socket until SIGTERM, then exits 0', async () => {
    const socket = path.join(dir, 'run', 'sidecar.sock');
    const listeners = process.listenerCount('SIGTERM');
    const running = cli('serve');
    // Ready once the command waits for the signal: the socket is bound before that.
    const deadline = Date.now() + 15_000;
    while (process.listenerCount('SIGTERM') === listeners && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fs.existsSync(socket), `sidecar socket ${socket} exists`);
    process.emit('SIGTERM', 'SIGTERM');
    const r = await running;
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /sidecar listening on .*sidecar\.sock/);
    assert.match(r.out, /SIGTERM: draining and stopping the sidecar/);
    assert.ok(!fs.existsSync(socket), "the socket file is removed on a clean stop");
  });
});

describe('usage and failures', () => {
  test('a typo in a subcommand: commander’s message, a suggestion and a hint on one line, exit 2', async () => {
    const r = await cli('mirror', 'lsit');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command 'lsit'/);
    assert.match(r.err, /Did you mean/);
    assert.match(r.err, /; see `mirrorlane mirror --help`\n$/);
    assert.equal(r.err.trimEnd().split('\n').length, 1, `one line: ${r.err}`);
    assert.equal(r.out, '');
    const top = await cli('mirrors');
    assert.equal(top.code, 2);
    assert.match(top.err, /; see `mirrorlane --help`\n$/);
  });

  test('--help and --version exit 0', async () => {
    const help = await cli('mirror', 'edit', '--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /--no-https/);
    assert.match(help.out, /--no-coordinates/);
    assert.equal((await cli('--version')).code, 0);
  });

  test('a database that is down: one line naming it, exit 1, no stack trace', async () => {
    const port = await freePort();
    const saved = env;
    env = { ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` };
    try {
      const r = await cli('mirror', 'list');
      assert.equal(r.code, 1);
      assert.equal(r.err, `error: database is down or not listening at postgres://postgres@127.0.0.1:${port}/postgres: start PostgreSQL (or \`npm start\`) and retry\n`);
      assert.equal(r.out, '');
    } finally {
      env = saved;
    }
  });

  test('a config file that does not exist is named', async () => {
    const r = await cli('--config', path.join(dir, 'missing.json'), 'mirror', 'list');
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot read config file .*missing\.json: ENOENT/);
  });
});

describe('origin files', () => {
  test('describeOriginFile follows symlinks inside the root and refuses the rest', async () => {
    const root = path.join(dir, 'origin');
    const viaLink = await describeOriginFile(root, '/pub/inside-link.iso');
    assert.equal(viaLink.size, 6);
    await assert.rejects(describeOriginFile(root, '/pub/escape.txt'), OriginFileError);
    await assert.rejects(describeOriginFile(root, '/pub/x\0'), /NUL/);
    await assert.rejects(describeOriginFile(path.join(dir, 'no-root'), '/a'), /origin root .* is not readable/);
  });
});

describe('bin/mirrorlane.js', () => {
  test('runs as a real subprocess from another directory', async () => {
    const bin = path.join(PROJECT_ROOT, 'bin', 'mirrorlane.js');
    const { stdout } = await execFileP(bin, ['mirror', 'list', '--json'], { cwd: os.tmpdir(), env: { ...env } });
    const list = JSON.parse(stdout);
    assert.ok(list.some((m: { identifier: string }) => m.identifier === 'alpha'));
    await assert.rejects(execFileP(bin, ['mirror', 'show', 'nope'], { cwd: '/', env: { ...env } }), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stderr, "error: mirror 'nope' not found: see `mirrorlane mirror list`\n");
      return true;
    });
  });
});
