import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasOverrides, parseQuery, splitFormatSuffix, withSuffixFormat } from '../../sidecar/query.ts';

test('query: formats, https, overrides, avoid', () => {
  const q = parseQuery('json&country=fr&as=AS4444&ip=2001:db8::1&avoid=de,%20it,xx1&https=1');
  assert.equal(q.format, 'json');
  assert.equal(q.https, true);
  assert.deepEqual(q.overrides, { country: 'FR', asn: 4444, ip: '2001:db8::1' });
  assert.deepEqual(q.avoid, ['DE', 'IT']);
  assert.ok(hasOverrides(q.overrides));
});

test('query: Accept: application/json asks for JSON; nothing means a redirect', () => {
  assert.equal(parseQuery('', 'application/json').format, 'json');
  assert.equal(parseQuery('', 'text/html,application/json').format, 'redirect');
  const plain = parseQuery('');
  assert.equal(plain.format, 'redirect');
  assert.equal(plain.https, false);
  assert.ok(!hasOverrides(plain.overrides));
});

test('query: junk values are ignored, never thrown', () => {
  const q = parseQuery('country=<script>&as=99999999999&ip=999.1.1.1&avoid=%ZZ&https=yes');
  assert.deepEqual(q.overrides, { country: null, asn: null, ip: null });
  assert.equal(q.https, false);
  assert.deepEqual(parseQuery('country=QQ').overrides.country, null, 'not a country');
  assert.doesNotThrow(() => parseQuery('%%%&&&==='));
});

test('query: format arguments; ?json wins, so ?mirrorlist&json is the list as JSON', () => {
  for (const f of ['meta4', 'metalink', 'mirrorlist', 'sha256', 'sha1', 'md5'] as const) assert.equal(parseQuery(f).format, f);
  assert.equal(parseQuery('mirrorlist&json').format, 'json');
  assert.equal(parseQuery('country=de&meta4').format, 'meta4');
  assert.equal(parseQuery('meta4=').format, 'meta4');
});

test('query: Accept negotiates Metalink on the plain URL (aria2 sends both types), q=0 refuses', () => {
  assert.equal(parseQuery('', '*/*,application/metalink4+xml,application/metalink+xml').format, 'meta4');
  assert.equal(parseQuery('', 'application/metalink+xml').format, 'metalink');
  assert.equal(parseQuery('', 'application/metalink4+xml;q=0.5, application/metalink+xml').format, 'metalink');
  assert.equal(parseQuery('', 'application/metalink4+xml;q=0').format, 'redirect');
  assert.equal(parseQuery('', '*/*').format, 'redirect');
  assert.equal(parseQuery('', 'application/json').format, 'json');
  assert.equal(parseQuery('sha256', 'application/metalink4+xml').format, 'sha256', 'an explicit argument wins');
});

test('query: format suffixes, only where a file name remains', () => {
  assert.deepEqual(splitFormatSuffix('/pub/x.iso.meta4'), { path: '/pub/x.iso', format: 'meta4' });
  assert.deepEqual(splitFormatSuffix('/pub/x.iso.metalink'), { path: '/pub/x.iso', format: 'metalink' });
  assert.deepEqual(splitFormatSuffix('/pub/x.iso.mirrorlist'), { path: '/pub/x.iso', format: 'mirrorlist' });
  assert.deepEqual(splitFormatSuffix('/pub/x.iso.sha256'), { path: '/pub/x.iso', format: 'sha256' });
  assert.deepEqual(splitFormatSuffix('/pub/x.sha1'), { path: '/pub/x', format: 'sha1' });
  assert.deepEqual(splitFormatSuffix('/pub/x.md5'), { path: '/pub/x', format: 'md5' });
  assert.equal(splitFormatSuffix('/pub/.md5'), null);
  assert.equal(splitFormatSuffix('/pub/x.iso'), null);
  assert.equal(splitFormatSuffix('/pub/x.meta4x'), null);
  assert.equal(withSuffixFormat(parseQuery('json'), 'mirrorlist').format, 'json');
  assert.equal(withSuffixFormat(parseQuery('json'), 'meta4').format, 'meta4');
  assert.equal(withSuffixFormat(parseQuery(''), 'sha1').format, 'sha1');
});
