// The README's "Production" setup, step by step, on Debian's own PostgreSQL 15 (a private cluster from
// /usr/lib/postgresql/15/bin, with a database and role of its own) and a private nginx that includes the
// `mirrorlane nginx-config` snippets as an operator's nginx.conf would: migrate, scan, add mirrors, serve two
// sidecars, a 302 through nginx with curl, /health and /metrics through the monitoring location, `mirrorlane
// status`, an additive migration applied under running sidecars without a failed request, backup and restore.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { JS_MODULE } from '../../core/nginx-config.ts';
import { startNginx, startStaticNginx, type RunningNginx } from '../../runtime/nginx.ts';
import { freePort } from '../../runtime/ports.ts';
import { debianPgBin, startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { spawnSidecar, type SidecarProcess } from '../../runtime/sidecar-process.ts';
import { runCaptured, runOk } from '../helpers/cli-run.ts';
import { writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

const execFileP = promisify(execFile);
const DE_CLIENT = '192.0.2.10';

let cluster: RunningPostgres;
let admin: pg.Client;
let dir: string;
let env: NodeJS.ProcessEnv;
let dbUrl: string;
let nginx: RunningNginx | null = null;
let mirrorNginx: RunningNginx | null = null;
let base: string;
let baseV6: string;
let mirrorBase: string;
const sidecars: SidecarProcess[] = [];
const ok = (...args: string[]) => runOk(args, env);

const test = (name: string, fn: () => Promise<void>) =>
  itWithLogs(
    name,
    fn,
    () =>
      [
        `--- PostgreSQL log ---\n${tailFile(cluster.logFile)}`,
        `--- nginx error log ---\n${nginx ? tailFile(nginx.errorLog) : ''}`,
        ...sidecars.map((s) => `--- ${s.logFile} ---\n${tailFile(s.logFile)}`),
      ].join('\n'),
    { timeout: 180_000 },
  );

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await execFileP('curl', ['-s', '--max-time', '10', ...args], { timeout: 20_000 });
    return { code: 0, out: r.stdout };
  } catch (e) {
    const x = e as { code?: number; stdout?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '' };
  }
}

/** Status line and headers of one request (curl -D -: headers only, no redirect followed). */
async function head(url: string, headers: string[] = []): Promise<{ status: number; headers: string }> {
  const r = await curl(['-o', '/dev/null', '-D', '-', ...headers.flatMap((h) => ['-H', h]), url]);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(r.out)?.[1] ?? 0);
  return { status, headers: r.out };
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-prod-'));
  // nginx's workers run as nobody under root: the tree and the sockets must be reachable for them.
  fs.chmodSync(dir, 0o755);
  cluster = await startTempCluster();
  // Production: a role and a database of its own (README "Production", step 2), not the superuser.
  admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query('CREATE ROLE mirrorlane LOGIN');
  await admin.query('CREATE DATABASE mirrorlane OWNER mirrorlane');
  dbUrl = cluster.url.replace('postgres@', 'mirrorlane@').replace(/\/postgres$/, '/mirrorlane');

  const origin = path.join(dir, 'srv', 'pub');
  const mirrorRoot = path.join(dir, 'mirror');
  const iso = 'Mirrorlane production test image\n'.repeat(400);
  const mtime = new Date('2026-11-20T08:00:00Z');
  for (const root of [origin, mirrorRoot]) {
    fs.mkdirSync(path.join(root, 'releases'), { recursive: true });
    fs.writeFileSync(path.join(root, 'releases', 'x.iso'), iso);
    fs.utimesSync(path.join(root, 'releases', 'x.iso'), mtime, mtime);
  }
  const mirrorListen = `127.0.13.20:${await freePort('127.0.13.20')}`;
  mirrorNginx = await startStaticNginx(path.join(dir, 'mirror-nginx'), [{ listen: mirrorListen, root: mirrorRoot, autoindexFormat: 'json' }]);
  mirrorBase = `http://${mirrorListen}/`;

  const port = await freePort('127.0.13.1');
  base = `http://127.0.13.1:${port}`;
  baseV6 = `http://[::1]:${port}`;
  const geo = writeGeoIpFixtures(path.join(dir, 'geoip'));
  const configFile = path.join(dir, 'etc', 'mirrorlane.json');
  fs.mkdirSync(path.dirname(configFile), { recursive: true });
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      databaseUrl: dbUrl,
      varDir: path.join(dir, 'var'),
      origin: { root: origin, urlPrefix: '/pub/' },
      geoip: { city: [geo.city], asn: geo.asn },
      sidecar: { socket: path.join(dir, 'run', 'sidecar.sock'), processes: 2 },
      nginx: { listen: [`127.0.13.1:${port}`], trustedProxies: ['127.0.0.1', '127.0.13.0/24', '::1'] },
      monitoring: { allow: ['127.0.0.1'] },
    }),
  );
  env = { MIRRORLANE_CONFIG: configFile, PATH: process.env.PATH };
});

