// Origin paths ("/pub/x.iso") as the sidecar and the CLI check them: the path rule of njs/path-rule.ts (shared
// with njs, which checks first) plus what only Node can check cheaply (bytes, lone surrogates, empty segments).
// The sidecar checks again what njs already checked, since the socket may be reached by other local clients, and
// the CLI uses the same rule for what admins type.
import pathRule from '../njs/path-rule.ts';

export const MAX_PATH_LENGTH = pathRule.MAX_PATH_BYTES;
const PLAIN_PATH = /^\/[\x20-\x7e]*$/;

/** Why a path is unusable as an origin path, or null when it is fine. */
export function originPathProblem(p: string): string | null {
  // The common case, checked once: printable ASCII (one byte a character), short enough, no empty or dot segment.
  if (typeof p === 'string' && p.length <= MAX_PATH_LENGTH && PLAIN_PATH.test(p) && !p.includes('//') && !p.includes('/.')) return null;
  if (typeof p !== 'string' || p.length === 0) return 'empty path';
  if (p[0] !== '/') return 'path must start with "/"';
  if (Buffer.byteLength(p) > MAX_PATH_LENGTH) return `path longer than ${MAX_PATH_LENGTH} bytes`;
  if (pathRule.hasControl(p)) return pathRule.PROBLEM.control;
  // U+FFFD is what a decoder makes of bad bytes; a lone surrogate (from a caller, never from bytes) has no UTF-8 form.
  if (p.includes('\uFFFD') || /\p{Surrogate}/u.test(p)) return pathRule.PROBLEM.utf8;
  if (pathRule.hasDotSegment(p)) return pathRule.PROBLEM.dotSegment;
  if (p.includes('//')) return 'empty segment in path';
  return null;
}
