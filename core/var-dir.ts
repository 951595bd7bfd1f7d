// Where the running redirector keeps its state (database, sockets, nginx prefix, demo tree) by default.
// Server processes run as other users (PostgreSQL as `postgres`, nginx workers as `nobody` when started as root):
// they must reach that place. A clone in a mode-700 directory (root's home, a `mktemp -d`) is out of their reach,
// and widening the user's own directories is not ours to do, so the state then lives outside the clone.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Where state goes when the clone is out of reach: root-owned, mode 0755, one folder per clone. */
export const SHARED_STATE_ROOT = '/var/lib/mirrorlane';

/** Whether a user that is neither owner nor group member may traverse every directory down to dir. */
export function reachableByOthers(dir: string, stat: (p: string) => { mode: number } = fs.statSync): boolean {
  let p = path.resolve(dir);
  for (;;) {
    try {
      if ((stat(p).mode & 0o001) === 0) return false;
    } catch {
      // Not created yet: its parents decide.
    }
    const up = path.dirname(p);
    if (up === p) return true;
    p = up;
  }
}

/** The state folder of a clone whose own var/ others cannot reach: stable per clone path. */
export function sharedStateDir(projectRoot: string): string {
  const hash = crypto.createHash('sha256').update(path.resolve(projectRoot)).digest('hex').slice(0, 8);
  return path.join(SHARED_STATE_ROOT, `${path.basename(projectRoot)}-${hash}`);
}

/**
 * projectRoot/var, unless we are root and other users cannot reach it (then the shared state folder). As a
 * normal user every server process runs as that user, and the clone's var/ is always fine.
 */
export function defaultVarDir(projectRoot: string, uid = process.getuid?.() ?? -1): string {
  const own = path.join(projectRoot, 'var');
  if (uid !== 0) return own;
  try {
    // A var/ that is already a link (start.ts makes one to the shared folder) leads to where the state is.
    if (fs.lstatSync(own).isSymbolicLink()) return fs.realpathSync(own);
  } catch {
    /* no var/ yet */
  }
  return reachableByOthers(projectRoot) ? own : sharedStateDir(projectRoot);
}
