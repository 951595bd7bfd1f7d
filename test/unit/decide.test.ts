// The decision logic with a real GeoIP fixture and in-memory file rows and mirrors (the sidecar's caches).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openGeoIp, type GeoIp } from '../../core/geoip.ts';
import type { FileRow, Mirror } from '../../core/types.ts';
import { decide, type DecideDeps, type DecideRequest } from '../../sidecar/decide.ts';
import { GEO, writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { makeMirror } from '../helpers/mirror-factory.ts';

let geo: GeoIp;
let dir: string;
const mirrors: Mirror[] = [
  makeMirror({ id: 1, identifier: 'de', country: 'DE', continent: 'EU', lat: 50.11, lng: 8.68, httpsUrl: null, httpUrl: 'http://de.example/pub/', adminEmail: 'secret@de.example' }),
  makeMirror({ id: 2, identifier: 'us', country: 'US', continent: 'NA', lat: 40.71, lng: -74, httpUrl: 'http://us.example/', httpsUrl: 'https://us.example/' }),
  makeMirror({ id: 3, identifier: 'jp', country: 'JP', continent: 'AS', lat: 34.69, lng: 135.5, httpUrl: 'http://jp.example/', httpsUrl: null, acceptsRanges: false }),
];
const files: Record<string, FileRow> = {
  '/pub/big.iso': { id: 1, path: '/pub/big.iso', size: 1e9, mtime: 1.7e9, sha256: 'ab'.repeat(32), sha1: null, md5: null, mirrors: [1, 2, 3] },
  '/pub/tiny.txt': { id: 2, path: '/pub/tiny.txt', size: 100, mtime: 1.7e9, sha256: null, sha1: null, md5: null, mirrors: [1, 2, 3] },
  '/pub/orphan.iso': { id: 3, path: '/pub/orphan.iso', size: 1e9, mtime: 1.7e9, sha256: null, sha1: null, md5: null, mirrors: [] },
};

function deps(over: Partial<DecideDeps> = {}): DecideDeps {
  return {
    fileRow: async (p) => files[p] ?? null,
    mirror: (id) => mirrors.find((m) => m.id === id),
    peers: () => new Map(),
    geo,
    originKind: async (p) => (p === '/pub' ? 'dir' : p === '/pub/new.iso' ? 'file' : 'none'),
    selection: { distanceRange: 1.5 },
    delivery: { minSize: 4096, excludePaths: ['*.asc'], excludeNetworks: ['198.51.100.128/25'], excludeUserAgents: ['BadBot'], overridesOnRedirect: false },
    random: () => 0.5,
    ...over,
  };
}

function req(over: Partial<DecideRequest> = {}): DecideRequest {
  return { path: '/pub/big.iso', query: '', clientIp: GEO.berlin.ip, scheme: 'http', userAgent: 'curl', range: '', accept: '', ...over };
}

describe('decide', () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-decide-'));
    const f = writeGeoIpFixtures(dir);
    geo = await openGeoIp({ city: [f.city], asn: f.asn });
  });
  after(() => {
    geo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('redirects to the mirror of the client\'s country, with the file path joined to the base URL', async () => {
    assert.deepEqual(await decide(req(), deps()), {
      t: 'redirect',
      url: 'http://de.example/pub/pub/big.iso',
      h: { 'X-Mirrorlane-Mirror': 'de', 'X-Mirrorlane-Tier': 'country' },
    });
  });

  test('unknown path: notfound; a directory: dir; a file not yet in the table: local', async () => {
    assert.deepEqual(await decide(req({ path: '/pub/nothing' }), deps()), { t: 'notfound' });
    assert.deepEqual(await decide(req({ path: '/pub' }), deps()), { t: 'dir' });
    assert.deepEqual(await decide(req({ path: '/pub/new.iso' }), deps()), { t: 'local', why: 'not in the file table yet' });
  });

  test('a database that cannot answer means local delivery, not an error', async () => {
    const d = await decide(req(), deps({ fileRow: async () => Promise.reject(new Error('ECONNREFUSED')) }));
    assert.deepEqual(d, { t: 'local', why: 'database unavailable' });
  });

  test('local delivery rules: size, path, network, user agent; and no holder', async () => {
    assert.deepEqual(await decide(req({ path: '/pub/tiny.txt' }), deps()), { t: 'local', why: 'smaller than 4096 bytes' });
    const asc = { ...files['/pub/big.iso'], path: '/pub/big.iso.asc' };
    assert.deepEqual(await decide(req({ path: asc.path }), deps({ fileRow: async () => asc })), { t: 'local', why: 'excluded path: *.asc' });
    assert.equal((await decide(req({ clientIp: '198.51.100.200' }), deps())).t, 'local');
    assert.equal((await decide(req({ clientIp: '198.51.100.7' }), deps())).t, 'redirect', 'outside the excluded network');
    assert.equal((await decide(req({ userAgent: 'Mozilla BadBot/1' }), deps())).t, 'local');
    assert.deepEqual(await decide(req({ path: '/pub/orphan.iso' }), deps()), { t: 'local', why: 'no mirror holds the file' });
  });

  test('https wanted (request over https or ?https=1): only a mirror with an https URL', async () => {
    for (const r of [req({ scheme: 'https' }), req({ query: 'https=1' })]) {
      const d = await decide(r, deps());
      assert.equal(d.t, 'redirect');
      if (d.t === 'redirect') assert.equal(d.url, 'https://us.example/pub/big.iso');
    }
  });

  test('a Range request skips mirrors without range support', async () => {
    const d = await decide(req({ clientIp: GEO.tokyo.ip, range: 'bytes=0-99' }), deps());
    assert.equal(d.t, 'redirect');
    if (d.t === 'redirect') assert.notEqual(d.h['X-Mirrorlane-Mirror'], 'jp');
    const plain = await decide(req({ clientIp: GEO.tokyo.ip }), deps());
    if (plain.t === 'redirect') assert.equal(plain.h['X-Mirrorlane-Mirror'], 'jp');
  });

  test('?avoid= leaves out mirrors in those countries, on redirects too', async () => {
    const d = await decide(req({ query: 'avoid=de' }), deps());
    assert.equal(d.t, 'redirect');
    if (d.t === 'redirect') assert.notEqual(d.h['X-Mirrorlane-Mirror'], 'de');
  });

  test('AS peers put their mirror in the AS tier', async () => {
    const d = await decide(req(), deps({ peers: () => new Map([[GEO.berlin.asn, [3]]]) }));
    assert.equal(d.t, 'redirect');
    if (d.t === 'redirect') assert.deepEqual(d.h, { 'X-Mirrorlane-Mirror': 'jp', 'X-Mirrorlane-Tier': 'as' });
  });

  test('?country= changes the JSON answer but not a plain redirect, unless configured', async () => {
    const plain = await decide(req({ query: 'country=jp' }), deps());
    if (plain.t === 'redirect') assert.equal(plain.h['X-Mirrorlane-Mirror'], 'de');
    const json = await decide(req({ query: 'json&country=jp' }), deps());
    assert.equal(json.t, 'body');
    if (json.t !== 'body') return;
    const body = JSON.parse(json.body);
    assert.equal(body.chosen, 'jp');
    assert.equal(body.client.country, 'JP');
    assert.equal(body.client.overridden, true);
    const configured = await decide(req({ query: 'country=jp' }), deps({ delivery: { ...deps().delivery, overridesOnRedirect: true } }));
    if (configured.t === 'redirect') assert.equal(configured.h['X-Mirrorlane-Mirror'], 'jp');
    else assert.fail('expected a redirect');
  });

  test('JSON answer: ranked and excluded mirrors with reasons, no private fields', async () => {
    const d = await decide(req({ query: 'json', range: 'bytes=1-2' }), deps());
    assert.equal(d.t, 'body');
    if (d.t !== 'body') return;
    assert.equal(d.type, 'application/json; charset=utf-8');
    const body = JSON.parse(d.body);
    assert.equal(body.file.path, '/pub/big.iso');
    assert.equal(body.client.country, 'DE');
    assert.deepEqual(body.mirrors.map((m: { identifier: string }) => m.identifier), ['de', 'us']);
    assert.deepEqual(body.excluded, [{ identifier: 'jp', reason: 'no range support' }]);
    assert.doesNotMatch(d.body, /secret@|adminEmail|admin/);
    const missing = await decide(req({ path: '/pub/none', query: 'json' }), deps());
    assert.equal(missing.t === 'body' && missing.status, 404);
  });

  test('bad paths never reach the database', async () => {
    let asked = false;
    const d = await decide(req({ path: '/pub/../etc/passwd' }), deps({ fileRow: async () => ((asked = true), null) }));
    assert.equal(d.t === 'body' && d.status, 400);
    assert.equal(asked, false);
  });
});
