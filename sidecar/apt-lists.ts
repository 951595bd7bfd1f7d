// Which origin files tell that a mirror carries an apt repository subtree: its Release files. A mirror that holds a
// current dists/SUITE/InRelease or Release has synced that suite; the scanner keeps the file table honest about it.
import fs from 'node:fs';
import path from 'node:path';
import { realRoot, resolveOriginPath } from '../core/origin-resolve.ts';

/** Suites looked at per subtree: Debian has about twenty; a bound keeps a strange tree from costing much. */
const MAX_SUITES = 64;

/** For a subtree ("/debian/"): the origin paths "/debian/dists/SUITE/InRelease" and ".../Release" of its suites. */
export function aptReleaseFilesFn(root: string): (subtree: string) => Promise<string[]> {
  return async (subtree) => {
    let entries: fs.Dirent[];
    try {
      // By the origin rule (core/origin-rule.ts): a dists/ that resolves outside the root is not looked into.
      const rootDir = await realRoot(root);
      const dists = await resolveOriginPath(rootDir, `${subtree}dists`);
      if (dists.kind !== 'dir') return [];
      entries = await fs.promises.readdir(path.join(rootDir, dists.real), { withFileTypes: true });
    } catch {
      return [];
    }
    return entries
      // Suites are directories; "stable" and friends are usually symlinks to them.
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => e.name)
      .sort()
      .slice(0, MAX_SUITES)
      .flatMap((suite) => [`${subtree}dists/${suite}/InRelease`, `${subtree}dists/${suite}/Release`]);
  };
}
