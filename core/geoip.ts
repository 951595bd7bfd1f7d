// GeoIP for the redirector: where is this client (country, continent, coordinates) and in which AS.
//
// Reads MaxMind DB files with the `maxmind` package. City databases in two record layouts:
//   - MaxMind GeoLite2/GeoIP2 City (and Country): country.iso_code, continent.code, location.latitude/longitude,
//     city.names.en;
//   - DB-IP / ip-location-db flat records: country_code, latitude, longitude, city (continent derived from the
//     country, core/continents.ts).
// ASN databases in the GeoLite2-ASN layout (autonomous_system_number, autonomous_system_organization), which is
// also what core/geoip-build/asn-mmdb.ts writes.
//
// Address family routing. ip-location-db ships IPv4 and IPv6 in separate files, and the IPv4 one is an ip_version 4
// tree: an IPv6 address looked up there walks 128 bits through a 32-bit tree and returns someone else's record, not
// an error. So each file is classified once when opened, from the file itself (not its name):
//   - IPv6 addresses go only to ip_version 6 files;
//   - IPv4 addresses go to ip_version 4 files, and to ip_version 6 files whose ::/96 subtree holds any data (probed
//     by walking the search tree). DB-IP's IPv6 file has none there and is skipped, saving a useless walk.
// City files are tried in the configured order; the first one with a useful answer (a country or coordinates) wins.
import type { ClientLocation } from './types.ts';
import { classify, cur, lookupBytes } from './geoip-address.ts';
import { answer, openDb } from './geoip-db.ts';
import { extractAsn, extractCity } from './geoip-records.ts';

export interface GeoIp {
  /** Never throws: an address that cannot be parsed gives a location whose fields are all null. */
  lookup(ip: string): ClientLocation;
  /** Credits the opened databases require (CC BY 4.0 for DB-IP, MaxMind's GeoLite2 notice); show them on pages. */
  attribution: string[];
  close(): void;
}

export interface GeoIpOptions {
  /** City databases, tried in order. */
  city: string[];
  /** ASN database; null: no AS data. */
  asn: string | null;
  /**
   * The files' bytes already in memory, by path (sidecar threads share one copy through a SharedArrayBuffer);
   * a file not in here is read from disk.
   */
  bytes?: Record<string, Uint8Array>;
}

function emptyLocation(ip: string, family: 4 | 6): ClientLocation {
  return { ip, family, country: null, continent: null, lat: null, lng: null, asn: null, asOrg: null, city: null };
}

/**
 * Open the city databases (tried in order) and the ASN database. A missing or unreadable file throws an Error
 * with a one-line message naming the file and the fix.
 */
export async function openGeoIp(opts: GeoIpOptions): Promise<GeoIp> {
  const city = await Promise.all(opts.city.map((f) => openDb(f, 'city', extractCity, opts.bytes?.[f])));
  const asn = opts.asn ? await openDb(opts.asn, 'asn', extractAsn, opts.bytes?.[opts.asn]) : null;
  let city4 = city.filter((d) => d.v4);
  let city6 = city.filter((d) => d.v6);
  let asn4 = asn && asn.v4 ? asn : null;
  let asn6 = asn && asn.v6 ? asn : null;
  const attribution = [...new Set([...city, ...(asn ? [asn] : [])].map((d) => d.attribution))].filter(
    (a): a is string => a !== null,
  );

  return {
    attribution,
    lookup(ip: string): ClientLocation {
      if (!classify(ip)) {
        // Not an address. family is a guess from the text; normaliseIp() or isIp() tell garbage apart.
        const text = typeof ip === 'string' ? ip : '';
        return emptyLocation(text, text.includes(':') ? 6 : 4);
      }
      const loc = emptyLocation(cur.ip, cur.family);
      const v4 = cur.lookupFamily === 4;
      const text = cur.lookupIp;
      try {
        const dbs = v4 ? city4 : city6;
        for (let i = 0; i < dbs.length; i++) {
          const c = answer(dbs[i], lookupBytes, v4, text);
          if (c !== null) {
            loc.country = c.country;
            loc.continent = c.continent;
            loc.lat = c.lat;
            loc.lng = c.lng;
            loc.city = c.city;
            break;
          }
        }
        const a = v4 ? asn4 : asn6;
        const n = a === null ? null : answer(a, lookupBytes, v4, text);
        if (n !== null) {
          loc.asn = n.asn;
          loc.asOrg = n.asOrg;
        }
      } catch {
        // A damaged database must not take the request down: answer with what we have.
      }
      return loc;
    },
    close(): void {
      city4 = [];
      city6 = [];
      asn4 = null;
      asn6 = null;
      for (const d of city) d.cache.clear();
      asn?.cache.clear();
    },
  };
}
