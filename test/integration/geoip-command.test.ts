// `mirrorlane geoip update|status` and the warning of `serve` when configured AS tiers have no data: a real
// PostgreSQL, the real ASN package built into an MMDB, real `mirrorlane serve` processes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { packageVersion } from '../../core/geoip-status.ts';
import { spawnSidecar } from '../../runtime/sidecar-process.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { runCaptured, runOk } from '../helpers/cli-run.ts';
import { writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';
import { waitFor } from '../helpers/wait.ts';

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let configFile: string;
let env: NodeJS.ProcessEnv;
const logs: string[] = [];
const ok = (...args: string[]) => runOk(args, env);
const test = (name: string, fn: () => Promise<void>) =>
  itWithLogs(name, fn, () => `--- PostgreSQL log ---\n${tailFile(cluster.logFile)}\n${logs.map((l) => `--- ${l} ---\n${tailFile(l)}`).join('\n')}`, { timeout: 240_000 });

/** Start `serve`, wait for its GeoIP line, stop it; returns what it logged. */
async function serveOnce(name: string): Promise<string> {
  const log = path.join(dir, `${name}.log`);
  logs.push(log);
  const sc = await spawnSidecar(configFile, path.join(dir, 'run', 'sidecar.sock'), log);
  try {
    await waitFor(async () => /\[sidecar\] GeoIP: city/.test(fs.readFileSync(log, 'utf8')), 'the GeoIP line of serve', 30_000);
  } finally {
    sc.process.kill('SIGTERM');
    await sc.exited;
  }
  return fs.readFileSync(log, 'utf8');
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-geoip-'));
  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  const geo = writeGeoIpFixtures(path.join(dir, 'fixtures'));
  configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(configFile, JSON.stringify({ databaseUrl: cluster.url, varDir: dir, origin: { root: dir }, geoip: { city: [geo.city] } }));
  env = { MIRRORLANE_CONFIG: configFile, PATH: process.env.PATH };
  await ok('mirror', 'add', 'as-mirror', '--http', 'http://192.0.2.80/', '--country', 'DE', '--lat', '50', '--lng', '8', '--asn', '64500', '--enable');
  await ok('peer', 'add', '64501', 'as-mirror');
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('GeoIP data for your own setup', () => {
  test('serve warns that the AS tier and the AS peers have no data; geoip update builds it; then serve is quiet', async () => {
    const before = await serveOnce('serve-before');
    assert.match(before, /\[sidecar\] warning: GeoIP: no ASN database, but 1 mirror\(s\) with an AS number \(AS tier\), 1 AS peer\(s\) need one: run `mirrorlane geoip update`/);
    const status = await runCaptured(['geoip', 'status'], env);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /^asn: none/m);
    assert.match(status.err, /warning: GeoIP: no ASN database/);

    const version = packageVersion('@ip-location-db/asn');
    assert.ok(version, '@ip-location-db/asn is installed');
    const built = await ok('geoip', 'update');
    const mmdb = path.join(dir, 'geoip', 'asn.mmdb');
    assert.ok(fs.statSync(mmdb).size > 1_000_000, 'a real ASN database was written');
    assert.match(built, new RegExp(`building ${mmdb.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} from @ip-location-db/asn ${version.replace(/\./g, '\\.')}`));
    assert.match(built, /ASN database: \d{6,} ranges/);
    assert.match(built, /^asn: .*asn\.mmdb: Mirrorlane-ASN, data of \d{4}-\d{2}-\d{2}, \d+ days old; built by `mirrorlane geoip update` on \d{4}-\d{2}-\d{2} from npm package @ip-location-db\/asn /m);
    // The data is real: Google's resolver is in AS15169 in every ip-location-db release.
    assert.match(await ok('iplookup', '8.8.8.8'), /15169/);
    assert.match(await ok('geoip', 'update'), /the ASN database is current with @ip-location-db\/asn/);
    const after = await serveOnce('serve-after');
    assert.doesNotMatch(after, /warning: GeoIP/);
    assert.match(after, /GeoIP: city .*; ASN .*asn\.mmdb/);
    const json = JSON.parse(await ok('geoip', 'status', '--json'));
    assert.equal(json.asn.ok, true);
    assert.deepEqual(json.warnings, []);
  });
});
