// Build the ASN database (GeoLite2-ASN layout) from @ip-location-db/asn's CSV ranges: no ASN .mmdb is on npm.
// Run by `mirrorlane geoip update`, by `npm start` when the file is missing or stale, and by
// scripts/build-asn-mmdb.ts from the command line.
//
// The CSVs (~515k ranges) are streamed line by line into the MMDB writer, whose tree lives in typed arrays and
// whose data section holds each distinct (AS, organisation) once: a naive conversion held 1.3 GB.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { PROJECT_ROOT } from '../config.ts';
import { CsvError, streamCsv } from '../csv.ts';
import { ATTRIBUTION } from '../geoip-db.ts';
import { mmdbType } from './mmdb-data.ts';
import { MmdbWriter } from './mmdb-writer.ts';
import type { MmdbMap } from './mmdb-data.ts';

const ASN_PACKAGE_DIR = path.join(PROJECT_ROOT, 'node_modules', '@ip-location-db', 'asn');
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
    for await (const record of streamCsv(rl)) {
      if (record instanceof CsvError) {
        skipped++; // a malformed line (or a quoted field never closed) must not sink the whole database
        continue;
      }
      const f = record.fields.map((field) => field.value);
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
