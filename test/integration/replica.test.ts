// Scaling out on PostgreSQL replication: a primary and a streaming hot-standby replica on loopback, two
// redirector nodes (each its own nginx and sidecar); node 1 reads the primary, node 2 the replica. Changes made
// on the primary (a mirror disabled, marked down, new files) reach both nodes' answers through the change log;
// the replica stopped and started under load fails no request; with the primary stopped redirects go on and the
// statistics are written once it is back.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import type { Config } from '../../core/config.ts';
import { createPool } from '../../core/db/pool.ts';
import { openGeoIp, type GeoIp } from '../../core/geoip.ts';
import { freePort } from '../../runtime/ports.ts';
import { pgCtl, type RunningPostgres } from '../../runtime/postgres.ts';
import { startRedirector, type RunningRedirector } from '../../runtime/redirector.ts';
import { request } from '../helpers/http.ts';
import { startLoad } from '../helpers/load.ts';
import { startReplica } from '../helpers/replica.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';
import { waitFor } from '../helpers/wait.ts';

const ISO = '/pub/mirrorlane-demo-1.0.iso'; // on demo-de and demo-us
const TGZ = '/pub/mirrorlane-demo-1.0.tar.gz'; // on all three
const DE = '192.0.2.10';
/** The bound for a change on the primary to reach every node. */
const PROPAGATION_MS = 2000;

let stack: TestStack;
let replica: RunningPostgres;
let replicaPool: pg.Pool;
let node2: RunningRedirector;
let node2Config: Config;
let node2Base: string;
let geo: GeoIp;
const node2Log: string[] = [];
const S = () => ({ logs: () => `${stack.logs()}\n--- node 2 sidecar\n${node2Log.slice(-30).join('\n')}` }) as TestStack;

function location(base: string, p: string, ip = DE): Promise<string> {
  return request(base + p, { headers: { 'X-Forwarded-For': ip } }).then((r) => `${r.status} ${r.headers.location ?? ''}`);
}

/** Both nodes answer `p` as `want` (a regular expression on "STATUS LOCATION"), within the propagation bound. */
async function bothAnswer(p: string, want: RegExp, what: string): Promise<void> {
  for (const [name, base] of [['node 1 (primary)', stack.base], ['node 2 (replica)', node2Base]]) {
    await waitFor(async () => want.test(await location(base, p)), `${name}: ${what}`, PROPAGATION_MS, 50);
  }
}

