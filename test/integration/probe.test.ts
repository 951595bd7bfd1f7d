// Health probes against real mirrors on loopback: nginx serving copies of the origin tree (one of them stopped and
// started again mid-test), and small node:http servers for a slow, a redirecting and a broken mirror. State goes
// to a throw-away PostgreSQL, whose NOTIFYs are counted on a LISTENing client. A failing test carries the logs of
// both nginx and of PostgreSQL.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import { defaultConfig, PROJECT_ROOT, type Config } from '../../core/config.ts';
import { upsertFile } from '../../core/db/files.ts';
import { migrate } from '../../core/db/migrate.ts';
import { insertMirror, mirrorByIdentifier } from '../../core/db/mirrors.ts';
import { createPool } from '../../core/db/pool.ts';
import { listNotes } from '../../core/db/notes.ts';
import { probeRound, type MirrorProbeResult, type ProbeRoundReport } from '../../core/probe/run.ts';
import type { LocalMirrorServer } from '../../core/nginx-config.ts';
import { startStaticNginx, type RunningNginx } from '../../runtime/nginx.ts';
import { freePort } from '../../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { runCaptured } from '../helpers/cli-run.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

const NOW_S = Math.floor(Date.now() / 1000);
const STALE_BY_S = 5 * 3600 + 60;

let dir: string;
let cluster: RunningPostgres;
let pool: pg.Pool;
let listener: pg.Client;
let config: Config;
let env: NodeJS.ProcessEnv;
const cli = (...args: string[]) => runCaptured(args, env);
let steadyNginx: RunningNginx;
let flakyNginx: RunningNginx;
let flakyServer: LocalMirrorServer;
let healthyUrl: string;
const nodeServers: (http.Server | https.Server)[] = [];
const userAgents: string[] = [];
const notifications: string[] = [];


/** `it` whose failures carry the nginx and PostgreSQL logs. */
const test = (name: string, fn: () => Promise<void>) =>
  itWithLogs(
    name,
    fn,
    () =>
      [
        '--- nginx (steady) error.log', tailFile(steadyNginx?.errorLog ?? '', 20),
        '--- nginx (flaky) error.log', tailFile(flakyNginx?.errorLog ?? '', 20),
        '--- postgres', tailFile(cluster?.logFile ?? '', 20),
      ].join('\n'),
    { timeout: 30_000 },
  );

function write(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, content, { mode: 0o644 });
}

/** A copy of the origin tree for one mirror; `edit` changes it. */
function mirrorTree(name: string, edit: (root: string) => void = () => {}): string {
  const root = path.join(dir, 'mirrors', name);
  fs.cpSync(path.join(dir, 'origin'), root, { recursive: true });
  edit(root);
  return root;
}

/** A node:http mirror that answers every request with `handle`. */
async function nodeMirror(host: string, handle: http.RequestListener): Promise<string> {
  const port = await freePort(host);
  const server = http.createServer((req, res) => {
    userAgents.push(String(req.headers['user-agent']));
    handle(req, res);
  });
  nodeServers.push(server);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return `http://${host}:${port}/`;
}

/** Rounds in tests pick the smallest candidate, so which file is probed is known. */
const round = (over: Partial<Parameters<typeof probeRound>[2]> = {}, cfg = config) => probeRound(pool, cfg, { random: () => 0, ...over });

function result(report: ProbeRoundReport, identifier: string): MirrorProbeResult {
  const r = report.results.find((x) => x.identifier === identifier);
  assert.ok(r, `no result for ${identifier} in ${report.results.map((x) => x.identifier).join(', ')}`);
  return r;
}

async function health(identifier: string): Promise<{ health: string; reason: string; since: Date | null; enabled: boolean }> {
  const m = await mirrorByIdentifier(pool, identifier);
  assert.ok(m, `mirror ${identifier} missing`);
  return { health: m.health, reason: m.healthReason, since: m.healthSince, enabled: m.enabled };
}

