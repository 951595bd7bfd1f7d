// The one rule for what the origin may publish or serve itself (README "Origin scan", "Nothing outside the root"):
// a regular file whose real path, every symlink on the way resolved, lies inside the real origin root.
// These are the pure halves; core/origin-resolve.ts does the file-system part, and the origin scan, `file add`,
// the sidecar (local delivery) and njs's fallback all answer by it. Pure.
import path from 'node:path';

/** Whether `real` (a resolved absolute path) is `realRoot` itself or below it, on path-component boundaries. */
export function isInside(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep);
}

/**
 * The origin path ("/pub/x.iso") of a resolved absolute path, or null when it lies outside the root.
 * The root itself is "/".
 */
export function originPathOf(realRoot: string, real: string): string | null {
  if (!isInside(realRoot, real)) return null;
  const rel = real.slice(realRoot.replace(/\/+$/, '').length);
  return rel === '' ? '/' : rel;
}

/** What one origin path is, by the rule. */
export type OriginResolution =
  /** A regular file inside the root; `real` is the origin path of the file itself (links resolved). */
  | { kind: 'file'; real: string; size: number; mtimeMs: number }
  /** A directory inside the root; `linked` when a symlink was on the way (nginx lists none of those). */
  | { kind: 'dir'; real: string; linked: boolean }
  /** Resolves to `target`, outside the root: never published, served or listed. */
  | { kind: 'outside'; target: string }
  | { kind: 'missing' }
  | { kind: 'loop' }
  /** A socket, FIFO or device. */
  | { kind: 'special' }
  | { kind: 'unreadable'; code: string };

/** Why a resolution is not publishable as a file, in the words the scan and the CLI print; null for a file. */
export function refusalReason(r: OriginResolution): string | null {
  switch (r.kind) {
    case 'file':
      return null;
    case 'dir':
      return 'a directory, not a file';
    case 'outside':
      return `resolves to ${r.target}, outside the origin root`;
    case 'missing':
      return 'does not exist';
    case 'loop':
      return 'symlink loop';
    case 'special':
      return 'not a regular file (socket, FIFO or device)';
    case 'unreadable':
      return `not readable (${r.code})`;
  }
}
