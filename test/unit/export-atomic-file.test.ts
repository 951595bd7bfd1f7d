// writeFileAtomic: readers see the old content or the new one, never a part, and nothing is left behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from '../../core/export/atomic-file.ts';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-atomic-'));
}

test('creates, then replaces; only the target is in the directory afterwards', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'list.html');
  writeFileAtomic(file, 'one');
  assert.equal(fs.readFileSync(file, 'utf8'), 'one');
  writeFileAtomic(file, 'two, longer than one');
  assert.equal(fs.readFileSync(file, 'utf8'), 'two, longer than one');
  assert.deepEqual(fs.readdirSync(dir), ['list.html']);
  fs.rmSync(dir, { recursive: true });
});

test('a new file gets the given mode, an existing file keeps its own', () => {
  const dir = tmpDir();
  const secret = path.join(dir, 'snap.json');
  writeFileAtomic(secret, '{}', 0o600);
  assert.equal(fs.statSync(secret).mode & 0o777, 0o600);
  fs.chmodSync(secret, 0o640);
  writeFileAtomic(secret, '{"x":1}', 0o600);
  assert.equal(fs.statSync(secret).mode & 0o777, 0o640);
  fs.rmSync(dir, { recursive: true });
});

test('a write that fails half-way leaves the old file whole and no temporary file', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'list.txt');
  fs.writeFileSync(file, 'the complete old list\n');
  const real = fs.writeFileSync;
  // Simulate a full disk: half the data reaches the temporary file, then the write fails.
  (fs as { writeFileSync: unknown }).writeFileSync = (fd: number, data: string) => {
    real(fd, data.slice(0, data.length / 2));
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  };
  try {
    assert.throws(() => writeFileAtomic(file, 'x'.repeat(100000)), /ENOSPC/);
  } finally {
    (fs as { writeFileSync: unknown }).writeFileSync = real;
  }
  assert.equal(fs.readFileSync(file, 'utf8'), 'the complete old list\n');
  assert.deepEqual(fs.readdirSync(dir), ['list.txt']);
  fs.rmSync(dir, { recursive: true });
});

test('a missing directory or a directory in the way is an error, with nothing left behind', () => {
  const dir = tmpDir();
  assert.throws(() => writeFileAtomic(path.join(dir, 'no', 'x'), 'x'), /ENOENT/);
  fs.mkdirSync(path.join(dir, 'd'));
  assert.throws(() => writeFileAtomic(path.join(dir, 'd'), 'x'));
  assert.deepEqual(fs.readdirSync(dir), ['d']);
  fs.rmSync(dir, { recursive: true });
});
