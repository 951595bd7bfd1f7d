import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  selectMirrors,
  type Selection,
  type SelectionRequest,
  type Tier,
} from '../../core/selection.ts';
import { EARTH_RADIUS_KM } from '../../core/distance.ts';
import type { ClientLocation, Mirror } from '../../core/types.ts';
import { makeMirror } from '../helpers/mirror-factory.ts';
import { fixedRandom, mulberry32 } from '../helpers/prng.ts';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

/** A healthy, enabled, unrestricted dual-stack mirror in Germany with both schemes; override what a case needs. */
const mirror = makeMirror;

/** Mirrorbits' test client: France, Europe, AS4444; in Paris, with a documentation address. */
const FR_CLIENT: ClientLocation = {
  ip: '192.0.2.10',
  family: 4,
  country: 'FR',
  continent: 'EU',
  lat: 48.8566,
  lng: 2.3522,
  asn: 4444,
};

/** A client GeoIP knows nothing about. */
const UNKNOWN_CLIENT: ClientLocation = {
  ip: '203.0.113.77',
  family: 4,
  country: null,
  continent: null,
  lat: null,
  lng: null,
  asn: null,
};

function request(holders: Mirror[], over: Partial<SelectionRequest> = {}): SelectionRequest {
  return {
    path: '/pub/x.iso',
    size: 43_000,
    holders,
    client: FR_CLIENT,
    scheme: 'http',
    options: { distanceRange: 1.5 },
    random: mulberry32(1),
    ...over,
  };
}

/** Longitude on the equator at `km` east of (0, 0): places mirrors at exact distances from an equator client. */
function lngAt(km: number): number {
  return km / ((EARTH_RADIUS_KM * Math.PI) / 180);
}
const EQUATOR_CLIENT: ClientLocation = { ...FR_CLIENT, lat: 0, lng: 0 };

/** Invariants every selection must keep, checked in every test that selects. */
function checkInvariants(req: SelectionRequest, sel: Selection): void {
  assert.equal(sel.ranked[0] ?? null, sel.chosen, 'ranked[0] is chosen');
  const seen = new Set<Mirror>();
  for (const r of sel.ranked) {
    assert.ok(!seen.has(r.mirror), 'no mirror ranked twice');
    seen.add(r.mirror);
  }
  for (const e of sel.excluded) {
    assert.ok(!seen.has(e.mirror), 'a mirror is ranked or excluded, not both');
    seen.add(e.mirror);
    assert.ok(e.reason.length > 0);
  }
  const max = req.options.maxAlternatives ?? 10;
  if (sel.ranked.length < max) assert.equal(seen.size, req.holders.length, 'every holder accounted for');
  else assert.ok(seen.size <= req.holders.length);
  const firstTier = sel.chosen?.tier;
  let sum = 0;
  for (const r of sel.ranked) {
    if (r.tier !== firstTier) assert.equal(r.share, 0, 'lower tiers have no share');
    sum += r.share;
  }
  if (sel.chosen && sel.ranked.length + sel.excluded.length === req.holders.length) {
    assert.ok(Math.abs(sum - 1) < 1e-9, `shares of the winning tier sum to 1, got ${sum}`);
  }
}

function run(holders: Mirror[], over: Partial<SelectionRequest> = {}): Selection {
  const req = request(holders, over);
  const sel = selectMirrors(req);
  checkInvariants(req, sel);
  return sel;
}

function reasonOf(sel: Selection, m: Mirror): string | undefined {
  return sel.excluded.find((e) => e.mirror === m)?.reason;
}

