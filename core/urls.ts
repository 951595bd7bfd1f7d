// Building the URL a client is redirected to: a mirror's base URL plus the origin path, percent-encoded.
// Pure. Runs on every request (the path encoded once, then joined to each ranked mirror's base URL), so the common
// case (a plain ASCII path) is one regexp test.

import type { Mirror, Scheme } from './types.ts';

/**
 * Bytes that may stay literal in a path: RFC 3986 pchar (unreserved, sub-delims, ':' and '@') plus the '/'
 * separator. Everything else (space, '%', '?', '#', '\', control characters, non-ASCII as UTF-8 bytes) is encoded,
 * so a URL built here can never split a header line or change the meaning of the request.
 */
const SAFE_BYTE = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") {
  SAFE_BYTE[c.charCodeAt(0)] = 1;
}
/** Same set as SAFE_BYTE, for the fast path: a path made only of these needs no encoding. */
const ALL_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const HEX = '0123456789ABCDEF';

/**
 * Percent-encodes an origin path (not encoded yet) segment by segment; '/' separators are kept. A path without a
 * leading '/' gets one. Lone UTF-16 surrogates become U+FFFD (Buffer's UTF-8 encoding), never an exception.
 * Dot segments are not touched: the path comes normalised (sidecar/download-target.ts, as nginx does).
 */
export function encodePath(path: string): string {
  const p = path.charCodeAt(0) === 47 /* / */ ? path : '/' + path;
  if (ALL_SAFE.test(p)) return p;
  const bytes = Buffer.from(p, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 128 && SAFE_BYTE[b] === 1) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/**
 * Joins an already encoded path (from encodePath) to a base URL; "http://m/pub" and "http://m/pub/" give the same
 * result. Split from mirrorFileUrl so that selection encodes the path once per request, not once per mirror.
 */
export function joinEncoded(baseUrl: string, encodedPath: string): string {
  let end = baseUrl.length;
  while (end > 0 && baseUrl.charCodeAt(end - 1) === 47) end--;
  return (end === baseUrl.length ? baseUrl : baseUrl.slice(0, end)) + encodedPath;
}

/** URL of `path` (origin path, starts with '/', not percent-encoded) on a mirror whose base URL is `baseUrl`. */
export function mirrorFileUrl(baseUrl: string, path: string): string {
  return joinEncoded(baseUrl, encodePath(path));
}

/** Space, control characters and DEL: a base URL holding one would break the Location header. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_BASE = /[\x00-\x20\x7f]/;

/** A base URL that may be used: present, and free of whitespace and control characters. */
export function isSafeBaseUrl(url: string | null): url is string {
  return url !== null && url.length > 0 && !UNSAFE_BASE.test(url);
}

/**
 * The base URL a client that wants `scheme` is sent to on this mirror, or null if none fits.
 * - https wanted: the mirror's https URL only (never downgrade a client that came over TLS).
 * - http wanted: the http URL; a mirror that has only an https URL is used over https (an upgrade is harmless, every
 *   HTTP client we care about follows it, and https-only mirrors are common now).
 * A base URL holding whitespace or control characters is treated as absent rather than emitted.
 */
export function baseUrlFor(mirror: Mirror, scheme: Scheme): string | null {
  if (scheme === 'https') return isSafeBaseUrl(mirror.httpsUrl) ? mirror.httpsUrl : null;
  if (isSafeBaseUrl(mirror.httpUrl)) return mirror.httpUrl;
  return isSafeBaseUrl(mirror.httpsUrl) ? mirror.httpsUrl : null;
}
