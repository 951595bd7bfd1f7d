// The pure parts of piece hashes, torrents, zsync control files and mismatch exclusions.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import bencode from 'bencode';
import { XMLParser } from 'fast-xml-parser';
import { openGeoIp, type GeoIp } from '../../core/geoip.ts';
import { PieceHasher, pieceSize, piecesOf, splitDigests } from '../../core/scan/pieces.ts';
import { stripUrls, zsyncLength, zsyncWithUrls } from '../../core/scan/zsync.ts';
import type { Selection } from '../../core/selection.ts';
import type { FileRow } from '../../core/types.ts';
import { decide, type DecideDeps } from '../../sidecar/decide.ts';
import { withMismatches } from '../../sidecar/mismatches.ts';
import { renderMeta4, renderMetalink3 } from '../../sidecar/render-metalink.ts';
import { infoHash, magnetLink, renderTorrent } from '../../sidecar/render-torrent.ts';
import { GEO, writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { makeMirror } from '../helpers/mirror-factory.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

test('piece size: 256 KiB up to 512 MiB files, then doubling to keep 2048 pieces, at most 16 MiB', () => {
  assert.equal(pieceSize(0), 256 * KiB);
  assert.equal(pieceSize(512 * MiB), 256 * KiB);
  assert.equal(pieceSize(512 * MiB + 1), 512 * KiB);
  assert.equal(pieceSize(4 * GiB), 2 * MiB);
  assert.equal(pieceSize(32 * GiB), 16 * MiB);
  assert.equal(pieceSize(100 * GiB), 16 * MiB);
});

test('pieces: fed in odd chunks equal the digests of each slice; the last piece is short; none for an empty file', () => {
  const data = crypto.randomBytes(3 * 1000 + 17);
  const h = new PieceHasher(1000);
  for (let i = 0; i < data.length; i += 333) h.update(data.subarray(i, i + 333));
  const p = h.finish();
  const slices = [0, 1000, 2000, 3000].map((o) => data.subarray(o, o + 1000));
  assert.deepEqual(splitDigests(p.sha256, 32), slices.map((s) => crypto.createHash('sha256').update(s).digest('hex')));
  assert.deepEqual(splitDigests(p.sha1, 20), slices.map((s) => crypto.createHash('sha1').update(s).digest('hex')));
  assert.deepEqual(piecesOf(data, 1000), p);
  assert.equal(piecesOf(Buffer.alloc(0)).sha1.length, 0);
});

const content = crypto.randomBytes(600 * KiB);
const file = { path: '/pub/x y.iso', size: content.length, mtime: 1767225600 };
const pieces = piecesOf(content);

test('torrent: BEP 3 single file, web seeds in order, trackers as announce and announce-list; info hash over the info dict', () => {
  const t = bencode.decode(renderTorrent({ file, pieces, webSeeds: ['http://a/x', 'http://b/x'], trackers: ['udp://t1:1/a', 'http://t2/a'] }));
  const s = (v: Uint8Array) => Buffer.from(v).toString();
  assert.equal(s(t.announce), 'udp://t1:1/a');
  assert.deepEqual(t['announce-list'].map((tier: Uint8Array[]) => tier.map(s)), [['udp://t1:1/a'], ['http://t2/a']]);
  assert.deepEqual(t['url-list'].map(s), ['http://a/x', 'http://b/x']);
  assert.equal(t['creation date'], file.mtime);
  assert.equal(s(t.info.name), 'x y.iso');
  assert.equal(t.info['piece length'], 256 * KiB);
  assert.equal(t.info.pieces.length, 3 * 20);
  assert.equal(infoHash({ file, pieces }), crypto.createHash('sha1').update(bencode.encode(t.info)).digest('hex'));
  // Trackerless: no announce keys at all; the info hash does not depend on seeds or trackers.
  const bare = bencode.decode(renderTorrent({ file, pieces, webSeeds: [], trackers: [] }));
  assert.equal(bare.announce, undefined);
  assert.equal(bare['announce-list'], undefined);
  assert.equal(bare['url-list'], undefined);
  assert.equal(crypto.createHash('sha1').update(bencode.encode(bare.info)).digest('hex'), infoHash({ file, pieces }));
});

test('magnet link: btih, name, length, trackers, web seeds and the .torrent, each encoded', () => {
  const m = magnetLink({ file, pieces, trackers: ['udp://t:1/a'], webSeeds: ['http://a/x y'], torrentUrl: 'http://r/x y.iso.torrent' });
  assert.equal(m, `magnet:?xt=urn:btih:${infoHash({ file, pieces })}&dn=x%20y.iso&xl=${content.length}&tr=udp%3A%2F%2Ft%3A1%2Fa&ws=http%3A%2F%2Fa%2Fx%20y&xs=http%3A%2F%2Fr%2Fx%20y.iso.torrent`);
});

describe('Metalink pieces', () => {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, isArray: (n) => ['hash', 'url', 'metaurl'].includes(n) });
  const row = { ...file, sha256: 'ab'.repeat(32), sha1: null, md5: null };
  const input = { file: row, sources: [{ url: 'http://m/x', country: 'DE' }], originUrl: null, selfUrl: null, pieces };

  test('v4: <pieces type="sha-256" length> with one hash per piece; no metaurl unless asked', () => {
    const f = parser.parse(renderMeta4(input)).metalink.file;
    assert.equal(f.pieces['@_type'], 'sha-256');
    assert.equal(f.pieces['@_length'], String(256 * KiB));
    assert.deepEqual(f.pieces.hash, splitDigests(pieces.sha256, 32));
    assert.equal(f.metaurl, undefined);
    const withTorrent = parser.parse(renderMeta4({ ...input, torrent: { url: 'http://r/x.torrent', magnet: 'magnet:?xt=urn:btih:00' } })).metalink.file;
    assert.deepEqual(withTorrent.metaurl.map((m: Record<string, string>) => [m['@_mediatype'], m['#text']]), [['torrent', 'http://r/x.torrent'], ['torrent', 'magnet:?xt=urn:btih:00']]);
  });

  test('v3: <pieces type="sha1" length> inside verification, numbered from 0', () => {
    const v = parser.parse(renderMetalink3(input)).metalink.files.file.verification;
    assert.equal(v.pieces['@_type'], 'sha1');
    assert.deepEqual(v.pieces.hash.map((h: Record<string, string>) => [h['@_piece'], h['#text']]), splitDigests(pieces.sha1, 20).map((h, i) => [String(i), h]));
    assert.equal(parser.parse(renderMetalink3({ ...input, pieces: null })).metalink.files.file.verification.pieces, undefined);
  });
});

