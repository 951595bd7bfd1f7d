// The origin path and query of a download that njs asked the sidecar about. Pure.
//
// nginx's decide location forwards the client's request target as the client sent it ($request_uri in X-Ml-Uri).
// Node reads the header as Latin-1, so raw bytes above 0x7f arrive as one character each. The sidecar decodes and normalises the
// path the way nginx does (dot segments resolved, slashes merged), so that what is looked up is what nginx serves.
// The decoding is the sidecar's own; the reasons it refuses with come from the path rule (njs/path-rule.ts), and
// decide() applies the rest of that rule to the decoded path (core/paths.ts).
import pathRule from '../njs/path-rule.ts';

/** Printable ASCII without "%" (nothing to decode) and without "?" (the query was split off already). */
const PLAIN = /^[\x21-\x24\x26-\x3e\x40-\x7e]*$/;

export type DownloadTarget = { path: string; query: string } | { problem: string };

/**
 * "/pub/a%20b.iso?json" under the prefix "/pub/" → { path: "/a b.iso", query: "json" }, or why it is refused.
 * The query is returned as sent (its raw bytes as Latin-1 characters); the query parser copes with anything.
 */
export function downloadTarget(requestUrl: string, urlPrefix: string): DownloadTarget {
  const q = requestUrl.indexOf('?');
  const raw = q < 0 ? requestUrl : requestUrl.slice(0, q);
  const query = q < 0 ? '' : requestUrl.slice(q + 1);
  if (raw[0] !== '/') return { problem: 'path must start with "/"' };
  const prefix = urlPrefix.endsWith('/') ? urlPrefix : urlPrefix + '/';
  // Most targets are plain: nothing to decode, no empty or dot segment. Those skip the general path below.
  if (PLAIN.test(raw) && !raw.includes('//') && !raw.includes('/.')) {
    return raw.startsWith(prefix) ? { path: '/' + raw.slice(prefix.length), query } : { problem: pathRule.PROBLEM.outside };
  }
  let decoded: string;
  try {
    // Raw bytes (a client that sent UTF-8 unencoded) become escapes first, so that they decode as UTF-8.
    const escaped = /[\u0080-\u00ff]/.test(raw) ? raw.replace(/[\u0080-\u00ff]/g, (c) => '%' + c.charCodeAt(0).toString(16)) : raw;
    decoded = escaped.includes('%') ? decodeURIComponent(escaped) : escaped;
  } catch {
    return { problem: 'path is not valid UTF-8 or has a broken %-escape' };
  }
  if (decoded.includes('?')) return { problem: pathRule.PROBLEM.questionMark };
  const segments: string[] = [];
  for (const seg of decoded.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (segments.length === 0) return { problem: pathRule.PROBLEM.outside };
      segments.pop();
    } else {
      segments.push(seg);
    }
  }
  const normal = '/' + segments.join('/') + (decoded.endsWith('/') && segments.length > 0 ? '/' : '');
  if (!normal.startsWith(prefix)) return { problem: pathRule.PROBLEM.outside };
  return { path: '/' + normal.slice(prefix.length), query };
}
