// Streaming hashes of one origin file: every wanted algorithm in one read, what was read is what is described.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PieceHasher, pieceSize, type Pieces } from './pieces.ts';
import { isInside } from './walk-origin.ts';

export type HashName = 'sha256' | 'sha1' | 'md5';

export interface FileDigest {
  size: number;
  /** Unix seconds. */
  mtime: number;
  /** Hex digests of the algorithms asked for. */
  digests: Partial<Record<HashName, string>>;
  /** SHA-256 and SHA-1 piece hashes (piece size by file size, see pieces.ts), from the same read. */
  pieces: Pieces;
}

export class HashError extends Error {
  constructor(
    message: string,
    /** The file is not there any more: its row should go, not stay. */
    readonly gone = false,
  ) {
    super(message);
  }
}

const CHUNK = 1 << 20;

// The callback API, promisified: for the many small files of a tree it is about twice as fast as FileHandle.
const open = promisify(fs.open);
const fstat = promisify(fs.fstat);
const read = promisify(fs.read);
const close = promisify(fs.close);
const realpath = promisify(fs.realpath.native);
/** A file still being written is retried this often before it is left for the next scan. */
const ATTEMPTS = 3;

/**
 * Hash `originPath` below `realRoot`. The path is resolved again (a symlink may have been changed since the walk)
 * and must stay inside the root; the file is opened without following any further link, and its size and mtime
 * come from the open descriptor before and after reading: when they moved, or the byte count does not match, the
 * file was being written and the hash is taken again.
 */
export async function hashOriginFile(realRoot: string, originPath: string, algorithms: readonly HashName[], buffer = Buffer.allocUnsafe(CHUNK)): Promise<FileDigest> {
  let real: string;
  try {
    real = await realpath(path.join(realRoot, originPath));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HashError(`not readable (${code})`, code === 'ENOENT');
  }
  if (!isInside(realRoot, real)) throw new HashError(`now resolves to ${real}, outside the origin root`);
  for (let attempt = 1; ; attempt++) {
    const digest = await hashOnce(real, algorithms, buffer);
    if (digest) return digest;
    if (attempt === ATTEMPTS) throw new HashError('changed while being hashed, again and again: left for the next scan');
  }
}

/** The digest, or null when the file changed under the read. */
async function hashOnce(real: string, algorithms: readonly HashName[], buffer: Buffer): Promise<FileDigest | null> {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO swapped in since the walk must not hang the scan; O_NOFOLLOW: nor a new symlink.
    fd = await open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HashError(`not readable (${code})`, code === 'ENOENT');
  }
  try {
    const before = await fstat(fd);
    if (!before.isFile()) throw new HashError('no longer a regular file');
    const hashes = algorithms.map((a) => crypto.createHash(a));
    const pieces = new PieceHasher(pieceSize(before.size));
    // Read until the size fstat gave, sparing the read that would only find the end of the file.
    let total = 0;
    while (total < before.size) {
      const { bytesRead } = await read(fd, buffer, 0, buffer.length, total);
      if (bytesRead === 0) return null; // shrunk
      const chunk = buffer.subarray(0, bytesRead);
      for (const h of hashes) h.update(chunk);
      pieces.update(chunk);
      total += bytesRead;
    }
    const after = await fstat(fd);
    if (total !== before.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs) return null;
    const digests: Partial<Record<HashName, string>> = {};
    algorithms.forEach((a, i) => (digests[a] = hashes[i].digest('hex')));
    return { size: before.size, mtime: Math.floor(before.mtimeMs / 1000), digests, pieces: pieces.finish() };
  } finally {
    await close(fd);
  }
}
