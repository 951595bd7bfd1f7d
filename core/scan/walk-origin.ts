// Streaming walk of the origin tree: regular files with size and mtime, in batches, one directory open at a time
// and only the names of directories still to visit kept in memory, so a tree of millions of files walks in
// constant memory apart from that. Symlink rules (README.md, "Origin scan"):
// - a symlink to a regular file inside the root is published under the symlink's path with the target's size and
//   mtime (and later its hash);
// - a symlink to a directory is never followed (no loops, no tree published twice);
// - a symlink that leaves the root, dangles or loops is skipped with a warning;
// - sockets, FIFOs and devices are skipped; unreadable entries are reported, never fatal.
import fs from 'node:fs';
import path from 'node:path';
import { resolveOriginPath } from '../origin-resolve.ts';
import { isInside } from '../origin-rule.ts';

// The rule lives in core/origin-rule.ts; hash-file.ts imports it from here.
export { isInside };

export interface OriginEntry {
  /** Origin path: "/" + path below the root. */
  path: string;
  size: number;
  /** Unix seconds. */
  mtime: number;
}

export interface WalkProblem {
  /** Origin path of the entry (directories end in "/"). */
  path: string;
  reason: string;
  /** Worth telling the admin (a broken or escaping link, an unreadable entry); false for deliberate skips. */
  warn: boolean;
  /** A directory whose contents are unknown: the file rows below it must be kept, not deleted. */
  unreadableDir?: boolean;
}

/** Entries examined at once: their lstat calls run in parallel. */
const BATCH = 128;

type Found = OriginEntry | { dir: string } | null;

const unixSeconds = (st: fs.Stats) => Math.floor(st.mtimeMs / 1000);
const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/**
 * Walk `startDir` (an origin path ending in "/", e.g. "/" or "/pub/isos/") below `realRoot` (already resolved
 * with realpath). Yields non-empty batches of files; everything not published goes to `report`.
 */
export async function* walkOrigin(realRoot: string, startDir: string, report: (p: WalkProblem) => void): AsyncGenerator<OriginEntry[]> {
  const pending: string[] = [startDir];
  while (pending.length) {
    const dirPath = pending.pop()!;
    const subdirs: string[] = [];
    let dir: fs.Dir;
    try {
      dir = await fs.promises.opendir(path.join(realRoot, dirPath), { bufferSize: BATCH });
    } catch (e) {
      // Removed since its parent was read (or a subtree that is gone): nothing below it exists any more.
      if (errCode(e) !== 'ENOENT') {
        report({ path: dirPath, reason: `directory not readable (${errCode(e)})`, warn: true, unreadableDir: true });
      }
      continue;
    }
    let batch: fs.Dirent[] = [];
    try {
      for await (const d of dir) {
        batch.push(d);
        if (batch.length < BATCH) continue;
        const files = await examine(realRoot, dirPath, batch, subdirs, report);
        batch = [];
        if (files.length) yield files;
      }
    } catch (e) {
      // Part of the directory was read: what was seen is published, and nothing below it is deleted.
      report({ path: dirPath, reason: `directory not fully readable (${errCode(e)})`, warn: true, unreadableDir: true });
    }
    const files = await examine(realRoot, dirPath, batch, subdirs, report);
    if (files.length) yield files;
    // Depth first, so the pending list holds directory names along one branch and its siblings only.
    for (let i = subdirs.length - 1; i >= 0; i--) pending.push(subdirs[i]);
  }
}

async function examine(realRoot: string, dirPath: string, batch: fs.Dirent[], subdirs: string[], report: (p: WalkProblem) => void): Promise<OriginEntry[]> {
  const found = await Promise.all(batch.map((d) => examineOne(realRoot, dirPath + d.name, d, report)));
  const files: OriginEntry[] = [];
  for (const f of found) {
    if (f === null) continue;
    if ('dir' in f) subdirs.push(f.dir);
    else files.push(f);
  }
  return files;
}

async function examineOne(realRoot: string, originPath: string, d: fs.Dirent, report: (p: WalkProblem) => void): Promise<Found> {
  // Node decodes names as UTF-8; a name that is not cannot be opened again under the decoded string.
  if (d.name.includes('\uFFFD')) {
    report({ path: originPath, reason: 'name is not valid UTF-8', warn: true });
    return null;
  }
  if (d.isDirectory()) return { dir: `${originPath}/` };
  const abs = path.join(realRoot, originPath);
  try {
    // lstat even when the directory entry tells the type: size and mtime are needed, and some file systems do
    // not report types at all.
    const st = await fs.promises.lstat(abs);
    if (st.isDirectory()) return { dir: `${originPath}/` };
    if (st.isFile()) return { path: originPath, size: st.size, mtime: unixSeconds(st) };
    if (st.isSymbolicLink()) return await followLink(realRoot, originPath, report);
    report({ path: originPath, reason: 'not a regular file (socket, FIFO or device)', warn: false });
    return null;
  } catch (e) {
    // Deleted between readdir and lstat: it is simply gone.
    if (errCode(e) === 'ENOENT') return null;
    report({ path: originPath, reason: `not readable (${errCode(e)})`, warn: true });
    return null;
  }
}

async function followLink(realRoot: string, originPath: string, report: (p: WalkProblem) => void): Promise<Found> {
  const r = await resolveOriginPath(realRoot, originPath);
  switch (r.kind) {
    case 'file':
      return { path: originPath, size: r.size, mtime: Math.floor(r.mtimeMs / 1000) };
    case 'dir':
      report({ path: originPath, reason: 'symlink to a directory: not followed', warn: false });
      return null;
    case 'outside':
      report({ path: originPath, reason: `symlink to ${r.target}, outside the origin root: not published`, warn: true });
      return null;
    case 'missing':
      report({ path: originPath, reason: 'dangling symlink', warn: true });
      return null;
    case 'loop':
      report({ path: originPath, reason: 'symlink loop', warn: true });
      return null;
    case 'special':
      report({ path: originPath, reason: 'symlink to a special file', warn: false });
      return null;
    case 'unreadable':
      report({ path: originPath, reason: `symlink not resolvable (${r.code})`, warn: true });
      return null;
  }
}
