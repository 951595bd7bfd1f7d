// Bundles the `mirrorlane` CLI (and with it the sidecar) into one plain JavaScript file that node runs without
// tsx: the sidecar then spends nothing per request on tsx's helpers and source maps (about 5 % of its CPU,
// measured with `npm run bench -- --profile`). npm packages stay outside the bundle. The list of source files
// is written beside it, so that launchers use the bundle only while no source is newer (bin/cli-bundle.js).
import { build, type BuildOptions } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_BUNDLE, cliBundleInputs } from '../bin/cli-bundle.js';
import { PROJECT_ROOT } from '../core/config.ts';

/** Atomically: concurrent test files build it too, and a reader must never see half a file. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/** How the CLI and its thread code are bundled: Node 20 ESM, npm packages left outside, kept in memory. */
function bundleOptions(entry: string): BuildOptions & { write: false } {
  return {
    entryPoints: [entry],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  };
}

export async function buildCli(): Promise<string> {
  // One folder below the project root, like cli/ and core/: PROJECT_ROOT and ../package.json resolve alike.
  const result = await build({ ...bundleOptions(path.join(PROJECT_ROOT, 'cli', 'main.ts')), metafile: true });
  fs.mkdirSync(path.dirname(CLI_BUNDLE), { recursive: true, mode: 0o755 });
  // The inputs first: a bundle newer than its list is what the launchers trust.
  writeAtomic(cliBundleInputs(CLI_BUNDLE), JSON.stringify(Object.keys(result.metafile.inputs)));
  // The code of `serve --all`'s sidecar threads, beside it (sidecar/threads.ts looks for it there). Its sources
  // are a part of the CLI's, so the CLI bundle's freshness covers it.
  const thread = await build(bundleOptions(path.join(PROJECT_ROOT, 'sidecar', 'thread-entry.ts')));
  writeAtomic(path.join(path.dirname(CLI_BUNDLE), 'mirrorlane-sidecar-thread.mjs'), thread.outputFiles[0].text);
  writeAtomic(CLI_BUNDLE, result.outputFiles[0].text);
  return CLI_BUNDLE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildCli().then((f) => console.log(`built ${path.relative(process.cwd(), f)}`));
}
