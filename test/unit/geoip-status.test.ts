import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ageDays, dataDateOfVersion, describeGeoFile, missingTierWarnings, type GeoFileStatus } from '../../core/geoip-status.ts';
import { writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';

const ok = (role: 'city' | 'asn'): GeoFileStatus => ({ role, path: `/x/${role}.mmdb`, ok: true, problem: null, databaseType: 't', builtAt: null, source: 's', dataDate: null });
const missing = (role: 'city' | 'asn'): GeoFileStatus => ({ ...ok(role), ok: false, problem: 'missing' });
const none = { mirrorsWithAsn: 0, asOnly: 0, peers: 0 };

describe('GeoIP status', () => {
  it('reads the data date from an ip-location-db version', () => {
    assert.equal(dataDateOfVersion('2.3.2026061719')?.toISOString(), '2026-06-17T19:00:00.000Z');
    assert.equal(dataDateOfVersion('1.0.0'), null);
  });

  it('warns about AS tiers only when mirrors, peers or as-only restrictions use them and there is no ASN data', () => {
    assert.deepEqual(missingTierWarnings([ok('city')], null, none), []);
    assert.deepEqual(missingTierWarnings([ok('city')], ok('asn'), { mirrorsWithAsn: 3, asOnly: 1, peers: 2 }), []);
    const [w] = missingTierWarnings([ok('city')], null, { mirrorsWithAsn: 3, asOnly: 1, peers: 2 });
    assert.match(w, /no ASN database, but 3 mirror\(s\) with an AS number \(AS tier\), 2 AS peer\(s\), 1 as-only mirror\(s\), which then get no client at all need one: run `mirrorlane geoip update`/);
    const [m] = missingTierWarnings([ok('city')], missing('asn'), { ...none, peers: 1 });
    assert.match(m, /\/x\/asn\.mmdb is missing, but 1 AS peer\(s\) need one/);
  });

  it('warns when no city database can be used', () => {
    const w = missingTierWarnings([missing('city'), missing('city')], null, none);
    assert.equal(w.length, 1);
    assert.match(w[0], /no usable city database/);
    assert.deepEqual(missingTierWarnings([missing('city'), ok('city')], null, none), []);
  });

  it('describes a real MMDB file: type, build time; a missing or damaged one with the reason', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-geostatus-'));
    try {
      const files = writeGeoIpFixtures(dir);
      const s = describeGeoFile('asn', files.asn);
      assert.equal(s.ok, true, String(s.problem));
      assert.ok(s.databaseType);
      assert.ok(s.builtAt instanceof Date);
      assert.match(s.source, /your file/);
      assert.equal(ageDays({ ...s, dataDate: new Date('2026-01-01T00:00:00Z') }, new Date('2026-01-11T12:00:00Z')), 10);
      assert.equal(describeGeoFile('city', path.join(dir, 'nope.mmdb')).problem, 'missing');
      const junk = path.join(dir, 'junk.mmdb');
      fs.writeFileSync(junk, 'not a database');
      assert.match(String(describeGeoFile('city', junk).problem), /^not a MaxMind DB file/);
      assert.equal(describeGeoFile('city', junk, { metadata: false }).ok, true, 'readable is all the light check says');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
