// `mirrorlane import --from mirrorbrain FILE` and `--from mirrorbits REDIS-URL` against a real PostgreSQL and a
// real redis-server. The MirrorBrain inputs are made the way operators make them: `mb export`'s SQL (written
// here in its format), and pg_dump --data-only (COPY and --inserts) and a CSV of a real `server` table created in
// a scratch database of the same cluster.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import { createClient } from 'redis';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { freePort } from '../../runtime/ports.ts';
import { debianPgBin, startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { runCaptured, runOk } from '../helpers/cli-run.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';
import { waitFor } from '../helpers/wait.ts';

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let env: NodeJS.ProcessEnv;
let redis: ChildProcess | null = null;
let redisUrl = '';
const ok = (...args: string[]) => runOk(args, env);
const cli = (...args: string[]) => runCaptured(args, env);
const test = (name: string, fn: () => Promise<void>) => itWithLogs(name, fn, () => `--- PostgreSQL log ---\n${tailFile(cluster.logFile)}`);

// MirrorBrain's server table, as its schema declares it (types as there; only what the import reads matters).
const SERVER_TABLE = `CREATE TABLE server (
  id serial PRIMARY KEY, identifier varchar(64) NOT NULL UNIQUE, baseurl varchar(128) NOT NULL,
  baseurl_ftp varchar(128) NOT NULL DEFAULT '', baseurl_rsync varchar(128) NOT NULL DEFAULT '',
  enabled boolean NOT NULL, status_baseurl boolean NOT NULL, region varchar(2) NOT NULL, country varchar(2) NOT NULL,
  asn integer NOT NULL, prefix varchar(18) NOT NULL, score smallint NOT NULL, scan_fpm integer NOT NULL,
  last_scan timestamp with time zone, comment text NOT NULL, operator_name varchar(128) NOT NULL,
  operator_url varchar(128) NOT NULL, public_notes varchar(512) NOT NULL, admin varchar(128) NOT NULL,
  admin_email varchar(128) NOT NULL, lat numeric(6, 3), lng numeric(6, 3), country_only boolean NOT NULL,
  region_only boolean NOT NULL, as_only boolean NOT NULL, prefix_only boolean NOT NULL,
  other_countries varchar(512) NOT NULL, file_maxsize bigint NOT NULL DEFAULT 0, ipv6_only boolean NOT NULL DEFAULT false)`;

const SERVER_ROWS = `INSERT INTO server (identifier, baseurl, baseurl_ftp, baseurl_rsync, enabled, status_baseurl, region, country,
  asn, prefix, score, scan_fpm, last_scan, comment, operator_name, operator_url, public_notes, admin, admin_email, lat, lng,
  country_only, region_only, as_only, prefix_only, other_countries, file_maxsize, ipv6_only) VALUES
  ('pgd-de', 'http://ftp.de.example/pub/', 'ftp://ftp.de.example/pub/', 'rsync://ftp.de.example/pub/', true, true, 'eu', 'de',
   64500, '192.0.2.0/24', 150, 0, now(), 'big pipe; it''s "fast"' || E'\\nsecond line', 'DE Uni', 'https://uni.de.example/', 'hello',
   'Ann Admin', 'ann@de.example', 50.11, 8.68, false, false, false, false, 'at,ch', 0, false),
  ('pgd-v6', 'https://v6.example/pub/', '', '', false, false, 'na', 'us', 0, '', 100, 0, NULL, '', '', '', '', '', '', NULL, NULL,
   true, false, false, false, '', 4000000000, true)`;

before(async () => {
  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-peers-'));
  fs.chmodSync(dir, 0o777);
  fs.mkdirSync(path.join(dir, 'origin'));
  const configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(configFile, JSON.stringify({ varDir: dir, origin: { root: 'origin' } }));
  env = { DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: configFile, USER: 'tester', PATH: process.env.PATH };

  // A scratch MirrorBrain database in the same cluster, dumped with the real pg_dump.
  await pool.query('CREATE DATABASE mb');
  const mbUrl = cluster.url.replace(/\/postgres$/, '/mb');
  const mb = new pg.Client({ connectionString: mbUrl });
  mb.on('error', () => {});
  await mb.connect();
  await mb.query(SERVER_TABLE);
  await mb.query(SERVER_ROWS);
  await mb.end();
  const bin = debianPgBin()!;
  fs.writeFileSync(path.join(dir, 'copy.sql'), execFileSync(path.join(bin, 'pg_dump'), ['--data-only', '--table=server', mbUrl]));
  fs.writeFileSync(path.join(dir, 'inserts.sql'), execFileSync(path.join(bin, 'pg_dump'), ['--data-only', '--column-inserts', '--table=server', mbUrl]));
  fs.writeFileSync(path.join(dir, 'bare-inserts.sql'), execFileSync(path.join(bin, 'pg_dump'), ['--data-only', '--inserts', '--table=server', mbUrl]));
  fs.writeFileSync(path.join(dir, 'server.csv'), execFileSync('psql', [mbUrl, '-X', '-q', '-c', 'COPY (SELECT * FROM server ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)']));

  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  redisUrl = `redis://127.0.0.1:${port}/0`;
  await waitFor(async () => {
    const c = createClient({ url: redisUrl, socket: { reconnectStrategy: false } });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.close();
      return true;
    } catch {
      return false;
    }
  }, 'redis-server to accept connections', 10_000, 50);
});

