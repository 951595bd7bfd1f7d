import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasOverrides, parseQuery } from '../../sidecar/query.ts';

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
