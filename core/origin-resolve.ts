// The file-system half of the origin rule (core/origin-rule.ts): resolve one origin path below the real root.
import fs from 'node:fs';
import path from 'node:path';
import { originPathOf, type OriginResolution } from './origin-rule.ts';

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/** The origin root with every symlink resolved; throws (ENOENT, EACCES ...) when it cannot be. */
export function realRoot(root: string): Promise<string> {
  return fs.promises.realpath(root);
}

/**
 * Resolve `originPath` ("/pub/x.iso", already free of NUL and ".." segments: see core/paths.ts) below `realRootDir`
 * (from realRoot()). Every link on the way is resolved by realpath, then the result must lie inside the root.
 */
export async function resolveOriginPath(realRootDir: string, originPath: string): Promise<OriginResolution> {
  const abs = path.join(realRootDir, originPath);
  let real: string;
  try {
    real = await fs.promises.realpath(abs);
  } catch (e) {
    const code = errCode(e);
    // ENOTDIR: a file used as a directory on the way ("/pub/x.iso/y"): nothing there either.
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'loop' };
    return { kind: 'unreadable', code };
  }
  const inside = originPathOf(realRootDir, real);
  if (inside === null) return { kind: 'outside', target: real };
  let st: fs.Stats;
  try {
    // The real path holds no symlink any more: stat and lstat agree on it.
    st = await fs.promises.stat(real);
  } catch (e) {
    const code = errCode(e);
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable', code };
  }
  if (st.isFile()) return { kind: 'file', real: inside, size: st.size, mtimeMs: st.mtimeMs };
  if (st.isDirectory()) return { kind: 'dir', real: inside, linked: abs.replace(/\/+$/, '') !== real };
  return { kind: 'special' };
}
