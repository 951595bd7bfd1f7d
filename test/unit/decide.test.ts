// The decision logic with a real GeoIP fixture and in-memory file rows and mirrors (the sidecar's caches).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openGeoIp, type GeoIp } from '../../core/geoip.ts';
import type { FileRow, Mirror } from '../../core/types.ts';
import { verifyStamp } from '../../core/stamp.ts';
import { decide, type Decision, type DecideDeps, type DecideRequest, type DecisionTrace } from '../../sidecar/decide.ts';
import { GEO, writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { makeMirror } from '../helpers/mirror-factory.ts';


/** All Link values of a header map as one string, as a client joins several header lines. */
const linkText = (h: Record<string, string | string[]>) => [h.Link ?? []].flat().join(', ');

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
    const sha256 = Buffer.from('ab'.repeat(32), 'hex').toString('base64');
    assert.deepEqual(await decide(req(), deps()), {
      t: 'redirect',
      url: 'http://de.example/pub/pub/big.iso',
      m: 1,
      h: {
        'X-Mirrorlane-Mirror': 'de',
        'X-Mirrorlane-Tier': 'country',
        // The alternatives in ranked order (RFC 6249); no describedby without the request's host.
        Link: ['<http://us.example/pub/big.iso>; rel=duplicate; pri=1; geo=us', '<http://jp.example/pub/big.iso>; rel=duplicate; pri=2; geo=jp'],
        Digest: `SHA-256=${sha256}`,
        'Repr-Digest': `sha-256=:${sha256}:`,
      },
    });
  });

  test('the trace names the file row the answer is about, for the statistics', async () => {
    const trace: DecisionTrace = { row: null };
    await decide(req(), deps(), trace);
    assert.equal(trace.row?.path, '/pub/big.iso');
    const suffix: DecisionTrace = { row: null };
    await decide(req({ path: '/pub/big.iso.meta4' }), deps(), suffix);
    assert.equal(suffix.row?.path, '/pub/big.iso');
    const none: DecisionTrace = { row: null };
    assert.deepEqual(await decide(req({ path: '/pub/nothing' }), deps(), none), { t: 'notfound' });
    assert.equal(none.row, null);
  });

  test('unknown path: notfound; a directory: dir; a file not yet in the table: local', async () => {
    assert.deepEqual(await decide(req({ path: '/pub/nothing' }), deps()), { t: 'notfound' });
    // Without a usable host the directory URL stays relative; with one it is absolute, as nginx writes them.
    assert.deepEqual(await decide(req({ path: '/pub' }), deps()), { t: 'dir', url: '/pub/' });
    assert.deepEqual(await decide(req({ path: '/pub', host: 'dl.example', query: 'a=\r\nX: 1 é' }), deps()), {
      t: 'dir',
      url: 'http://dl.example/pub/?a=%0D%0AX:%201%20%E9',
    });
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
    if (d.t === 'redirect') assert.deepEqual([d.h['X-Mirrorlane-Mirror'], d.h['X-Mirrorlane-Tier']], ['jp', 'as']);
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

  describe('formats', () => {
    const ARIA2_ACCEPT = '*/*,application/metalink4+xml,application/metalink+xml';
    const body = (d: Decision) => {
      assert.equal(d.t, 'body', JSON.stringify(d));
      return d as Extract<Decision, { t: 'body' }>;
    };

    test('a .meta4 suffix costs one round of lookups (the path and its file together); a plain path one lookup', async () => {
      const rounds: string[][] = [];
      const counted = deps({
        fileRow: async (p) => (rounds.push([p]), files[p] ?? null),
        fileRows: (paths) => (rounds.push(paths), paths.map(async (p) => files[p] ?? null)),
      });
      const meta4 = body(await decide(req({ path: '/pub/big.iso.meta4' }), counted));
      assert.equal(meta4.type, 'application/metalink4+xml');
      assert.deepEqual(rounds, [['/pub/big.iso.meta4', '/pub/big.iso']]);
      rounds.length = 0;
      assert.equal((await decide(req(), counted)).t, 'redirect');
      assert.deepEqual(rounds, [['/pub/big.iso']]);
      // The path itself still wins: a directory or a file the table does not know yet, even with a suffix.
      rounds.length = 0;
      const named = deps({ fileRows: counted.fileRows, originKind: async () => 'file' });
      assert.deepEqual(await decide(req({ path: '/pub/big.iso.meta4' }), named), { t: 'local', why: 'not in the file table yet' });
      assert.equal(rounds.length, 1);
      // The database down for the file it names: as before, the origin answers.
      const down = deps({ fileRows: (paths) => paths.map(async (p) => (p.endsWith('.meta4') ? null : Promise.reject(new Error('down')))) });
      assert.deepEqual(await decide(req({ path: '/pub/big.iso.meta4' }), down), { t: 'local', why: 'database unavailable' });
      // Without fileRows both go at once through fileRow.
      const plain = deps({ fileRow: async (p) => (rounds.push([p]), files[p] ?? null) });
      rounds.length = 0;
      assert.equal(body(await decide(req({ path: '/pub/big.iso.meta4' }), plain)).type, 'application/metalink4+xml');
      assert.deepEqual(rounds, [['/pub/big.iso.meta4'], ['/pub/big.iso']]);
    });

    test('a known suffix names a format of the file without it, only when the full path is no file', async () => {
      const meta4 = body(await decide(req({ path: '/pub/big.iso.meta4' }), deps()));
      assert.equal(meta4.type, 'application/metalink4+xml');
      assert.match(meta4.body, /<file name="big.iso">/);
      assert.equal(meta4.h?.['Content-Disposition'], 'attachment; filename="big.iso.meta4"');
      assert.equal(body(await decide(req({ path: '/pub/big.iso.metalink' }), deps())).type, 'application/metalink+xml');
      assert.equal(body(await decide(req({ path: '/pub/big.iso.mirrorlist' }), deps())).type, 'text/html; charset=utf-8');
      // A real "x.sha256" in the origin tree stays a file, whether or not the table knows it yet.
      const onDisk = deps({ originKind: async (p) => (p === '/pub/big.iso.sha256' ? 'file' : 'none') });
      assert.deepEqual(await decide(req({ path: '/pub/big.iso.sha256' }), onDisk), { t: 'local', why: 'not in the file table yet' });
      const inTable = { ...files['/pub/big.iso'], path: '/pub/big.iso.md5', size: 100 };
      const known = deps({ fileRow: async (p) => (p === inTable.path ? inTable : (files[p] ?? null)) });
      assert.deepEqual(await decide(req({ path: inTable.path }), known), { t: 'local', why: 'smaller than 4096 bytes' });
      assert.deepEqual(await decide(req({ path: '/pub/none.iso.meta4' }), deps()), { t: 'notfound' });
    });

    test('hashes: one sha256sum line, 404 when that hash is unknown', async () => {
      for (const r of [req({ path: '/pub/big.iso.sha256' }), req({ query: 'sha256' })]) {
        const d = body(await decide(r, deps()));
        assert.equal(d.status, 200);
        assert.equal(d.type, 'text/plain; charset=utf-8');
        assert.equal(d.body, `${'ab'.repeat(32)}  big.iso\n`);
      }
      const md5 = body(await decide(req({ query: 'md5' }), deps()));
      assert.equal(md5.status, 404);
      assert.equal(body(await decide(req({ path: '/pub/tiny.txt.sha1' }), deps())).status, 404);
    });

    test('redirect: describedby points at this redirector\'s .meta4 when the host is known and sane', async () => {
      const d = await decide(req({ host: 'dl.example:8080', scheme: 'https' }), deps({ urlPrefix: '/mirror/' }));
      assert.equal(d.t, 'redirect');
      if (d.t !== 'redirect') return;
      // Over https only us.example qualifies: it is the redirect, so the Metalink is the only link.
      assert.equal(linkText(d.h), '<https://dl.example:8080/mirror/pub/big.iso.meta4>; rel=describedby; type="application/metalink4+xml"');
      for (const host of ['evil.example/x', 'a b', 'x"y', '', '[::1', 'dl.example:8080:1']) {
        const h = await decide(req({ host }), deps());
        if (h.t === 'redirect') assert.doesNotMatch(linkText(h.h), /describedby/, host);
      }
    });

    test('with publicUrl configured, the Host header no longer decides the redirector\'s own links', async () => {
      const d = await decide(req({ host: 'evil.example', scheme: 'https' }), deps({ publicUrl: 'https://dl.example.org/', urlPrefix: '/mirror/' }));
      assert.equal(d.t, 'redirect');
      if (d.t !== 'redirect') return;
      assert.match(linkText(d.h), /<https:\/\/dl\.example\.org\/mirror\/pub\/big\.iso\.meta4>; rel=describedby/);
      assert.doesNotMatch(linkText(d.h), /evil/);
    });

    test('redirect: the number of Link duplicates follows formats.linkHeaders; none without a SHA-256', async () => {
      const links = async (n: number) => {
        const d = await decide(req(), deps({ formats: { linkHeaders: n } }));
        return d.t === 'redirect' ? [d.h.Link ?? []].flat().filter((l) => l.includes('rel=duplicate')).length : -1;
      };
      assert.equal(await links(1), 1);
      assert.equal(await links(0), 0);
      assert.equal(await links(5), 2, 'only as many as there are alternatives');
      const noHash = { ...files['/pub/big.iso'], sha256: null };
      const d = await decide(req({ host: 'dl.example' }), deps({ fileRow: async () => noHash }));
      assert.ok(d.t === 'redirect' && d.h.Digest === undefined && !linkText(d.h).includes('duplicate'));
    });

    test('stamps: redirect and Link URLs carry ?time=&stamp= that verify for the origin path', async () => {
      const now = 1767225600_000;
      const d = await decide(req(), deps({ formats: { stampSecret: 's3cret' }, now: () => now }));
      assert.equal(d.t, 'redirect');
      if (d.t !== 'redirect') return;
      const u = new URL(d.url);
      assert.equal(u.origin + u.pathname, 'http://de.example/pub/pub/big.iso');
      assert.equal(u.searchParams.get('time'), '1767225600');
      assert.ok(verifyStamp('s3cret', '/pub/big.iso', u.searchParams.get('time')!, u.searchParams.get('stamp')!, { now: now / 1000, maxAgeS: 60 }));
      assert.match(linkText(d.h), /<http:\/\/us\.example\/pub\/big\.iso\?time=1767225600&stamp=[0-9a-f]{64}>/);
      const plain = await decide(req(), deps());
      assert.ok(plain.t === 'redirect' && !plain.url.includes('stamp='));
    });

    test('Accept: metalink types on the plain URL get the Metalink, as aria2 expects', async () => {
      assert.equal(body(await decide(req({ accept: ARIA2_ACCEPT }), deps())).type, 'application/metalink4+xml');
      assert.equal(body(await decide(req({ accept: 'application/metalink+xml' }), deps())).type, 'application/metalink+xml');
      // Formats list mirrors even for files the origin would serve itself.
      const tiny = body(await decide(req({ path: '/pub/tiny.txt', query: 'meta4' }), deps()));
      assert.match(tiny.body, /<url location="de" priority="1">http:\/\/de\.example\/pub\/pub\/tiny\.txt<\/url>/);
    });

    test('Metalink: mirrors in ranked order, then this redirector; overrides count', async () => {
      const d = body(await decide(req({ query: 'meta4&country=jp', host: 'dl.example' }), deps()));
      const urls = [...d.body.matchAll(/<url[^>]*>([^<]*)<\/url>/g)].map((m) => m[1]);
      assert.deepEqual(urls, ['http://jp.example/pub/big.iso', 'http://de.example/pub/pub/big.iso', 'http://us.example/pub/big.iso', 'http://dl.example/pub/big.iso']);
      assert.match(d.body, /<origin dynamic="true">http:\/\/dl\.example\/pub\/big\.iso\.meta4<\/origin>/);
    });

    test('mirror list: HTML with a no-script policy; ?mirrorlist&json is the JSON answer', async () => {
      const html = body(await decide(req({ query: 'mirrorlist' }), deps()));
      assert.equal(html.type, 'text/html; charset=utf-8');
      assert.match(String(html.h?.['Content-Security-Policy']), /default-src 'none'/);
      assert.match(html.body, /<h1>big\.iso<\/h1>/);
      assert.doesNotMatch(html.body, /secret@/);
      const a = body(await decide(req({ query: 'mirrorlist&json' }), deps()));
      const b = body(await decide(req({ query: 'json' }), deps()));
      assert.deepEqual(JSON.parse(a.body), JSON.parse(b.body));
    });

    describe('apt mirror list', () => {
      const release: FileRow = { id: 9, path: '/debian/dists/stable/Release', size: 300, mtime: 1.7e9, sha256: null, sha1: null, md5: null, mirrors: [1, 2] };
      const asked: string[] = [];
      const aptDeps = (over: Partial<DecideDeps> = {}) =>
        deps({
          formats: { aptLists: { '/debian.list': '/debian/' } },
          aptReleaseFiles: async (subtree) => [`${subtree}dists/stable/InRelease`, `${subtree}dists/stable/Release`],
          fileRow: async (p) => (asked.push(p), p === release.path ? release : null),
          ...over,
        });

      test('the list path is no file: answered before the file lookup, holders of a Release only, origin last', async () => {
        asked.length = 0;
        const d = body(await decide(req({ path: '/debian.list', host: 'dl.example' }), aptDeps()));
        assert.equal(d.type, 'text/plain; charset=utf-8');
        assert.equal(d.body, 'http://de.example/pub/debian/\tpriority:1\nhttp://us.example/debian/\tpriority:2\nhttp://dl.example/debian/\tpriority:3\n');
        assert.ok(!asked.includes('/debian.list'), 'no file lookup for the list itself');
        assert.deepEqual(asked, ['/debian/dists/stable/InRelease', '/debian/dists/stable/Release']);
      });

      test('best first for the client: a US client, or ?country=us, gets the US mirror first', async () => {
        const us = body(await decide(req({ path: '/debian.list', clientIp: GEO.chicago.ip }), aptDeps()));
        assert.equal(us.body.split('\n')[0], 'http://us.example/debian/\tpriority:1');
        const overridden = body(await decide(req({ path: '/debian.list', query: 'country=us' }), aptDeps()));
        assert.equal(overridden.body.split('\n')[0], 'http://us.example/debian/\tpriority:1');
      });

      test('the Release files are looked up together, not one after another (one batch of cache misses)', async () => {
        let inFlight = 0;
        let most = 0;
        const files = Array.from({ length: 8 }, (_, i) => `/debian/dists/s${i}/Release`);
        const d = aptDeps({
          aptReleaseFiles: async () => files,
          fileRow: async (p) => {
            most = Math.max(most, ++inFlight);
            await new Promise((r) => setImmediate(r));
            inFlight--;
            return p === files[3] ? { ...release, path: p } : null;
          },
        });
        const list = body(await decide(req({ path: '/debian.list', host: 'dl.example' }), d));
        assert.equal(most, files.length);
        assert.equal(list.body.split('\n').length - 1, 3, 'the two holders of s3 and the origin');
      });

      test('no holder: the origin alone; no holder and no host: 404; a database error still names the origin', async () => {
        const none = aptDeps({ aptReleaseFiles: async () => [] });
        assert.equal(body(await decide(req({ path: '/debian.list', host: 'dl.example' }), none)).body, 'http://dl.example/debian/\tpriority:1\n');
        assert.equal(body(await decide(req({ path: '/debian.list' }), none)).status, 404);
        const down = aptDeps({ fileRow: async () => Promise.reject(new Error('down')) });
        assert.equal(body(await decide(req({ path: '/debian.list', host: 'dl.example' }), down)).body, 'http://dl.example/debian/\tpriority:1\n');
      });
    });
  });
});