/** How often each mirror is chosen first over `n` draws with a seeded source. */
function drawCounts(holders: Mirror[], n: number, over: Partial<SelectionRequest> = {}, seed = 42): Map<Mirror, number> {
  const counts = new Map<Mirror, number>();
  const req = request(holders, { ...over, random: mulberry32(seed) });
  for (let i = 0; i < n; i++) {
    const chosen = selectMirrors(req).chosen;
    assert.ok(chosen);
    counts.set(chosen.mirror, (counts.get(chosen.mirror) ?? 0) + 1);
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// Gates: one holder per case, either excluded with its reason or selected in the expected tier.

interface GateCase {
  name: string;
  mirror: Partial<Mirror>;
  req?: Partial<SelectionRequest>;
  /** Expected exclusion reason, or the tier it is selected in. */
  want: { reason: string } | { tier: Tier; url?: string };
}

const gateCases: GateCase[] = [
  // State
  { name: 'disabled', mirror: { enabled: false }, want: { reason: 'disabled' } },
  { name: 'down, with the prober reason', mirror: { health: 'down', healthReason: 'timeout' }, want: { reason: 'down: timeout' } },
  { name: 'down without a reason', mirror: { health: 'down' }, want: { reason: 'down' } },
  { name: 'health unknown is usable (new mirror, not probed yet)', mirror: { health: 'unknown' }, want: { tier: 'continent' } },
  { name: 'score 0', mirror: { score: 0 }, want: { reason: 'score 0' } },
  { name: 'negative score', mirror: { score: -5 }, want: { reason: 'score 0' } },
  { name: 'disabled wins over down (first gate reported)', mirror: { enabled: false, health: 'down' }, want: { reason: 'disabled' } },
  // Size and ranges
  { name: 'file larger than the limit', mirror: { fileMaxSize: 42_999 }, want: { reason: 'file larger than limit (42999 bytes)' } },
  { name: 'file exactly at the limit', mirror: { fileMaxSize: 43_000 }, want: { tier: 'continent' } },
  { name: 'Range request, mirror without range support', mirror: { acceptsRanges: false }, req: { range: true }, want: { reason: 'no range support' } },
  { name: 'plain request, mirror without range support', mirror: { acceptsRanges: false }, want: { tier: 'continent' } },
  { name: 'Range request, mirror with range support', mirror: {}, req: { range: true }, want: { tier: 'continent' } },
  // IP family
  { name: 'IPv6 client, IPv4-only mirror', mirror: { ipv6: false }, req: { client: { ...FR_CLIENT, ip: '2001:db8::1', family: 6 } }, want: { reason: 'IPv4 only' } },
  { name: 'IPv4 client, IPv6-only mirror', mirror: { ipv4: false }, want: { reason: 'IPv6 only' } },
  { name: 'IPv6 client, IPv6-only mirror', mirror: { ipv4: false }, req: { client: { ...FR_CLIENT, ip: '2001:db8::1', family: 6 } }, want: { tier: 'continent' } },
  { name: 'IPv6 client, dual-stack mirror', mirror: {}, req: { client: { ...FR_CLIENT, ip: '2001:db8::1', family: 6 } }, want: { tier: 'continent' } },
  { name: 'mirror with no family at all', mirror: { ipv4: false, ipv6: false }, want: { reason: 'no IPv4' } },
  // Scheme
  { name: 'https wanted, http-only mirror', mirror: { id: 901, httpsUrl: null }, req: { scheme: 'https' }, want: { reason: 'no https URL' } },
  { name: 'http wanted, http-only mirror', mirror: { id: 902, httpsUrl: null }, want: { tier: 'continent', url: 'http://m902.example/mirror/pub/x.iso' } },
  { name: 'http wanted, https-only mirror: upgraded to https', mirror: { id: 903, httpUrl: null }, want: { tier: 'continent', url: 'https://m903.example/mirror/pub/x.iso' } },
  { name: 'both schemes, http wanted', mirror: { id: 904 }, want: { tier: 'continent', url: 'http://m904.example/mirror/pub/x.iso' } },
  { name: 'both schemes, https wanted', mirror: { id: 905 }, req: { scheme: 'https' }, want: { tier: 'continent', url: 'https://m905.example/mirror/pub/x.iso' } },
  { name: 'ftp/rsync only, http wanted', mirror: { httpUrl: null, httpsUrl: null, ftpUrl: 'ftp://m/pub' }, want: { reason: 'no http URL' } },
  { name: 'ftp/rsync only, https wanted', mirror: { httpUrl: null, httpsUrl: null, rsyncUrl: 'rsync://m/pub' }, req: { scheme: 'https' }, want: { reason: 'no https URL' } },
  { name: 'a base URL holding CR/LF is never emitted', mirror: { httpUrl: 'http://m/\r\nX-Evil: 1', httpsUrl: null }, want: { reason: 'no http URL' } },
  // Excluded and avoided countries
  { name: 'excluded countries include the client country', mirror: { excludedCountries: ['ES', 'FR', 'IT', 'PT'] }, want: { reason: 'excluded country: FR' } },
  { name: 'excluded countries without the client country', mirror: { excludedCountries: ['ES', 'IT'] }, want: { tier: 'continent' } },
  { name: 'excluded countries, client country unknown', mirror: { excludedCountries: ['CN'] }, req: { client: UNKNOWN_CLIENT }, want: { reason: 'excluded countries: client country unknown' } },
  { name: '?avoid= the mirror country', mirror: { country: 'FR' }, req: { avoidCountries: ['fr', 'BE'] }, want: { reason: 'avoided country: FR' } },
  { name: '?avoid= another country', mirror: { country: 'FR' }, req: { avoidCountries: ['BE'] }, want: { tier: 'country' } },
  // Restriction flags, refused
  { name: 'prefix only, client outside the prefixes', mirror: { prefixOnly: true, prefixes: ['198.51.100.0/24'], asn: 4444, country: 'FR' }, want: { reason: 'prefix only' } },
  { name: 'AS only, other AS', mirror: { asOnly: true, asn: 5555 }, want: { reason: 'AS only: 5555' } },
  { name: 'AS only, other AS, same country', mirror: { asOnly: true, asn: 5555, country: 'FR' }, want: { reason: 'AS only: 5555' } },
  { name: 'country only, other country', mirror: { countryOnly: true, country: 'FI', otherCountries: ['NO', 'SE'] }, want: { reason: 'country only: FI,NO,SE' } },
  { name: 'country only, single country', mirror: { countryOnly: true, country: 'DE' }, want: { reason: 'country only: DE' } },
  { name: 'continent only, other continent', mirror: { continentOnly: true, country: 'US', continent: 'NA' }, want: { reason: 'continent only: NA' } },
  { name: 'prefix only is the strictest flag', mirror: { prefixOnly: true, asOnly: true, asn: 4444 }, want: { reason: 'prefix only' } },
  // Restriction flags, accepted in the tiers they allow
  { name: 'prefix only, client inside', mirror: { prefixOnly: true, prefixes: ['192.0.2.0/24'] }, want: { tier: 'prefix' } },
  { name: 'AS only, same AS', mirror: { asOnly: true, asn: 4444 }, want: { tier: 'as' } },
  { name: 'AS only, AS peer', mirror: { id: 906, asOnly: true, asn: 5555 }, req: { peers: new Map([[4444, [906]]]) }, want: { tier: 'as' } },
  { name: 'AS only, client in its prefix', mirror: { asOnly: true, asn: 5555, prefixes: ['192.0.2.0/28'] }, want: { tier: 'prefix' } },
  { name: 'country only, same country', mirror: { countryOnly: true, country: 'FR' }, want: { tier: 'country' } },
  { name: 'country only, client country among its other countries', mirror: { countryOnly: true, country: 'BE', otherCountries: ['FR'] }, want: { tier: 'country' } },
  { name: 'country only, same AS', mirror: { countryOnly: true, country: 'BE', asn: 4444 }, want: { tier: 'as' } },
  { name: 'country only, wildcard country', mirror: { countryOnly: true, country: '**' }, want: { tier: 'country' } },
  { name: 'continent only, same continent', mirror: { continentOnly: true }, want: { tier: 'continent' } },
  { name: 'continent only, same country', mirror: { continentOnly: true, country: 'FR' }, want: { tier: 'country' } },
  // Restrictions with an unknown client: the flags that need the missing field exclude
  { name: 'AS only, client AS unknown', mirror: { asOnly: true, asn: 5555 }, req: { client: UNKNOWN_CLIENT }, want: { reason: 'AS only: 5555 (client AS unknown)' } },
  { name: 'country only, client country unknown', mirror: { countryOnly: true, country: 'FR' }, req: { client: UNKNOWN_CLIENT }, want: { reason: 'country only: FR (client country unknown)' } },
  { name: 'continent only, client continent unknown', mirror: { continentOnly: true }, req: { client: UNKNOWN_CLIENT }, want: { reason: 'continent only: EU (client continent unknown)' } },
  { name: 'prefix only, client address unparseable', mirror: { prefixOnly: true, prefixes: ['192.0.2.0/24'] }, req: { client: { ...FR_CLIENT, ip: 'unknown' } }, want: { reason: 'prefix only' } },
  { name: 'unrestricted, client unknown: elsewhere', mirror: {}, req: { client: UNKNOWN_CLIENT }, want: { tier: 'elsewhere' } },
];

describe('gates: exclusion reasons and accepted tiers', () => {
  for (const c of gateCases) {
    test(c.name, () => {
      const m = mirror(c.mirror);
      const sel = run([m], c.req);
      if ('reason' in c.want) {
        assert.equal(sel.chosen, null);
        assert.deepEqual(sel.excluded, [{ mirror: m, reason: c.want.reason }]);
      } else {
        assert.equal(sel.excluded.length, 0, `unexpectedly excluded: ${sel.excluded[0]?.reason}`);
        assert.equal(sel.chosen?.mirror, m);
        assert.equal(sel.chosen?.tier, c.want.tier);
        if (c.want.url !== undefined) assert.equal(sel.chosen?.url, c.want.url);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Tiers

describe('tiers', () => {
  const tierCases: { name: string; mirror: Partial<Mirror>; client?: ClientLocation; peers?: Map<number, number[]>; tier: Tier }[] = [
    { name: 'IPv4 prefix', mirror: { prefixes: ['192.0.2.0/24'] }, tier: 'prefix' },
    { name: 'one of several prefixes', mirror: { prefixes: ['10.0.0.0/8', '192.0.2.8/29'] }, tier: 'prefix' },
    { name: 'IPv6 prefix, IPv6 client', mirror: { prefixes: ['2001:db8:abcd::/48'] }, client: { ...FR_CLIENT, ip: '2001:db8:abcd:12::5', family: 6 }, tier: 'prefix' },
    { name: 'IPv6 prefix does not match an IPv4 client', mirror: { prefixes: ['::/0'] }, tier: 'continent' },
    { name: 'malformed prefix is ignored', mirror: { prefixes: ['192.0.2.0/99', 'junk'] }, tier: 'continent' },
    { name: 'IPv4-mapped client address, IPv4 prefix', mirror: { prefixes: ['192.0.2.0/24'] }, client: { ...FR_CLIENT, ip: '::ffff:192.0.2.10' }, tier: 'prefix' },
    { name: 'IPv4-mapped prefix, IPv4 client', mirror: { prefixes: ['::ffff:192.0.2.0/120'] }, tier: 'prefix' },
    { name: 'IPv6 client address with a zone id', mirror: { prefixes: ['2001:db8:abcd::/48'] }, client: { ...FR_CLIENT, ip: '2001:db8:abcd::5%eth0', family: 6 }, tier: 'prefix' },
    { name: 'same ASN', mirror: { asn: 4444 }, tier: 'as' },
    { name: 'AS peer', mirror: { id: 801, asn: 7777 }, peers: new Map([[4444, [801]]]), tier: 'as' },
    { name: 'peer of another client AS', mirror: { id: 802, asn: 7777 }, peers: new Map([[5555, [802]]]), tier: 'continent' },
    { name: 'same country', mirror: { country: 'FR' }, tier: 'country' },
    { name: 'other countries served', mirror: { country: 'BE', otherCountries: ['LU', 'FR'] }, tier: 'country' },
    { name: 'wildcard country **', mirror: { country: '**', continent: 'NA' }, tier: 'country' },
    { name: 'same continent', mirror: { country: 'DE' }, tier: 'continent' },
    { name: 'elsewhere', mirror: { country: 'US', continent: 'NA' }, tier: 'elsewhere' },
  ];
  for (const c of tierCases) {
    test(c.name, () => {
      const m = mirror(c.mirror);
      const sel = run([m], { client: c.client ?? FR_CLIENT, peers: c.peers });
      assert.equal(sel.chosen?.tier, c.tier);
    });
  }

  test('first non-empty tier wins; lower tiers follow in tier order', () => {
    const prefix = mirror({ country: 'US', continent: 'NA', prefixes: ['192.0.2.0/24'] });
    const as = mirror({ country: 'US', continent: 'NA', asn: 4444 });
    const country = mirror({ country: 'FR' });
    const continent = mirror({ country: 'DE' });
    const elsewhere = mirror({ country: 'JP', continent: 'AS' });
    const all = [elsewhere, continent, country, as, prefix];
    const order: [Mirror, Tier][] = [[prefix, 'prefix'], [as, 'as'], [country, 'country'], [continent, 'continent'], [elsewhere, 'elsewhere']];
    for (let drop = 0; drop < order.length; drop++) {
      const holders = all.filter((m) => !order.slice(0, drop).some(([d]) => d === m));
      for (let seed = 1; seed <= 20; seed++) {
        const sel = run(holders, { random: mulberry32(seed) });
        assert.deepEqual(
          sel.ranked.map((r) => [r.mirror, r.tier]),
          order.slice(drop),
        );
        assert.equal(sel.chosen?.share, 1);
      }
    }
  });

  test('a lower-tier mirror is never chosen while a higher tier has a candidate, whatever its score', () => {
    const country = mirror({ country: 'FR', score: 1 });
    const continent = mirror({ country: 'DE', score: 1_000_000 });
    const counts = drawCounts([continent, country], 2000);
    assert.equal(counts.get(country), 2000);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Load share and distance

describe('load share', () => {
  test('scores 100/50/50 share 50/25/25 % (±3 %) over 20 000 draws', () => {
    const a = mirror({ country: 'FR', score: 100 });
    const b = mirror({ country: 'FR', score: 50 });
    const c = mirror({ country: 'FR', score: 50 });
    const n = 20_000;
    const counts = drawCounts([a, b, c], n);
    for (const [m, want] of [[a, 0.5], [b, 0.25], [c, 0.25]] as const) {
      const got = (counts.get(m) ?? 0) / n;
      assert.ok(Math.abs(got - want) <= 0.03, `score ${m.score}: ${got}, want ${want} ± 0.03`);
    }
    const sel = run([a, b, c]);
    const share = new Map(sel.ranked.map((r) => [r.mirror, r.share]));
    assert.deepEqual([share.get(a), share.get(b), share.get(c)], [0.5, 0.25, 0.25]);
  });

  test('same load share when all three are at the same distance', () => {
    const at = { lat: 48.0, lng: 2.0 };
    const a = mirror({ country: 'FR', score: 100, ...at });
    const b = mirror({ country: 'FR', score: 50, ...at });
    const c = mirror({ country: 'FR', score: 50, ...at });
    const n = 20_000;
    const counts = drawCounts([a, b, c], n, {}, 7);
    for (const [m, want] of [[a, 0.5], [b, 0.25], [c, 0.25]] as const) {
      const got = (counts.get(m) ?? 0) / n;
      assert.ok(Math.abs(got - want) <= 0.03, `score ${m.score}: ${got}, want ${want} ± 0.03`);
    }
  });

  test('the draw uses the injected random source only', () => {
    const a = mirror({ score: 100 });
    const b = mirror({ score: 100 });
    assert.equal(run([a, b], { random: fixedRandom(0) }).chosen?.mirror, a);
    assert.equal(run([a, b], { random: fixedRandom(0.49) }).chosen?.mirror, a);
    assert.equal(run([a, b], { random: fixedRandom(0.5) }).chosen?.mirror, b);
    assert.equal(run([a, b], { random: fixedRandom(0.999999) }).chosen?.mirror, b);
    // Out-of-contract sources still yield a choice.
    assert.equal(run([a, b], { random: fixedRandom(1) }).chosen?.mirror, b);
    assert.equal(run([a, b], { random: fixedRandom(NaN) }).chosen?.mirror, a);
    assert.equal(run([a, b], { random: fixedRandom(-3) }).chosen?.mirror, a);
  });
});

describe('distance range', () => {
  // Client in Paris; all mirrors in the continent tier (DE), distances set by coordinates.
  const london = { lat: 51.5074, lng: -0.1278 }; // ~344 km
  const amsterdam = { lat: 52.3676, lng: 4.9041 }; // ~430 km, within 1.5 × 344
  const warsaw = { lat: 52.2297, lng: 21.0122 }; // ~1370 km, beyond

  test('mirrors beyond the range are never chosen while a near one is healthy', () => {
    const near1 = mirror({ ...london, score: 10 });
    const near2 = mirror({ ...amsterdam, score: 10 });
    const far = mirror({ ...warsaw, score: 10_000 });
    const counts = drawCounts([far, near1, near2], 20_000);
    assert.equal(counts.get(far), undefined);
    assert.ok((counts.get(near1) ?? 0) > 9000 && (counts.get(near2) ?? 0) > 9000);

    const sel = run([far, near1, near2]);
    const byMirror = new Map(sel.ranked.map((r) => [r.mirror, r]));
    assert.equal(byMirror.get(far)?.share, 0);
    assert.equal(byMirror.get(near1)?.share, 0.5);
    assert.equal(sel.ranked[2].mirror, far, 'the far one follows in the ranked list');
    assert.ok(Math.abs((byMirror.get(near1)?.distanceKm ?? 0) - 343.5) < 2);

    // Near ones unusable: the far one takes over.
    const down1 = { ...near1, health: 'down' as const, healthReason: 'timeout' };
    const down2 = { ...near2, enabled: false };
    const fallback = run([far, down1, down2]);
    assert.equal(fallback.chosen?.mirror, far);
    assert.equal(fallback.chosen?.share, 1);
    assert.deepEqual(fallback.excluded.map((e) => e.reason), ['down: timeout', 'disabled']);
  });

  test('distanceRange is configurable', () => {
    const near1 = mirror({ ...london });
    const near2 = mirror({ ...amsterdam });
    const strict = drawCounts([near1, near2], 2000, { options: { distanceRange: 1 } });
    assert.equal(strict.get(near1), 2000);
    const wide = drawCounts([near1, near2, mirror({ ...warsaw })], 3000, { options: { distanceRange: 5 } });
    assert.equal(wide.size, 3);
  });

  test('near floor: with the nearest mirror 0 km away, one within 100 km still shares', () => {
    const here = mirror({ lat: FR_CLIENT.lat, lng: FR_CLIENT.lng });
    const close = mirror({ lat: 48.8566, lng: 3.3 }); // ~70 km
    const further = mirror({ lat: 48.8566, lng: 4.5 }); // ~157 km
    const counts = drawCounts([here, close, further], 4000);
    assert.ok((counts.get(here) ?? 0) > 1800);
    assert.ok((counts.get(close) ?? 0) > 1800);
    assert.equal(counts.get(further), undefined);
    const custom = drawCounts([here, close, further], 4000, { options: { distanceRange: 1.5, nearFloorKm: 200 } });
    assert.equal(custom.size, 3);
  });

  test('a mirror without coordinates shares with the near ones and ranks after located ones', () => {
    const near = mirror({ ...london });
    const unlocated = mirror({});
    const far = mirror({ ...warsaw });
    const sel = run([unlocated, far, near], { random: fixedRandom(0) });
    assert.deepEqual(sel.ranked.map((r) => [r.mirror, r.share, r.distanceKm === null]), [
      [unlocated, 0.5, true],
      [near, 0.5, false],
      [far, 0, false],
    ]);
  });

  test('the range is computed within the winning tier only', () => {
    // The only country-tier mirror is far; a nearer continent mirror does not push it out.
    const inCountryFar = mirror({ country: 'FR', lat: 43.3, lng: 5.4 }); // Marseille ~660 km
    const neighbour = mirror({ ...london });
    const sel = run([neighbour, inCountryFar]);
    assert.equal(sel.chosen?.mirror, inCountryFar);
    assert.equal(sel.chosen?.share, 1);
  });
});

describe('client without GeoIP data', () => {
  test('gets a spread over the unrestricted mirrors, by score', () => {
    const fr = mirror({ country: 'FR', lat: 48, lng: 2 });
    const de = mirror({ country: 'DE', lat: 50, lng: 8 });
    const us = mirror({ country: 'US', continent: 'NA', lat: 40, lng: -74 });
    const restricted = mirror({ country: 'FR', countryOnly: true });
    const n = 9000;
    const counts = drawCounts([fr, de, us, restricted], n, { client: UNKNOWN_CLIENT });
    for (const m of [fr, de, us]) {
      const got = (counts.get(m) ?? 0) / n;
      assert.ok(Math.abs(got - 1 / 3) <= 0.03, `${m.country}: ${got}`);
    }
    const sel = run([fr, de, us, restricted], { client: UNKNOWN_CLIENT });
    assert.equal(reasonOf(sel, restricted), 'country only: FR (client country unknown)');
    assert.ok(sel.ranked.every((r) => r.tier === 'elsewhere' && r.distanceKm === null));
  });

  test('a client with a country but no coordinates: all mirrors of the tier share by score', () => {
    const a = mirror({ country: 'FR', lat: 48, lng: 2, score: 100 });
    const b = mirror({ country: 'FR', lat: 43, lng: 5, score: 100 });
    const client = { ...FR_CLIENT, lat: null, lng: null };
    const counts = drawCounts([a, b], 4000, { client });
    assert.ok((counts.get(a) ?? 0) > 1800 && (counts.get(b) ?? 0) > 1800);
  });
});

describe('AS peers', () => {
  test('a peer mirror wins over same-country mirrors', () => {
    const peer = mirror({ country: 'NL', asn: 7777 });
    const fr = mirror({ country: 'FR' });
    const peers = new Map([[4444, [peer.id]]]);
    const sel = run([fr, peer], { peers });
    assert.equal(sel.chosen?.mirror, peer);
    assert.equal(sel.chosen?.tier, 'as');
    assert.equal(sel.ranked[1].mirror, fr);
    // Without the peers table it is just a continent mirror.
    assert.equal(run([fr, peer]).chosen?.mirror, fr);
  });

  test('own AS counts double over a peer, and ranks before it', () => {
    const own = mirror({ asn: 4444 });
    const peer = mirror({ asn: 7777 });
    const peers = new Map([[4444, [peer.id]]]);
    const sel = run([peer, own], { peers, random: fixedRandom(0) });
    assert.deepEqual(sel.ranked.map((r) => [r.mirror, r.share]), [[peer, 1 / 3], [own, 2 / 3]]);
    const counts = drawCounts([peer, own], 6000, { peers });
    assert.ok(Math.abs((counts.get(own) ?? 0) / 6000 - 2 / 3) < 0.03);
    const sel2 = run([peer, own], { peers, random: fixedRandom(0.99) });
    assert.deepEqual(sel2.ranked.map((r) => r.mirror), [own, peer]);
  });

  test('peers of an unknown client AS are not used', () => {
    const peer = mirror({ asn: 7777 });
    const sel = run([peer], { peers: new Map([[4444, [peer.id]]]), client: { ...FR_CLIENT, asn: null } });
    assert.equal(sel.chosen?.tier, 'continent');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Mirrorbits' own selection cases, same inputs, our reason wording.

describe('Mirrorbits cases', () => {
  describe('protocol', () => {
    test('https wanted and mirror http://m1 (no https URL): excluded', () => {
      const m1 = mirror({ httpUrl: 'http://m1', httpsUrl: null });
      const sel = run([m1], { scheme: 'https' });
      assert.equal(sel.chosen, null);
      assert.equal(reasonOf(sel, m1), 'no https URL');
    });
    test('mirror reachable by either scheme (Mirrorbits: base URL without scheme) is usable over https', () => {
      const m1 = mirror({ httpUrl: 'http://m1', httpsUrl: 'https://m1' });
      assert.equal(run([m1], { scheme: 'https' }).chosen?.url, 'https://m1/pub/x.iso');
    });
    test('any protocol, mirror down: excluded', () => {
      for (const scheme of ['http', 'https'] as const) {
        const m1 = mirror({ httpUrl: 'http://m1', httpsUrl: 'https://m1', health: 'down', healthReason: 'connection refused' });
        const sel = run([m1], { scheme });
        assert.equal(sel.chosen, null);
        assert.equal(reasonOf(sel, m1), 'down: connection refused');
      }
    });
    test('mirror with both schemes gets the scheme of the request', () => {
      const m1 = mirror({ httpUrl: 'http://m1', httpsUrl: 'https://m1' });
      assert.equal(run([m1], { scheme: 'http' }).chosen?.url, 'http://m1/pub/x.iso');
      assert.equal(run([m1], { scheme: 'https' }).chosen?.url, 'https://m1/pub/x.iso');
    });
  });

  test('restrictions (client FR, EU, AS4444): all four excluded with their reasons', () => {
    const continentNA = mirror({ country: 'US', continent: 'NA', continentOnly: true });
    const countryFiNoSe = mirror({ country: 'FI', otherCountries: ['NO', 'SE'], countryOnly: true });
    const as5555 = mirror({ asn: 5555, asOnly: true });
    const excluded = mirror({ excludedCountries: ['ES', 'FR', 'IT', 'PT'] });
    const fine = mirror({ country: 'FR' });
    const sel = run([continentNA, countryFiNoSe, as5555, excluded, fine]);
    assert.equal(sel.chosen?.mirror, fine);
    assert.deepEqual(
      sel.excluded.map((e) => [e.mirror, e.reason]),
      [
        [continentNA, 'continent only: NA'],
        [countryFiNoSe, 'country only: FI,NO,SE'],
        [as5555, 'AS only: 5555'],
        [excluded, 'excluded country: FR'],
      ],
    );
  });

  test('ranking by ASN: 6666, 5555, 4444, 6666 → the AS4444 mirror first', () => {
    const ms = [6666, 5555, 4444, 6666].map((asn) => mirror({ asn }));
    for (let seed = 1; seed <= 50; seed++) {
      const sel = run(ms, { random: mulberry32(seed) });
      assert.equal(sel.chosen?.mirror, ms[2]);
      assert.equal(sel.chosen?.tier, 'as');
      assert.deepEqual(sel.ranked.map((r) => r.mirror), [ms[2], ms[0], ms[1], ms[3]]);
    }
  });

  test('ranking by country lists: [IT UK], [IT UK], [IT FR], [FR UK] → the two listing FR first', () => {
    // First-listed country = mirror.country, the rest = otherCountries. Both FR mirrors are in the country tier; the
    // one whose own country is FR counts double (share 2/3) and ranks before the one that lists FR second.
    const lists = [['IT', 'UK'], ['IT', 'UK'], ['IT', 'FR'], ['FR', 'UK']];
    const ms = lists.map(([own, ...other]) => mirror({ country: own, otherCountries: other }));
    let ownFirst = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const sel = run(ms, { random: mulberry32(seed) });
      const order = sel.ranked.map((r) => r.mirror);
      assert.deepEqual(new Set(order.slice(0, 2)), new Set([ms[2], ms[3]]));
      assert.deepEqual(order.slice(2), [ms[0], ms[1]], 'the rest in input order');
      assert.deepEqual(sel.ranked.map((r) => r.tier), ['country', 'country', 'continent', 'continent']);
      if (order[0] === ms[3]) ownFirst++;
    }
    assert.ok(ownFirst > 170 && ownFirst < 230, `own-country mirror first ${ownFirst}/300, want ~200`);
    // Deterministic order when the draw picks the own-country mirror.
    assert.deepEqual(run(ms, { random: fixedRandom(0.99) }).ranked.map((r) => r.mirror), [ms[3], ms[2], ms[0], ms[1]]);
    const shares = run(ms).ranked.map((r) => [r.mirror, r.share]);
    assert.deepEqual(new Map(shares as [Mirror, number][]).get(ms[3]), 2 / 3);
  });

  test('ranking by distance: 1000, 999, 1000, 888 → 888, 999, then the two at 1000 in input order', () => {
    const ms = [1000, 999, 1000, 888].map((km) => mirror({ country: 'FR', lat: 0, lng: lngAt(km) }));
    // Strict range (1.0): only the nearest shares, the order is fully deterministic.
    for (let seed = 1; seed <= 20; seed++) {
      const sel = run(ms, { client: EQUATOR_CLIENT, options: { distanceRange: 1 }, random: mulberry32(seed) });
      assert.deepEqual(sel.ranked.map((r) => r.mirror), [ms[3], ms[1], ms[0], ms[2]]);
      assert.deepEqual(sel.ranked.map((r) => Math.round(r.distanceKm ?? -1)), [888, 999, 1000, 1000]);
    }
    // Default range (1.5): all four are near and share the first place; the alternatives keep the distance order.
    const firsts = new Set<Mirror>();
    for (let seed = 1; seed <= 200; seed++) {
      const sel = run(ms, { client: EQUATOR_CLIENT, random: mulberry32(seed) });
      const chosen = sel.chosen?.mirror as Mirror;
      firsts.add(chosen);
      assert.deepEqual(sel.ranked.slice(1).map((r) => r.mirror), [ms[3], ms[1], ms[0], ms[2]].filter((m) => m !== chosen));
    }
    assert.equal(firsts.size, 4);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Result shape

describe('result', () => {
  test('maxAlternatives caps the ranked list; cut mirrors are in neither list', () => {
    const ms = Array.from({ length: 15 }, (_, i) => mirror({ lat: 50, lng: 2 + i }));
    const down = mirror({ health: 'down', healthReason: 'http 500' });
    const sel = run([...ms, down], { options: { distanceRange: 1.5, maxAlternatives: 5 } });
    assert.equal(sel.ranked.length, 5);
    assert.equal(sel.excluded.length, 1);
    // 16 holders - 5 ranked - 1 excluded = 10 cut.
    const def = run([...ms, down]);
    assert.equal(def.ranked.length, 10, 'default cap 10');
    assert.equal(run(ms, { options: { distanceRange: 1.5, maxAlternatives: 0 } }).ranked.length, 1, 'at least the chosen one');
    // The cut keeps the best: ranked alternatives are the nearest ones.
    const d = sel.ranked.slice(1).map((r) => r.distanceKm as number);
    assert.deepEqual(d, [...d].sort((x, y) => x - y));
    const bestOthers = ms.filter((m) => m !== sel.chosen?.mirror).slice(0, 4);
    assert.deepEqual(sel.ranked.slice(1).map((r) => r.mirror), bestOthers);
  });

  test('a mirror object whose prefixes or URLs are replaced is re-prepared', () => {
    const m = mirror({ prefixes: ['198.51.100.0/24'] });
    assert.equal(run([m]).chosen?.tier, 'continent');
    m.prefixes = ['192.0.2.0/24'];
    assert.equal(run([m]).chosen?.tier, 'prefix');
    m.httpUrl = 'http://new.example';
    assert.equal(run([m]).chosen?.url, 'http://new.example/pub/x.iso');
  });

  test('no holders, or none usable: chosen null', () => {
    assert.deepEqual(run([]), { chosen: null, ranked: [], excluded: [] });
    const m = mirror({ enabled: false });
    assert.deepEqual(run([m]), { chosen: null, ranked: [], excluded: [{ mirror: m, reason: 'disabled' }] });
  });

  test('URLs are percent-encoded per mirror and scheme', () => {
    const a = mirror({ httpUrl: 'http://a.example/pub/', httpsUrl: null, country: 'FR' });
    const b = mirror({ httpUrl: null, httpsUrl: 'https://b.example/mirror' });
    const sel = run([a, b], { path: '/dir with space/ä?.iso' });
    assert.deepEqual(sel.ranked.map((r) => r.url), [
      'http://a.example/pub/dir%20with%20space/%C3%A4%3F.iso',
      'https://b.example/mirror/dir%20with%20space/%C3%A4%3F.iso',
    ]);
  });

  test('random holders: invariants hold', () => {
    const rnd = mulberry32(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    for (let round = 0; round < 300; round++) {
      const holders = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () =>
        mirror({
          country: pick(['FR', 'DE', 'US', 'JP', '**']),
          continent: pick(['EU', 'NA', 'AS']),
          otherCountries: rnd() < 0.2 ? ['FR'] : [],
          asn: pick([null, 4444, 5555]),
          prefixes: rnd() < 0.1 ? ['192.0.2.0/24'] : [],
          lat: rnd() < 0.8 ? rnd() * 140 - 70 : null,
          lng: rnd() * 360 - 180,
          score: pick([0, 10, 100]),
          enabled: rnd() < 0.9,
          health: pick(['up', 'up', 'unknown', 'down']),
          ipv6: rnd() < 0.7,
          httpsUrl: rnd() < 0.8 ? 'https://x.example' : null,
          countryOnly: rnd() < 0.1,
          continentOnly: rnd() < 0.1,
          asOnly: rnd() < 0.05,
          excludedCountries: rnd() < 0.05 ? ['FR'] : [],
        }),
      );
      const client = pick([FR_CLIENT, UNKNOWN_CLIENT, { ...FR_CLIENT, ip: '2001:db8::1', family: 6 as const }]);
      const sel = run(holders, {
        client,
        scheme: pick(['http', 'https'] as const),
        options: { distanceRange: 1.5, maxAlternatives: 100 },
        random: rnd,
      });
      // Without a cap in play every holder is ranked or excluded.
      assert.equal(sel.ranked.length + sel.excluded.length, holders.length);
      // Tiers never go up along the ranked list.
      for (let i = 2; i < sel.ranked.length; i++) {
        assert.ok(TIER_RANK[sel.ranked[i - 1].tier] <= TIER_RANK[sel.ranked[i].tier]);
      }
    }
  });
});

const TIER_RANK: Record<Tier, number> = { prefix: 0, as: 1, country: 2, continent: 3, elsewhere: 4 };
