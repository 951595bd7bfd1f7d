// Running njs/ modules under the real njs engine (the `njs` CLI, 0.7.9 on Debian 12), for tests that compare its
// answers with Node's on the same module text.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../core/config.ts';
import { bundleNjs } from '../../scripts/build-njs.ts';

/** The njs CLI's path, or '' when it is not installed. */
export function njsBinary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v njs'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/**
 * Bundle njs/<name>.ts for each name (as `import <name> from "<name>.js"`), run `body` under njs after those
 * imports, and return the lines it printed. Print one value a line: the njs CLI cuts long lines.
 */
export async function runUnderNjs(njs: string, names: string[], body: string): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-njs-'));
  try {
    const imports: string[] = [];
    for (const name of names) {
      fs.writeFileSync(path.join(dir, `${name}.js`), await bundleNjs(path.join(PROJECT_ROOT, 'njs', `${name}.ts`)));
      imports.push(`import ${name.replace(/-/g, '_')} from "${name}.js";`);
    }
    const main = path.join(dir, 'main.mjs');
    fs.writeFileSync(main, `${imports.join('\n')}\n${body}\n`);
    const stdout = execFileSync(njs, ['-p', dir, main], { encoding: 'utf8', timeout: 20_000 });
    return stdout.trim().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
