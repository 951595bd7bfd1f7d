// Several sidecar processes behind one nginx upstream (sidecar.processes): each on its own socket, all of them
// answering, and one of them killed under load costs nothing: nginx tries the next one, no request falls back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { sidecarSockets } from '../../core/config.ts';
import { request } from '../helpers/http.ts';
import { startLoad } from '../helpers/load.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
const S = () => stack;
const TGZ = '/pub/mirrorlane-demo-1.0.tar.gz';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Downloads decided by the sidecar on `socket` so far (its /metrics). */
function decisions(socket: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: '/metrics', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(Number(/^mirrorlane_decisions_total\{kind="redirect"\} (\d+)/m.exec(body)?.[1] ?? 0)));
      })
      .on('error', reject);
  });
}

/** 8 connections downloading one file until stopped, fallback answers marked. */
function steadyLoad() {
  return startLoad({
    urls: [stack.base + TGZ],
    headers: () => ({ 'X-Forwarded-For': '198.51.100.10' }),
    concurrency: 8,
    maxRequests: 20_000,
    maxMs: 20_000,
    markHeader: 'X-Mirrorlane-Fallback',
  });
}

describe('sidecar.processes: 2', () => {
  before(async () => {
    // As `npm start` runs it: no config file handed over, the redirector writes one for its sidecar processes.
    stack = await startStack({ configure: (c) => void (c.sidecar.processes = 2) });
  });
  after(async () => {
    await stack?.stop();
  });

  test('two processes on two sockets, both in the upstream, both deciding', withLogs(S, async () => {
    const sockets = sidecarSockets(stack.config);
    assert.deepEqual(sockets.map((s) => s.replace(stack.dir, '')), ['/run/sidecar.sock', '/run/sidecar-2.sock']);
    assert.equal(stack.redirector.sidecarProcesses.length, 2);
    // The config they run with, written by the redirector; it may hold the database URL.
    assert.equal(fs.statSync(`${stack.config.varDir}/run/sidecar-config.json`).mode & 0o777, 0o600);
    for (const s of sockets) assert.ok(fs.statSync(s).isSocket(), s);
    const conf = fs.readFileSync(`${stack.redirector.nginx.prefix}/conf/mirrorlane-http.conf`, 'utf8');
    for (const s of sockets) assert.ok(conf.includes(`server unix:${s} max_fails=0;`), `upstream lists ${s}`);
    // Concurrent requests open several upstream connections, which nginx spreads over both servers.
    await Promise.all(Array.from({ length: 200 }, () => request(stack.base + TGZ, { headers: { 'X-Forwarded-For': '198.51.100.10' } })));
    const counts = await Promise.all(sockets.map(decisions));
    assert.ok(counts.every((n) => n > 0), `decisions per sidecar: ${counts.join(', ')}`);
  }));

  test('one sidecar killed under load and restarted: no failed request, no fallback', withLogs(S, async () => {
    const load = steadyLoad();
    await sleep(300);
    const second = stack.redirector.sidecarProcesses[1];
    second.process.kill('SIGKILL');
    await second.exited;
    await sleep(700);
    await stack.redirector.restartSidecar(false, 2);
    await sleep(300);
    const r = await load.stop();
    assert.deepEqual(Object.keys(r.byStatus), ['302'], `answers: ${JSON.stringify(r.byStatus)}`);
    assert.deepEqual(r.errors.slice(0, 5), []);
    assert.deepEqual(r.marked, {}, 'nginx used the other sidecar, not the fallback');
    assert.ok(r.requests > 50, `only ${r.requests} requests ran`);
    // The restarted one serves its socket again (max_fails=0: nginx never stops trying it).
    await assert.doesNotReject(decisions(sidecarSockets(stack.config)[1]), 'the restarted sidecar answers on its socket');
    assert.notEqual(stack.redirector.sidecarProcesses[1].process.pid, second.process.pid);
  }));

  test('one sidecar stopped with SIGTERM under load: it drains and exits in seconds, nothing fails', withLogs(S, async () => {
    const load = steadyLoad();
    await sleep(500);
    const second = stack.redirector.sidecarProcesses[1];
    const t0 = performance.now();
    second.process.kill('SIGTERM');
    // nginx keeps idle upstream connections for 60 s: a sidecar that waited for them would still be here.
    const exited = await Promise.race([second.exited.then(() => true), sleep(10_000).then(() => false)]);
    const tookMs = performance.now() - t0;
    const r = await load.stop();
    assert.ok(exited, 'the sidecar had not exited 10 s after SIGTERM');
    assert.deepEqual(Object.keys(r.byStatus), ['302'], `answers: ${JSON.stringify(r.byStatus)}`);
    assert.deepEqual(r.errors.slice(0, 5), []);
    assert.deepEqual(r.marked, {}, 'nginx used the other sidecar, not the fallback');
    assert.equal(fs.existsSync(sidecarSockets(stack.config)[1]), false, `its socket is removed (exited after ${Math.round(tookMs)} ms)`);
    await stack.redirector.restartSidecar(false, 2);
  }));

  test('serve --instance beyond sidecar.processes is refused with the range', withLogs(S, async () => {
    const { runCaptured } = await import('../helpers/cli-run.ts');
    const r = await runCaptured(['serve', '--instance', '3'], stack.env);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /sidecar instance 3 does not exist: sidecar.processes is 2 \(instances 1 to 2\)/);
  }));
});
