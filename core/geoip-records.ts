// The two city record layouts (MaxMind GeoLite2/GeoIP2 and DB-IP / ip-location-db flat records) and the
// GeoLite2-ASN layout, reduced to what the redirector uses. Pure.
import { continentOf } from './continents.ts';

export type GeoRecord = Record<string, unknown>;

/** What a city record says, reduced to what the redirector uses. */
export interface CityInfo {
  country: string | null;
  continent: string | null;
  lat: number | null;
  lng: number | null;
  city: string | null;
}
export interface AsnInfo {
  asn: number;
  asOrg: string | null;
}

function sub(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null ? (o as GeoRecord)[key] : undefined;
}

function coordinate(v: unknown, limit: number): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= -limit && v <= limit ? v : null;
}

// Codes that are not countries: DB-IP/MaxMind "unknown" markers, and MaxMind's legacy region codes.
const NOT_COUNTRIES: Record<string, string | null> = { ZZ: null, XX: null, EU: 'EU', AP: 'AS', A1: null, A2: null, O1: null };

/** Read a city record of either layout. Null if it says nothing useful (no country, continent or coordinates). */
export function extractCity(rec: GeoRecord): CityInfo | null {
  let cc: unknown;
  let continent: unknown;
  let lat: unknown;
  let lng: unknown;
  let city: unknown;
  if ('country_code' in rec || 'latitude' in rec) {
    cc = rec.country_code;
    continent = rec.continent_code;
    lat = rec.latitude;
    lng = rec.longitude;
    city = rec.city;
  } else {
    cc = sub(rec.country, 'iso_code') ?? sub(rec.registered_country, 'iso_code');
    continent = sub(rec.continent, 'code');
    const location = rec.location;
    lat = sub(location, 'latitude');
    lng = sub(location, 'longitude');
    city = sub(sub(rec.city, 'names'), 'en');
  }
  let country: string | null = typeof cc === 'string' && cc.length === 2 ? cc.toUpperCase() : null;
  let cont: string | null = typeof continent === 'string' && continent.length === 2 ? continent.toUpperCase() : null;
  if (country !== null && country in NOT_COUNTRIES) {
    cont = cont ?? NOT_COUNTRIES[country];
    country = null;
  }
  if (cont === null && country !== null) cont = continentOf(country);
  let la = coordinate(lat, 90);
  let lo = coordinate(lng, 180);
  if (la === null || lo === null) la = lo = null;
  if (country === null && cont === null && la === null) return null;
  return { country, continent: cont, lat: la, lng: lo, city: typeof city === 'string' && city !== '' ? city : null };
}

/** Read a GeoLite2-ASN layout record. */
export function extractAsn(rec: GeoRecord): AsnInfo | null {
  const n = rec.autonomous_system_number;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) return null;
  const org = rec.autonomous_system_organization;
  return { asn: n, asOrg: typeof org === 'string' && org !== '' ? org : null };
}
