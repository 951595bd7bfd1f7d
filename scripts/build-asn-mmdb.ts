// Build the ASN database from the command line (core/geoip-build/asn-mmdb.ts does the work):
//
//   npx tsx scripts/build-asn-mmdb.ts [OUT]      (default OUT: var/geoip/asn.mmdb under the project root)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ASN_MMDB, buildAsnMmdb } from '../core/geoip-build/asn-mmdb.ts';

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
