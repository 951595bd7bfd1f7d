// Percent-encoding an origin path for a URL, one home for the sidecar (core/urls.ts: every redirect, the local
// mark) and njs (its fallback redirects and local delivery). Pure. njs 0.7.9 subset (docs/CONVENTIONS.md; njs
// has Buffer), so that both run the same text; the common case (a plain ASCII path) is one regexp test.

/**
 * Bytes that may stay literal in a path: RFC 3986 pchar (unreserved, sub-delims, ':' and '@') plus the '/'
 * separator. Everything else (space, '%', '?', '#', '\', control characters, non-ASCII as UTF-8 bytes) is encoded,
 * so a URL built here can never split a header line or change the meaning of the request.
 */
const SAFE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/";
/** SAFE_CHARS as a table by byte, built on the first path that needs it: njs runs module code on every request. */
let safeByte: Uint8Array | null = null;

function safeTable(): Uint8Array {
  if (safeByte === null) {
    safeByte = new Uint8Array(128);
    for (let i = 0; i < SAFE_CHARS.length; i++) safeByte[SAFE_CHARS.charCodeAt(i)] = 1;
  }
  return safeByte;
}

/** Same set as SAFE_CHARS, for the fast path: a path made only of these needs no encoding. */
const ALL_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const HEX = '0123456789ABCDEF';

/**
 * Percent-encodes an origin path (not encoded yet) segment by segment; '/' separators are kept. A path without a
 * leading '/' gets one. Lone UTF-16 surrogates become U+FFFD (Buffer's UTF-8 encoding), never an exception.
 * Dot segments are not touched: normalising the path is the caller's job (njs rejects '..').
 */
function encodePath(path: string): string {
  const p = path.charCodeAt(0) === 47 /* / */ ? path : '/' + path;
  if (ALL_SAFE.test(p)) return p;
  const safe = safeTable();
  const bytes = Buffer.from(p, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 128 && safe[b] === 1) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

export default { encodePath: encodePath };
