// IP addresses and prefixes: the one parser of address text in the code base.
//
// The base is parseIpInto, a parser of address text into bytes that allocates nothing: GeoIP runs it on every
// lookup and the MMDB writer on every network of a database build. Prefix matching (mirror selection, local
// delivery) works on 32-bit words derived from those bytes: net.BlockList.check(string) costs ~2.5 µs per call (it
// builds a SocketAddress each time), too much for 50 mirrors per request, so the client address is parsed once per
// request, each prefix once, and matching is a few integer operations.
//
// Grammar: what node:net's isIP accepts, zone ids apart. IPv4 is a dotted quad without leading zeros ("010" is octal
// to some parsers, decimal to others); IPv6 is up to eight groups of 1 to 4 hex digits (any case), one "::", and an
// optional dotted quad as the last two groups. No spaces, no brackets, no prefix length. A zone id ("fe80::1%eth0")
// is not part of the address: addressEnd() says where the address ends, and callers that take zone ids drop them.
//
// Callers differ on purpose, and each keeps its own semantics:
//   - parseIpInto (GeoIP, MMDB writer, CLI prefixes): ::ffff:a.b.c.d stays IPv6 (16 bytes); no zone id.
//   - parseIp / parseNet (selection, local delivery): ::ffff:a.b.c.d is IPv4, as a dual-stack socket reports IPv4
//     clients; a zone id is ignored; parseNet trims spaces, allows host bits, and reads ::ffff:a.b.c.d/n as the IPv4
//     prefix a.b.c.d/(n-96).

// ---------------------------------------------------------------------------------------------------------------
// Text to bytes.

const hexGroups = new Uint16Array(8);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Dotted quad in s[start, end) into out[at..at+3]. Leading zeros are refused. */
function parseV4(s: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let i = start;
  while (part < 4) {
    const first = i;
    let v = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
      if (i - first > 3) return false;
    }
    if (i === first || v > 255 || (i - first > 1 && s.charCodeAt(first) === 48)) return false;
    out[at + part++] = v;
    if (part < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return false;
      i++;
    }
  }
  return i === end;
}

function parseV6(s: string, start: number, end: number, out: Uint8Array): boolean {
  let n = 0;
  let gap = -1;
  let i = start;
  if (end - start < 2) return false;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (n >= 8) return false;
    let j = i;
    let v = 0;
    while (j < end && j - i < 5) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j === i) return false;
    if (j < end && s.charCodeAt(j) === 46) {
      // Embedded dotted quad: must be last and takes two groups. Parsed into out[12..15] (overwritten below).
      if (n > 6) return false;
      if (!parseV4(s, i, end, out, 12)) return false;
      hexGroups[n++] = (out[12] << 8) | out[13];
      hexGroups[n++] = (out[14] << 8) | out[15];
      i = end;
      break;
    }
    if (j - i > 4) return false;
    hexGroups[n++] = v;
    if (j === end) {
      i = j;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < end && s.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = n;
      j++;
    } else if (j === end) {
      return false; // a single trailing colon
    }
    i = j;
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const fill = 8 - n;
  for (let g = 0, k = 0; g < 8; g++) {
    const v = gap >= 0 && g >= gap && g < gap + fill ? 0 : hexGroups[k++];
    out[g * 2] = v >> 8;
    out[g * 2 + 1] = v & 0xff;
  }
  return true;
}

/**
 * Parse the address in text[start, end) (no zone id, no prefix length) into `out` (16 bytes): IPv4 in out[0..3],
 * IPv6 in out[0..15] (::ffff:a.b.c.d included). Returns 4, 6, or 0 when the text is not an address; `out` is then
 * unspecified. Allocates nothing.
 */
export function parseIpInto(text: string, out: Uint8Array, start = 0, end = text.length): 0 | 4 | 6 {
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) === 58) return parseV6(text, start, end, out) ? 6 : 0;
  }
  return parseV4(text, start, end, out, 0) ? 4 : 0;
}

/**
 * Where the address in `text` ends: at the '%' of an IPv6 zone id ("fe80::1%eth0" → 7), else at text.length.
 * -1 when a '%' cannot start a zone id: nothing follows it, or no ':' comes before it (IPv4 has no zones). What the
 * zone id says is not checked: it names a local interface, and callers drop it.
 */
export function addressEnd(text: string): number {
  const pct = text.indexOf('%');
  if (pct < 0) return text.length;
  const colon = text.indexOf(':');
  return pct === text.length - 1 || colon < 0 || colon > pct ? -1 : pct;
}

/** ::ffff:0:0/96, an IPv4 address in IPv6 form (bytes as parseIpInto gives them for family 6). */
export function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Prefix length in text[start, end): one to three decimal digits ("024" is 24), at most `max`. -1 otherwise
 * (empty, a sign, spaces, other characters, or over `max`).
 */
export function parsePrefixLength(text: string, start: number, end: number, max: number): number {
  if (end <= start || end - start > 3) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v <= max ? v : -1;
}

// ---------------------------------------------------------------------------------------------------------------
// Prefixes on bytes.

/** The mask of byte `i` of a `prefix`-bit network: 0xff inside the prefix, 0 after it, leading bits on the edge. */
export function prefixByteMask(prefix: number, i: number): number {
  const keep = prefix - 8 * i;
  if (keep <= 0) return 0;
  return keep >= 8 ? 0xff : (0xff << (8 - keep)) & 0xff;
}

