// Size, mtime and SHA-256 of one file of the origin tree, for a file row created by hand (`mirrorlane file add`).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { realRoot, resolveOriginPath } from './origin-resolve.ts';
import { refusalReason } from './origin-rule.ts';

export class OriginFileError extends Error {}

export interface OriginFile {
  size: number;
  /** Unix seconds. */
  mtime: number;
  /** Hex. */
  sha256: string;
}

/**
 * Describe `relPath` ("/pub/x.iso") below `root`, by the origin rule (core/origin-rule.ts): refused is anything
 * whose real path (symlinks resolved) lies outside the real root, so a symlink inside the tree cannot publish
 * /etc/shadow, and anything that is not a regular file. Symlinks that stay inside the root are followed.
 */
export async function describeOriginFile(root: string, relPath: string): Promise<OriginFile> {
  if (relPath.includes('\0')) throw new OriginFileError(`path ${JSON.stringify(relPath)} contains a NUL byte`);
  if (relPath.split(/[\\/]/).includes('..')) throw new OriginFileError(`path '${relPath}' may not contain '..'`);
  let rootDir: string;
  try {
    rootDir = await realRoot(root);
  } catch (e) {
    throw new OriginFileError(`origin root ${root} is not readable (${(e as NodeJS.ErrnoException).code}): check origin.root in the config`);
  }
  const r = await resolveOriginPath(rootDir, relPath);
  if (r.kind === 'missing') throw new OriginFileError(`'${relPath}' does not exist in the origin tree ${root}`);
  if (r.kind === 'outside') throw new OriginFileError(`'${relPath}' resolves to ${r.target}, outside the origin tree ${rootDir}`);
  if (r.kind === 'unreadable') throw new OriginFileError(`'${relPath}' is not readable in the origin tree ${root} (${r.code})`);
  if (r.kind !== 'file') throw new OriginFileError(`'${relPath}' is not a regular file (${refusalReason(r)})`);
  const real = path.join(rootDir, r.real);
  // Open once and use the descriptor for stat and hash, so what is measured is what is hashed.
  // O_NOFOLLOW: the real path holds no link, so one swapped in since it was resolved is refused, not followed.
  const handle = await fs.promises.open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new OriginFileError(`'${relPath}' is not a regular file`);
    const hash = crypto.createHash('sha256');
    await pipeline(handle.createReadStream({ autoClose: false, start: 0 }), hash);
    return { size: st.size, mtime: Math.floor(st.mtimeMs / 1000), sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}