function onSocket(socket: string, method: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path: p, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('primary + replica, two redirector nodes', { timeout: 240_000 }, () => {
  before(async () => {
    stack = await startStack();
    replica = await startReplica(stack.pg);
    replicaPool = createPool(replica.url);
    const port = await freePort();
    const dir = path.join(stack.dir, 'node2');
    node2Config = structuredClone(stack.config);
    node2Config.varDir = dir;
    node2Config.readDatabaseUrl = replica.url;
    node2Config.sidecar.socket = path.join(dir, 'run', 'sidecar.sock');
    node2Config.nginx.listen = [`127.0.0.1:${port}`];
    geo = await openGeoIp(node2Config.geoip);
    node2 = await startRedirector(node2Config, { nginxPrefix: path.join(dir, 'nginx'), geo, log: (m) => node2Log.push(m) });
    node2Base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await node2?.stop();
    geo?.close();
    await replicaPool?.end();
    await replica?.stop();
    await stack?.stop();
  });

  test('the replica is a hot standby: LISTEN is refused there, so only the change log can reach node 2', withLogs(S, async () => {
    await assert.rejects(replicaPool.query('LISTEN mirrorlane'), /recovery/);
    const h = JSON.parse((await onSocket(node2Config.sidecar.socket, 'GET', '/health')).body);
    assert.equal(h.database, 'up');
    assert.equal(h.changes.listening, false);
  }));

  test('a mirror disabled on the primary: both nodes stop sending clients there', withLogs(S, async () => {
    await bothAnswer(ISO, /^302 http:\/\/127\.0\.0\.2:/, 'DE client sent to demo-de');
    await stack.pool.query(`UPDATE mirror SET enabled = false WHERE identifier = 'demo-de'`);
    await bothAnswer(ISO, /^302 http:\/\/127\.0\.0\.3:/, 'DE client sent to demo-us once demo-de is disabled');
    await stack.pool.query(`UPDATE mirror SET enabled = true WHERE identifier = 'demo-de'`);
    await bothAnswer(ISO, /^302 http:\/\/127\.0\.0\.2:/, 'back to demo-de');
  }));

  test('a mirror marked down on the primary: both nodes avoid it', withLogs(S, async () => {
    await stack.pool.query(`UPDATE mirror SET health = 'down', health_reason = 'test' WHERE identifier = 'demo-de'`);
    await bothAnswer(ISO, /^302 http:\/\/127\.0\.0\.3:/, 'demo-de down: demo-us');
    await stack.pool.query(`UPDATE mirror SET health = 'up', health_reason = '' WHERE identifier = 'demo-de'`);
    await bothAnswer(ISO, /^302 http:\/\/127\.0\.0\.2:/, 'demo-de up again');
  }));

  test('new files on the primary: rows cached as absent are dropped, other cached rows stay', withLogs(S, async () => {
    const p = '/pub/new-on-primary.bin';
    await bothAnswer(p, /^404 /, 'not yet known');
    await bothAnswer(TGZ, /^302 /, 'warm row for another file');
    const before = JSON.parse((await onSocket(node2Config.sidecar.socket, 'GET', '/health')).body).fileCache;
    await stack.pool.query(
      `INSERT INTO file (path, size, mtime, mirrors) VALUES ($1, 1000000, 1767225600,
         (SELECT array_agg(id)::smallint[] FROM mirror WHERE identifier = 'demo-jp'))`,
      [p],
    );
    await bothAnswer(p, /^302 http:\/\/127\.0\.0\.4:/, 'the new file, held by demo-jp only');
    const afterwards = JSON.parse((await onSocket(node2Config.sidecar.socket, 'GET', '/health')).body).fileCache;
    assert.ok(afterwards.size >= 2, `node 2 kept its other cached rows (size ${before.size} -> ${afterwards.size})`);
  }));

  test('replica stopped and started under load: no failed request', withLogs(S, async () => {
    const load = startLoad({
      // Cached rows, and paths never asked before: those need a lookup, which the primary answers while the
      // replica is away (sidecar.readFallbackToPrimary).
      urls: Array.from({ length: 4000 }, (_, i) => (i % 2 ? [ISO, TGZ][i % 4 >> 1] : `/pub/never-asked-${i}.bin`)).map((p) => node2Base + p),
      headers: () => ({ 'X-Forwarded-For': DE }),
      concurrency: 4,
      maxRequests: 4000,
      maxMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    pgCtl(replica, 'stop');
    await new Promise((r) => setTimeout(r, 1500));
    pgCtl(replica, 'start');
    await new Promise((r) => setTimeout(r, 1000));
    const res = await load.stop();
    assert.deepEqual(res.errors, []);
    const bad = Object.entries(res.byStatus).filter(([s]) => Number(s) >= 500);
    assert.deepEqual(bad, [], `statuses: ${JSON.stringify(res.byStatus)}`);
    assert.ok(res.requests > 0);
    assert.ok(node2Log.some((l) => l.includes('change log not readable')), 'node 2 noticed the replica was away');
    // And node 2 follows the primary again once the replica is back.
    await waitFor(async () => JSON.parse((await onSocket(node2Config.sidecar.socket, 'GET', '/health')).body).database === 'up', 'node 2 back in step', 15_000, 100);
    await stack.pool.query(`UPDATE mirror SET enabled = false WHERE identifier = 'demo-de'`);
    await bothAnswer(ISO, /^302 http:\/\/127\.0\.0\.3:/, 'a change after the outage reaches node 2');
    await stack.pool.query(`UPDATE mirror SET enabled = true WHERE identifier = 'demo-de'`);
    await bothAnswer(ISO, /^302 http:\/\/127\.0\.0\.2:/, 'and the next');
  }));

  test('primary stopped: redirects go on on both nodes, statistics are written once it is back', withLogs(S, async () => {
    const count = async () => Number((await stack.pool.query(`SELECT coalesce(sum(requests), 0) AS n FROM stats_file_day s JOIN file f ON f.id = s.file_id WHERE f.path = $1`, [TGZ])).rows[0].n);
    await onSocket(node2Config.sidecar.socket, 'POST', '/stats/flush');
    await onSocket(stack.config.sidecar.socket, 'POST', '/stats/flush');
    const before = await count();
    pgCtl(stack.pg, 'stop');
    try {
      for (let i = 0; i < 5; i++) {
        assert.match(await location(node2Base, TGZ), /^302 http:\/\/127\.0\.0\.2:/, 'node 2 (replica) redirects');
        assert.match(await location(stack.base, TGZ), /^302 http:\/\/127\.0\.0\.2:/, 'node 1 (cache) redirects');
      }
      const flushed = JSON.parse((await onSocket(node2Config.sidecar.socket, 'POST', '/stats/flush')).body);
      assert.equal(flushed.saved, false, 'the primary is away: counts kept');
    } finally {
      pgCtl(stack.pg, 'start');
    }
    await waitFor(async () => {
      await onSocket(node2Config.sidecar.socket, 'POST', '/stats/flush');
      await onSocket(stack.config.sidecar.socket, 'POST', '/stats/flush');
      return (await count().catch(() => -1)) === before + 10;
    }, 'all 10 downloads counted once the primary is back', 20_000, 200);
  }));
});
