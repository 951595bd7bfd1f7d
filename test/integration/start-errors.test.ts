// The failures a user meets first with `npm start` and `npm stop`: each is one line that says what is wrong and
// what to do, a non-zero exit, and no stack trace unless MIRRORLANE_DEBUG=1 asks for it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../core/config.ts';
import { freePort } from '../../runtime/ports.ts';

const isRoot = process.getuid?.() === 0;
let dir: string;

function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', script), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, MIRRORLANE_DEBUG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** A config in its own state folder (others may enter it: the server users must, as root). */
function config(name: string, body: Record<string, unknown>): string {
  const varDir = path.join(dir, name);
  fs.mkdirSync(varDir, { recursive: true, mode: 0o755 });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ varDir, ...body }));
  return file;
}

/** The only line on stderr, which must not look like a stack trace. */
function oneErrorLine(r: { code: number | null; err: string }): string {
  assert.notEqual(r.code, 0);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.err}`);
  assert.doesNotMatch(r.err, /^\s+at /m);
  return lines[0];
}

describe('npm start / npm stop failures', { timeout: 240_000 }, () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-start-errors-'));
    fs.chmodSync(dir, 0o755);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a misspelt config key; MIRRORLANE_DEBUG=1 adds the stack', async () => {
    const file = config('misspelt', { sidecar: { proceses: 2 } });
    const line = oneErrorLine(await runScript('start.ts', ['--config', file]));
    assert.match(line, /^mirrorlane: .*unknown setting "sidecar\.proceses"; see README\.md/);
    const debug = await runScript('start.ts', ['--config', file], { MIRRORLANE_DEBUG: '1' });
    assert.match(debug.err, /^\s+at /m);
  });

  test('a config file that does not exist, for start and for stop', async () => {
    const missing = path.join(dir, 'nope.json');
    for (const script of ['start.ts', 'stop.ts']) {
      assert.match(oneErrorLine(await runScript(script, ['--config', missing])), /^mirrorlane: cannot read config file .*nope\.json: ENOENT/);
    }
  });

  test('the port is taken: says which and where to change it, starts nothing', async () => {
    const host = '127.0.12.2';
    const port = await freePort(host);
    const holder = net.createServer().listen(port, host);
    await new Promise((r) => holder.once('listening', r));
    try {
      const file = config('port', { nginx: { listen: [`${host}:${port}`] }, databaseUrl: 'postgres://u:p@127.0.12.3:1/x' });
      const line = oneErrorLine(await runScript('start.ts', ['--config', file]));
      assert.equal(line, `mirrorlane: port ${port} on ${host} is taken by another process: stop it (ss -ltnp 'sport = :${port}' shows which), or change nginx.listen in ${file}`);
      assert.ok(!fs.existsSync(path.join(dir, 'port', 'run', 'mirrorlane.pid')), 'lock released');
    } finally {
      holder.close();
    }
  });

  test('PostgreSQL unreachable', async () => {
    const port = await freePort('127.0.12.2');
    const file = config('nodb', { nginx: { listen: [`127.0.12.2:${port}`] }, databaseUrl: 'postgres://u:secret@127.0.12.3:1/x' });
    const line = oneErrorLine(await runScript('start.ts', ['--config', file]));
    assert.equal(line, 'mirrorlane: database is down or not listening at postgres://u:***@127.0.12.3:1/x: start PostgreSQL (or `npm start`) and retry');
  });

  test('as root, a varDir the server users cannot enter', { skip: !isRoot && 'needs root' }, async () => {
    const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-closed-'));
    try {
      const file = path.join(dir, 'closed.json');
      fs.writeFileSync(file, JSON.stringify({ varDir: path.join(closed, 'state') }));
      const line = oneErrorLine(await runScript('start.ts', ['--config', file]));
      assert.match(line, /^mirrorlane: varDir .*mirrorlane-closed-.*state: users postgres and nobody .* cannot enter it/);
    } finally {
      fs.rmSync(closed, { recursive: true, force: true });
    }
  });

  test('npm stop of a config that is not running says so and exits 0', async () => {
    const file = config('idle', {});
    const r = await runScript('stop.ts', ['--config', file]);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`^mirrorlane: not running for ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
  });
});
