// The pure parts of process control: where the state goes, the one-instance lock, one-line errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { defaultVarDir, reachableByOthers, sharedStateDir, SHARED_STATE_ROOT } from '../../core/var-dir.ts';
import { oneLine, debugWanted } from '../../runtime/errors.ts';
import { acquireInstanceLock, AlreadyRunningError, runningPid } from '../../runtime/instance-lock.ts';

describe('state folder', () => {
  const modes: Record<string, number> = { '/': 0o755, '/root': 0o700, '/root/ml': 0o755, '/srv': 0o755, '/srv/ml': 0o755, '/home': 0o755, '/home/u': 0o750 };
  const stat = (p: string) => {
    if (!(p in modes)) throw new Error('ENOENT');
    return { mode: modes[p] };
  };
  test('reachable only when every folder above lets others through', () => {
    assert.equal(reachableByOthers('/srv/ml/var', stat), true);
    assert.equal(reachableByOthers('/root/ml/var', stat), false);
    assert.equal(reachableByOthers('/home/u/ml', stat), false, 'mode 750: others cannot enter');
  });
  test('one folder per clone under /var/lib/mirrorlane, stable', () => {
    const a = sharedStateDir('/root/ml');
    assert.ok(a.startsWith(SHARED_STATE_ROOT + '/ml-'));
    assert.equal(a, sharedStateDir('/root/ml/'));
    assert.notEqual(a, sharedStateDir('/tmp/x/ml'));
  });
  test('a normal user keeps var/ in the clone whatever the modes', () => {
    assert.equal(defaultVarDir('/root/ml', 1000), '/root/ml/var');
  });
  test('root keeps var/ in a clone others can enter', () => {
    const open = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-vardir-'));
    fs.chmodSync(open, 0o755);
    try {
      assert.equal(defaultVarDir(open, 0), path.join(open, 'var'));
      fs.chmodSync(open, 0o700);
      assert.equal(defaultVarDir(open, 0), sharedStateDir(open));
    } finally {
      fs.rmSync(open, { recursive: true, force: true });
    }
  });
});

describe('instance lock', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-lock-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'run', 'mirrorlane.pid');

  test('a second holder is refused while the first lives; the file is left alone', () => {
    const first = acquireInstanceLock(file);
    assert.equal(runningPid(file), process.pid);
    // Our parent process is alive: it stands for another instance holding the lock.
    assert.throws(() => acquireInstanceLock(file, process.ppid), (e) => e instanceof AlreadyRunningError && e.pid === process.pid);
    assert.equal(fs.readFileSync(file, 'utf8').trim(), String(process.pid));
    first.release();
    assert.ok(!fs.existsSync(file));
  });
  test('a file left by a dead process is taken over', () => {
    fs.writeFileSync(file, '999999999\n');
    const lock = acquireInstanceLock(file);
    assert.equal(runningPid(file), process.pid);
    lock.release();
  });
  test('release removes only its own file', () => {
    const lock = acquireInstanceLock(file);
    fs.writeFileSync(file, `${process.ppid}\n`);
    lock.release();
    assert.equal(fs.readFileSync(file, 'utf8').trim(), String(process.ppid));
    fs.rmSync(file);
  });
});

describe('one-line errors', () => {
  const errno = (code: string, p?: string, syscall?: string) => Object.assign(new Error(`${code}: raw`), { code, path: p, syscall });
  test('file system errors in words, with what to do', () => {
    assert.match(oneLine(errno('ENOSPC', '/var/lib/mirrorlane/x/pg')), /^no space left on the device of \/var\/lib\/mirrorlane\/x\/pg: free some space/);
    assert.match(oneLine(errno('EACCES', '/etc/m.json')), /^permission denied on \/etc\/m\.json: run as a user/);
    assert.match(oneLine(errno('ENOENT', 'nginx', 'spawn')), /^program not found: nginx: install it/);
  });
  test('other errors: their first line only', () => {
    assert.equal(oneLine(new Error('first\nsecond')), 'first');
  });
  test('--debug or MIRRORLANE_DEBUG asks for the stack', () => {
    assert.equal(debugWanted(['node', 'x'], {}), false);
    assert.equal(debugWanted(['node', 'x', '--debug'], {}), true);
    assert.equal(debugWanted(['node', 'x'], { MIRRORLANE_DEBUG: '1' }), true);
    assert.equal(debugWanted(['node', 'x'], { MIRRORLANE_DEBUG: '0' }), false);
  });
});