after(async () => {
  for (const s of sidecars) {
    s.process.kill('SIGTERM');
    await s.exited;
  }
  await nginx?.stop();
  await mirrorNginx?.stop();
  await admin?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('Production, as the README says it', () => {
  test('Debian PostgreSQL 15, migrate, scan, mirrors, two sidecars, a private nginx with the snippets: a 302 through nginx', async () => {
    const { rows } = await admin.query('SHOW server_version');
    if (fs.existsSync('/usr/lib/postgresql/15/bin/postgres')) {
      assert.equal(debianPgBin(), '/usr/lib/postgresql/15/bin');
      assert.match(rows[0].server_version, /^15\./, 'Debian 12 PostgreSQL 15');
    }
    assert.match(await ok('db', 'migrate'), /applied/);
    assert.match(await ok('origin', 'scan'), /^1 files: 1 added/);
    await ok('mirror', 'add', 'de-mirror', '--http', mirrorBase, '--country', 'DE', '--lat', '50.1', '--lng', '8.7');
    assert.match(await ok('scan', 'de-mirror', '--enable'), /de-mirror/);

    const confDir = path.join(dir, 'nginx', 'conf');
    fs.mkdirSync(confDir, { recursive: true });
    fs.writeFileSync(path.join(confDir, 'mirrorlane-http.conf'), await ok('nginx-config', '--part', 'http'));
    fs.writeFileSync(path.join(confDir, 'mirrorlane-server.conf'), await ok('nginx-config', '--part', 'server'));
    const prefix = path.join(dir, 'nginx');
    const port = new URL(base).port;
    fs.writeFileSync(
      path.join(confDir, 'nginx.conf'),
      `load_module ${JS_MODULE};
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
${process.getuid?.() === 0 ? 'user nobody nogroup;' : ''}
events { worker_connections 512; }
http {
    include /etc/nginx/mime.types;
    access_log ${prefix}/logs/access.log;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
    include ${confDir}/mirrorlane-http.conf;
    server {
        listen 127.0.13.1:${port};
        listen [::1]:${port};
        server_name download.example.org;
        include ${confDir}/mirrorlane-server.conf;
    }
}
`,
    );
    fs.mkdirSync(path.join(prefix, 'logs'), { recursive: true });
    fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });

    const configFile = String(env.MIRRORLANE_CONFIG);
    for (const n of [1, 2]) {
      const socket = path.join(dir, 'run', n === 1 ? 'sidecar.sock' : 'sidecar-2.sock');
      sidecars.push(await spawnSidecar(configFile, socket, path.join(dir, `sidecar-${n}.log`), ['--instance', String(n)]));
    }
    nginx = await startNginx(prefix, [{ host: '127.0.13.1', port: Number(port) }]);

    const r = await head(`${base}/pub/releases/x.iso`, [`X-Forwarded-For: ${DE_CLIENT}`]);
    assert.equal(r.status, 302, r.headers);
    assert.match(r.headers, new RegExp(`^Location: ${mirrorBase.replace(/[.]/g, '\\.')}releases/x\\.iso\\r?$`, 'mi'));
  });

  test('/health and every sidecar\'s /metrics through nginx for monitoring.allow only; nothing else of the sidecar', async () => {
    const health = await curl([`${base}/mirrorlane-status/health`]);
    assert.equal(JSON.parse(health.out).database, 'up');
    for (const n of [1, 2]) {
      const metrics = await curl([`${base}/mirrorlane-status/sidecar-${n}/metrics`]);
      assert.match(metrics.out, /^# (HELP|TYPE) /m, `sidecar ${n} metrics`);
    }
    // ::1 is not in monitoring.allow here; nor is a client behind a trusted proxy (realip gives its address).
    assert.equal((await head(`${baseV6}/mirrorlane-status/health`)).status, 403);
    assert.equal((await head(`${base}/mirrorlane-status/health`, ['X-Forwarded-For: 203.0.113.9'])).status, 403);
    assert.equal((await head(`${base}/mirrorlane-status/stats/flush`)).status, 404);
    assert.equal((await curl(['-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `${base}/mirrorlane-status/stats/flush`])).out, '404');
  });

  test('mirrorlane status: all well, then one sidecar down is a failure, said in one line', async () => {
    const well = await runCaptured(['status', '--url', base], env);
    assert.equal(well.code, 0, well.out + well.err);
    assert.match(well.out, /^ok {4}redirector: nginx answers http:\/\/127\.0\.13\.1:\d+\/mirrorlane-status\/health \(200\)$/m);
    assert.match(well.out, /^ok {4}sidecar: 1: up on .*sidecar\.sock, 1 mirrors loaded$/m);
    assert.match(well.out, /^ok {4}sidecar: 2: up on .*sidecar-2\.sock/m);
    assert.match(well.out, /^ok {4}database: up, schema current$/m);
    assert.match(well.out, /^ok {4}mirrors: 1 enabled: 0 up, 0 down, 1 not probed yet$/m);
    const second = sidecars.pop()!;
    second.process.kill('SIGTERM');
    await second.exited;
    const ill = await runCaptured(['status', '--url', base], env);
    assert.equal(ill.code, 1);
    assert.match(ill.out, /^FAIL {2}sidecar: 2: down: .*sidecar-2\.sock: ENOENT$/m);
    assert.equal(ill.err, 'error: not well: sidecar\n');
    sidecars.push(await spawnSidecar(String(env.MIRRORLANE_CONFIG), path.join(dir, 'run', 'sidecar-2.sock'), path.join(dir, 'sidecar-2b.log'), ['--instance', '2']));
  });

  test('upgrade: an additive migration applied under running sidecars, no request fails', async () => {
    // Roll migration 007 back as if these sidecars were the release before it, then upgrade the schema under load.
    const owner = new pg.Client({ connectionString: dbUrl });
    await owner.connect();
    try {
      await owner.query('DROP INDEX mirror_identifier_lower');
      await owner.query('DELETE FROM schema_version WHERE version = 7');
      const statuses: number[] = [];
      let stop = false;
      const load = (async () => {
        for (let i = 0; i < 2000 && !stop; i++) {
          statuses.push((await head(`${base}/pub/releases/x.iso`, [`X-Forwarded-For: ${DE_CLIENT}`])).status);
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      assert.match(await ok('db', 'migrate'), /007/);
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await load;
      assert.ok(statuses.length > 2, `requests made: ${statuses.length}`);
      assert.deepEqual([...new Set(statuses)], [302]);
      const idx = await owner.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'mirror_identifier_lower'`);
      assert.equal(idx.rowCount, 1);
    } finally {
      await owner.end();
    }
  });

  test('backup and restore: export and import, pg_dump and pg_restore', async () => {
    fs.mkdirSync(path.join(dir, 'backup'));
    const exportFile = path.join(dir, 'backup', 'mirrors.json');
    await ok('export', '-o', exportFile);
    assert.equal(fs.statSync(exportFile).mode & 0o777, 0o600);
    const bin = debianPgBin()!;
    const dump = path.join(dir, 'backup', 'mirrorlane.dump');
    await execFileP(path.join(bin, 'pg_dump'), ['-Fc', '-f', dump, dbUrl]);
    await admin.query('CREATE DATABASE restored OWNER mirrorlane');
    const restoredUrl = dbUrl.replace(/\/mirrorlane$/, '/restored');
    await execFileP(path.join(bin, 'pg_restore'), ['--no-owner', '-d', restoredUrl, dump]);
    const restoredEnv = { ...env, DATABASE_URL: restoredUrl };
    assert.match(await runOk(['mirror', 'list'], restoredEnv), /de-mirror/);
    assert.match(await runOk(['file', 'ls'], restoredEnv), /\/releases\/x\.iso .*de-mirror/);
    // The mirrors alone, into an empty schema: export/import.
    await admin.query('CREATE DATABASE fresh OWNER mirrorlane');
    const freshEnv = { ...env, DATABASE_URL: dbUrl.replace(/\/mirrorlane$/, '/fresh') };
    await runOk(['db', 'migrate'], freshEnv);
    assert.match(await runOk(['import', exportFile], freshEnv), /1 mirror/);
    assert.match(await runOk(['mirror', 'show', 'de-mirror'], freshEnv), /DE/);
  });
});
