// RFC 6249 headers of a redirect: Link rel=duplicate / rel=describedby, Digest (RFC 3230), Repr-Digest (RFC 9530).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { hexToBase64, redirectHeaders } from '../../sidecar/link-headers.ts';

const content = Buffer.from('mirrorlane');
const file = {
  sha256: crypto.createHash('sha256').update(content).digest('hex'),
  sha1: crypto.createHash('sha1').update(content).digest('hex'),
  md5: crypto.createHash('md5').update(content).digest('hex'),
};
const b64 = (alg: string) => crypto.createHash(alg).update(content).digest('base64');

/** RFC 8288 link-values of one header: "<uri>; p=v; ...", comma-separated (URIs here hold no "," or ">"). */
function parseLinks(header: string): { uri: string; params: Record<string, string> }[] {
  return [...header.matchAll(/<([^>]*)>((?:\s*;\s*[a-z]+=(?:"[^"]*"|[^;,]*))*)\s*(?:,|$)/g)].map((m) => ({
    uri: m[1],
    params: Object.fromEntries([...m[2].matchAll(/;\s*([a-z]+)=("[^"]*"|[^;,]*)/g)].map((p) => [p[1], p[2].trim()])),
  }));
}

test('link headers: duplicates with pri 1.. and lower-case geo, then the Metalink as describedby', () => {
  const h = redirectHeaders({
    file,
    duplicates: [
      { url: 'http://us.example/pub/x.iso', country: 'US' },
      { url: 'https://cdn.example/pub/x.iso', country: '**' },
      { url: 'http://jp.example/pub/x.iso?time=1&stamp=ab', country: 'JP' },
    ],
    metalinkUrl: 'https://dl.example/pub/x.iso.meta4',
  });
  assert.ok(Array.isArray(h.Link), 'one Link header line per link (aria2 reads one per line)');
  assert.equal(h.Link.length, 4);
  const links = parseLinks(h.Link.join(', '));
  assert.deepEqual(links, [
    { uri: 'http://us.example/pub/x.iso', params: { rel: 'duplicate', pri: '1', geo: 'us' } },
    { uri: 'https://cdn.example/pub/x.iso', params: { rel: 'duplicate', pri: '2' } },
    { uri: 'http://jp.example/pub/x.iso?time=1&stamp=ab', params: { rel: 'duplicate', pri: '3', geo: 'jp' } },
    { uri: 'https://dl.example/pub/x.iso.meta4', params: { rel: 'describedby', type: '"application/metalink4+xml"' } },
  ]);
});

test('digests: SHA-256, SHA (SHA-1) and MD5 in base64; Repr-Digest as an RFC 8941 byte sequence', () => {
  const h = redirectHeaders({ file, duplicates: [], metalinkUrl: null });
  assert.equal(h.Digest, `SHA-256=${b64('sha256')}, SHA=${b64('sha1')}, MD5=${b64('md5')}`);
  assert.equal(h['Repr-Digest'], `sha-256=:${b64('sha256')}:`);
  assert.equal(h.Link, undefined, 'no alternatives and no host: no Link');
  const only256 = redirectHeaders({ file: { sha256: file.sha256, sha1: null, md5: null }, duplicates: [], metalinkUrl: null });
  assert.equal(only256.Digest, `SHA-256=${b64('sha256')}`);
});

test('without a SHA-256 there is no digest and no duplicate (RFC 6249 clients could not check them)', () => {
  const h = redirectHeaders({
    file: { sha256: null, sha1: file.sha1, md5: null },
    duplicates: [{ url: 'http://us.example/x', country: 'US' }],
    metalinkUrl: 'http://dl.example/x.meta4',
  });
  assert.deepEqual(h, { Link: ['<http://dl.example/x.meta4>; rel=describedby; type="application/metalink4+xml"'] });
});

test('hexToBase64: hex only', () => {
  assert.equal(hexToBase64('00ff'), 'AP8=');
  for (const bad of [null, '', 'abc', 'zz', '0x00']) assert.equal(hexToBase64(bad), null, String(bad));
});