test('zsync control file: URL lines out, then the client\'s in; the binary block sums untouched', () => {
  const tail = crypto.randomBytes(64);
  const made = Buffer.concat([Buffer.from('zsync: 0.6.2\nFilename: x\nLength: 1234\nURL: x\nSHA-1: 00\n\n'), tail]);
  const stored = stripUrls(made);
  assert.equal(stored.subarray(0, stored.indexOf('\n\n')).toString(), 'zsync: 0.6.2\nFilename: x\nLength: 1234\nSHA-1: 00');
  const served = zsyncWithUrls(stored, ['http://a/x', 'http://b/x', 'http://bad/\nx']);
  assert.equal(served.subarray(0, served.indexOf('\n\n')).toString(), 'zsync: 0.6.2\nFilename: x\nLength: 1234\nSHA-1: 00\nURL: http://a/x\nURL: http://b/x');
  assert.deepEqual(served.subarray(served.length - 64), tail);
  assert.equal(zsyncLength(served), 1234);
});

test('mismatches join the excluded mirrors with their reason, once, and only for mirrors that exist', () => {
  const de = makeMirror({ id: 1, identifier: 'de' });
  const us = makeMirror({ id: 2, identifier: 'us' });
  const s: Selection = { chosen: null, ranked: [], excluded: [{ mirror: de, reason: 'down' }] };
  const out = withMismatches(s, [{ mirrorId: 1, reason: 'size' }, { mirrorId: 2, reason: 'older' }, { mirrorId: 9, reason: 'mtime' }], (id) => [de, us].find((m) => m.id === id));
  assert.deepEqual(out.excluded.map((e) => [e.mirror.identifier, e.reason]), [['de', 'down'], ['us', 'older copy']]);
});