/** Clear the host bits of a `prefix`-bit network in `bytes` (4 of them for IPv4, 16 for IPv6); true if any were set. */
export function maskHostBits(bytes: Uint8Array, prefix: number, family: 4 | 6): boolean {
  let changed = false;
  for (let i = 0, n = family === 4 ? 4 : 16; i < n; i++) {
    const masked = bytes[i] & prefixByteMask(prefix, i);
    if (masked !== bytes[i]) {
      bytes[i] = masked;
      changed = true;
    }
  }
  return changed;
}

/**
 * Address bytes as text: dotted quad; IPv6 in lower-case hex with the longest run (two or more, the first of equal
 * ones) of zero groups shortened to "::", as RFC 5952 does. ::ffff:a.b.c.d comes out in hex (::ffff:c000:201).
 */
export function formatIp(bytes: Uint8Array, family: 4 | 6): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses and prefixes as 32-bit words, for matching.

/** An address as four unsigned 32-bit words, most significant first. IPv4 uses w0 only (w1..w3 are 0). */
export interface ParsedIp {
  family: 4 | 6;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

/** A CIDR prefix: an address plus a mask per word. */
export interface ParsedNet extends ParsedIp {
  m0: number;
  m1: number;
  m2: number;
  m3: number;
  /** The prefix as configured, for messages. */
  text: string;
}

const scratch = new Uint8Array(16);

function word(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/**
 * parseIp without allocating: fills `out` and returns true, or returns false (`out` unspecified) when `text` is not
 * an address.
 */
export function parseIpWords(text: string, out: ParsedIp): boolean {
  const end = addressEnd(text);
  if (end < 0) return false;
  const family = parseIpInto(text, scratch, 0, end);
  if (family === 0) return false;
  if (family === 4 || isV4Mapped(scratch)) {
    out.family = 4;
    out.w0 = word(scratch, family === 4 ? 0 : 12);
    out.w1 = out.w2 = out.w3 = 0;
    return true;
  }
  out.family = 6;
  out.w0 = word(scratch, 0);
  out.w1 = word(scratch, 4);
  out.w2 = word(scratch, 8);
  out.w3 = word(scratch, 12);
  return true;
}

/**
 * Parses an IPv4 or IPv6 address; a zone id is ignored. IPv4-mapped IPv6 (::ffff:a.b.c.d, in either notation) is
 * returned as IPv4, as a dual-stack socket reports IPv4 clients that way. Returns null for anything else.
 */
export function parseIp(text: string): ParsedIp | null {
  const ip: ParsedIp = { family: 4, w0: 0, w1: 0, w2: 0, w3: 0 };
  return parseIpWords(text, ip) ? ip : null;
}

function wordMask(bits: number, word: number): number {
  const b = bits - 32 * word;
  if (b <= 0) return 0;
  if (b >= 32) return 0xffffffff;
  return (0xffffffff << (32 - b)) >>> 0;
}

/**
 * Parses "192.0.2.0/24", "2001:db8::/32" or a bare address (a /32 or /128); spaces around either part are ignored,
 * and so is a zone id. Host bits may be set; they are masked away when matching. An IPv4-mapped prefix
 * (::ffff:192.0.2.0/120) is the IPv4 prefix 192.0.2.0/24 (its length less 96); a length of 32 or less after a
 * mapped address is taken as an IPv4 length as it stands (::ffff:192.0.2.0/24 is 192.0.2.0/24). Returns null for a
 * malformed prefix.
 */
export function parseNet(text: string): ParsedNet | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text.trim() : text.slice(0, slash).trim());
  if (ip === null) return null;
  const max = ip.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1).trim();
    bits = parsePrefixLength(b, 0, b.length, 128);
    if (bits < 0) return null;
    if (bits > max) {
      // ::ffff:192.0.2.0/120 parsed as IPv4: take the IPv4 part of its length.
      if (text.indexOf(':') >= 0 && bits >= 96) bits -= 96;
      else return null;
    }
  }
  return {
    family: ip.family,
    w0: ip.w0,
    w1: ip.w1,
    w2: ip.w2,
    w3: ip.w3,
    m0: wordMask(bits, 0),
    m1: ip.family === 4 ? 0 : wordMask(bits, 1),
    m2: ip.family === 4 ? 0 : wordMask(bits, 2),
    m3: ip.family === 4 ? 0 : wordMask(bits, 3),
    text,
  };
}

/** True if `ip` lies within `net`. Families must match: an IPv6 prefix never holds an IPv4 address. */
export function netContains(net: ParsedNet, ip: ParsedIp): boolean {
  return (
    net.family === ip.family &&
    ((net.w0 ^ ip.w0) & net.m0) === 0 &&
    ((net.w1 ^ ip.w1) & net.m1) === 0 &&
    ((net.w2 ^ ip.w2) & net.m2) === 0 &&
    ((net.w3 ^ ip.w3) & net.m3) === 0
  );
}

/** Parses a list of prefixes, dropping malformed ones (a bad row must not break every download). */
export function parseNets(prefixes: readonly string[]): ParsedNet[] {
  const out: ParsedNet[] = [];
  for (const p of prefixes) {
    const n = parseNet(p);
    if (n !== null) out.push(n);
  }
  return out;
}
