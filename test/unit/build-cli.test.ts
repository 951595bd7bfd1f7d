import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { CLI_BUNDLE, freshCliBundle } from '../../bin/cli-bundle.js';
import { buildCli } from '../../scripts/build-cli.ts';

test('the bundled CLI runs with plain node, and is used only while no source is newer', async () => {
  assert.equal(await buildCli(), CLI_BUNDLE);
  assert.equal(freshCliBundle(), CLI_BUNDLE);
  const help = execFileSync(process.execPath, [CLI_BUNDLE, 'serve', '--help'], { encoding: 'utf8' });
  assert.match(help, /--instance <n>/);
  // Older than its sources (as after an edit): the launchers fall back to tsx until the next build.
  const past = new Date(Date.now() - 10 * 365 * 86400_000);
  fs.utimesSync(CLI_BUNDLE, past, past);
  assert.equal(freshCliBundle(), null);
  await buildCli();
  assert.equal(freshCliBundle(), CLI_BUNDLE);
});
