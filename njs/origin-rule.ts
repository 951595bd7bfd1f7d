// The origin rule (core/origin-rule.ts) for njs's fallback, when the sidecar cannot say what may be served: a
// regular file whose real path, every symlink resolved, lies inside the real origin root. nginx serves the origin
// without following symlinks below the root (nginx/server.conf), so njs hands it the real file's path.
// njs 0.7.9 subset (docs/CONVENTIONS.md); sync fs calls: one realpath and one stat, only when the sidecar is away.
import fs from 'fs';

/** kind: 'file' (real: origin path of the real file), 'dir' (a directory reached without a symlink), or 'none'. */
interface OriginTarget {
  kind: string;
  real: string;
}

const NONE: OriginTarget = { kind: 'none', real: '' };

function resolve(root: string, relPath: string): OriginTarget {
  let realRoot: string;
  let real: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(realRoot + relPath);
  } catch (e) {
    // Missing, a loop, unreadable: nothing to serve.
    return NONE;
  }
  const base = realRoot.replace(/\/+$/, '');
  if (real !== base && real.indexOf(base + '/') !== 0) return NONE;
  let isFile = false;
  let isDir = false;
  try {
    const st = fs.statSync(real);
    isFile = st.isFile();
    isDir = st.isDirectory();
  } catch (e) {
    return NONE;
  }
  const inside = real.slice(base.length) || '/';
  if (isFile) return { kind: 'file', real: inside };
  // nginx lists no directory reached through a symlink.
  if (isDir && inside === relPath.replace(/\/+$/, '')) return { kind: 'dir', real: inside };
  return NONE;
}

export default { resolve: resolve };
