// IPv6 and https capabilities found out by the probe, against real servers on loopback: ::1 and 127.0.17.x, an
// https server on 127.0.17.9:443 with a certificate of a private CA made here (probe.caFile), and the operator's
// pin that the probe must not undo. Recorded in PostgreSQL and in the mirror's event log.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { findCapabilities, planCapabilities } from '../../core/probe/capabilities.ts';
import { freePort } from '../../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { runOk } from '../helpers/cli-run.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';

const TLS_HOST = '127.0.17.9';
const V4_HOST = '127.0.17.10';
const isRoot = process.getuid?.() === 0;

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let env: NodeJS.ProcessEnv;
const servers: http.Server[] = [];
let p6 = 0;
let p4 = 0;
let pTls = 0;
const ok = (...args: string[]) => runOk(args, env);
const test = (name: string, fn: () => Promise<void>, skip?: string | false) =>
  itWithLogs(name, fn, () => `--- PostgreSQL log ---\n${tailFile(cluster.logFile)}`, { skip });

function listen(server: http.Server, port: number, host: string): Promise<void> {
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

const handler: http.RequestListener = (_req, res) => res.end('mirror\n');

/** A private CA and a certificate for TLS_HOST signed by it. */
function makeCertificates(into: string): { ca: string; key: string; cert: string } {
  const f = (n: string) => path.join(into, n);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=Mirrorlane test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', `/CN=${TLS_HOST}`);
  fs.writeFileSync(f('ext'), `subjectAltName=IP:${TLS_HOST}\n`);
  run('x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('srv.pem'), '-days', '2', '-extfile', f('ext'));
  return { ca: f('ca.pem'), key: f('srv.key'), cert: f('srv.pem') };
}

before(async () => {
  cluster = await startTempCluster();
  pool = createPool(cluster.url);
  await migrate(pool);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-caps-'));
  fs.mkdirSync(path.join(dir, 'origin'));
  const certs = makeCertificates(dir);
  p6 = await freePort('::1');
  p4 = await freePort(V4_HOST);
  pTls = await freePort(TLS_HOST);
  await listen(http.createServer(handler), p6, '::1');
  await listen(http.createServer(handler), p4, V4_HOST);
  await listen(http.createServer(handler), pTls, TLS_HOST);
  if (isRoot) await listen(https.createServer({ key: fs.readFileSync(certs.key), cert: fs.readFileSync(certs.cert) }, handler), 443, TLS_HOST);
  const configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(configFile, JSON.stringify({ varDir: dir, origin: { root: 'origin' }, probe: { timeoutMs: 2000, caFile: certs.ca } }));
  env = { DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: configFile, USER: 'tester', PATH: process.env.PATH };
});

after(async () => {
  for (const s of servers) s.close();
  await pool?.end();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function row(identifier: string): Promise<Record<string, any>> {
  const { rows } = await pool.query('SELECT ipv6, https_url, ipv6_pinned, https_pinned FROM mirror WHERE identifier = $1', [identifier]);
  return rows[0];
}

/** Names the tests resolve themselves: dual.test and broken6.test have an AAAA record (::1), v4only.test not. */
const lookup = ((host: string, opts: { all?: boolean; family?: number }, cb: (...a: unknown[]) => void) => {
  const table: Record<string, { address: string; family: number }[]> = {
    'dual.test': [{ address: '::1', family: 6 }, { address: V4_HOST, family: 4 }],
    'broken6.test': [{ address: '::1', family: 6 }, { address: V4_HOST, family: 4 }],
    'v4only.test': [{ address: V4_HOST, family: 4 }],
  };
  const found = (table[host] ?? []).filter((a) => !opts.family || a.family === opts.family);
  if (!found.length) return cb(Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
  if (opts.all) return cb(null, found);
  cb(null, found[0].address, found[0].family);
}) as unknown as LookupFunction;

describe('capabilities found out by the probe', () => {
  test('IPv6 needs an AAAA record and a connection to it', async () => {
    const opts = { timeoutMs: 2000, userAgent: 'test', followRedirects: true, lookup };
    const dual = await findCapabilities({ httpUrl: `http://dual.test:${p6}/pub/`, httpsUrl: 'https://dual.test/pub/' }, opts);
    assert.deepEqual(dual.ipv6, { ok: true, why: '' });
    assert.equal(dual.https, null, 'a mirror with an https URL is not searched for one');
    const v4 = await findCapabilities({ httpUrl: `http://v4only.test:${p4}/pub/`, httpsUrl: null }, opts);
    assert.deepEqual(v4.ipv6, { ok: false, why: 'no AAAA record' });
    // The AAAA record points at ::1, where nothing listens on this port: only 127.0.17.10 does.
    const broken = await findCapabilities({ httpUrl: `http://broken6.test:${p4}/pub/`, httpsUrl: 'https://x.example/' }, opts);
    assert.deepEqual(broken.ipv6, { ok: false, why: 'IPv6: connection refused' });
    // Pins and the last family are respected.
    const m = { ipv4: true, ipv6: true, httpsUrl: null, ipv6Pinned: false, httpsPinned: false };
    assert.deepEqual(planCapabilities(m, broken), { ipv6: false });
    assert.deepEqual(planCapabilities({ ...m, ipv6Pinned: true }, broken), {});
    assert.deepEqual(planCapabilities({ ...m, ipv4: false }, broken), {}, 'an IPv6-only mirror keeps ipv6');
  });

  test('a probe round records IPv6 and https where they work, leaves pinned values, and logs it as the probe', async () => {
    await ok('mirror', 'add', 'v6', '--http', `http://[::1]:${p6}/pub/`, '--enable');
    await ok('mirror', 'add', 'v6-pinned', '--http', `http://[::1]:${p6}/pub/`, '--no-ipv6', '--enable');
    await ok('mirror', 'add', 'v4', '--http', `http://${V4_HOST}:${p4}/pub/`, '--enable');
    await ok('mirror', 'add', 'tls', '--http', `http://${TLS_HOST}:${pTls}/pub/`, '--enable');
    const out = await ok('probe');
    assert.match(out, /answers over IPv6: ipv6 set/);

    assert.equal((await row('v6')).ipv6, true);
    assert.deepEqual(await row('v6-pinned'), { ipv6: false, https_url: null, ipv6_pinned: true, https_pinned: false });
    assert.deepEqual(await row('v4'), { ipv6: false, https_url: null, ipv6_pinned: false, https_pinned: false }, 'nothing on :443 of 127.0.17.10');
    const log = JSON.parse(await ok('mirror', 'log', 'v6', '--json')) as { kind: string; source: string; field: string; oldValue: unknown; newValue: unknown }[];
    assert.deepEqual(log.filter((e) => e.kind === 'edit').map((e) => [e.source, e.field, e.oldValue, e.newValue]), [['probe', 'ipv6', false, true]]);
    if (isRoot) {
      assert.equal((await row('tls')).https_url, `https://${TLS_HOST}/pub/`);
      assert.match(out, new RegExp(`https URL set to https://${TLS_HOST.replace(/\./g, '\\.')}/pub/`));
    }
    // A second round finds nothing new: no further events.
    await ok('probe');
    const again = JSON.parse(await ok('mirror', 'log', 'v6', '--json')) as { kind: string }[];
    assert.equal(again.filter((e) => e.kind === 'edit').length, 1);
  });

  test('the operator overrides: --no-ipv6 pins it, --no-pin-ipv6 lets the probe decide again', async () => {
    await ok('mirror', 'edit', 'v6', '--no-ipv6');
    assert.deepEqual([(await row('v6')).ipv6, (await row('v6')).ipv6_pinned], [false, true]);
    await ok('probe', 'v6');
    assert.equal((await row('v6')).ipv6, false, 'pinned: the probe leaves it');
    await ok('mirror', 'edit', 'v6', '--no-pin-ipv6');
    await ok('probe', 'v6');
    assert.equal((await row('v6')).ipv6, true);
  });

  test('https over a certificate the probe does not trust is not recorded', async () => {
    // Without probe.caFile the private CA is unknown.
    const opts = { timeoutMs: 2000, userAgent: 'test', followRedirects: true };
    const f = await findCapabilities({ httpUrl: `http://${TLS_HOST}:${pTls}/pub/`, httpsUrl: null }, opts);
    assert.deepEqual(f.https, { url: null, why: 'https: TLS: untrusted certificate' });
  }, !isRoot && 'binding port 443 needs root');
});
