// What a client asks for in the query string of a download URL: overrides of its location, mirrors to avoid,
// and the kind of answer. Pure; never throws on junk (a bad value is ignored, the download still works).
import { continentOf } from '../core/continents.ts';
import { isIp } from '../core/geoip.ts';

export type AnswerFormat = 'redirect' | 'json';

export interface ClientOverrides {
  country: string | null;
  asn: number | null;
  ip: string | null;
}

export interface RequestQuery {
  format: AnswerFormat;
  /** ?https=1: send to an https URL even though the request came over http. */
  https: boolean;
  /** ?avoid=cc,cc: leave out mirrors in these countries. */
  avoid: string[];
  overrides: ClientOverrides;
}

const COUNTRY = /^[A-Za-z]{2}$/;

export function parseQuery(query: string, accept = ''): RequestQuery {
  const params = new URLSearchParams(query);
  const country = params.get('country');
  const as = params.get('as')?.replace(/^as/i, '') ?? null;
  const ip = params.get('ip');
  const avoid = (params.get('avoid') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => COUNTRY.test(c))
    .map((c) => c.toUpperCase());
  const json = params.has('json') || /^application\/json\b/.test(accept);
  return {
    format: json ? 'json' : 'redirect',
    https: params.get('https') === '1',
    avoid,
    overrides: {
      country: country && COUNTRY.test(country) && continentOf(country.toUpperCase()) ? country.toUpperCase() : null,
      asn: as && /^\d{1,10}$/.test(as) && Number(as) <= 4294967295 ? Number(as) : null,
      ip: ip && ip.length <= 64 && isIp(ip) ? ip : null,
    },
  };
}

export function hasOverrides(o: ClientOverrides): boolean {
  return o.country !== null || o.asn !== null || o.ip !== null;
}
