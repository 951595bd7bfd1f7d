// Build the ASN database (GeoLite2-ASN layout) from @ip-location-db/asn's CSV ranges: no ASN .mmdb is on npm.
//
//   npx tsx scripts/build-asn-mmdb.ts [OUT]      (default OUT: var/geoip/asn.mmdb under the project root)
//
// The CSVs (~515k ranges) are streamed line by line into the MMDB writer, whose tree lives in typed arrays and
// whose data section holds each distinct (AS, organisation) once: a naive conversion held 1.3 GB.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MmdbWriter, mmdbType } from '../core/mmdb-writer.ts';
import type { MmdbMap } from '../core/mmdb-writer.ts';
import { ATTRIBUTION } from '../core/geoip-db.ts';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ASN_PACKAGE_DIR = path.join(PROJECT_ROOT, 'node_modules', '@ip-location-db', 'asn');
export const DEFAULT_ASN_MMDB = path.join(PROJECT_ROOT, 'var', 'geoip', 'asn.mmdb');
const DEFAULT_SOURCES = ['asn-ipv4.csv', 'asn-ipv6.csv'].map((f) => path.join(ASN_PACKAGE_DIR, f));

export interface AsnBuildResult {
  /** Ranges inserted. */
  ranges: number;
  /** Size of the written file. */
  bytes: number;
  ms: number;
  /** Lines not used: AS 0 ("not routed"), malformed lines. */
  skipped: number;
  /** Distinct (AS, organisation) records. */
  records: number;
}

/**
 * Split one CSV line into fields (RFC 4180 quoting: "a, b" and "" for a quote inside a quoted field).
 * Returns null when a quoted field is still open at the end of the line (it continues on the next one).
 */
export function parseCsvLine(line: string): string[] | null {
  if (line.indexOf('"') < 0) return line.split(',');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return null;
        value += line.slice(j, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // Anything between the closing quote and the next comma is kept, as lenient parsers do.
      const comma = line.indexOf(',', i);
      value += comma < 0 ? line.slice(i) : line.slice(i, comma);
      fields.push(value);
      if (comma < 0) return fields;
      i = comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      if (comma < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

/** Stream the CSV sources into an MMDB and write it atomically (temporary file, then rename) to outPath. */
export async function buildAsnMmdb(
  outPath: string = DEFAULT_ASN_MMDB,
  sources: string[] = DEFAULT_SOURCES,
): Promise<AsnBuildResult> {
  const started = performance.now();
  for (const src of sources) {
    if (!fs.existsSync(src)) {
      throw new Error(`ASN source ${src} not found: run "npm install" (package @ip-location-db/asn)`);
    }
  }
  const writer = new MmdbWriter({
    databaseType: 'Mirrorlane-ASN',
    description: { en: ATTRIBUTION.ipLocationDbAsn },
    languages: ['en'],
  });
  // One record object per (AS, organisation): the writer recognises a repeated object without re-encoding it.
  const records = new Map<string, MmdbMap>();
  let ranges = 0;
  let skipped = 0;
  for (const src of sources) {
    const rl = readline.createInterface({ input: fs.createReadStream(src), crlfDelay: Infinity });
    let pending = '';
    for await (const raw of rl) {
      const line = pending ? `${pending}\n${raw}` : raw;
      if (line === '') continue;
      const f = parseCsvLine(line);
      if (f === null) {
        pending = line; // a quoted field spans lines
        continue;
      }
      pending = '';
      const asn = Number(f[2]);
      if (f.length < 3 || !Number.isInteger(asn) || asn <= 0 || asn >= 2 ** 32) {
        skipped++;
        continue;
      }
      const org = f.length > 3 ? f.slice(3).join(',') : '';
      const key = `${asn}\t${org}`;
      let rec = records.get(key);
      if (!rec) {
        rec = { autonomous_system_number: mmdbType.uint32(asn) };
        if (org) rec.autonomous_system_organization = org;
        records.set(key, rec);
      }
      try {
        writer.insertRange(f[0], f[1], rec);
        ranges++;
      } catch {
        skipped++; // a malformed range must not sink the whole database
      }
    }
    if (pending) skipped++;
  }
  const buf = writer.toBuffer();
  await fsp.mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
  const tmp = `${outPath}.${process.pid}.tmp`;
  try {
    await fsp.writeFile(tmp, buf);
    await fsp.rename(tmp, outPath);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return { ranges, bytes: buf.length, ms: Math.round(performance.now() - started), skipped, records: records.size };
}

/** True when outPath is missing or older than the installed @ip-location-db/asn package (its CSVs). */
export function asnMmdbIsStale(outPath: string = DEFAULT_ASN_MMDB, sources: string[] = DEFAULT_SOURCES): boolean {
  let built: number;
  try {
    built = fs.statSync(outPath).mtimeMs;
  } catch {
    return true;
  }
  const inputs = [...sources, path.join(ASN_PACKAGE_DIR, 'package.json')];
  return inputs.some((f) => {
    try {
      return fs.statSync(f).mtimeMs > built;
    } catch {
      return false;
    }
  });
}

/** Build the ASN database if it is missing or stale; null when it was already fresh. */
export async function ensureAsnMmdb(outPath: string = DEFAULT_ASN_MMDB): Promise<AsnBuildResult | null> {
  return asnMmdbIsStale(outPath) ? buildAsnMmdb(outPath) : null;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] ?? DEFAULT_ASN_MMDB);
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  buildAsnMmdb(out)
    .then((r) => {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
      console.log(
        `${out}: ${r.ranges} ranges, ${r.records} AS records, ${r.skipped} skipped, ` +
          `${mb(r.bytes)}, ${(r.ms / 1000).toFixed(1)} s, peak RSS ${mb(peak)}`,
      );
    })
    .catch((e) => {
      clearInterval(timer);
      console.error(`build-asn-mmdb: ${(e as Error).message}`);
      process.exit(1);
    });
}
