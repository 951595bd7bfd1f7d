// Replacing a file so that readers (a web server, a backup job) see the old content or the new, never a part:
// write a temporary file in the same directory (same file system, so rename is atomic), flush it, rename it over.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Write `data` to `file` atomically. A new file gets `mode` (before the umask); an existing one keeps its mode,
 * which its owner chose (for example group-readable for the web server). On any failure the temporary file is
 * removed and the target is left as it was.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  let keepMode: number | null = null;
  try {
    keepMode = fs.statSync(target).mode & 0o7777;
  } catch {
    /* a new file */
  }
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', keepMode ?? mode);
    // The umask applies to a new file only; the existing file's mode is copied exactly.
    if (keepMode !== null) fs.fchmodSync(fd, keepMode);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  // The rename itself survives a crash only once the directory is flushed; not every file system allows it.
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* best effort */
  }
}
