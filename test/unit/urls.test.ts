import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrlFor, encodePath, mirrorFileUrl } from '../../core/urls.ts';
import type { Mirror } from '../../core/types.ts';

const joinCases: { name: string; base: string; path: string; want: string }[] = [
  { name: 'base without slash', base: 'http://m/pub', path: '/x.iso', want: 'http://m/pub/x.iso' },
  { name: 'base with slash', base: 'http://m/pub/', path: '/x.iso', want: 'http://m/pub/x.iso' },
  { name: 'base with several slashes', base: 'http://m/pub//', path: '/x.iso', want: 'http://m/pub/x.iso' },
  { name: 'host-only base', base: 'https://m', path: '/a/b', want: 'https://m/a/b' },
  { name: 'host-only base with slash', base: 'https://m/', path: '/a/b', want: 'https://m/a/b' },
  { name: 'path without leading slash', base: 'http://m/pub', path: 'x.iso', want: 'http://m/pub/x.iso' },
  { name: 'space', base: 'http://m', path: '/a b.iso', want: 'http://m/a%20b.iso' },
  { name: 'percent is literal in origin paths', base: 'http://m', path: '/100%.txt', want: 'http://m/100%25.txt' },
  { name: 'query and fragment characters', base: 'http://m', path: '/a?b#c', want: 'http://m/a%3Fb%23c' },
  { name: 'CR LF never emitted', base: 'http://m', path: '/a\r\nSet-Cookie: x', want: 'http://m/a%0D%0ASet-Cookie:%20x' },
  { name: 'control characters and DEL', base: 'http://m', path: '/\x00\x1f\x7f', want: 'http://m/%00%1F%7F' },
  { name: 'backslash, quotes, angle brackets', base: 'http://m', path: '/a\\b"<>', want: 'http://m/a%5Cb%22%3C%3E' },
  { name: 'sub-delims, colon and at stay', base: 'http://m', path: "/g++_1:2@x!$&'()*,;=.deb", want: "http://m/g++_1:2@x!$&'()*,;=.deb" },
  { name: 'unreserved stay', base: 'http://m', path: '/A-Z_a~z.0-9', want: 'http://m/A-Z_a~z.0-9' },
  { name: 'UTF-8', base: 'http://m', path: '/été/日本.iso', want: 'http://m/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.iso' },
  { name: 'lone surrogate becomes U+FFFD', base: 'http://m', path: '/a\ud800b', want: 'http://m/a%EF%BF%BDb' },
  { name: 'brackets and braces', base: 'http://m', path: '/[x]{y}|^`', want: 'http://m/%5Bx%5D%7By%7D%7C%5E%60' },
];

for (const c of joinCases) {
  test(`mirrorFileUrl: ${c.name}`, () => {
    const url = mirrorFileUrl(c.base, c.path);
    assert.equal(url, c.want);
    // eslint-disable-next-line no-control-regex -- the test is that none is emitted
    assert.doesNotMatch(url, /[\x00-\x20\x7f]/);
  });
}

test('encodePath keeps the separators and round-trips through decodeURIComponent', () => {
  for (const p of ['/a b/c%d/e?f', '/x/ü/ÿ/€', '/plain/path.iso']) {
    const e = encodePath(p);
    assert.equal(e.split('/').length, p.split('/').length);
    assert.equal(decodeURIComponent(e), p);
  }
});

function mirror(httpUrl: string | null, httpsUrl: string | null): Mirror {
  return { httpUrl, httpsUrl } as Mirror;
}

const schemeCases: { name: string; http: string | null; https: string | null; scheme: 'http' | 'https'; want: string | null }[] = [
  { name: 'both, http wanted', http: 'http://m', https: 'https://m', scheme: 'http', want: 'http://m' },
  { name: 'both, https wanted', http: 'http://m', https: 'https://m', scheme: 'https', want: 'https://m' },
  { name: 'http only, https wanted: never downgrade', http: 'http://m', https: null, scheme: 'https', want: null },
  { name: 'http only, http wanted', http: 'http://m', https: null, scheme: 'http', want: 'http://m' },
  { name: 'https only, http wanted: upgraded', http: null, https: 'https://m', scheme: 'http', want: 'https://m' },
  { name: 'https only, https wanted', http: null, https: 'https://m', scheme: 'https', want: 'https://m' },
  { name: 'neither', http: null, https: null, scheme: 'http', want: null },
  { name: 'empty string counts as absent', http: '', https: null, scheme: 'http', want: null },
  { name: 'a base URL with a space or CR is not used', http: 'http://m/a b', https: 'https://m/\r', scheme: 'http', want: null },
];

for (const c of schemeCases) {
  test(`baseUrlFor: ${c.name}`, () => {
    assert.equal(baseUrlFor(mirror(c.http, c.https), c.scheme), c.want);
  });
}
