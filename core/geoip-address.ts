// Client addresses for GeoIP: which address to look up for a client, parsed once into bytes for the tree walk
// (core/geoip-db.ts). IPv4-mapped, 6to4 and Teredo clients are looked up by their IPv4 address. Pure.
import { addressEnd, isV4Mapped, parseIpInto } from './ip.ts';

export class InvalidIpError extends Error {
  constructor(readonly input: string) {
    super(`not an IP address: ${JSON.stringify(String(input)).slice(0, 80)}`);
    this.name = 'InvalidIpError';
  }
}

/** How the address used for the database lookup was derived from the client's address. */
export type IpVia = 'native' | 'ipv4-mapped' | '6to4' | 'teredo';

export interface NormalisedIp {
  /**
   * The client's address: zone id stripped; an IPv4-mapped IPv6 address (a v4 client on a dual-stack socket)
   * becomes plain dotted IPv4. Other IPv6 text is kept as given (not re-compressed).
   */
  ip: string;
  /** Family of the client's connection: 6 for 6to4 and Teredo clients, 4 for IPv4-mapped ones. */
  family: 4 | 6;
  /** Address to look up: the embedded IPv4 address for 6to4 and Teredo, else `ip`. */
  lookupIp: string;
  lookupFamily: 4 | 6;
  via: IpVia;
}

// Scratch state for the hot path: lookup() normalises into these instead of allocating a result object.
const bytes = new Uint8Array(16);
/** The address to look up, as bytes: IPv4 in [0..3], IPv6 in [0..15]. */
export const lookupBytes = new Uint8Array(16);
export const cur: NormalisedIp = { ip: '', family: 4, lookupIp: '', lookupFamily: 4, via: 'native' };

/** Copy an embedded IPv4 address into lookupBytes and return it as text. */
function dotted(b: Uint8Array, at: number, xor: number): string {
  for (let i = 0; i < 4; i++) lookupBytes[i] = b[at + i] ^ xor;
  return `${b[at] ^ xor}.${b[at + 1] ^ xor}.${b[at + 2] ^ xor}.${b[at + 3] ^ xor}`;
}

/** Normalise into `cur`; false when the text is not an address. */
export function classify(input: string): boolean {
  if (typeof input !== 'string' || input.length === 0 || input.length > 100) return false;
  // A zone id ("fe80::1%eth0") names the local interface, not a place: drop it. Only IPv6 has zones.
  const end = addressEnd(input);
  if (end < 0) return false;
  const family = parseIpInto(input, bytes, 0, end);
  if (family === 0) return false;
  const ip = end === input.length ? input : input.slice(0, end);
  cur.via = 'native';
  if (family === 4) {
    for (let i = 0; i < 4; i++) lookupBytes[i] = bytes[i];
    cur.ip = cur.lookupIp = ip;
    cur.family = cur.lookupFamily = 4;
    return true;
  }
  for (let i = 0; i < 16; i++) lookupBytes[i] = bytes[i];
  cur.ip = cur.lookupIp = ip;
  cur.family = cur.lookupFamily = 6;
  if (isV4Mapped(bytes)) {
    // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket: it is an IPv4 client.
    cur.ip = cur.lookupIp = dotted(bytes, 12, 0);
    cur.family = cur.lookupFamily = 4;
    cur.via = 'ipv4-mapped';
  } else if (bytes[0] === 0x20 && bytes[1] === 0x02) {
    // 6to4 (2002:AABB:CCDD::/48): the client's own public IPv4 address is bits 16..47. The databases place
    // 2002::/16 at the relay operator, which says nothing about the client.
    cur.lookupIp = dotted(bytes, 2, 0);
    cur.lookupFamily = 4;
    cur.via = '6to4';
  } else if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] === 0 && bytes[3] === 0) {
    // Teredo (2001:0::/32): the last 32 bits are the client's public (NAT) IPv4 address, inverted (RFC 4380).
    cur.lookupIp = dotted(bytes, 12, 0xff);
    cur.lookupFamily = 4;
    cur.via = 'teredo';
  }
  return true;
}

/**
 * Normalise a client address: strip an IPv6 zone id, turn ::ffff:a.b.c.d into a.b.c.d, and find the IPv4 address
 * to look up for 6to4 and Teredo clients. Throws InvalidIpError for anything that is not an IP address.
 */
export function normaliseIp(input: string): NormalisedIp {
  if (!classify(input)) throw new InvalidIpError(input);
  return { ...cur };
}

/** True when `input` is an IPv4 or IPv6 address (optionally with a zone id). */
export function isIp(input: string): boolean {
  return classify(input);
}
