// The njs handler on the hot path (njs/mirrorlane.ts): one subrequest per download, the sidecar's answer copied
// (status, every Link line, Digest, bodies with their type), local delivery by internal redirect, HEAD, bad paths
// refused by njs itself; and `serve --all`, the sidecars as threads sharing one copy of the GeoIP data.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sidecarSockets, writeConfigFile } from '../../core/config.ts';
import { cliEntry, waitForSocket } from '../../runtime/sidecar-process.ts';
import { request } from '../helpers/http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
const S = () => stack;
const TGZ = '/pub/mirrorlane-demo-1.0.tar.gz';
const DE = { 'X-Forwarded-For': '192.0.2.10' };

function onSocket(socket: string, p: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: p, headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      })
      .on('error', reject);
  });
}

describe('the njs handler on the hot path', () => {
  before(async () => {
    stack = await startStack({ sidecarProcess: true });
  });
  after(async () => {
    await stack?.stop();
  });

  test('a redirect keeps every Link line separate, and its Digest', withLogs(S, async () => {
    const r = await request(stack.base + TGZ, { headers: DE });
    assert.equal(r.status, 302);
    const links: string[] = [];
    for (let i = 0; i < r.rawHeaders.length; i += 2) if (r.rawHeaders[i].toLowerCase() === 'link') links.push(r.rawHeaders[i + 1]);
    assert.ok(links.length >= 2, `Link lines: ${JSON.stringify(links)}`);
    assert.ok(links.every((l) => !/>\s*;[^<]*,\s*</.test(l)), 'one link per line');
    assert.match(String(r.headers.digest), /SHA-256=/);
    assert.equal(r.headers['x-ml-local'], undefined, 'the sidecar\'s own marks stay between it and njs');
  }));

  test('bodies keep their type and status; HEAD has the headers and no body', withLogs(S, async () => {
    const json = await request(`${stack.base}${TGZ}?json`, { headers: DE });
    assert.equal(json.status, 200);
    assert.match(String(json.headers['content-type']), /^application\/json/);
    assert.equal(JSON.parse(json.body).file.path, TGZ);
    const head = await request(`${stack.base}${TGZ}?json`, { method: 'HEAD', headers: DE });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], json.headers['content-type']);
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(json.body)));
    assert.equal(head.body, '');
    const missing = await request(`${stack.base}/pub/nothing-here.iso`, { headers: DE });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['x-content-type-options'], 'nosniff');
  }));

  test('local delivery of a name with a literal %, a space and non-ASCII: the right file', withLogs(S, async () => {
    // Not in the file table: the sidecar says "local", njs redirects internally to the origin location.
    const name = 'odd%20name ü.bin';
    const content = 'x'.repeat(5000);
    fs.writeFileSync(path.join(stack.config.origin.root, 'pub', name), content, { mode: 0o644 });
    const r = await request(`${stack.base}/pub/${encodeURIComponent(name)}`, { headers: DE });
    assert.equal(r.status, 200);
    assert.equal(r.body, content);
  }));

  test('bad paths get their 400 from njs, without the sidecar', withLogs(S, async () => {
    const sidecar = stack.redirector.sidecarProcess!.process;
    // A stopped sidecar would make any request that asks it wait for the budget and fall back (no 400).
    sidecar.kill('SIGSTOP');
    try {
      const t0 = performance.now();
      const r = await request(`${stack.base}/pub/a%01b.iso`, { headers: DE });
      assert.equal(r.status, 400);
      assert.match(r.body, /^Bad request: control character in path/);
      assert.ok(performance.now() - t0 < stack.config.nginx.sidecarTimeoutMs, 'answered before the sidecar budget ran out');
      const long = await request(`${stack.base}/pub/${'a'.repeat(1100)}.iso`, { headers: DE });
      assert.equal(long.status, 400);
      assert.match(long.body, /path too long/);
    } finally {
      sidecar.kill('SIGCONT');
    }
  }));
});

describe('serve --all: the sidecars as threads of one process', () => {
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  test('two threads on two sockets decide with the shared GeoIP data, and stop on SIGTERM', withLogs(S, async () => {
    const config = structuredClone(stack.config);
    config.sidecar.socket = path.join(stack.dir, 'threads', 'sidecar.sock');
    config.sidecar.processes = 2;
    const file = path.join(stack.dir, 'threads.json');
    writeConfigFile(config, file);
    const log = path.join(stack.dir, 'log', 'threads.log');
    fs.mkdirSync(path.dirname(log), { recursive: true });
    const out = fs.openSync(log, 'a');
    const child = spawn(process.execPath, [...cliEntry(), 'serve', '--all', '--config', file], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const sockets = sidecarSockets(config);
      for (const s of sockets) await waitForSocket(s, 30_000);
      for (const s of sockets) {
        // What nginx's decide location sends; a DE client goes to the DE mirror (GeoIP answered in the thread).
        const r = await onSocket(s, '/_mirrorlane/download', { 'X-Ml-Uri': TGZ, 'X-Ml-Method': 'GET', 'X-Ml-Client': '192.0.2.10', 'X-Ml-Scheme': 'http' });
        assert.equal(r.status, 302, `${s}: ${fs.readFileSync(log, 'utf8')}`);
        assert.equal(r.headers['x-mirrorlane-mirror'], 'demo-de');
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      for (const s of sockets) assert.equal(fs.existsSync(s), false, `${s} removed`);
    } finally {
      child.kill('SIGKILL');
    }
  }));
});
