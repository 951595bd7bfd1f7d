// Size, mtime and SHA-256 of one file of the origin tree, for a file row created by hand (`mirrorlane file add`).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

export class OriginFileError extends Error {}

export interface OriginFile {
  size: number;
  /** Unix seconds. */
  mtime: number;
  /** Hex. */
  sha256: string;
}

/**
 * Describe `relPath` ("/pub/x.iso") below `root`. Refused: anything whose real path (symlinks resolved) lies
 * outside the real root, so a symlink inside the tree cannot publish /etc/shadow, and anything that is not a
 * regular file. Symlinks that stay inside the root are followed.
 */
export async function describeOriginFile(root: string, relPath: string): Promise<OriginFile> {
  if (relPath.includes('\0')) throw new OriginFileError(`path ${JSON.stringify(relPath)} contains a NUL byte`);
  if (relPath.split(/[\\/]/).includes('..')) throw new OriginFileError(`path '${relPath}' may not contain '..'`);
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(root);
  } catch (e) {
    throw new OriginFileError(`origin root ${root} is not readable (${(e as NodeJS.ErrnoException).code}): check origin.root in the config`);
  }
  let real: string;
  try {
    real = await fs.promises.realpath(path.join(realRoot, relPath));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OriginFileError(`'${relPath}' does not exist in the origin tree ${root}`);
    throw new OriginFileError(`'${relPath}' is not readable in the origin tree ${root} (${code})`);
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
    throw new OriginFileError(`'${relPath}' resolves to ${real}, outside the origin tree ${realRoot}`);
  }
  // Open once and use the descriptor for stat and hash, so what is measured is what is hashed.
  const handle = await fs.promises.open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
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
