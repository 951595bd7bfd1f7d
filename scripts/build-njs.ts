// Builds njs/mirrorlane.ts (or one of its modules, for tests) into one file njs 0.7.9 loads: esbuild lowers what 0.7.9 lacks (target es2017),
// then the ESM tail `export { x as default };` becomes `export default x;`, the only export 0.7.9 accepts.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../core/config.ts';

export const NJS_OUT = path.join(PROJECT_ROOT, 'build', 'njs', 'mirrorlane.js');

export function rewriteDefaultExport(code: string): string {
  const re = /export\s*\{\s*([A-Za-z_$][\w$]*)\s+as\s+default\s*\};?\s*$/;
  if (!re.test(code)) throw new Error('njs build: expected esbuild to end with `export { x as default };`');
  return code.replace(re, 'export default $1;\n');
}

/** One njs/ module bundled as njs 0.7.9 loads it (`import m from "name.js"`): the handler, or a part tests run. */
export async function bundleNjs(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    target: 'es2017',
    write: false,
    legalComments: 'none',
    // njs's own module (njs/origin-rule.ts): imported at run time, not bundled.
    external: ['fs'],
    logLevel: 'silent',
  });
  return rewriteDefaultExport(result.outputFiles[0].text);
}

export async function buildNjs(outFile = NJS_OUT, entry = path.join(PROJECT_ROOT, 'njs', 'mirrorlane.ts')): Promise<string> {
  const code = await bundleNjs(entry);
  fs.mkdirSync(path.dirname(outFile), { recursive: true, mode: 0o755 });
  const tmp = outFile + '.tmp';
  fs.writeFileSync(tmp, code, { mode: 0o644 });
  fs.renameSync(tmp, outFile);
  return outFile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildNjs().then((f) => console.log(`built ${path.relative(process.cwd(), f)}`));
}
