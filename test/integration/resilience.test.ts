// Never fail the client: under a steady, bounded load on loopback, the sidecar is stopped (slow), killed,
// replaced by a server that answers garbage, PostgreSQL is restarted and nginx reloaded. No request may end
// in a 5xx or a broken connection; the fallback path must visibly have been taken where it should.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { writeManagedNginxConfig } from '../../core/nginx-config.ts';
import { pgCtl } from '../../runtime/postgres.ts';
import { request } from '../helpers/http.ts';
import { startLoad, type LoadResult } from '../helpers/load.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
const S = () => stack;
const FILES = ['/pub/mirrorlane-demo-1.0.tar.gz', '/pub/mirrorlane-demo-1.0.iso', '/pub/README.txt', '/pub/origin-only.txt'];
const CLIENTS = ['192.0.2.10', '198.51.100.10', '203.0.113.10', '192.0.2.200', '2001:db8:2::1'];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run `during` while a load of 8 connections runs, and return what the clients saw. */
async function underLoad(during: () => Promise<void>): Promise<LoadResult> {
  let k = 0;
  const load = startLoad({
    urls: FILES.map((f) => stack.base + f),
    headers: () => ({ 'X-Forwarded-For': CLIENTS[k++ % CLIENTS.length] }),
    concurrency: 8,
    maxRequests: 20_000,
    maxMs: 20_000,
    markHeader: 'X-Mirrorlane-Fallback',
  });
  await sleep(300);
  await during();
  await sleep(300);
  return load.stop();
}

function assertNoFailure(r: LoadResult, what: string): void {
  const failed = Object.entries(r.byStatus).filter(([status]) => Number(status) >= 500);
  assert.deepEqual(failed, [], `${what}: 5xx answers ${JSON.stringify(r.byStatus)}`);
  assert.deepEqual(r.errors.slice(0, 5), [], `${what}: ${r.errors.length} broken requests`);
  assert.ok(r.requests > 50, `${what}: only ${r.requests} requests ran`);
}

function sidecarPid(): number {
  const pid = stack.redirector.sidecarProcess?.process.pid;
  assert.ok(pid, 'sidecar runs as a process');
  return pid;
}

