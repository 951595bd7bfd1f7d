// Where the bundled CLI lives (scripts/build-cli.ts) and whether it may be run: only while none of the source
// files it was built from is newer. Plain JavaScript: bin/mirrorlane.js runs before any TypeScript loader.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const CLI_BUNDLE = path.join(root, 'build', 'mirrorlane-cli.mjs');

/** The list of source files (relative to the project root) written beside a bundle. */
export function cliBundleInputs(bundle) {
  return bundle.replace(/\.mjs$/, '.inputs.json');
}

/** The bundle's path when it is up to date with its sources, else null (run cli/main.ts through tsx then). */
export function freshCliBundle() {
  try {
    const built = fs.statSync(CLI_BUNDLE).mtimeMs;
    const inputs = JSON.parse(fs.readFileSync(cliBundleInputs(CLI_BUNDLE), 'utf8'));
    for (const f of inputs) if (fs.statSync(path.join(root, f)).mtimeMs > built) return null;
    return CLI_BUNDLE;
  } catch {
    return null;
  }
}
