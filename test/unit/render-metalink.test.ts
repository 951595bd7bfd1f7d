// Metalink documents checked against their specs by parsing them back: RFC 5854 (v4) and Metalink 3.0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { META4_NS, METALINK3_NS, renderMeta4, renderMetalink3, type MetalinkInput } from '../../sidecar/render-metalink.ts';

const MTIME = 1767225600; // 2026-01-01T00:00:00Z
const input: MetalinkInput = {
  file: { path: '/pub/sub/x.iso', size: 2097152, mtime: MTIME, sha256: 'ab'.repeat(32), sha1: 'cd'.repeat(20), md5: null },
  sources: [
    { url: 'http://de.example/pub/sub/x.iso', country: 'DE' },
    { url: 'https://cdn.example/pub/sub/x.iso', country: '**' },
    { url: 'http://us.example/pub/sub/x.iso?time=1&stamp=ab', country: 'US' },
  ],
  originUrl: 'https://dl.example/pub/sub/x.iso',
  selfUrl: 'https://dl.example/pub/sub/x.iso.meta4',
};

// Every repeatable element as an array, attributes as strings: what a strict reader sees.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ['file', 'url', 'hash'].includes(name),
});

type Node = Record<string, any>;

/** The RFC 5854 rules a client relies on; returns the file element. */
function checkMeta4(xml: string): Node {
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
  const doc = parser.parse(xml);
  assert.deepEqual(Object.keys(doc).filter((k) => k !== '?xml'), ['metalink'], 'one root element: metalink');
  const root = doc.metalink;
  assert.equal(root['@_xmlns'], META4_NS);
  assert.equal(root.file.length, 1, 'exactly one file');
  assert.match(root.published, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'published is an RFC 3339 date');
  const f = root.file[0];
  assert.ok(f['@_name'] && !f['@_name'].includes('/') && !['.', '..'].includes(f['@_name']), 'relative name without directories');
  assert.match(f.size, /^\d+$/);
  const sha = f.hash.filter((h: Node) => h['@_type'] === 'sha-256');
  assert.equal(sha.length, 1, 'one sha-256 hash');
  assert.match(sha[0]['#text'], /^[0-9a-f]{64}$/);
  assert.deepEqual(f.url.map((u: Node) => Number(u['@_priority'])), f.url.map((_: Node, i: number) => i + 1), 'priorities 1.. in order');
  for (const u of f.url) {
    if (u['@_location'] !== undefined) assert.match(u['@_location'], /^[a-z]{2}$/, 'location: lower-case ISO 3166 code');
    assert.match(u['#text'], /^https?:\/\//);
  }
  return root;
}

test('meta4: RFC 5854 document with ranked mirrors, the origin last and the dynamic origin', () => {
  const root = checkMeta4(renderMeta4(input));
  assert.equal(root.published, '2026-01-01T00:00:00Z');
  assert.deepEqual(root.origin, { '#text': 'https://dl.example/pub/sub/x.iso.meta4', '@_dynamic': 'true' });
  const f = root.file[0];
  assert.equal(f['@_name'], 'x.iso');
  assert.equal(f.size, '2097152');
  assert.deepEqual(f.hash, [{ '@_type': 'sha-256', '#text': 'ab'.repeat(32) }, { '@_type': 'sha-1', '#text': 'cd'.repeat(20) }]);
  assert.deepEqual(
    f.url.map((u: Node) => [u['#text'], u['@_location'], u['@_priority']]),
    [
      ['http://de.example/pub/sub/x.iso', 'de', '1'],
      ['https://cdn.example/pub/sub/x.iso', undefined, '2'],
      ['http://us.example/pub/sub/x.iso?time=1&stamp=ab', 'us', '3'],
      ['https://dl.example/pub/sub/x.iso', undefined, '4'],
    ],
  );
});

test('meta4: names and URLs with XML metacharacters are escaped and read back intact', () => {
  const odd = { ...input, file: { ...input.file, path: `/pub/a&b<c>"d'.iso` }, sources: [{ url: 'http://m.example/a&b', country: 'de' }] };
  const xml = renderMeta4(odd);
  const f = checkMeta4(xml).file[0];
  assert.equal(f['@_name'], `a&b<c>"d'.iso`);
  assert.equal(f.url[0]['#text'], 'http://m.example/a&b');
  assert.doesNotMatch(xml, /<c>/);
});

test('meta4: without a known host there is no origin element and no origin URL', () => {
  const root = checkMeta4(renderMeta4({ ...input, originUrl: null, selfUrl: null }));
  assert.equal(root.origin, undefined);
  assert.equal(root.file[0].url.length, 3);
});

test('metalink 3.0: version, namespace, dynamic origin, RFC 822 pubdate, verification, preference 100 down', () => {
  const xml = renderMetalink3({ ...input, selfUrl: 'https://dl.example/pub/sub/x.iso.metalink' });
  const doc = parser.parse(xml);
  const root = doc.metalink;
  assert.equal(root['@_version'], '3.0');
  assert.equal(root['@_xmlns'], METALINK3_NS);
  assert.equal(root['@_type'], 'dynamic');
  assert.equal(root['@_origin'], 'https://dl.example/pub/sub/x.iso.metalink');
  assert.equal(root['@_pubdate'], 'Thu, 01 Jan 2026 00:00:00 GMT');
  assert.equal(Date.parse(root['@_pubdate']), MTIME * 1000);
  assert.equal(root.files.file.length, 1, 'exactly one file');
  const f = root.files.file[0];
  assert.equal(f['@_name'], 'x.iso');
  assert.equal(f.size, '2097152');
  assert.deepEqual(f.verification.hash, [{ '@_type': 'sha256', '#text': 'ab'.repeat(32) }, { '@_type': 'sha1', '#text': 'cd'.repeat(20) }]);
  assert.deepEqual(
    f.resources.url.map((u: Node) => [u['#text'], u['@_type'], u['@_location'], u['@_preference']]),
    [
      ['http://de.example/pub/sub/x.iso', 'http', 'de', '100'],
      ['https://cdn.example/pub/sub/x.iso', 'https', undefined, '99'],
      ['http://us.example/pub/sub/x.iso?time=1&stamp=ab', 'http', 'us', '98'],
      ['https://dl.example/pub/sub/x.iso', 'https', undefined, '97'],
    ],
  );
});

test('long lists: v4 priorities keep counting, 3.0 preferences stop at 1 (the spec range is 1-100)', () => {
  const many = { ...input, sources: Array.from({ length: 150 }, (_, i) => ({ url: `http://m${i}.example/x.iso`, country: 'DE' })) };
  const v4 = checkMeta4(renderMeta4(many)).file[0].url;
  assert.equal(v4.length, 151);
  const v3 = parser.parse(renderMetalink3(many)).metalink.files.file[0].resources.url.map((u: Node) => Number(u['@_preference']));
  assert.equal(v3.length, 151);
  assert.ok(v3.every((p: number, i: number) => p >= 1 && p <= 100 && (i === 0 || p <= v3[i - 1])));
});

test('a file without known hashes: no hash and no verification element', () => {
  const bare = { ...input, file: { ...input.file, sha256: null, sha1: null, md5: null } };
  assert.doesNotMatch(renderMeta4(bare), /<hash/);
  assert.doesNotMatch(renderMetalink3(bare), /<verification|<hash/);
});
