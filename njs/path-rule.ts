// The path rule, one home for every side: what a download path may hold. njs checks r.uri with it before it asks
// the sidecar (uriProblem); the sidecar and the CLI build their checks of origin paths from its parts
// (core/paths.ts, sidecar/download-target.ts), since the socket may be reached by other local clients and admins
// type paths too. Pure. Written in the njs 0.7.9 subset (docs/CONVENTIONS.md), so that the same text runs in njs
// and in Node; the tests import it directly.

/** Longest path accepted; njs counts UTF-16 units, the sidecar bytes (core/paths.ts). */
const MAX_PATH_BYTES = 1024;

/** The reasons, worded once: a client gets the same words from njs and from the sidecar. */
const PROBLEM = {
  tooLong: 'path too long',
  outside: 'path outside the published tree',
  control: 'control character in path',
  dotSegment: 'dot segment in path',
  // internalRedirect (njs) and nginx's local delivery split at "?", so such a name could not be delivered.
  questionMark: 'question mark in path',
  utf8: 'path is not valid UTF-8',
};

/** A C0 control character or DEL: such a path could split a header line. */
function hasControl(p: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(p);
}

/** A "." or ".." segment in a path that starts with "/". */
function hasDotSegment(p: string): boolean {
  return p.indexOf('/./') >= 0 || p.indexOf('/../') >= 0 || /\/\.\.?$/.test(p);
}

/** Why njs must refuse r.uri (already decoded and normalised by nginx) with 400, or '' when it is fine. */
function uriProblem(uri: string, prefix: string): string {
  if (uri.length > MAX_PATH_BYTES) return PROBLEM.tooLong;
  if (uri.indexOf(prefix) !== 0) return PROBLEM.outside;
  // One scan for the plain case (printable ASCII without "?" or a dot segment); the rest only when needed. A
  // negated class, not ^...$: njs's PCRE lets $ match before a final newline, and "/x\n" would pass.
  if (!/[^\x20-\x3e\x40-\x7e]/.test(uri) && uri.indexOf('/.') < 0) return '';
  if (hasControl(uri)) return PROBLEM.control;
  if (hasDotSegment(uri)) return PROBLEM.dotSegment;
  if (uri.indexOf('?') >= 0) return PROBLEM.questionMark;
  try {
    encodeURIComponent(uri);
  } catch (e) {
    return PROBLEM.utf8;
  }
  return '';
}

export default {
  MAX_PATH_BYTES: MAX_PATH_BYTES,
  PROBLEM: PROBLEM,
  hasControl: hasControl,
  hasDotSegment: hasDotSegment,
  uriProblem: uriProblem,
};