async function holders(filePath: string): Promise<string[]> {
  const { rows } = await pool.query(
    `SELECT m.identifier FROM file f CROSS JOIN unnest(f.mirrors) AS u(id) JOIN mirror m ON m.id = u.id WHERE f.path = $1 ORDER BY 1`,
    [filePath],
  );
  return rows.map((r) => r.identifier);
}

/** The 'mirrors' NOTIFYs sent while `fn` runs (a query on the listener afterwards flushes what is pending). */
async function mirrorNotifies(fn: () => Promise<unknown>): Promise<number> {
  await new Promise((r) => setTimeout(r, 100));
  notifications.length = 0;
  await fn();
  await new Promise((r) => setTimeout(r, 300));
  await listener.query('SELECT 1');
  return notifications.filter((p) => p === 'mirrors').length;
}


before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-probe-'));
  fs.chmodSync(dir, 0o755); // nginx workers run as nobody when the tests run as root
  const origin = path.join(dir, 'origin');
  write(path.join(origin, 'pub', 'gone.txt'), 'abc'); // smallest: listed for "holey", which does not have it
  write(path.join(origin, 'pub', 'small.txt'), '0123456789');
  write(path.join(origin, 'pub', 'big.bin'), 'x'.repeat(100_000));
  write(path.join(origin, 'project', 'trace'), `${NOW_S}\n`);

  const roots = {
    healthy: mirrorTree('healthy'),
    holey: mirrorTree('holey', (r) => fs.rmSync(path.join(r, 'pub', 'gone.txt'))),
    stale: mirrorTree('stale', (r) => write(path.join(r, 'project', 'trace'), `${new Date((NOW_S - STALE_BY_S) * 1000).toUTCString()}\n`)),
    flaky: mirrorTree('flaky'),
  };
  const listen = async (host: string) => `${host}:${await freePort(host)}`;
  const steady: Record<string, LocalMirrorServer> = {
    healthy: { listen: await listen('127.0.0.6'), root: roots.healthy },
    holey: { listen: await listen('127.0.0.7'), root: roots.holey },
    stale: { listen: await listen('127.0.0.8'), root: roots.stale },
  };
  flakyServer = { listen: await listen('127.0.0.9'), root: roots.flaky };

  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  listener = new pg.Client({ connectionString: cluster.url });
  await listener.connect();
  listener.on('notification', (n) => notifications.push(n.payload ?? ''));
  await listener.query('LISTEN mirrorlane');

  steadyNginx = await startStaticNginx(path.join(dir, 'nginx-steady'), Object.values(steady));
  flakyNginx = await startStaticNginx(path.join(dir, 'nginx-flaky'), [flakyServer]);
  healthyUrl = `http://${steady.healthy.listen}/`;

  const slowUrl = await nodeMirror('127.0.0.10', (_req, res) => {
    // Answers, but long after the probe's timeout.
    setTimeout(() => res.destroyed || res.end('late'), 3000).unref();
  });
  const redirectUrl = await nodeMirror('127.0.0.11', (_req, res) => {
    res.writeHead(302, { Location: healthyUrl }).end();
  });
  const brokenUrl = await nodeMirror('127.0.0.12', (_req, res) => {
    res.writeHead(503).end('maintenance');
  });
  // https with a self-signed certificate, beside a working http URL.
  const tlsHost = '127.0.0.13';
  const key = path.join(dir, 'tls.key');
  const cert = path.join(dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', `/CN=${tlsHost}`, '-addext', `subjectAltName=IP:${tlsHost}`], { stdio: 'pipe' });
  const tlsPort = await freePort(tlsHost);
  const tlsServer = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => res.end('ok'));
  nodeServers.push(tlsServer);
  await new Promise<void>((resolve) => tlsServer.listen(tlsPort, tlsHost, resolve));

  const urls: Record<string, string> = {
    healthy: healthyUrl,
    holey: `http://${steady.holey.listen}/`,
    stale: `http://${steady.stale.listen}/`,
    flaky: `http://${flakyServer.listen}/`,
    slow: slowUrl,
    redirecting: redirectUrl,
    broken: brokenUrl,
  };
  const ids: number[] = [];
  for (const [identifier, httpUrl] of Object.entries(urls)) {
    ids.push((await insertMirror(pool, { identifier, httpUrl, enabled: true })).id);
  }
  ids.push((await insertMirror(pool, { identifier: 'tls', httpUrl: healthyUrl, httpsUrl: `https://${tlsHost}:${tlsPort}/`, enabled: true })).id);
  const holeyId = (await mirrorByIdentifier(pool, 'holey'))!.id;
  await upsertFile(pool, { path: '/pub/small.txt', size: 10, mtime: NOW_S, sha256: null }, ids);
  await upsertFile(pool, { path: '/pub/big.bin', size: 100_000, mtime: NOW_S, sha256: null }, ids);
  await upsertFile(pool, { path: '/pub/gone.txt', size: 3, mtime: NOW_S, sha256: null }, [holeyId]);

  config = defaultConfig(dir);
  config.databaseUrl = cluster.url;
  config.origin.root = origin;
  config.demo = false;
  config.probe = {
    intervalS: 1,
    timeoutMs: 500,
    upAfter: 2,
    downAfter: 1,
    refuseRedirects: true,
    traceFile: '/project/trace',
    traceMaxAgeS: 3600,
    disableOnMissing: false,
    userAgent: 'Mirrorlane-probe/test (+https://example.org/)',
  };
  const configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(configFile, JSON.stringify({ varDir: dir, origin: { root: origin }, probe: config.probe, demo: false }));
  env = { PATH: process.env.PATH, DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: configFile };
});

