// Pure validators for values typed on the command line. Each returns the normalised value or throws a
// ValueError whose message names the flag, the rule and what was given, so the CLI can print it as is.
import { formatIp, maskHostBits, parseIpInto, parsePrefixLength } from './ip.ts';
import { countryProblem, identifierProblem } from './validate.ts';

export class ValueError extends Error {}

const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

function fail(flag: string, rule: string, got: string): never {
  throw new ValueError(`${flag} must be ${rule}, got '${got}'`);
}

/** Identifier as the mirror table allows it: letters, digits, '.', '_', '-', at most 63, not starting with punctuation. */
export function parseIdentifier(flag: string, v: string): string {
  const rule = identifierProblem(v);
  if (rule) fail(flag, rule, v);
  return v;
}

/** Integer in [min, max], decimal only: "1e3", "0x10", "12.0" and "" are refused so typos do not pass as numbers. */
export function parseInteger(flag: string, v: string, min: number, max: number): number {
  const s = v.trim();
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) fail(flag, `an integer ${min}..${max}`, v);
  return n;
}

export function parseNumberInRange(flag: string, v: string, min: number, max: number): number {
  const s = v.trim();
  const n = Number(s);
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(s) || n < min || n > max) fail(flag, `a number ${min}..${max}`, v);
  return n;
}

export const parseLatitude = (flag: string, v: string) => parseNumberInRange(flag, v, -90, 90);
export const parseLongitude = (flag: string, v: string) => parseNumberInRange(flag, v, -180, 180);

/** AS number, with or without the "AS" prefix ("AS64510", "64510"). */
export function parseAsn(flag: string, v: string): number {
  const s = v.trim().replace(/^as/i, '');
  if (!/^\d+$/.test(s) || Number(s) > 4294967295) fail(flag, 'an AS number 0..4294967295 (e.g. 64510 or AS64510)', v);
  return Number(s);
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Byte count: plain integer or with a binary suffix (K, M, G, T, optionally followed by "iB" or "B"). */
export function parseSize(flag: string, v: string): number {
  const m = /^(\d+)\s*([KMGT]?)(?:i?B)?$/i.exec(v.trim());
  if (!m) fail(flag, 'a size in bytes (e.g. 4294967296 or 4G)', v);
  const n = Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()];
  if (!Number.isSafeInteger(n)) fail(flag, 'a size below 2^53 bytes', v);
  return n;
}

/** An existing ISO 3166-1 alpha-2 code, any case, stored upper case; "**" (every country) only where `wildcard` allows it. */
export function parseCountry(flag: string, v: string, opts: { wildcard?: boolean } = {}): string {
  const s = v.trim().toUpperCase();
  const rule = countryProblem(s, { wildcard: opts.wildcard });
  if (rule) fail(flag, rule, v);
  return s;
}

/** Comma- or space-separated country codes, deduplicated, order kept. An empty string gives an empty list. */
export function parseCountryList(flag: string, v: string): string[] {
  const out: string[] = [];
  for (const part of splitList(v)) {
    const cc = parseCountry(flag, part);
    if (!out.includes(cc)) out.push(cc);
  }
  return out;
}

export function parseContinent(flag: string, v: string): string {
  const s = v.trim().toUpperCase();
  if (!CONTINENTS.includes(s)) fail(flag, `a continent code (${CONTINENTS.join(' ')})`, v);
  return s;
}

function splitList(v: string): string[] {
  return v.split(/[\s,]+/).filter((x) => x !== '');
}

/**
 * A network in CIDR notation. A bare address becomes a host route (/32, /128). Host bits must be zero, as
 * PostgreSQL's cidr type demands; the message names the network that was probably meant. ::ffff:a.b.c.d/n stays an
 * IPv6 network (0..128), and a zone id is refused (the cidr type has none).
 */
export function parseCidr(flag: string, v: string): string {
  const s = v.trim();
  const slash = s.indexOf('/');
  const addrEnd = slash < 0 ? s.length : slash;
  const bytes = new Uint8Array(16);
  const family = parseIpInto(s, bytes, 0, addrEnd);
  if (family === 0 || s.indexOf('/', addrEnd + 1) >= 0) {
    fail(flag, 'a network in CIDR notation (e.g. 192.0.2.0/24 or 2001:db8::/32)', v);
  }
  const bits = family === 4 ? 32 : 128;
  const len = slash < 0 ? bits : parsePrefixLength(s, slash + 1, s.length, bits);
  if (len < 0) fail(flag, `a prefix length 0..${bits}`, v);
  if (maskHostBits(bytes, len, family)) {
    throw new ValueError(`${flag}: '${v}' has host bits set; did you mean ${formatIp(bytes, family)}/${len}?`);
  }
  return `${s.slice(0, addrEnd)}/${len}`;
}

export function parseCidrList(flag: string, v: string): string[] {
  const out: string[] = [];
  for (const part of splitList(v)) {
    const c = parseCidr(flag, part);
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

export type UrlScheme = 'http' | 'https' | 'ftp' | 'rsync';

/**
 * A mirror base URL for one protocol: absolute, of that scheme, with a host, no query or fragment.
 * http/https may not carry credentials (they would leak into every redirect); ftp/rsync may (private modules).
 * The result ends in "/": a base URL names a directory, and file paths are appended to it.
 */
export function parseBaseUrl(flag: string, scheme: UrlScheme, v: string): string {
  const s = v.trim();
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    fail(flag, `an absolute ${scheme}:// URL`, v);
  }
  if (u.protocol !== `${scheme}:`) fail(flag, `a ${scheme}:// URL`, v);
  if (!u.hostname) fail(flag, `a ${scheme}:// URL with a host`, v);
  if ((scheme === 'http' || scheme === 'https') && (u.username || u.password)) {
    throw new ValueError(`${flag} may not contain a user name or password (it would be shown to every client), got '${v}'`);
  }
  if (u.search || u.hash || s.includes('?') || s.includes('#')) fail(flag, 'a URL without query or fragment', v);
  // Keep what was typed (new URL() would percent-encode or lower-case parts); only add the directory slash.
  return s.endsWith('/') ? s : `${s}/`;
}

/** Host part of a URL, without IPv6 brackets. */
export function urlHost(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
}

/** C0 control characters and DEL, except those listed in `allowed` (e.g. "\n\t"). */
export function hasControlChars(s: string, allowed = ''): boolean {
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if ((c < 0x20 || c === 0x7f) && !allowed.includes(ch)) return true;
  }
  return false;
}

/** Whether a file pattern uses shell wildcards. */
export function hasWildcard(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/**
 * A path or shell pattern as the file table keys it: always with a leading "/" ("pub/x.iso" → "/pub/x.iso"),
 * unless it starts with "*", which already matches the slash.
 */
export function normaliseFilePattern(pattern: string): string {
  const s = pattern.trim();
  if (s === '') throw new ValueError(`PATTERN may not be empty; use '*' for every file`);
  if (hasControlChars(s)) throw new ValueError(`PATTERN may not contain control characters, got ${JSON.stringify(s)}`);
  return s.startsWith('/') || s.startsWith('*') ? s : `/${s}`;
}

/** Shell wildcards to a LIKE pattern (escape character "\"): "*" → "%", "?" → "_", literal % _ \ escaped. */
export function globToLike(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '*') out += '%';
    else if (ch === '?') out += '_';
    else if (ch === '%' || ch === '_' || ch === '\\') out += `\\${ch}`;
    else out += ch;
  }
  return out;
}
