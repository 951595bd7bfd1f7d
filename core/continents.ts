// Country → continent, for GeoIP records that carry no continent (DB-IP flat records) and for mirror data.
// Source: the countries-list package, with MaxMind's answer where a transcontinental country differs (see below),
// so that a database switch between MaxMind and DB-IP does not move clients between continent tiers.
import { countries, continents } from 'countries-list';
import type { ContinentCode, CountryCode } from './types.ts';

export const CONTINENT_CODES: readonly ContinentCode[] = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

/** Continent code → English name ("EU" → "Europe"). */
export const CONTINENT_NAMES: Readonly<Record<ContinentCode, string>> = Object.freeze({ ...continents });

// countries-list puts Russia in Asia (its first of AS/EU); MaxMind GeoIP2 and MirrorBrain say Europe, where most of
// its people and networks are. The other transcontinental ones (TR, KZ, AZ, GE: AS; EG: AF; DK: EU) already agree.
const OVERRIDES: Record<string, ContinentCode> = { RU: 'EU' };

const TABLE = new Map<string, ContinentCode>();
for (const [code, c] of Object.entries(countries)) TABLE.set(code, OVERRIDES[code] ?? c.continent);

/** Continent of an ISO 3166-1 alpha-2 code (case-insensitive); null for unknown codes such as "ZZ". */
export function continentOf(cc: CountryCode | null | undefined): ContinentCode | null {
  if (!cc || cc.length !== 2) return null;
  return TABLE.get(cc) ?? TABLE.get(cc.toUpperCase()) ?? null;
}

/** English name of a continent code, null if it is not one. */
export function continentName(code: ContinentCode | null | undefined): string | null {
  if (!code) return null;
  return (CONTINENT_NAMES as Record<string, string>)[code.toUpperCase()] ?? null;
}

/** English name of a country code, null if unknown. */
export function countryName(cc: CountryCode | null | undefined): string | null {
  if (!cc || cc.length !== 2) return null;
  const c = (countries as Record<string, { name: string }>)[cc.toUpperCase()];
  return c ? c.name : null;
}

/** True for a code countries-list knows (ISO 3166-1 alpha-2 plus a few user-assigned ones such as XK). */
export function isCountryCode(cc: string): boolean {
  return cc.length === 2 && TABLE.has(cc.toUpperCase());
}
