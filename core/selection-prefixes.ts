// What selection derives from a mirror's fields once per mirror object (its prefixes packed for matching, which
// base URLs are usable), and the client address unpacked once per request. Matching a prefix is then a few
// integer operations. Pure; the caches are keyed by the mirror objects the sidecar's mirror table hands out.
import { parseIpWords, parseNets, type ParsedIp, type ParsedNet } from './ip.ts';
import { isSafeBaseUrl } from './urls.ts';
import type { Mirror } from './types.ts';

/** Ints per prefix in a packed prefix table: family, w0..w3, m0..m3 (int32, so all fields stay small integers). */
const NET_STRIDE = 9;

function packNets(nets: readonly ParsedNet[]): Int32Array {
  const out = new Int32Array(nets.length * NET_STRIDE);
  for (let i = 0; i < nets.length; i++) {
    const n = nets[i];
    out.set([n.family, n.w0, n.w1, n.w2, n.w3, n.m0, n.m1, n.m2, n.m3], i * NET_STRIDE);
  }
  return out;
}

/** What selection derives from a mirror's fields, once per mirror object instead of once per request. */
export interface Prepared {
  // The fields it was derived from: a mirror whose prefixes array or URLs are replaced on the same object is
  // re-prepared. (An array mutated in place is not seen: the mirror cache replaces, it does not push.)
  prefixes: string[];
  httpUrl: string | null;
  httpsUrl: string | null;
  nets: Int32Array;
  httpOk: boolean;
  httpsOk: boolean;
}

// Keyed by the mirror object: the sidecar's mirror cache hands out the same objects until it reloads them, and a
// WeakMap lets replaced objects go.
const preparedCache = new WeakMap<Mirror, Prepared>();

export function prepared(m: Mirror): Prepared {
  const p = preparedCache.get(m);
  if (p !== undefined && p.prefixes === m.prefixes && p.httpUrl === m.httpUrl && p.httpsUrl === m.httpsUrl) return p;
  const fresh: Prepared = {
    prefixes: m.prefixes,
    httpUrl: m.httpUrl,
    httpsUrl: m.httpsUrl,
    nets: packNets(parseNets(m.prefixes)),
    httpOk: isSafeBaseUrl(m.httpUrl),
    httpsOk: isSafeBaseUrl(m.httpsUrl),
  };
  preparedCache.set(m, fresh);
  return fresh;
}

/** The client address, unpacked into int32 words for matching against packed prefix tables. */
export interface ClientWords {
  f: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

export function inNets(nets: Int32Array, c: ClientWords): boolean {
  for (let i = 0; i < nets.length; i += NET_STRIDE) {
    if (
      nets[i] === c.f &&
      ((nets[i + 1] ^ c.w0) & nets[i + 5]) === 0 &&
      ((nets[i + 2] ^ c.w1) & nets[i + 6]) === 0 &&
      ((nets[i + 3] ^ c.w2) & nets[i + 7]) === 0 &&
      ((nets[i + 4] ^ c.w3) & nets[i + 8]) === 0
    ) {
      return true;
    }
  }
  return false;
}

/** Scratch for unpackClientIp. */
const clientIp: ParsedIp = { family: 4, w0: 0, w1: 0, w2: 0, w3: 0 };

/** Parses the client address into `out`; 1 if it parsed, -1 if not (then no prefix can match). */
export function unpackClientIp(ip: string, out: ClientWords): number {
  if (!ip || !parseIpWords(ip, clientIp)) return -1;
  out.f = clientIp.family;
  out.w0 = clientIp.w0 | 0;
  out.w1 = clientIp.w1 | 0;
  out.w2 = clientIp.w2 | 0;
  out.w3 = clientIp.w3 | 0;
  return 1;
}
