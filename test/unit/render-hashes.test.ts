// Hash lines as the coreutils print them, checked by the real sha256sum/sha1sum/md5sum -c.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { renderHashLine } from '../../sidecar/render-hashes.ts';

function fileRow(name: string, content: Buffer) {
  const h = (alg: string) => crypto.createHash(alg).update(content).digest('hex');
  return { path: `/pub/sub/${name}`, sha256: h('sha256'), sha1: h('sha1'), md5: h('md5') };
}

test('hash lines: "HEX  NAME" with the base name, accepted by sha256sum -c, sha1sum -c and md5sum -c', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-hash-'));
  try {
    for (const name of ['x.iso', 'with space.iso', 'back\\slash.iso', 'ünï.iso']) {
      const content = Buffer.from(`content of ${name}`);
      fs.writeFileSync(path.join(dir, name), content);
      const row = fileRow(name, content);
      for (const [kind, tool] of [['sha256', 'sha256sum'], ['sha1', 'sha1sum'], ['md5', 'md5sum']] as const) {
        const line = renderHashLine(row, kind);
        assert.ok(line !== null && line.endsWith('\n'));
        if (!name.includes('\\')) assert.equal(line, `${row[kind]}  ${name}\n`);
        const out = execFileSync(tool, ['-c', '-'], { cwd: dir, input: line }).toString();
        assert.match(out, /: OK\n$/, `${tool} ${name}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('hash lines: an unknown or malformed hash gives null', () => {
  const row = { path: '/x', sha256: null, sha1: 'abc', md5: 'zz'.repeat(16) };
  assert.equal(renderHashLine(row, 'sha256'), null);
  assert.equal(renderHashLine(row, 'sha1'), null);
  assert.equal(renderHashLine(row, 'md5'), null);
});