after(async () => {
  redis?.kill('SIGTERM');
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function mirror(identifier: string): Promise<Record<string, any> | undefined> {
  const { rows } = await pool.query('SELECT *, prefixes::text[] AS prefixes FROM mirror WHERE identifier = $1', [identifier]);
  return rows[0];
}
const mirrorCount = async () => Number((await pool.query('SELECT count(*) AS n FROM mirror')).rows[0].n);

// What `mb export --format=postgresql` writes (its template: quoted values, $QUOTE$ for free text, None for nulls).
const MB_EXPORT = `
--
-- generated on Fri Dec  4 01:00:00 2026
--
--
-- mbx-fr
--
INSERT INTO server (
  identifier, baseurl, baseurl_ftp, baseurl_rsync, enabled, status_baseurl,
  region, country, asn, prefix,
  score, comment, operator_name, operator_url, public_notes,
  admin, admin_email, lat, lng,
  country_only, region_only, as_only, prefix_only,
  other_countries, file_maxsize, scan_fpm)
VALUES (
  'mbx-fr', 'http://miroir.fr.example/pub/', '', 'rsync://miroir.fr.example/pub/', 'True', 'False',
  'eu', 'fr', '64501', '198.51.100.0/24',
  '80', $QUOTE$asked for 'https' on 2026-01-02$QUOTE$, $QUOTE$Miroir Français$QUOTE$, 'https://miroir.fr.example/', $QUOTE$$QUOTE$,
  $QUOTE$Jean$QUOTE$, $QUOTE$jean@fr.example$QUOTE$, '48.85', '2.35',
  'False', 'True', 'False', 'False',
  'be lu', '0', '0');
`;

describe('import --from mirrorbrain', () => {
  test('mb export SQL: --dry-run prints every mapped and dropped field and writes nothing; then the import writes it', async () => {
    const file = path.join(dir, 'mb-export.sql');
    fs.writeFileSync(file, MB_EXPORT);
    const dry = await ok('import', '--from', 'mirrorbrain', file, '--dry-run');
    assert.match(dry, /would add mirror 'mbx-fr': http_url=http:\/\/miroir\.fr\.example\/pub\/ rsync_url=rsync:\/\/miroir\.fr\.example\/pub\/ operator_name=Miroir Français operator_url=https:\/\/miroir\.fr\.example\/ admin_name=Jean admin_email=jean@fr\.example country=FR continent=EU other_countries=BE,LU lat=48\.85 lng=2\.35 asn=64501 prefixes=198\.51\.100\.0\/24 score=80 enabled=true health=down health_reason=down in MirrorBrain/);
    assert.match(dry, /continent_only=true/);
    assert.match(dry, /would add note on 'mbx-fr': "asked for 'https' on 2026-01-02"/);
    assert.match(dry, /dropped scan_fpm: no such setting .*\(1 mirror\(s\)\)/);
    assert.match(dry, /dry run, nothing written: would import 1 mirror\(s\) and 1 note\(s\)/);
    assert.equal(await mirrorCount(), 0);

    await ok('import', '--from', 'mirrorbrain', file);
    const m = (await mirror('mbx-fr'))!;
    assert.deepEqual([m.country, m.continent, m.asn, m.score, m.enabled, m.health, m.file_max_size, m.continent_only], ['FR', 'EU', 64501, 80, true, 'down', null, true]);
    assert.deepEqual(m.other_countries, ['BE', 'LU']);
    const notes = await pool.query('SELECT author, body FROM mirror_note WHERE mirror_id = $1', [m.id]);
    assert.deepEqual(notes.rows, [{ author: 'import from mirrorbrain', body: "asked for 'https' on 2026-01-02" }]);
    assert.match(await ok('mirror', 'log', 'mbx-fr'), /created as mbx-fr/);
    // Again: the identifier exists now, so nothing is written.
    const again = await cli('import', '--from', 'mirrorbrain', file);
    assert.equal(again.code, 1);
    assert.match(again.err, /mbx-fr.*nothing imported/);
  });

  for (const [name, file] of [['pg_dump --data-only (COPY)', 'copy.sql'], ['pg_dump --data-only --column-inserts', 'inserts.sql'], ['CSV with a header', 'server.csv']] as const) {
    test(`${name} of a real server table`, async () => {
      await pool.query(`DELETE FROM mirror WHERE identifier LIKE 'pgd-%'`);
      const out = await ok('import', '--from', 'mirrorbrain', path.join(dir, file));
      assert.match(out, /imported 2 mirror\(s\) and 1 note\(s\)/);
      assert.match(out, /dropped id: ids are Mirrorlane's own .*\(2 mirror\(s\)\)/);
      assert.match(out, /dropped last_scan: /);
      const de = (await mirror('pgd-de'))!;
      assert.deepEqual(
        [de.http_url, de.ftp_url, de.rsync_url, de.country, de.continent, de.asn, de.prefixes, de.score, de.lat, de.lng, de.admin_email, de.health, de.other_countries],
        ['http://ftp.de.example/pub/', 'ftp://ftp.de.example/pub/', 'rsync://ftp.de.example/pub/', 'DE', 'EU', 64500, ['192.0.2.0/24'], 150, 50.11, 8.68, 'ann@de.example', 'up', ['AT', 'CH']],
      );
      const note = await pool.query('SELECT body FROM mirror_note WHERE mirror_id = $1', [de.id]);
      assert.equal(note.rows[0].body, `big pipe; it's "fast"\nsecond line`);
      const v6 = (await mirror('pgd-v6'))!;
      assert.deepEqual([v6.https_url, v6.http_url, v6.ipv4, v6.ipv6, v6.asn, v6.file_max_size, v6.country_only, v6.enabled, v6.lat], ['https://v6.example/pub/', null, false, true, null, 4000000000, true, false, null]);
    });
  }

  test('one invalid row: one line naming the row and field, nothing written', async () => {
    const before = await mirrorCount();
    const file = path.join(dir, 'bad.sql');
    fs.writeFileSync(file, MB_EXPORT.replaceAll('mbx-fr', 'mbx-ok') + MB_EXPORT.replaceAll('mbx-fr', 'mbx-bad').replace("'fr', '64501'", "'France', '64501'"));
    const r = await cli('import', '--from', 'mirrorbrain', file);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: .*bad\.sql: line \d+ \(mirror 'mbx-bad'\): country must be an ISO 3166-1 country code.*got "FRANCE"; nothing imported\n$/);
    assert.equal(await mirrorCount(), before);
    const none = await cli('import', '--from', 'mirrorbrain', path.join(dir, 'mirrorlane.json'));
    assert.equal(none.code, 1);
    assert.match(none.err, /no rows of MirrorBrain's server table found/);
    const bare = await cli('import', '--from', 'mirrorbrain', path.join(dir, 'bare-inserts.sql'));
    assert.equal(bare.code, 1);
    assert.match(bare.err, /INSERT without column names: dump the table with pg_dump --data-only --column-inserts/);
  });
});

describe('import --from mirrorbits', () => {
  test('mirror hashes from a real Redis: mapped, dropped fields named, dry run writes nothing', async () => {
    const c = createClient({ url: redisUrl });
    await c.connect();
    await c.hSet('MIRRORS', { 1: 'mbits-jp', 2: 'mbits-br' });
    await c.hSet('MIRROR_1', {
      ID: '1', name: 'mbits-jp', http: 'https://jp.example/pub/', rsync: 'rsync://jp.example/pub/', ftp: '', sponsorName: 'JP Net',
      sponsorURL: 'https://jp.example/', sponsorLogo: 'https://jp.example/logo.png', adminName: 'Aki', adminEmail: 'aki@jp.example',
      customData: 'rack 7', continentOnly: 'false', countryOnly: 'true', asOnly: 'false', score: '20', latitude: '35.68', longitude: '139.69',
      continentCode: 'AS', countryCodes: 'JP KR', excludedCountryCodes: 'CN', asnum: '64502', comment: 'fast', enabled: 'true', up: 'false',
      excludeReason: 'Unreachable', stateSince: '1764800000', allowredirects: '0', lastSync: '1764800000', lastSuccessfulSync: '0', lastModTime: '0',
    });
    await c.hSet('MIRROR_2', { ID: '2', name: 'mbits-br', http: 'http://br.example/pub/', score: '-150', latitude: '0', longitude: '0', countryCodes: 'BR', enabled: 'false', up: 'true' });
    await c.close();

    const dry = await ok('import', '--from', 'mirrorbits', redisUrl, '--dry-run');
    assert.match(dry, /would add mirror 'mbits-jp': https_url=https:\/\/jp\.example\/pub\/ rsync_url=rsync:\/\/jp\.example\/pub\/ operator_name=JP Net/);
    assert.match(dry, /dropped sponsorLogo: no logos/);
    assert.match(dry, /dropped allowredirects: /);
    assert.match(dry, /would add note on 'mbits-jp': "Mirrorbits customData: rack 7"/);
    assert.equal(await mirror('mbits-jp'), undefined);

    await ok('import', '--from', 'mirrorbits', redisUrl);
    const jp = (await mirror('mbits-jp'))!;
    assert.deepEqual(
      [jp.country, jp.other_countries, jp.excluded_countries, jp.continent, jp.country_only, jp.score, jp.asn, jp.lat, jp.lng, jp.health, jp.health_reason, jp.enabled, jp.health_since?.toISOString()],
      ['JP', ['KR'], ['CN'], 'AS', true, 120, 64502, 35.68, 139.69, 'down', 'Unreachable', true, new Date(1764800000 * 1000).toISOString()],
    );
    const br = (await mirror('mbits-br'))!;
    assert.deepEqual([br.score, br.lat, br.continent, br.health, br.enabled], [0, null, 'SA', 'up', false]);
  });

  test('an unreachable Redis or one without Mirrorbits data: one line, nothing written', async () => {
    const port = await freePort();
    const r = await cli('import', '--from', 'mirrorbits', `redis://127.0.0.1:${port}/0`);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: cannot connect to Redis at redis:\/\/127\.0\.0\.1:\d+\/0: .*\n$/);
    const empty = await cli('import', '--from', 'mirrorbits', redisUrl.replace(/\/0$/, '/3'));
    assert.equal(empty.code, 1);
    assert.match(empty.err, /no Mirrorbits mirror list \(key MIRRORS\)/);
    const bad = await cli('import', '--from', 'mirrorbits', '/etc/passwd');
    assert.equal(bad.code, 2);
  });
});