describe('resilience under load', () => {
  before(async () => {
    stack = await startStack({
      sidecarProcess: true,
      configure: (c, { mirrorPort }) => {
        c.fallback.mirrors = [`DE http://127.0.0.2:${mirrorPort}/`];
        c.nginx.sidecarTimeoutMs = 300;
      },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  test('a stopped (slow) sidecar: answers come from the fallback mirror after the time budget', withLogs(S, async () => {
    const r = await underLoad(async () => {
      process.kill(sidecarPid(), 'SIGSTOP');
      await sleep(1500);
      process.kill(sidecarPid(), 'SIGCONT');
    });
    assertNoFailure(r, 'SIGSTOP');
    assert.ok((r.marked['sidecar too slow (504)'] ?? 0) > 0, `fallback seen: ${JSON.stringify(r.marked)}`);
  }));

  test('a sidecar killed with SIGKILL and restarted', withLogs(S, async () => {
    const r = await underLoad(async () => {
      process.kill(sidecarPid(), 'SIGKILL');
      await stack.redirector.sidecarProcess!.exited;
      await sleep(700);
      await stack.redirector.restartSidecar();
    });
    assertNoFailure(r, 'SIGKILL');
    assert.ok((r.marked['sidecar unreachable or unreadable (502)'] ?? 0) > 0, `fallback seen: ${JSON.stringify(r.marked)}`);
    const after = await request(stack.base + FILES[0], { headers: { 'X-Forwarded-For': '198.51.100.10' } });
    assert.equal(after.headers['x-mirrorlane-mirror'], 'demo-us', 'the new sidecar decides again');
  }));

  test('something that answers garbage on the socket', withLogs(S, async () => {
    process.kill(sidecarPid(), 'SIGKILL');
    await stack.redirector.sidecarProcess!.exited;
    // Answers nginx cannot read as HTTP, in turn: a broken header line, a head cut off, a head too big for
    // proxy_buffer_size. (A status line that is no status line at all nginx 1.22 would
    // relay as an HTTP/0.9 body: see the README, Fallbacks.)
    const answers = [
      'HTTP/1.1 302 Found\r\nLocation http://evil.example/\r\n\r\n',
      'HTTP/1.1 302 Found\r\nLocation: http://evil.exa',
      `HTTP/1.1 302 Found\r\nLocation: http://evil.example/\r\nX-Big: ${'x'.repeat(40_000)}\r\n\r\n`,
    ];
    let turn = 0;
    const garbage = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => sock.end(answers[turn++ % answers.length]));
    });
    // The killed sidecar left its socket file behind.
    fs.rmSync(stack.config.sidecar.socket, { force: true });
    await new Promise<void>((resolve, reject) => {
      garbage.once('error', reject);
      garbage.listen(stack.config.sidecar.socket, () => resolve());
    });
    fs.chmodSync(stack.config.sidecar.socket, 0o666);
    try {
      const r = await underLoad(() => sleep(800));
      assertNoFailure(r, 'garbage');
      assert.equal(r.byStatus[200] ?? 0, 0, `nothing of the garbage reached a client: ${JSON.stringify(r.byStatus)}`);
      assert.ok((r.marked['sidecar unreachable or unreadable (502)'] ?? 0) > 0, `fallback seen: ${JSON.stringify(r.marked)}`);
    } finally {
      await new Promise<void>((resolve) => garbage.close(() => resolve()));
      await stack.redirector.restartSidecar();
    }
  }));

  test('PostgreSQL restarted: cached rows keep redirecting, nothing fails', withLogs(S, async () => {
    const r = await underLoad(async () => {
      pgCtl(stack.pg, 'stop');
      await sleep(1000);
      pgCtl(stack.pg, 'start');
    });
    assertNoFailure(r, 'PostgreSQL restart');
    assert.ok((r.byStatus[302] ?? 0) > 0, 'redirects went on from the caches');
  }));

  test('nginx reloaded twice, the second time with local delivery as the fallback', withLogs(S, async () => {
    const r = await underLoad(async () => {
      await stack.redirector.nginx.reload();
      await sleep(500);
      stack.config.fallback.mirrors = [];
      writeManagedNginxConfig(stack.config, {
        prefix: stack.redirector.nginx.prefix,
        listen: stack.config.nginx.listen,
        mirrors: stack.mirrorServers,
        workers: 1,
      });
      await stack.redirector.nginx.reload();
    });
    assertNoFailure(r, 'nginx reload');
    // With no fallback mirror, a dead sidecar means the origin serves the file.
    process.kill(sidecarPid(), 'SIGKILL');
    await stack.redirector.sidecarProcess!.exited;
    const local = await request(stack.base + FILES[0], { headers: { 'X-Forwarded-For': '198.51.100.10' } });
    assert.equal(local.status, 200);
    assert.equal(Number(local.headers['content-length']), 200 * 1024);
    assert.equal(local.headers['x-mirrorlane-mirror'], undefined);
    await stack.redirector.restartSidecar();
  }));

  test('a new sidecar takes over (serve --replace) under load: not one request falls back', withLogs(S, async () => {
    const old = stack.redirector.sidecarProcess!;
    const r = await underLoad(async () => {
      await stack.redirector.restartSidecar(true);
      await old.exited;
    });
    assertNoFailure(r, 'takeover');
    assert.deepEqual(r.marked, {}, 'no request needed the fallback');
    const now = stack.redirector.sidecarProcess!.process.pid;
    assert.notEqual(now, old.process.pid);
    // The old process closed its server and exited: the socket path (now the new one's) must still be there.
    const socket = stack.config.sidecar.socket;
    assert.ok(fs.statSync(socket).isSocket(), 'the socket path outlives the replaced sidecar');
    assert.equal(fs.readFileSync(`${socket}.pid`, 'utf8'), String(now));
    const after = await request(stack.base + FILES[0], { headers: { 'X-Forwarded-For': '198.51.100.10' } });
    assert.equal(after.headers['x-mirrorlane-mirror'], 'demo-us', 'the new sidecar answers after the old one left');
  }));

  test('a second `serve` without --replace says why and exits, leaving the running sidecar alone', withLogs(S, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'serve'], { env: { ...process.env, ...stack.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    assert.equal(code, 1, `exit code (null: still running after 20 s); stderr: ${err}`);
    assert.match(err, /another sidecar already listens on .*serve --replace/);
    const r = await request(stack.base + FILES[0], { headers: { 'X-Forwarded-For': '198.51.100.10' } });
    assert.equal(r.headers['x-mirrorlane-mirror'], 'demo-us');
  }));

  test('SIGHUP reloads the config: self-serving mode with Range, HEAD and If-Modified-Since', withLogs(S, async () => {
    const file = String(stack.env.MIRRORLANE_CONFIG);
    const tgz = FILES[0];
    const settings = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...settings, selfMirror: 'demo-de' }));
    try {
      process.kill(sidecarPid(), 'SIGHUP');
      const de = { 'X-Forwarded-For': '192.0.2.10' };
      let got = await request(stack.base + tgz, { headers: de });
      for (let i = 0; i < 40 && got.status !== 200; i++) {
        await sleep(50);
        got = await request(stack.base + tgz, { headers: de });
      }
      assert.equal(got.status, 200, 'demo-de is this host now: served here');
      assert.equal(got.headers['content-location'], `http://127.0.0.2:${stack.mirrorPort}${tgz}`);
      assert.equal(Number(got.headers['content-length']), 200 * 1024);
      assert.ok(got.headers['last-modified']);
      const range = await request(stack.base + tgz, { headers: { ...de, Range: 'bytes=100-199' } });
      assert.equal(range.status, 206);
      assert.equal(range.headers['content-range'], `bytes 100-199/${200 * 1024}`);
      const head = await request(stack.base + tgz, { method: 'HEAD', headers: de });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-location'], got.headers['content-location']);
      const ims = await request(stack.base + tgz, { headers: { ...de, 'If-Modified-Since': String(got.headers['last-modified']) } });
      assert.equal(ims.status, 304);
      // Other clients still go to their own mirror.
      const us = await request(stack.base + tgz, { headers: { 'X-Forwarded-For': '198.51.100.10' } });
      assert.equal(us.headers['x-mirrorlane-mirror'], 'demo-us');
    } finally {
      fs.writeFileSync(file, JSON.stringify(settings));
      process.kill(sidecarPid(), 'SIGHUP');
    }
    let back = await request(stack.base + tgz, { headers: { 'X-Forwarded-For': '192.0.2.10' } });
    for (let i = 0; i < 40 && back.status !== 302; i++) {
      await sleep(50);
      back = await request(stack.base + tgz, { headers: { 'X-Forwarded-For': '192.0.2.10' } });
    }
    assert.equal(back.headers['x-mirrorlane-mirror'], 'demo-de', 'reloaded back: a redirect again');
  }));
});
