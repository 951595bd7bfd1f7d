// Path rules for origin paths ("/pub/x.iso"), applied by the sidecar (sidecar/decide.ts) to the decoded path: njs
// checked the raw request target already, but the socket may be reached by other local clients.

export const MAX_PATH_LENGTH = 1024;
const PLAIN_PATH = /^\/[\x20-\x7e]*$/;

/** Why a path is unusable as an origin path, or null when it is fine. */
export function originPathProblem(p: string): string | null {
  // The common case, checked once: printable ASCII (one byte a character), short enough, no empty or dot segment.
  if (typeof p === 'string' && p.length <= MAX_PATH_LENGTH && PLAIN_PATH.test(p) && !p.includes('//') && !p.includes('/.')) return null;
  if (typeof p !== 'string' || p.length === 0) return 'empty path';
  if (p[0] !== '/') return 'path must start with "/"';
  if (Buffer.byteLength(p) > MAX_PATH_LENGTH) return `path longer than ${MAX_PATH_LENGTH} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'control character in path';
  // U+FFFD is what a decoder makes of bad bytes; a lone surrogate (from a caller, never from bytes) has no UTF-8 form.
  if (p.includes('\uFFFD') || /\p{Surrogate}/u.test(p)) return 'path is not valid UTF-8';
  for (const seg of p.split('/')) if (seg === '..' || seg === '.') return 'dot segment in path';
  if (p.includes('//')) return 'empty segment in path';
  return null;
}

