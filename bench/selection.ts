// Selection throughput: `npm run bench:selection` (bundled, as the sidecar runs: under tsx each call across modules
// costs a getter). Prints selections per second and µs per selection for 1, 50 and 500 holder mirrors. Each case
// runs ~2 s after a warm-up; figures vary by machine, tests never assert on them.

import { selectMirrors, type SelectionRequest } from '../core/selection.ts';
import type { ClientLocation, Mirror } from '../core/types.ts';
import { makeMirror } from '../test/helpers/mirror-factory.ts';
import { mulberry32 } from '../test/helpers/prng.ts';

const PLACES: [string, string, number, number][] = [
  ['FR', 'EU', 48.86, 2.35], ['DE', 'EU', 50.11, 8.68], ['NL', 'EU', 52.37, 4.9], ['GB', 'EU', 51.51, -0.13],
  ['SE', 'EU', 59.33, 18.07], ['IT', 'EU', 45.46, 9.19], ['US', 'NA', 40.71, -74.0], ['US', 'NA', 37.77, -122.42],
  ['CA', 'NA', 43.65, -79.38], ['BR', 'SA', -23.55, -46.63], ['JP', 'AS', 35.68, 139.69], ['AU', 'OC', -33.87, 151.21],
];

/** A plausible population: every mirror has coordinates, an ASN and a prefix; a few are restricted or down. */
function makeMirrors(n: number, rnd: () => number): Mirror[] {
  const out: Mirror[] = [];
  for (let i = 0; i < n; i++) {
    const [country, continent, lat, lng] = PLACES[i % PLACES.length];
    out.push(
      makeMirror({
        id: i + 1,
        identifier: `m${i + 1}`,
        httpUrl: `http://m${i + 1}.example.org/pub`,
        httpsUrl: rnd() < 0.8 ? `https://m${i + 1}.example.org/pub/` : null,
        country,
        continent,
        otherCountries: rnd() < 0.1 ? ['BE', 'LU'] : [],
        lat: lat + rnd() * 4 - 2,
        lng: lng + rnd() * 4 - 2,
        asn: 1000 + i,
        prefixes: [`10.${i & 255}.${(i >> 8) & 255}.0/24`, `2001:db8:${i.toString(16)}::/48`],
        ipv6: rnd() < 0.7,
        score: [50, 100, 200][i % 3],
        enabled: rnd() < 0.95,
        health: rnd() < 0.05 ? 'down' : 'up',
        healthReason: 'timeout',
        fileMaxSize: rnd() < 0.05 ? 1_000_000 : null,
        countryOnly: rnd() < 0.05,
        continentOnly: rnd() < 0.05,
      }),
    );
  }
  return out;
}

const clients: ClientLocation[] = [
  { ip: '192.0.2.10', family: 4, country: 'FR', continent: 'EU', lat: 48.85, lng: 2.35, asn: 4444 },
  { ip: '2001:db8:ffff::7', family: 6, country: 'US', continent: 'NA', lat: 40.0, lng: -75.0, asn: 5555 },
  { ip: '198.51.100.20', family: 4, country: 'KE', continent: 'AF', lat: -1.29, lng: 36.82, asn: 6666 },
  { ip: '203.0.113.5', family: 4, country: null, continent: null, lat: null, lng: null, asn: null },
];

function bench(n: number): void {
  const rnd = mulberry32(n);
  const holders = makeMirrors(n, rnd);
  const reqs: SelectionRequest[] = clients.map((client, i) => ({
    path: '/pub/distribution/releases/15.6/iso/image-15.6-x86_64.iso',
    size: 4_700_000_000,
    holders,
    client,
    scheme: i % 2 === 0 ? 'https' : 'http',
    options: { distanceRange: 1.5 },
    random: rnd,
  }));

  let sink = 0;
  const once = (k: number): void => {
    const sel = selectMirrors(reqs[k & 3]);
    sink += sel.ranked.length + sel.excluded.length;
  };
  for (let i = 0; i < 20_000; i++) once(i); // warm-up: let V8 optimise

  const budgetNs = 2_000_000_000n;
  const start = process.hrtime.bigint();
  let iterations = 0;
  let now = start;
  while (now - start < budgetNs) {
    for (let i = 0; i < 1000; i++) once(iterations + i);
    iterations += 1000;
    now = process.hrtime.bigint();
  }
  const ns = Number(now - start);
  const perSec = (iterations / ns) * 1e9;
  console.log(
    `${String(n).padStart(4)} holders: ${Math.round(perSec).toLocaleString('en-US').padStart(11)} selections/s, ` +
      `${(ns / iterations / 1000).toFixed(2).padStart(7)} µs/selection  (${iterations} runs, check ${sink % 997})`,
  );
}

console.log(`selection benchmark, node ${process.version}, 4 rotating clients (FR v4, US v6, KE v4, unknown)`);
for (const n of [1, 50, 500]) bench(n);