describe('decide with pieces, torrents and mismatches', () => {
  let geo: GeoIp;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-bt-'));
    const f = writeGeoIpFixtures(dir);
    geo = await openGeoIp({ city: [f.city], asn: f.asn });
  });
  after(() => {
    geo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const m1 = makeMirror({ id: 1, identifier: 'de', country: 'DE', continent: 'EU', httpUrl: 'http://de.example/' });
  const m2 = makeMirror({ id: 2, identifier: 'us', country: 'US', continent: 'NA', httpUrl: 'http://us.example/' });
  const row: FileRow = { id: 7, path: '/pub/x y.iso', size: content.length, mtime: file.mtime, sha256: 'ab'.repeat(32), sha1: null, md5: null, mirrors: [1] };
  const deps = (over: Partial<DecideDeps> = {}): DecideDeps => ({
    fileRow: async (p) => (p === row.path ? row : null),
    mirror: (id) => [m1, m2].find((m) => m.id === id),
    peers: () => new Map(),
    geo,
    originKind: async () => 'none',
    selection: { distanceRange: 1.5 },
    delivery: { minSize: 0, excludePaths: [], excludeNetworks: [], excludeUserAgents: [], overridesOnRedirect: false },
    random: () => 0.5,
    formats: { torrentMinSize: 0 },
    pieces: async () => pieces,
    mismatches: async () => [{ mirrorId: 2, reason: 'size' }],
    ...over,
  });
  const req = (p: string, over: Record<string, string> = {}) => ({ path: p, query: '', clientIp: GEO.berlin.ip, scheme: 'http', userAgent: 'x', range: '', accept: '', host: 'dl.example', ...over });

  test('.torrent is bytes with the mirror first and the origin last; .btih and ?magnet are text', async () => {
    const d = await decide(req('/pub/x y.iso.torrent'), deps());
    assert.equal(d.t, 'bytes');
    const t = bencode.decode((d as { body: Buffer }).body);
    assert.deepEqual(t['url-list'].map((v: Uint8Array) => Buffer.from(v).toString()), ['http://de.example/pub/x%20y.iso', 'http://dl.example/pub/x%20y.iso']);
    assert.deepEqual(await decide(req('/pub/x y.iso.btih'), deps()), { t: 'body', status: 200, type: 'text/plain; charset=utf-8', body: `${infoHash({ file: row, pieces })}  x y.iso\n` });
    const magnet = await decide(req('/pub/x y.iso', { query: 'magnet' }), deps());
    assert.match((magnet as { body: string }).body, /^magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=x%20y\.iso&/);
    // Without known pieces: a 404 that says why.
    const none = await decide(req('/pub/x y.iso.torrent'), deps({ pieces: async () => null }));
    assert.equal((none as { status: number }).status, 404);
    assert.match((none as { body: string }).body, /piece hashes are not known yet/);
  });

  test('?json lists the mismatched mirror as excluded, and still answers when that read fails; the Metalink has pieces', async () => {
    const j = JSON.parse((await decide(req(row.path, { query: 'json' }), deps()) as { body: string }).body);
    assert.deepEqual(j.excluded, [{ identifier: 'us', reason: 'file size differs' }]);
    const failing = await decide(req(row.path, { query: 'json' }), deps({ mismatches: async () => { throw new Error('db down'); } }));
    assert.deepEqual(JSON.parse((failing as { body: string }).body).excluded, []);
    const m = await decide(req(`${row.path}.meta4`), deps());
    assert.match((m as { body: string }).body, /<pieces length="262144" type="sha-256">/);
  });

  test('a ranged request with aria2\'s Metalink Accept gets the file (a redirect), not the Metalink', async () => {
    const accept = '*/*,application/metalink4+xml,application/metalink+xml';
    assert.equal((await decide(req(row.path, { accept }), deps())).t, 'body');
    assert.equal((await decide(req(row.path, { accept, range: 'bytes=0-99' }), deps())).t, 'redirect');
  });
});
