// `npm start` and `npm stop` as a user runs them, on a copy of the project in a fresh `mktemp -d` (mode 700,
// like root's home): the server users (postgres, nginx's nobody) cannot enter it, and the stack must work all
// the same without widening its modes. Then process control on that running stack: a second start refuses,
// SIGHUP rereads the operator's file, a SIGKILLed sidecar comes back and its counts were saved, a dead mirror is
// marked down by the running redirector itself, PostgreSQL restarted under it, and `npm stop -- --config FILE`
// stops exactly that instance with its statistics saved.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe } from 'node:test';
import { freePort } from '../../runtime/ports.ts';
import { writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { request } from '../helpers/http.ts';
import { tailFile, itWithLogs } from '../helpers/logs.ts';
import { copyProject, runIn, type ProjectCopy, type RunningCommand } from '../helpers/project-copy.ts';
import { waitFor } from '../helpers/wait.ts';

const execFileP = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const TGZ = '/pub/mirrorlane-demo-1.0.tar.gz';
const HOST = '127.0.12.1';

let copy: ProjectCopy;
let start: RunningCommand;
let configFile: string;
let base: string;
const run = () => path.join(copy.root, 'var', 'run');
const pidOf = (file: string) => Number(fs.readFileSync(path.join(run(), file), 'utf8').trim());
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const logs = () =>
  `--- npm start output:\n${start?.output().split('\n').slice(-40).join('\n')}\n--- sidecar.log:\n${tailFile(path.join(copy.root, 'var', 'log', 'sidecar.log'))}` +
  `\n--- sidecar-2.log:\n${tailFile(path.join(copy.root, 'var', 'log', 'sidecar-2.log'))}`;

/** The copy's own CLI, on the running instance's config. */
async function cli(...args: string[]): Promise<string> {
  const r = await execFileP(process.execPath, [path.join(copy.root, 'bin', 'mirrorlane.js'), '--config', configFile, ...args], { cwd: copy.root });
  return r.stdout;
}

function writeConfig(extra: Record<string, unknown> = {}): void {
  const geo = writeGeoIpFixtures(path.join(copy.root, 'geo'));
  const port = Number(new URL(base).port);
  const cfg = {
    demo: true,
    nginx: { listen: [`${HOST}:${port}`] },
    sidecar: { processes: 2 },
    geoip: { city: [geo.city], asn: geo.asn },
    probe: { intervalS: 1, downAfter: 1, upAfter: 1, timeoutMs: 2000 },
    ...extra,
  };
  fs.writeFileSync(configFile, JSON.stringify(cfg, null, 2));
}

async function requestsSaved(): Promise<number> {
  return (JSON.parse(await cli('stats', 'mirror', '--json')) as { requests: number }).requests;
}

describe('npm start from a mode-700 clone', { timeout: 600_000 }, () => {
  before(async () => {
    copy = copyProject();
    assert.equal(fs.statSync(copy.parent).mode & 0o777, 0o700);
    configFile = path.join(copy.root, 'mirrorlane.json');
    base = `http://${HOST}:${await freePort(HOST)}`;
    writeConfig();
    start = runIn(copy.root, 'npm', ['start', '--', '--config', configFile]);
    await waitFor(async () => /redirector listening on/.test(start.output()) || start.child.exitCode !== null, 'npm start to listen', 300_000, 200);
    assert.match(start.output(), /redirector listening on/, logs());
  });
  after(async () => {
    if (start && start.child.exitCode === null) {
      try {
        process.kill(-start.child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
      await Promise.race([start.exited, new Promise((r) => setTimeout(r, 30_000))]);
    }
    // State kept outside the clone (as root) goes with it.
    const state = fs.existsSync(path.join(copy.root, 'var')) ? fs.realpathSync(path.join(copy.root, 'var')) : null;
    if (state && state.startsWith('/var/lib/mirrorlane/')) fs.rmSync(state, { recursive: true, force: true });
    copy?.remove();
  });

  itWithLogs('redirects, with the clone left mode 700 and the socket open to nginx only', async () => {
    const r = await request(base + TGZ, { headers: { 'X-Forwarded-For': '198.51.100.7' } });
    assert.equal(r.status, 302, `status ${r.status}`);
    assert.equal(fs.statSync(copy.parent).mode & 0o777, 0o700, 'the clone parent keeps its mode');
    const sock = fs.statSync(path.join(run(), 'sidecar.sock'));
    assert.equal(sock.mode & 0o777, 0o660);
    if (isRoot) {
      assert.equal(sock.gid, 65534, 'group nogroup: the private nginx workers');
      assert.ok(fs.lstatSync(path.join(copy.root, 'var')).isSymbolicLink(), 'state outside the clone, var/ links there');
    }
  }, logs);

  itWithLogs('a second npm start on the same config refuses in one line and leaves the first alone', async () => {
    const first = pidOf('mirrorlane.pid');
    const second = runIn(copy.root, 'npm', ['start', '--', '--config', configFile]);
    const code = await second.exited;
    assert.notEqual(code, 0);
    const lines = second.output().split('\n').filter((l) => l.startsWith('mirrorlane:'));
    assert.deepEqual(lines, [`mirrorlane: already running for ${configFile} (pid ${first}); stop it first with npm stop -- --config ${configFile}`]);
    assert.doesNotMatch(second.output(), /\n\s+at /, 'no stack trace');
    assert.equal(pidOf('mirrorlane.pid'), first);
    assert.equal((await request(base + TGZ)).status, 302);
  }, logs);

  itWithLogs("SIGHUP on a sidecar rereads the operator's file and stops nothing", async () => {
    const stack = pidOf('mirrorlane.pid');
    const cfg = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(configFile, JSON.stringify({ ...cfg, delivery: { minSize: 10_000_000 } }));
    for (const s of ['sidecar.sock.pid', 'sidecar-2.sock.pid']) process.kill(pidOf(s), 'SIGHUP');
    // Both sidecars now serve the 200 KB file themselves (under minSize): a fresh connection reaches either.
    await waitFor(async () => {
      const rs = await Promise.all(Array.from({ length: 8 }, () => request(base + TGZ)));
      return rs.every((r) => r.status === 200);
    }, 'the new delivery.minSize applied by both sidecars', 20_000, 200);
    assert.ok(alive(stack), 'npm start still runs');
    fs.writeFileSync(configFile, JSON.stringify(cfg));
    process.kill(stack, 'SIGHUP');
    await waitFor(async () => (await request(base + TGZ)).status === 302, 'SIGHUP to npm start passed on', 20_000, 200);
  }, logs);

  itWithLogs('a SIGKILLed sidecar is started again, and the counts it had a second before were saved', async () => {
    const before = await requestsSaved();
    const n = 40;
    for (let i = 0; i < n; i++) assert.equal((await request(base + TGZ, { headers: { 'X-Forwarded-For': '198.51.100.7' } })).status, 302);
    // Counts are flushed every second: after 2.5 s a kill costs none of these.
    await new Promise((r) => setTimeout(r, 2500));
    const victims = [pidOf('sidecar.sock.pid'), pidOf('sidecar-2.sock.pid')];
    for (const p of victims) process.kill(p, 'SIGKILL');
    await waitFor(
      async () => ['sidecar.sock.pid', 'sidecar-2.sock.pid'].every((f) => {
        try {
          const p = pidOf(f);
          return !victims.includes(p) && alive(p);
        } catch {
          return false;
        }
      }),
      'both sidecars restarted by npm start',
      60_000,
      200,
    );
    assert.match(start.output(), /sidecar 2 \(pid \d+\) exited \(SIGKILL\); starting it again/);
    assert.equal((await request(base + TGZ)).status, 302);
    assert.ok((await requestsSaved()) >= before + n, `saved ${await requestsSaved()}, expected at least ${before + n}`);
  }, logs);

  itWithLogs('a dead mirror is marked down without anyone running probe', async () => {
    await cli('mirror', 'add', 'dead-one', '--http', 'http://127.0.12.9:9/', '--country', 'DE', '--lat', '50', '--lng', '8', '--enable');
    await waitFor(async () => {
      const m = JSON.parse(await cli('mirror', 'show', 'dead-one', '--json')) as { health: string };
      return m.health === 'down';
    }, 'dead-one marked down by the scheduler', 60_000, 500);
    assert.match(start.output(), /probe: dead-one unknown → down/);
  }, logs);

  itWithLogs('npm start killed outright: the next start stops what it left and runs', async () => {
    const left = [pidOf('sidecar.sock.pid'), pidOf('sidecar-2.sock.pid')];
    process.kill(pidOf('mirrorlane.pid'), 'SIGKILL');
    await start.exited;
    assert.ok(left.every(alive), 'its sidecars outlived it (own process groups)');
    start = runIn(copy.root, 'npm', ['start', '--', '--config', configFile]);
    await waitFor(async () => /redirector listening on/.test(start.output()) || start.child.exitCode !== null, 'npm start again', 300_000, 200);
    assert.match(start.output(), /stopping the nginx \(pid \d+\) left running by an earlier start/);
    assert.match(start.output(), /stopping a PostgreSQL left running by an earlier start/);
    assert.ok(!left.some(alive), 'the old sidecars are gone');
    assert.equal((await request(base + TGZ, { headers: { 'X-Forwarded-For': '198.51.100.7' } })).status, 302);
  }, logs);

  itWithLogs('the embedded PostgreSQL restarted under it comes back; npm stop -- --config stops that instance fast, statistics saved', async () => {
    const pgPid = Number(fs.readFileSync(path.join(copy.root, 'var', 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pgPid, 'SIGINT');
    await waitFor(async () => /embedded PostgreSQL is back/.test(start.output()), 'PostgreSQL started again', 60_000, 200);
    for (let i = 0; i < 10; i++) await request(base + TGZ);
    const stop = runIn(copy.root, 'npm', ['stop', '--', '--config', configFile]);
    assert.equal(await stop.exited, 0, stop.output());
    assert.match(stop.output(), new RegExp(`mirrorlane: stopped ${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(await start.exited, 0);
    assert.ok(!fs.existsSync(path.join(run(), 'mirrorlane.pid')));
    assert.ok(!fs.existsSync(path.join(copy.root, 'var', 'pg', 'postmaster.pid')), 'PostgreSQL stopped');
    // What each sidecar logged from its stop on (a flush may have failed while PostgreSQL restarted, and retried).
    for (const log of ['sidecar.log', 'sidecar-2.log']) {
      const text = tailFile(path.join(copy.root, 'var', 'log', log), 400);
      const atStop = text.lastIndexOf('SIGTERM: draining');
      assert.ok(atStop >= 0, `${log}: stopped by SIGTERM`);
      assert.doesNotMatch(text.slice(atStop), /statistics not saved|unsaved rows lost/, log);
    }
    await assert.rejects(request(base + TGZ), 'nothing left listening');
    const again = runIn(copy.root, 'npm', ['stop', '--', '--config', configFile]);
    assert.equal(await again.exited, 0);
    assert.match(again.output(), /mirrorlane: not running for /);
  }, logs);
});
