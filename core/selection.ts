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
//     are fallbacks (Link headers, Metalink, file page), and a stable order makes them testable; the load spread
//     comes from the first pick.

// The gates, tiers and restriction flags of one mirror live in selection-gates.ts, the packed prefix tables in
// selection-prefixes.ts; this file runs them over the holders and ranks what is left.

import { haversineKm } from './distance.ts';
import { encodePath, joinEncoded } from './urls.ts';
import type { ClientLocation, Mirror, Scheme } from './types.ts';
import { T_AS, T_COUNTRY, T_ELSEWHERE, T_PREFIX, baseFor, gateReason, restrictionReason, tierOf, type RequestFacts } from './selection-gates.ts';
import { prepared, unpackClientIp, type ClientWords } from './selection-prefixes.ts';

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

/** Step 1 and 2: every holder excluded with its reason, or a candidate with its tier. */
interface Classified {
  candidates: Candidate[];
  excluded: ExcludedMirror[];
  /** The winning tier (T_ELSEWHERE + 1 when there is no candidate). */
  bestTier: number;
  /** Candidates per tier. */
  perTier: number[];
}

function classify(holders: readonly Mirror[], f: RequestFacts): Classified {
  const excluded: ExcludedMirror[] = [];
  const candidates: Candidate[] = [];
  // The client address is parsed only when a holder has prefixes (0: not yet, 1: parsed, -1: unparseable).
  let ipState = 0;
  const words: ClientWords = { f: 0, w0: 0, w1: 0, w2: 0, w3: 0 };
  let bestTier = T_ELSEWHERE + 1;
  const perTier = [0, 0, 0, 0, 0];

  for (let i = 0; i < holders.length; i++) {
    const m = holders[i];
    const p = prepared(m);
    const base = baseFor(m, p, f.scheme);
    const reason = gateReason(m, base, f);
    if (reason !== null) {
      excluded.push({ mirror: m, reason });
      continue;
    }
    if (p.nets.length > 0 && ipState === 0) ipState = unpackClientIp(f.client.ip, words);
    const t = tierOf(m, p, f, ipState === 1 ? words : null);
    const tier = t >> 1;
    if (tier > T_PREFIX && (m.prefixOnly || m.asOnly || m.countryOnly || m.continentOnly)) {
      const r = restrictionReason(m, tier, f.client);
      if (r !== null) {
        excluded.push({ mirror: m, reason: r });
        continue;
      }
    }
    candidates.push({ mirror: m, base: base as string, tier, sub: t & 1, index: i, dist: -1, share: 0 });
    perTier[tier]++;
    if (tier < bestTier) bestTier = tier;
  }
  return { candidates, excluded, bestTier, perTier };
}

/**
 * Distances of the candidates in tiers bestTier..lastTier (the others cannot reach the ranked list); returns the
 * nearest distance in the winning tier, Infinity when the client or those mirrors have no coordinates.
 */
function measureDistances(candidates: Candidate[], client: ClientLocation, bestTier: number, lastTier: number): number {
  const lat = client.lat;
  const lng = client.lng;
  let nearest = Infinity;
  if (lat === null || lng === null || !Number.isFinite(lat) || !Number.isFinite(lng)) return nearest;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    const m = c.mirror;
    if (c.tier > lastTier || m.lat === null || m.lng === null) continue;
    const d = haversineKm(lat, lng, m.lat, m.lng);
    if (!Number.isFinite(d)) continue;
    c.dist = d;
    if (c.tier === bestTier && d < nearest) nearest = d;
  }
  return nearest;
}

/**
 * Step 3: the near set of the winning tier gets shares in proportion to its weights, and one of them is drawn.
 * Mirrors without coordinates count as near: an unlocated mirror (or a '**' CDN that has no single location) would
 * otherwise never get traffic from located clients.
 */
function drawNear(candidates: Candidate[], bestTier: number, nearest: number, options: SelectionOptions, random: () => number): Candidate {
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
  let r = random() * total;
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
  return chosen ?? (lastNear as Candidate); // r >= total through rounding or random() >= 1
}

/**
 * Step 4: the best `keep` candidates other than the chosen one, kept sorted by insertion (n × k with a small k beats
 * sorting all candidates when there are hundreds).
 */
function alternatives(candidates: Candidate[], chosen: Candidate, lastTier: number, keep: number): Candidate[] {
  const top: Candidate[] = [];
  if (keep <= 0) return top;
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
  return top;
}

export function selectMirrors(req: SelectionRequest): Selection {
  const client = req.client;
  const asn = client.asn;
  const facts: RequestFacts = {
    client,
    scheme: req.scheme,
    size: req.size,
    range: req.range === true,
    peerIds: asn !== null && req.peers !== undefined ? req.peers.get(asn) : undefined,
    avoid: req.avoidCountries !== undefined && req.avoidCountries.length > 0 ? req.avoidCountries.map((c) => c.toUpperCase()) : null,
  };
  const { candidates, excluded, bestTier, perTier } = classify(req.holders, facts);
  if (candidates.length === 0) return { chosen: null, ranked: [], excluded };

  // Only the tiers that can reach the ranked list matter from here on: the winning one and the following ones
  // until maxRanked candidates are covered.
  const maxRanked = Math.max(1, Math.floor(req.options.maxAlternatives ?? DEFAULT_MAX_ALTERNATIVES));
  let lastTier = bestTier;
  for (let covered = perTier[bestTier]; covered < maxRanked && lastTier < T_ELSEWHERE; ) covered += perTier[++lastTier];

  const nearest = measureDistances(candidates, client, bestTier, lastTier);
  const chosen = drawNear(candidates, bestTier, nearest, req.options, req.random);
  const top = alternatives(candidates, chosen, lastTier, maxRanked - 1);

  const encoded = encodePath(req.path);
  const ranked: RankedMirror[] = new Array(1 + top.length);
  ranked[0] = toRanked(chosen, encoded);
  for (let i = 0; i < top.length; i++) ranked[i + 1] = toRanked(top[i], encoded);
  return { chosen: ranked[0], ranked, excluded };
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
