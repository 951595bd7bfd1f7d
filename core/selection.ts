// Mirror selection: which mirror gets this download, which ones are alternatives, and why the others are left out.
//
// Pure: plain data in, plain data out, randomness injected. The sidecar's redirect, its JSON answer and the mirror
// list page all render the one Selection this returns, so they never disagree.
//
// Order of the rules, for one request:
//  1. Each holder either passes every gate or is excluded with the reason of the first gate it fails:
//     disabled → down → score 0 → size limit → Range support → IP family → scheme → excluded countries →
//     ?avoid= countries → restriction flags (prefix/AS/country/continent only, against the tier it would land in).
//  2. Every candidate gets a tier: prefix → AS (own ASN, or AS peer) → country (own country, '**', or other
//     countries) → continent → elsewhere. The first non-empty tier wins.
//  3. In the winning tier, mirrors within distanceRange × the nearest distance (never less than nearFloorKm) are
//     "near" and share the first place in proportion to their weight; the farther ones get share 0.
//     weight = score, doubled for a direct match (own country or '**' in the country tier, own ASN in the AS tier)
//     over an indirect one (listed in otherCountries, AS peer): Mirrorbits' "first-listed country counts double".
//  4. Ranked list: the drawn mirror, then every other candidate sorted by (tier, direct before indirect, distance
//     with unknown last, input order), cut at maxAlternatives. The sort is deterministic on purpose: alternatives
//     are fallbacks (Link headers, Metalink, mirror list), and a stable order makes them testable; the load spread
//     comes from the first pick.

import { haversineKm } from './distance.ts';
import { encodePath, isSafeBaseUrl, joinEncoded } from './urls.ts';
import type { ClientLocation, Mirror, Scheme } from './types.ts';
import { parseIpWords, parseNets, type ParsedIp, type ParsedNet } from './ip.ts';

export type Tier = 'prefix' | 'as' | 'country' | 'continent' | 'elsewhere';

/** Tiers in order of preference; a tier's index is its rank. */
export const TIERS: readonly Tier[] = ['prefix', 'as', 'country', 'continent', 'elsewhere'];

export interface SelectionOptions {
  /** Mirrors within this factor of the nearest mirror's distance share the load (Mirrorbits: 1.5). Values < 1 act as 1. */
  distanceRange: number;
  /** Length cap of the ranked list, the chosen mirror included. Default 10; at least 1. */
  maxAlternatives?: number;
  /**
   * Distance in km under which every mirror counts as near, whatever the nearest one's distance: a mirror in the
   * client's own city (0 km) must not push one 40 km away out of rotation. Default 100.
   */
  nearFloorKm?: number;
}

export interface SelectionRequest {
  /** Origin path, starts with '/', NOT percent-encoded. */
  path: string;
  /** Origin file size in bytes. */
  size: number;
  /** The mirrors whose id is in the file row (resolved by the caller), in any state. */
  holders: Mirror[];
  /** Fields may be null (no GeoIP data). */
  client: ClientLocation;
  /** Scheme the client wants ('https' if the request came over https or ?https=1). */
  scheme: Scheme;
  /** The request has a Range header: mirrors with acceptsRanges false are left out. */
  range?: boolean;
  /** Client ASN -> mirror ids preferred as AS peers. */
  peers?: ReadonlyMap<number, readonly number[]>;
  /** ?avoid=cc,cc: mirrors located in these countries are left out. */
  avoidCountries?: readonly string[];
  options: SelectionOptions;
  /** [0,1); tests pass a seeded PRNG. */
  random: () => number;
}

export interface RankedMirror {
  mirror: Mirror;
  /** Full URL of the file on this mirror, percent-encoded. */
  url: string;
  tier: Tier;
  /** Great-circle distance client → mirror, null when either side has no coordinates. */
  distanceKm: number | null;
  /**
   * Probability of being chosen first, 0..1. Only mirrors of the winning tier within the distance range have a
   * share; farther ones and those of lower tiers (which cannot be chosen first for this request) have 0.
   */
  share: number;
}

