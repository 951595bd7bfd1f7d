// export / import / mirrorlist against a real throw-away PostgreSQL, through the CLI in-process. The round trip
// is checked byte for byte: export, wipe, import, export again. A failing test carries the PostgreSQL log's tail.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import type pg from 'pg';
import { PROJECT_ROOT } from '../../core/config.ts';
import { insertMirror } from '../../core/db/mirrors.ts';
import { migrate } from '../../core/db/migrate.ts';
import { addPeer } from '../../core/db/peers.ts';
import { createPool } from '../../core/db/pool.ts';
import { upsertFile } from '../../core/db/files.ts';
import { MIRROR_FIELDS, NOTE_FIELDS, PEER_FIELDS } from '../../core/export/schema.ts';
import { subtreeHolders } from '../../core/mirrorlist/subtree-query.ts';
import { debianPgBin, startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { runCaptured, runOk } from '../helpers/cli-run.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (...args: string[]) => runCaptured(args, env);
const ok = (...args: string[]) => runOk(args, env);



/** A command that must fail with `code` and exactly one line on stderr matching `re`. */
async function fails(code: number, re: RegExp, ...args: string[]): Promise<void> {
  const r = await cli(...args);
  assert.equal(r.code, code, `mirrorlane ${args.join(' ')}: exit ${r.code}, stderr: ${r.err}`);
  const lines = r.err.trimEnd().split('\n');
  assert.match(lines[0], re);
  assert.equal(lines.length, 1, `one line: ${r.err}`);
}

const test = (name: string, fn: () => Promise<void>) => itWithLogs(name, fn, () => `--- PostgreSQL log (${cluster.logFile}) ---\n${tailFile(cluster.logFile)}`);

async function wipe(): Promise<void> {
  // Notes and peers go with their mirrors (ON DELETE CASCADE).
  await pool.query('DELETE FROM mirror');
}

async function counts(): Promise<number[]> {
  const { rows } = await pool.query(
    'SELECT (SELECT count(*) FROM mirror) AS m, (SELECT count(*) FROM mirror_note) AS n, (SELECT count(*) FROM as_peer) AS p',
  );
  return [Number(rows[0].m), Number(rows[0].n), Number(rows[0].p)];
}

/** Mirrors with every kind of value, notes (two at the same instant), AS peers and a few files. */
async function seed(): Promise<void> {
  const a = await insertMirror(pool, {
    identifier: 'a.uni-example',
    httpUrl: 'http://a.example/pub/',
    httpsUrl: 'https://a.example/pub/',
    ftpUrl: 'ftp://anon:p@ss,w"rd@a.example/pub/',
    rsyncUrl: 'rsync://sync:s3cret@a.example/pub/',
    operatorName: 'Universität "Beispiel", Zürich — 日本',
    operatorUrl: 'https://uni.example/?a=1&b=2',
    adminName: "O'Brien, Pat",
    adminEmail: 'mirror-admin@uni.example',
    publicNotes: 'Line one,\nline "two"\r\nthree\ttabbed',
    country: 'CH',
    continent: 'EU',
    otherCountries: ['DE', 'AT', 'LI'],
    lat: 47.376887,
    lng: 8.541694,
    asn: 4294967295,
    prefixes: ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7/32'],
    ipv4: true,
    ipv6: true,
    score: 10000,
    enabled: true,
    fileMaxSize: 4294967296,
    countryOnly: true,
    continentOnly: true,
    asOnly: true,
    prefixOnly: true,
    excludedCountries: ['FR', 'IT'],
    acceptsRanges: false,
  });
  await pool.query(
    `UPDATE mirror SET health = 'down', health_reason = 'HTTP 503; "busy"', health_since = '2024-05-02 03:04:05.678901+00',
       scan_at = now(), scan_protocol = 'rsync', scan_duration_ms = 1234, scan_files_found = 10, scan_files_held = 9,
       scan_files_added = 2, scan_files_removed = 1, scan_error = 'partial, see log', tz_offset_ms = -3600000,
       probe_at = now(), probe_successes = 0, probe_failures = 7 WHERE id = $1`,
    [a.id],
  );
  const b = await insertMirror(pool, { identifier: 'b-null', httpUrl: 'http://b.example/', country: '**', enabled: true, ipv6: false });
  const c = await insertMirror(pool, {
    identifier: 'C_3',
    rsyncUrl: 'rsync://c.example/mod/',
    operatorName: '<script>alert(1)</script>',
    operatorUrl: 'https://c.example/',
    country: 'US',
    continent: 'NA',
    lat: -0.5,
    lng: 179.999999,
    score: 0,
  });
  const noteSql = 'INSERT INTO mirror_note (mirror_id, created_at, author, body) VALUES ($1, $2, $3, $4)';
  await pool.query(noteSql, [a.id, '2024-01-01 00:00:00+00', 'alice', 'first, "quoted"\nsecond line']);
  await pool.query(noteSql, [a.id, '2024-01-01 00:00:00+00', '', 'same instant, written after']);
  await pool.query(noteSql, [a.id, '2023-12-31 23:59:59.999999+00', 'bob', 'older: comes first']);
  await pool.query(noteSql, [c.id, '2024-06-01 12:00:00.5+02', 'ünï', "it's -- not a comment; DROP TABLE mirror;"]);
  await addPeer(pool, 64500, a.id);
  await addPeer(pool, 64500, c.id);
  await addPeer(pool, 4294967295, b.id);
  await holdFiles();
}

/** Files: /debian/ held by a and b, /ubuntu/ by a only, a loose file by C_3. Wiping mirrors drops holdings, so
 *  tests that need them call this again (ids change with every wipe and import). */
async function holdFiles(): Promise<void> {
  const { rows } = await pool.query('SELECT identifier, id FROM mirror');
  const id = Object.fromEntries(rows.map((r) => [r.identifier, r.id as number]));
  await pool.query('DELETE FROM file');
  await upsertFile(pool, { path: '/debian/x.iso', size: 1, mtime: 1, sha256: null }, [id['a.uni-example'], id['b-null']]);
  await upsertFile(pool, { path: '/ubuntu/y.iso', size: 1, mtime: 1, sha256: null }, [id['a.uni-example']]);
  await upsertFile(pool, { path: '/README', size: 1, mtime: 1, sha256: null }, [id.C_3]);
}

before(async () => {
  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-export-'));
  env = { DATABASE_URL: cluster.url, PATH: process.env.PATH, MIRRORLANE_VAR: dir };
  await seed();
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('export covers the schema', () => {
  test('every column of mirror, mirror_note and as_peer is a field, except the ids', async () => {
    const { rows } = await pool.query(
      `SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS cols FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name IN ('mirror', 'mirror_note', 'as_peer') GROUP BY 1`,
    );
    const cols: Record<string, string[]> = Object.fromEntries(rows.map((r) => [r.table_name, r.cols as string[]]));
    assert.deepEqual(MIRROR_FIELDS.map((f) => f.name), cols.mirror.filter((c) => c !== 'id'), 'a new mirror column must be added to core/export/schema.ts');
    assert.deepEqual(NOTE_FIELDS.map((f) => (f.name === 'mirror' ? 'mirror_id' : f.name)), cols.mirror_note.filter((c) => c !== 'id'));
    assert.deepEqual(PEER_FIELDS.map((f) => (f.name === 'mirror' ? 'mirror_id' : f.name)).sort(), [...cols.as_peer].sort());
  });
});

describe('round trip: export, wipe, import, export again gives the same bytes', () => {
  for (const format of ['json', 'csv', 'sql']) {
    test(format, async () => {
      const first = await ok('export', '--format', format);
      const file = path.join(dir, `backup.${format}`);
      fs.writeFileSync(file, first);
      await wipe();
      assert.deepEqual(await counts(), [0, 0, 0]);
      const out = await ok('import', file);
      assert.match(out, /^imported 3 mirror\(s\) \(3 new\), 4 note\(s\), 3 AS peer\(s\) from .* \(\w+\)\n$/);
      assert.equal(await ok('export', '--format', format), first);
    });
  }

  test('the export holds what was stored: microseconds, unicode, nulls, lists, notes in order', async () => {
    const doc = JSON.parse(await ok('export'));
    const a = doc.mirrors.find((m: { identifier: string }) => m.identifier === 'a.uni-example');
    assert.equal(a.health_since, '2024-05-02T03:04:05.678901Z');
    assert.equal(a.operator_name, 'Universität "Beispiel", Zürich — 日本');
    assert.equal(a.rsync_url, 'rsync://sync:s3cret@a.example/pub/', 'a backup keeps credentials');
    assert.deepEqual(a.prefixes, ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7/32']);
    assert.deepEqual(a.other_countries, ['DE', 'AT', 'LI']);
    assert.equal(a.lat, 47.376887);
    const b = doc.mirrors.find((m: { identifier: string }) => m.identifier === 'b-null');
    assert.equal(b.lat, null);
    assert.equal(b.asn, null);
    assert.deepEqual(doc.mirrors.map((m: { identifier: string }) => m.identifier), ['C_3', 'a.uni-example', 'b-null']);
    assert.deepEqual(
      doc.notes.map((n: { body: string }) => n.body),
      ["it's -- not a comment; DROP TABLE mirror;", 'older: comes first', 'first, "quoted"\nsecond line', 'same instant, written after'],
    );
    assert.equal(doc.notes[0].created_at, '2024-06-01T10:00:00.500000Z');
  });

  test('the sql export also loads with psql itself', async () => {
    const first = await ok('export', '--format', 'sql');
    const file = path.join(dir, 'psql.sql');
    fs.writeFileSync(file, first);
    await wipe();
    const psql = fs.existsSync(path.join(debianPgBin() ?? '', 'psql')) ? path.join(debianPgBin()!, 'psql') : 'psql';
    execFileSync(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', cluster.url, '-f', file], { stdio: 'pipe' });
    assert.equal(await ok('export', '--format', 'sql'), first);
  });
});

describe('import', () => {
  test('without --replace an existing identifier is an error and nothing is written', async () => {
    const file = path.join(dir, 'dup.json');
    fs.writeFileSync(file, await ok('export'));
    const before = await counts();
    await fails(1, /^error: .*dup\.json: mirror 'C_3' exists already \(and 2 more: a\.uni-example, b-null\): use --replace/, 'import', file);
    assert.deepEqual(await counts(), before);
  });

  test('--replace makes the database equal the file; kept mirrors keep their id and their files', async () => {
    const original = await ok('export');
    const file = path.join(dir, 'replace.json');
    fs.writeFileSync(file, original);
    await holdFiles();
    const idBefore = (await pool.query(`SELECT id FROM mirror WHERE identifier = 'a.uni-example'`)).rows[0].id;
    // Changes after the backup: an edit, an extra mirror with a peer and a note, a removed peer.
    await ok('mirror', 'edit', 'a.uni-example', '--score', '5');
    await ok('mirror', 'add', 'extra', '--http', 'http://extra.example/', '--country', 'DE');
    await ok('mirror', 'note', 'add', 'extra', 'temporary');
    await ok('peer', 'add', '64501', 'extra');
    await ok('peer', 'rm', '64500', 'C_3');
    const dry = await ok('import', file, '--replace', '--dry-run');
    assert.match(dry, /^dry run, nothing written: would import 3 mirror\(s\) \(0 new, 3 replaced, 1 deleted\)/);
    assert.ok((await pool.query(`SELECT 1 FROM mirror WHERE identifier = 'extra'`)).rowCount === 1, 'dry run wrote nothing');
    const out = await ok('import', file, '--replace');
    assert.match(out, /^imported 3 mirror\(s\) \(0 new, 3 replaced, 1 deleted\), 4 note\(s\), 3 AS peer\(s\) .*replaced 5 note\(s\) and 3 AS peer\(s\)/);
    assert.equal(await ok('export'), original);
    const { rows } = await pool.query(
      `SELECT m.id, array(SELECT path FROM file WHERE mirrors @> ARRAY[m.id] ORDER BY path) AS files FROM mirror m WHERE identifier = 'a.uni-example'`,
    );
    assert.equal(rows[0].id, idBefore);
    assert.deepEqual(rows[0].files, ['/debian/x.iso', '/ubuntu/y.iso']);
  });

  test('a bad row anywhere: one line naming row and field, nothing written', async () => {
    const doc = JSON.parse(await ok('export'));
    await wipe();
    doc.mirrors[2].score = 20000; // the last mirror: the first two would have been written by a naive importer
    const file = path.join(dir, 'bad-row.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    await fails(1, /^error: .*bad-row\.json \(json\): mirrors\[2\] \(mirror 'b-null'\): score must be an integer 0\.\.10000, got 20000; nothing imported$/, 'import', file);
    assert.deepEqual(await counts(), [0, 0, 0]);
    // Put the data back for the tests that follow.
    doc.mirrors[2].score = 100;
    fs.writeFileSync(file, JSON.stringify(doc));
    await ok('import', file);
  });

  test('truncated json, csv without a column, unknown and export-only formats', async () => {
    const before = await counts();
    const json = await ok('export');
    const truncated = path.join(dir, 'cut.json');
    fs.writeFileSync(truncated, json.slice(0, json.length / 2));
    await fails(1, /^error: .*cut\.json \(json\): the file looks truncated: .*; nothing imported$/, 'import', truncated);

    const csv = await ok('export', '--format', 'csv');
    const lines = csv.split('\r\n');
    const idx = lines[0].split(',').indexOf('country');
    const dropped = lines.map((l, i) => (i === 0 ? l.split(',').filter((_, j) => j !== idx).join(',') : l)).join('\r\n');
    const noCol = path.join(dir, 'nocol.csv');
    fs.writeFileSync(noCol, dropped);
    await fails(1, /^error: .*nocol\.csv \(csv\): line 1: the CSV header lacks column 'country'; nothing imported$/, 'import', noCol);

    await fails(2, /^error: --format must be one of json, csv, sql, got 'xml'/, 'import', truncated, '--format', 'xml');
    await fails(2, /^error: the mirmon format cannot be imported/, 'import', truncated, '--format', 'mirmon');
    await fails(2, /^error: --format must be one of json, csv, sql, mirmon, mirmon-apache, got 'yaml'/, 'export', '--format', 'yaml');
    const unknown = path.join(dir, 'mystery.dat');
    fs.writeFileSync(unknown, 'hello\n');
    await fails(2, /^error: cannot tell the format of .*mystery\.dat: give --format json\|csv\|sql/, 'import', unknown);
    await fails(1, /^error: cannot read .*missing\.json/, 'import', path.join(dir, 'missing.json'));
    assert.deepEqual(await counts(), before);
  });
});

describe('stdin', () => {
  test("import - reads the file from stdin (real subprocess) and sniffs its format", async () => {
    const csv = await ok('export', '--format', 'csv');
    const bin = path.join(PROJECT_ROOT, 'bin', 'mirrorlane.js');
    const out = execFileSync(bin, ['import', '-', '--replace', '--dry-run'], { input: csv, env: { ...env }, encoding: 'utf8' });
    assert.match(out, /^dry run, nothing written: would import 3 mirror\(s\) \(0 new, 3 replaced, 0 deleted\), 4 note\(s\), 3 AS peer\(s\) from - \(csv\)/);
  });
});

describe('export to a file, mirmon', () => {
  test('--output writes atomically, mode 0600, same bytes as stdout, no temporary file left', async () => {
    const out = path.join(dir, 'out', 'snap.json');
    fs.mkdirSync(path.dirname(out));
    fs.writeFileSync(out, 'old content');
    fs.chmodSync(out, 0o640);
    assert.match(await ok('export', '--output', out), /^wrote .*snap\.json \(json\): 3 mirror\(s\), 4 note\(s\), 3 AS peer\(s\)\n$/);
    assert.equal(fs.readFileSync(out, 'utf8'), await ok('export'));
    assert.equal(fs.statSync(out).mode & 0o777, 0o640, 'an existing file keeps its mode');
    const fresh = path.join(dir, 'out', 'fresh.csv');
    await ok('export', '--format', 'csv', '-o', fresh);
    assert.equal(fs.statSync(fresh).mode & 0o077, 0, 'a new export is private: it holds admin contacts');
    assert.deepEqual(fs.readdirSync(path.dirname(out)).sort(), ['fresh.csv', 'snap.json']);
    await fails(1, /^error: cannot write .*nowhere\/x\.json: ENOENT/, 'export', '-o', path.join(dir, 'nowhere', 'x.json'));
  });

  test('mirmon lists the enabled mirrors\' URLs without credentials', async () => {
    const txt = await ok('export', '--format', 'mirmon');
    assert.equal(
      txt,
      [
        'ch http://a.example/pub/ mirror-admin@uni.example',
        'ch https://a.example/pub/ mirror-admin@uni.example',
        'ch ftp://a.example/pub/ mirror-admin@uni.example',
        'ch rsync://a.example/pub/ mirror-admin@uni.example',
        'zz http://b.example/',
        '',
      ].join('\n'),
    );
    assert.match(await ok('export', '--format', 'mirmon-apache'), /^http ch http:\/\/a\.example\/pub\/ mirror-admin@uni\.example\n/);
  });
});

describe('mirrorlist', () => {
  before(holdFiles);

  test('html: enabled mirrors grouped, escaped, no admin data, no credentials, content from the file table', async () => {
    const html = await ok('mirrorlist', '--format', 'html');
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.match(html, /<h2>Europe<\/h2>[\s\S]*<td>Switzerland<\/td>/);
    assert.match(html, /<h2>Worldwide<\/h2>[\s\S]*<td>All countries<\/td>/);
    assert.ok(!html.includes('C_3') && !html.includes('alert(1)'), 'disabled mirror absent');
    for (const secret of ['s3cret', 'p@ss', 'mirror-admin', "O'Brien", 'O&#39;Brien', 'temporary', 'first, ']) assert.ok(!html.includes(secret), secret);
    assert.match(html, /<a href="https:\/\/uni\.example\/\?a=1&amp;b=2">Universität &quot;Beispiel&quot;, Zürich — 日本<\/a>/);
    assert.match(html, /<a href="rsync:\/\/a\.example\/pub\/">rsync<\/a><\/td><td>yes<\/td><td>full<\/td>/);
    assert.match(html, /<a href="http:\/\/b\.example\/">HTTP<\/a><\/td><td>no<\/td><td>\/debian\/<\/td>/);
    assert.match(html, /Content “full”: every part of the tree \(\/debian\/, \/ubuntu\/\)/);
  });

  test('--all shows disabled mirrors, escaped', async () => {
    const html = await ok('mirrorlist', '--format', 'html', '--all', '--fragment');
    assert.ok(html.startsWith('<div class="mirrorlist">'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!html.includes('<script>'));
    assert.match(html, /(disabled)[\s\S]*<td>none<\/td>/);
  });

  test('txt, md, json', async () => {
    const txt = await ok('mirrorlist');
    assert.match(txt, /^Mirrors\n2 mirror\(s\) in 1 country\(ies\)\n/);
    assert.match(txt, / {6}rsync {2}rsync:\/\/a\.example\/pub\/\n {6}IPv6: yes; content: full\n {6}only for clients in its own network\n {6}Line one, line "two" three tabbed\n/);
    const md = await ok('mirrorlist', '--format', 'md', '--all');
    assert.match(md, /\| United States \| \[&lt;script&gt;alert\\\(1\\\)&lt;\/script&gt;\]\(https:\/\/c\.example\/\)<br>\\\(disabled\\\) \| \[rsync\]\(rsync:\/\/c\.example\/mod\/\) \| no \| none \|/);
    const doc = JSON.parse(await ok('mirrorlist', '--format', 'json'));
    assert.deepEqual(doc.mirrors.map((m: { identifier: string }) => m.identifier), ['a.uni-example', 'b-null']);
    assert.equal(doc.mirrors[0].urls.ftp, 'ftp://a.example/pub/');
    assert.ok(!JSON.stringify(doc).includes('mirror-admin'));
  });

  test('--output replaces the file atomically and leaves no temporary file; failures leave the old file', async () => {
    const webDir = path.join(dir, 'www');
    fs.mkdirSync(webDir);
    const target = path.join(webDir, 'mirrors.html');
    fs.writeFileSync(target, 'previous list');
    assert.match(await ok('mirrorlist', '--format', 'html', '--output', target), /^wrote .*mirrors\.html: 2 mirror\(s\), html\n$/);
    const written = fs.readFileSync(target, 'utf8');
    assert.equal(written, await ok('mirrorlist', '--format', 'html'));
    assert.ok(written.endsWith('</html>\n'), 'complete');
    assert.deepEqual(fs.readdirSync(webDir), ['mirrors.html']);
    // A target that cannot be replaced (a directory): clear error, nothing left behind.
    const blocked = path.join(webDir, 'blocked');
    fs.mkdirSync(blocked);
    await fails(1, /^error: cannot write .*blocked: /, 'mirrorlist', '-o', blocked);
    assert.deepEqual(fs.readdirSync(webDir).sort(), ['blocked', 'mirrors.html']);
    assert.equal(fs.readFileSync(target, 'utf8'), written);
  });

  test('usage errors', async () => {
    await fails(2, /^error: --format must be one of html, txt, md, json, got 'pdf'/, 'mirrorlist', '--format', 'pdf');
    await fails(2, /^error: --fragment goes with --format html/, 'mirrorlist', '--fragment');
  });
});

describe('subtree query', () => {
  test('one top directory: subtrees are one level deeper; loose files belong to none', async () => {
    const { rows } = await pool.query(`SELECT id FROM mirror WHERE identifier = 'a.uni-example'`);
    const a = rows[0].id as number;
    await pool.query('DELETE FROM file');
    await upsertFile(pool, { path: '/pub/debian/dists/x', size: 1, mtime: 1, sha256: null }, [a]);
    await upsertFile(pool, { path: '/pub/ubuntu/y', size: 1, mtime: 1, sha256: null }, []);
    await upsertFile(pool, { path: '/pub/README', size: 1, mtime: 1, sha256: null }, [a]);
    const holders = (await subtreeHolders(pool)).sort((x, y) => String(x.subtree).localeCompare(String(y.subtree)));
    assert.deepEqual(holders, [
      { subtree: null, mirrors: [a] },
      { subtree: 'pub/debian', mirrors: [a] },
      { subtree: 'pub/ubuntu', mirrors: [] },
    ]);
    const html = await ok('mirrorlist', '--format', 'json');
    assert.deepEqual(JSON.parse(html).mirrors[0].content, ['/pub/debian/']);
    await holdFiles();
  });
});
