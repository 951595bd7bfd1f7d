// Building the URL a client is redirected to: a mirror's base URL plus the origin path, percent-encoded
// (njs/url-path.ts). Pure. Runs on every request (the path encoded once, then joined to each ranked mirror's base
// URL), so the common case (a plain ASCII path) is one regexp test.

import urlPath from '../njs/url-path.ts';
import type { Mirror, Scheme } from './types.ts';

/** Percent-encodes an origin path, segment by segment (njs/url-path.ts, shared with njs). */
export const encodePath = urlPath.encodePath;

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