export interface ExcludedMirror {
  mirror: Mirror;
  reason: string;
}

/**
 * ranked[0] === chosen. Every holder is in `ranked` or in `excluded`, except candidates cut by maxAlternatives,
 * which are in neither: holders.length - ranked.length - excluded.length of them.
 */
export interface Selection {
  chosen: RankedMirror | null;
  ranked: RankedMirror[];
  excluded: ExcludedMirror[];
}

const DEFAULT_MAX_ALTERNATIVES = 10;
const DEFAULT_NEAR_FLOOR_KM = 100;

// Tier ranks as numbers for the hot loop.
const T_PREFIX = 0;
const T_AS = 1;
const T_COUNTRY = 2;
const T_CONTINENT = 3;
const T_ELSEWHERE = 4;

// ---------------------------------------------------------------------------------------------------------------
// Prefix tables. Each mirror's prefixes are parsed once per mirror object (core/ip.ts) and packed into an Int32Array;
// the client address is parsed once per request, and matching is a few integer operations.

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
interface Prepared {
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

function prepared(m: Mirror): Prepared {
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
interface ClientWords {
  f: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

function inNets(nets: Int32Array, c: ClientWords): boolean {
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

// ---------------------------------------------------------------------------------------------------------------
// Selection.

interface Candidate {
  mirror: Mirror;
  base: string;
  tier: number;
  /** 0: direct match (own ASN, own country or '**'), 1: indirect (AS peer, other countries). */
  sub: number;
  /** Input order, the final tie-break. */
  index: number;
  /** km, or -1 when unknown. */
  dist: number;
  share: number;
}

/** Sort order of alternatives: tier, direct before indirect, nearer first (unknown last), input order. */
function before(a: Candidate, b: Candidate): boolean {
  if (a.tier !== b.tier) return a.tier < b.tier;
  if (a.sub !== b.sub) return a.sub < b.sub;
  if (a.dist !== b.dist) {
    if (a.dist < 0) return false;
    if (b.dist < 0) return true;
    return a.dist < b.dist;
  }
  return a.index < b.index;
}

function familyReason(m: Mirror, family: 4 | 6): string | null {
  if (family === 6) return m.ipv6 ? null : m.ipv4 ? 'IPv4 only' : 'no IPv6';
  return m.ipv4 ? null : m.ipv6 ? 'IPv6 only' : 'no IPv4';
}

/** Why a mirror whose restriction flags forbid tier `tier` is left out; null when allowed. */
function restrictionReason(m: Mirror, tier: number, client: ClientLocation): string | null {
  if (m.prefixOnly) return tier <= T_PREFIX ? null : 'prefix only';
  if (m.asOnly) {
    if (tier <= T_AS) return null;
    return (m.asn === null ? 'AS only' : `AS only: ${m.asn}`) + (client.asn === null ? ' (client AS unknown)' : '');
  }
  if (m.countryOnly) {
    if (tier <= T_COUNTRY) return null;
    const list = m.otherCountries.length === 0 ? m.country : [m.country, ...m.otherCountries].join(',');
    return `country only: ${list}` + (client.country === null ? ' (client country unknown)' : '');
  }
  if (m.continentOnly) {
    if (tier <= T_CONTINENT) return null;
    return `continent only: ${m.continent}` + (client.continent === null ? ' (client continent unknown)' : '');
  }
  return null;
}

export function selectMirrors(req: SelectionRequest): Selection {
  const { holders, client, options } = req;
  const excluded: ExcludedMirror[] = [];
  const candidates: Candidate[] = [];

  // Per-request facts, computed once.
  const family = client.family;
  const scheme = req.scheme;
  const asn = client.asn;
  const country = client.country;
  const continent = client.continent;
  const peerIds = asn !== null && req.peers !== undefined ? req.peers.get(asn) : undefined;
  const avoid =
    req.avoidCountries !== undefined && req.avoidCountries.length > 0
      ? req.avoidCountries.map((c) => c.toUpperCase())
      : null;
  // The client address is parsed only when a holder has prefixes (0: not yet, 1: parsed, -1: unparseable).
  let ipState = 0;
  const words: ClientWords = { f: 0, w0: 0, w1: 0, w2: 0, w3: 0 };
  let bestTier = T_ELSEWHERE + 1;
  const perTier = [0, 0, 0, 0, 0];

  for (let i = 0; i < holders.length; i++) {
    const m = holders[i];
    const p = prepared(m);
    let reason: string | null = null;
    // Scheme rule, as baseUrlFor in urls.ts: https only over https; http, else https (an upgrade, never a downgrade).
    const base =
      scheme === 'https' ? (p.httpsOk ? m.httpsUrl : null) : p.httpOk ? m.httpUrl : p.httpsOk ? m.httpsUrl : null;

    if (!m.enabled) reason = 'disabled';
    else if (m.health === 'down') reason = m.healthReason ? `down: ${m.healthReason}` : 'down';
    else if (!(m.score > 0)) reason = 'score 0';
    else if (m.fileMaxSize !== null && req.size > m.fileMaxSize) reason = `file larger than limit (${m.fileMaxSize} bytes)`;
    else if (req.range === true && !m.acceptsRanges) reason = 'no range support';
    else if (family === 6 ? !m.ipv6 : !m.ipv4) reason = familyReason(m, family);
    else if (base === null) reason = scheme === 'https' ? 'no https URL' : 'no http URL';
    else if (m.excludedCountries.length > 0 && (country === null || m.excludedCountries.includes(country))) {
      // Excluded countries are usually a legal matter: a client we cannot place might be in one of them.
      reason = country === null ? 'excluded countries: client country unknown' : `excluded country: ${country}`;
    } else if (avoid !== null && avoid.includes(m.country)) reason = `avoided country: ${m.country}`;

    if (reason !== null) {
      excluded.push({ mirror: m, reason });
      continue;
    }

    // Tier: the best one this mirror qualifies for.
    let tier = T_ELSEWHERE;
    let sub = 0;
    if (p.nets.length > 0 && ipState === 0) ipState = unpackClientIp(client.ip, words);
    if (ipState === 1 && p.nets.length > 0 && inNets(p.nets, words)) {
      tier = T_PREFIX;
    } else if (asn !== null && m.asn === asn) {
      tier = T_AS;
    } else if (peerIds !== undefined && peerIds.includes(m.id)) {
      tier = T_AS;
      sub = 1;
    } else if (country !== null && (m.country === country || m.country === '**')) {
      tier = T_COUNTRY;
    } else if (country !== null && m.otherCountries.length > 0 && m.otherCountries.includes(country)) {
      tier = T_COUNTRY;
      sub = 1;
    } else if (continent !== null && m.continent === continent) {
      tier = T_CONTINENT;
    }

    if (tier > T_PREFIX && (m.prefixOnly || m.asOnly || m.countryOnly || m.continentOnly)) {
      const r = restrictionReason(m, tier, client);
      if (r !== null) {
        excluded.push({ mirror: m, reason: r });
        continue;
      }
    }

    candidates.push({ mirror: m, base: base as string, tier, sub, index: i, dist: -1, share: 0 });
    perTier[tier]++;
    if (tier < bestTier) bestTier = tier;
  }

  if (candidates.length === 0) return { chosen: null, ranked: [], excluded };

  // Only the tiers that can reach the ranked list matter from here on: the winning one and the following ones
  // until maxRanked candidates are covered. Distances are computed for those only.
  const maxRanked = Math.max(1, Math.floor(options.maxAlternatives ?? DEFAULT_MAX_ALTERNATIVES));
  let lastTier = bestTier;
  for (let covered = perTier[bestTier]; covered < maxRanked && lastTier < T_ELSEWHERE; ) covered += perTier[++lastTier];

  const clientLat = client.lat;
  const clientLng = client.lng;
  let nearest = Infinity;
  if (clientLat !== null && clientLng !== null && Number.isFinite(clientLat) && Number.isFinite(clientLng)) {
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      const m = c.mirror;
      if (c.tier > lastTier || m.lat === null || m.lng === null) continue;
      const d = haversineKm(clientLat, clientLng, m.lat, m.lng);
      if (!Number.isFinite(d)) continue;
      c.dist = d;
      if (c.tier === bestTier && d < nearest) nearest = d;
    }
  }

  // Near set of the winning tier. Mirrors without coordinates count as near: an unlocated mirror (or a '**' CDN
  // that has no single location) would otherwise never get traffic from located clients.
  const range = options.distanceRange >= 1 ? options.distanceRange : 1;
  const floor = options.nearFloorKm !== undefined && options.nearFloorKm >= 0 ? options.nearFloorKm : DEFAULT_NEAR_FLOOR_KM;
  const limit = nearest === Infinity ? Infinity : Math.max(nearest * range, floor);

  let total = 0;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    if (c.tier !== bestTier || c.dist > limit) continue;
    const w = c.sub === 0 && (bestTier === T_AS || bestTier === T_COUNTRY) ? c.mirror.score * 2 : c.mirror.score;
    c.share = w; // weight for now, normalised below
    total += w;
  }

  // Weighted draw: the first near mirror whose cumulative weight passes r.
  let r = req.random() * total;
  if (!(r >= 0)) r = 0; // a broken random source (NaN, negative) must not leave us without a choice
  let chosen: Candidate | null = null;
  let lastNear: Candidate | null = null;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    if (c.share === 0) continue;
    lastNear = c;
    if (chosen === null) {
      r -= c.share;
      if (r < 0) chosen = c;
    }
    c.share /= total;
  }
  if (chosen === null) chosen = lastNear as Candidate; // r >= total through rounding or random() >= 1

  // Alternatives: the best (maxRanked - 1) others, kept sorted by insertion (n × k with a small k beats sorting all
  // candidates when there are hundreds).
  const keep = maxRanked - 1;
  const top: Candidate[] = [];
  if (keep > 0) {
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      if (c === chosen || c.tier > lastTier) continue;
      if (top.length === keep && !before(c, top[keep - 1])) continue;
      let j = top.length < keep ? top.length : keep - 1;
      while (j > 0 && before(c, top[j - 1])) {
        top[j] = top[j - 1];
        j--;
      }
      top[j] = c;
    }
  }

  const encoded = encodePath(req.path);
  const ranked: RankedMirror[] = new Array(1 + top.length);
  ranked[0] = toRanked(chosen, encoded);
  for (let i = 0; i < top.length; i++) ranked[i + 1] = toRanked(top[i], encoded);
  return { chosen: ranked[0], ranked, excluded };
}

/** Scratch for unpackClientIp. */
const clientIp: ParsedIp = { family: 4, w0: 0, w1: 0, w2: 0, w3: 0 };

/** Parses the client address into `out`; 1 if it parsed, -1 if not (then no prefix can match). */
function unpackClientIp(ip: string, out: ClientWords): number {
  if (!ip || !parseIpWords(ip, clientIp)) return -1;
  out.f = clientIp.family;
  out.w0 = clientIp.w0 | 0;
  out.w1 = clientIp.w1 | 0;
  out.w2 = clientIp.w2 | 0;
  out.w3 = clientIp.w3 | 0;
  return 1;
}

function toRanked(c: Candidate, encodedPath: string): RankedMirror {
  return {
    mirror: c.mirror,
    url: joinEncoded(c.base, encodedPath),
    tier: TIERS[c.tier],
    distanceKm: c.dist < 0 ? null : c.dist,
    share: c.share,
  };
}
