import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildNjs, rewriteDefaultExport } from '../../scripts/build-njs.ts';

test('the ESM tail becomes the only export form njs 0.7.9 accepts', () => {
  assert.equal(rewriteDefaultExport('var a = 1;\nexport {\n  a as default\n};\n'), 'var a = 1;\nexport default a;\n');
  assert.throws(() => rewriteDefaultExport('var a = 1;\n'), /expected esbuild/);
});

test('the built handler loads in the njs of this machine and keeps to the 0.7.9 subset', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-njs-'));
  const out = await buildNjs(path.join(dir, 'mirrorlane.js'));
  const code = fs.readFileSync(out, 'utf8');
  assert.match(code, /export default \w+;\n$/);
  assert.doesNotMatch(code, /\?\.|\bclass\b|\.\.\.\w/);
  if (!fs.existsSync('/usr/bin/njs')) {
    t.skip('njs CLI not installed (apt-get install njs)');
    return;
  }
  const main = path.join(dir, 'main.mjs');
  fs.writeFileSync(main, 'import m from "mirrorlane.js";\nconsole.log(typeof m.handle);\n');
  assert.equal(execFileSync('njs', ['-p', dir, main], { encoding: 'utf8' }).trim(), 'function');
  fs.rmSync(dir, { recursive: true, force: true });
});