after(async () => {
  for (const s of nodeServers) {
    s.closeAllConnections();
    s.close();
  }
  await steadyNginx?.stop();
  await flakyNginx?.stop();
  await listener?.end().catch(() => {});
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('probe rounds', () => {
  test('first round: failures take mirrors down at once (downAfter 1), good ones wait for upAfter', async () => {
    const started = new Date();
    const report = await round();
    assert.deepEqual(report.warnings, []);
    assert.deepEqual(
      report.results.map((r) => r.identifier),
      ['broken', 'flaky', 'healthy', 'holey', 'redirecting', 'slow', 'stale', 'tls'],
    );

    for (const id of ['healthy', 'flaky', 'holey']) {
      const r = result(report, id);
      assert.equal(r.verdict.ok, true, `${id}: ${r.verdict.reason}`);
      assert.deepEqual({ health: r.after.health, successes: r.after.successes }, { health: 'unknown', successes: 1 }, id);
      assert.equal((await health(id)).health, 'unknown');
    }
    const healthy = result(report, 'healthy');
    assert.equal(healthy.check.file?.path, '/pub/small.txt');
    assert.equal(healthy.verdict.traceLagS !== null && healthy.verdict.traceLagS < 60, true);

    const expected: Record<string, RegExp> = {
      slow: /^timeout$/,
      redirecting: new RegExp(`^redirect to ${healthyUrl.replace(/\./g, '\\.')}$`),
      broken: /^HTTP 503$/,
      stale: /^stale: trace 5 h behind$/,
      tls: /^https: TLS: self-signed certificate$/, // http works, https does not: named
    };
    for (const [id, reason] of Object.entries(expected)) {
      const h = await health(id);
      assert.equal(h.health, 'down', id);
      assert.match(h.reason, reason, id);
      assert.ok(h.since && h.since >= new Date(started.getTime() - 1000), `${id} since ${h.since}`);
    }
    assert.ok(userAgents.length > 0 && userAgents.every((ua) => ua === config.probe.userAgent), userAgents.join(' | '));
    const { rows } = await pool.query(`SELECT identifier, probe_at, probe_successes, probe_failures FROM mirror ORDER BY identifier`);
    for (const r of rows) {
      assert.ok(r.probe_at, `${r.identifier} probe_at`);
      assert.equal(r.probe_successes + r.probe_failures, 1, r.identifier);
    }
  });

  test('a 404 on the probed file takes it out of that mirror\'s files and does not take the mirror down', async () => {
    // Round 1 probed /pub/gone.txt on "holey" (its smallest file), which it does not have.
    assert.deepEqual(await holders('/pub/gone.txt'), []);
    assert.deepEqual(await holders('/pub/small.txt'), ['broken', 'flaky', 'healthy', 'holey', 'redirecting', 'slow', 'stale', 'tls']);
    const h = await health('holey');
    assert.equal(h.health, 'unknown');
    assert.equal(h.enabled, true);
    assert.deepEqual(await listNotes(pool, (await mirrorByIdentifier(pool, 'holey'))!.id), []);
  });

  test('second round: good mirrors come up after upAfter successes', async () => {
    const report = await round();
    for (const id of ['healthy', 'flaky', 'holey']) {
      const r = result(report, id);
      assert.equal(r.changed, true, id);
      const h = await health(id);
      assert.deepEqual([h.health, h.reason], ['up', ''], id);
      assert.ok(h.since, id);
    }
    assert.equal(result(report, 'holey').check.file?.path, '/pub/small.txt');
    assert.equal(result(report, 'holey').removedFile, null);
    for (const id of ['slow', 'redirecting', 'broken', 'stale', 'tls']) assert.equal(result(report, id).changed, false, id);
  });

  test('a round without a state change sends no NOTIFY, only counters move', async () => {
    const before = await pool.query('SELECT identifier, probe_successes, probe_failures FROM mirror ORDER BY identifier');
    let report: ProbeRoundReport | null = null;
    const n = await mirrorNotifies(async () => (report = await round()));
    assert.ok(report);
    assert.deepEqual((report as ProbeRoundReport).results.filter((r) => r.changed).map((r) => r.identifier), []);
    assert.equal(n, 0);
    const afterRows = await pool.query('SELECT identifier, probe_successes, probe_failures FROM mirror ORDER BY identifier');
    for (const [i, r] of afterRows.rows.entries()) {
      const b = before.rows[i];
      assert.equal(r.probe_successes + r.probe_failures, b.probe_successes + b.probe_failures + 1, r.identifier);
    }
  });

  test('a mirror stopped mid-test goes down within one round: connection refused, one NOTIFY', async () => {
    await flakyNginx.stop();
    const started = new Date();
    const n = await mirrorNotifies(() => round());
    assert.equal(n, 1);
    const h = await health('flaky');
    assert.deepEqual([h.health, h.reason], ['down', 'connection refused']);
    assert.ok(h.since && h.since >= new Date(started.getTime() - 1000));
    assert.equal((await health('healthy')).health, 'up');
  });

  test('`mirror list` shows state, reason and since', async () => {
    const r = await cli('mirror', 'list');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /flaky .*down: connection refused since \d{4}-\d\d-\d\d \d\d:\d\dZ/);
    assert.match(r.out, /stale .*down: stale: trace 5 h behind since \d{4}-\d\d-\d\d \d\d:\d\dZ/);
    assert.match(r.out, /healthy .*up since \d{4}-\d\d-\d\d \d\d:\d\dZ/);
  });

  test('it comes back after nginx starts again and upAfter successful rounds', async () => {
    flakyNginx = await startStaticNginx(path.join(dir, 'nginx-flaky'), [flakyServer]);
    const first = result(await round({ identifiers: ['flaky'] }), 'flaky');
    assert.deepEqual([first.after.health, first.after.successes, first.changed], ['down', 1, false]);
    const n = await mirrorNotifies(() => round({ identifiers: ['flaky'] }));
    assert.equal(n, 1);
    assert.deepEqual((await health('flaky')).health, 'up');
  });

  test('disableOnMissing: a missing file also disables the mirror with a note; it stays up', async () => {
    const holeyId = (await mirrorByIdentifier(pool, 'holey'))!.id;
    await upsertFile(pool, { path: '/pub/gone.txt', size: 3, mtime: NOW_S, sha256: null }, [holeyId]);
    const strict = structuredClone(config);
    strict.probe.disableOnMissing = true;
    const r = result(await round({ identifiers: ['holey'] }, strict), 'holey');
    assert.equal(r.disabled, true);
    assert.equal(r.removedFile?.path, '/pub/gone.txt');
    assert.deepEqual(await holders('/pub/gone.txt'), []);
    const h = await health('holey');
    assert.deepEqual([h.health, h.enabled], ['up', false]);
    const notes = await listNotes(pool, holeyId);
    assert.equal(notes.length, 1);
    assert.equal(notes[0].author, 'mirrorlane probe');
    assert.match(notes[0].body, /\/pub\/gone\.txt missing \(HTTP 404\)/);
    await pool.query('UPDATE mirror SET enabled = true WHERE id = $1', [holeyId]);
  });
});

describe('mirrorlane probe', () => {
  test('one round prints a table with checks, result and state, and exits 0 with mirrors down', async () => {
    const r = await cli('probe');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /│ mirror +│ checks +│ result +│ state/);
    const ms = '\\(\\d+ ms\\)';
    assert.match(r.out, new RegExp(`healthy +│ http: base 200 ${ms}, /pub/(small\\.txt|big\\.bin) 200 ${ms}, trace 200 ${ms} +│ ok, trace current +│ up `));
    assert.match(r.out, new RegExp(`slow +│ http: base timeout ${ms} +│ failed: timeout +│ down `));
    assert.match(r.out, new RegExp(`broken +│ http: base 503 ${ms} +│ failed: HTTP 503 +│ down `));
    assert.match(r.out, /redirecting +│ http: base 302 to http:\/\/127\.0\.0\.6:\d+\/ \(\d+ ms\) +│ failed: redirect to http:/);
  });

  test('--json, named mirrors', async () => {
    const r = await cli('probe', 'healthy', 'broken', '--json');
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(r.out);
    assert.deepEqual(json.results.map((x: { identifier: string }) => x.identifier), ['broken', 'healthy']);
    const broken = json.results[0];
    assert.deepEqual([broken.to, broken.reason, broken.changed, broken.verdict.ok], ['down', 'HTTP 503', false, false]);
  });

  test('an unknown mirror or a database that is down: exit 1', async () => {
    const unknown = await cli('probe', 'healthy', 'nosuch');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /unknown mirror: nosuch/);
    const port = await freePort();
    const saved = env;
    env = { ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` };
    try {
      const down = await cli('probe');
      assert.equal(down.code, 1);
      assert.match(down.err, /database is down/);
    } finally {
      env = saved;
    }
  });

  test('--watch prints state changes as they happen and stops on SIGTERM with exit 0', async () => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'mirrorlane.js'), 'probe', '--watch', '--interval', '1', 'flaky'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waitFor = async (what: () => boolean, label: string) => {
      const deadline = Date.now() + 15_000;
      while (!what()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}\nstdout: ${out}\nstderr: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitFor(() => /probing flaky every 1 s/.test(err), 'the watch to start');
      // Let the first round see it up, then take it away.
      await new Promise((r) => setTimeout(r, 1500));
      await flakyNginx.stop();
      await waitFor(() => /flaky +up → down: connection refused/.test(out), 'the down line');
      flakyNginx = await startStaticNginx(path.join(dir, 'nginx-flaky'), [flakyServer]);
      await waitFor(() => /flaky +down → up/.test(out), 'the up line');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, err);
    assert.match(err, /SIGTERM: stopping the probe/);
    assert.equal(out.trim().split('\n').length, 2, out);
  });
});
