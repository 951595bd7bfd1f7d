// The per-mirror rules of selection: why a holder cannot serve this request at all (the gates, in order), which
// tier it lands in for this client, and whether its restriction flags allow that tier. Pure; selection.ts runs
// them once per holder and request.
import { inNets, type ClientWords, type Prepared } from './selection-prefixes.ts';
import type { ClientLocation, Mirror, Scheme } from './types.ts';

// Tier ranks as numbers for the hot loop (their names: TIERS in selection.ts).
export const T_PREFIX = 0;
export const T_AS = 1;
export const T_COUNTRY = 2;
export const T_CONTINENT = 3;
export const T_ELSEWHERE = 4;

/** Per-request facts the gates and tiers read, computed once per request. */
export interface RequestFacts {
  client: ClientLocation;
  scheme: Scheme;
  size: number;
  range: boolean;
  /** Mirror ids preferred as AS peers of the client's AS, if any. */
  peerIds: readonly number[] | undefined;
  /** ?avoid= countries, upper case; null when none. */
  avoid: string[] | null;
}

/** The base URL a mirror is reached at for this scheme: https only over https; http, else https (an upgrade). */
export function baseFor(m: Mirror, p: Prepared, scheme: Scheme): string | null {
  if (scheme === 'https') return p.httpsOk ? m.httpsUrl : null;
  return p.httpOk ? m.httpUrl : p.httpsOk ? m.httpsUrl : null;
}

function familyReason(m: Mirror, family: 4 | 6): string | null {
  if (family === 6) return m.ipv6 ? null : m.ipv4 ? 'IPv4 only' : 'no IPv6';
  return m.ipv4 ? null : m.ipv6 ? 'IPv6 only' : 'no IPv4';
}

/**
 * Why a holder cannot serve this request, the first gate it fails: disabled → down → score 0 → size limit → Range
 * support → IP family → scheme → excluded countries → ?avoid= countries. null when it passes them all.
 */
export function gateReason(m: Mirror, base: string | null, f: RequestFacts): string | null {
  const country = f.client.country;
  if (!m.enabled) return 'disabled';
  if (m.health === 'down') return m.healthReason ? `down: ${m.healthReason}` : 'down';
  if (!(m.score > 0)) return 'score 0';
  if (m.fileMaxSize !== null && f.size > m.fileMaxSize) return `file larger than limit (${m.fileMaxSize} bytes)`;
  if (f.range && !m.acceptsRanges) return 'no range support';
  if (f.client.family === 6 ? !m.ipv6 : !m.ipv4) return familyReason(m, f.client.family);
  if (base === null) return f.scheme === 'https' ? 'no https URL' : 'no http URL';
  if (m.excludedCountries.length > 0 && (country === null || m.excludedCountries.includes(country))) {
    // Excluded countries are usually a legal matter: a client we cannot place might be in one of them.
    return country === null ? 'excluded countries: client country unknown' : `excluded country: ${country}`;
  }
  if (f.avoid !== null && f.avoid.includes(m.country)) return `avoided country: ${m.country}`;
  return null;
}

/**
 * The best tier a mirror qualifies for, times 2, plus 1 for an indirect match (AS peer, other countries): one number,
 * so the hot loop allocates nothing. `words` is the client address, or null when it did not parse.
 */
export function tierOf(m: Mirror, p: Prepared, f: RequestFacts, words: ClientWords | null): number {
  const c = f.client;
  if (words !== null && p.nets.length > 0 && inNets(p.nets, words)) return T_PREFIX * 2;
  if (c.asn !== null && m.asn === c.asn) return T_AS * 2;
  if (f.peerIds !== undefined && f.peerIds.includes(m.id)) return T_AS * 2 + 1;
  if (c.country !== null && (m.country === c.country || m.country === '**')) return T_COUNTRY * 2;
  if (c.country !== null && m.otherCountries.length > 0 && m.otherCountries.includes(c.country)) return T_COUNTRY * 2 + 1;
  if (c.continent !== null && m.continent === c.continent) return T_CONTINENT * 2;
  return T_ELSEWHERE * 2;
}

/** Why a mirror whose restriction flags forbid tier `tier` is left out; null when allowed. */
export function restrictionReason(m: Mirror, tier: number, client: ClientLocation): string | null {
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
