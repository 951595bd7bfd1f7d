import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { downloadTarget } from '../../sidecar/download-target.ts';
import { httpAnswer } from '../../sidecar/http-answer.ts';
import { mulberry32 } from '../helpers/prng.ts';

describe('downloadTarget: the request target nginx forwards, decoded and normalised as nginx does', () => {
  test('plain, encoded, raw UTF-8 (as Node reads a header: Latin-1) and the query as sent', () => {
    assert.deepEqual(downloadTarget('/pub/x.iso', '/pub/'), { path: '/x.iso', query: '' });
    assert.deepEqual(downloadTarget('/pub/a%20b%C3%BC.iso?json&x=%41', '/pub/'), { path: '/a bü.iso', query: 'json&x=%41' });
    assert.deepEqual(downloadTarget(Buffer.from('/pub/ü.iso?ü').toString('latin1'), '/pub/'), { path: '/ü.iso', query: 'Ã¼' });
    assert.deepEqual(downloadTarget('/x.iso', '/'), { path: '/x.iso', query: '' });
  });

  test('dot segments resolved and slashes merged, never above the published tree', () => {
    assert.deepEqual(downloadTarget('//pub///a/./b/../c.iso', '/pub/'), { path: '/a/c.iso', query: '' });
    assert.deepEqual(downloadTarget('/pub/%2e%2e/%2E%2E/etc/passwd', '/pub/'), { problem: 'path outside the published tree' });
    assert.deepEqual(downloadTarget('/pub/a/../../etc/passwd', '/pub/'), { problem: 'path outside the published tree' });
    assert.deepEqual(downloadTarget('/../x', '/'), { problem: 'path outside the published tree' });
    assert.deepEqual(downloadTarget('/pub/a%2F..%2F..%2Fb', '/pub/'), { problem: 'path outside the published tree' });
    assert.deepEqual(downloadTarget('/other/x', '/pub/'), { problem: 'path outside the published tree' });
  });

  test('bad escapes, invalid UTF-8, a "?" in a name and a relative target are refused', () => {
    assert.deepEqual(downloadTarget('/pub/%zz', '/pub/'), { problem: 'path is not valid UTF-8 or has a broken %-escape' });
    assert.deepEqual(downloadTarget('/pub/%C3', '/pub/'), { problem: 'path is not valid UTF-8 or has a broken %-escape' });
    assert.deepEqual(downloadTarget('/pub/\xff.iso', '/pub/'), { problem: 'path is not valid UTF-8 or has a broken %-escape' });
    assert.deepEqual(downloadTarget('/pub/a%3Fb', '/pub/'), { problem: 'question mark in path' });
    assert.deepEqual(downloadTarget('pub/x', '/pub/'), { problem: 'path must start with "/"' });
    // Control characters pass here; decide() refuses them with the other origin path rules.
    assert.deepEqual(downloadTarget('/pub/a%0d%0ab', '/pub/'), { path: '/a\r\nb', query: '' });
  });
});

test('the plain-target shortcut answers what the general path answers', () => {
  const rnd = mulberry32(11);
  const alphabet = 'ab./-_~:@!$&()*+,;=é%20';
  for (let i = 0; i < 3000; i++) {
    let t = '/';
    const n = Math.floor(rnd() * 20);
    for (let j = 0; j < n; j++) t += alphabet[Math.floor(rnd() * alphabet.length)];
    const prefix = rnd() < 0.5 ? '/' : '/a/';
    // Escaping one "/" as %2F sends the same target through the general path (decode, segments).
    const general = t.replace(/\//g, (m, at: number) => (at === 0 ? m : '%2F'));
    assert.deepEqual(downloadTarget(t, prefix), downloadTarget(general, prefix), `${JSON.stringify(t)} under ${prefix}`);
  }
});

describe('httpAnswer: a decision as the answer njs copies', () => {
  test('redirect: 302 with Location and the decision headers', () => {
    const a = httpAnswer({ t: 'redirect', url: 'http://m/x', m: 1, h: { Link: ['<a>', '<b>'] } }, '/x');
    assert.deepEqual(a, { status: 302, headers: { Link: ['<a>', '<b>'], Location: 'http://m/x' }, body: '' });
  });

  test('local: a 200 whose X-Ml-Local names the file, encoded, with the headers a local answer keeps, Link lines still separate', () => {
    const a = httpAnswer({ t: 'local', why: 'self-serving mirror', m: 2, h: { 'Content-Location': 'http://me/x y', Link: ['<a>', '<b>'], 'X-Mirrorlane-Tier': 'country' } }, '/d/x y ü');
    assert.deepEqual(a, {
      status: 200,
      headers: { 'X-Ml-Local': '/d/x%20y%20%C3%BC', 'Content-Location': 'http://me/x y', Link: ['<a>', '<b>'] },
      body: '',
    });
  });

  test('local in nginx.mode proxy: X-Accel-Redirect, encoded; headers renamed for the origin location', () => {
    const a = httpAnswer({ t: 'local', why: 'self-serving mirror', m: 2, h: { 'Content-Location': 'http://me/x y', Link: ['<a>', '<b>'], 'X-Mirrorlane-Tier': 'country' } }, '/d/x y ü', 'proxy');
    assert.deepEqual(a.headers, { 'X-Ml-Content-Location': 'http://me/x y', 'X-Ml-Link': '<a>, <b>', 'X-Accel-Redirect': '/_mirrorlane/origin/d/x%20y%20%C3%BC' });
  });

  test('notfound, dir and bodies', () => {
    assert.equal(httpAnswer({ t: 'notfound' }, '/x').status, 404);
    assert.equal(httpAnswer({ t: 'notfound' }, '/x').headers['X-Content-Type-Options'], 'nosniff');
    assert.deepEqual(httpAnswer({ t: 'dir', url: 'http://h/d/' }, '/d').headers.Location, 'http://h/d/');
    assert.deepEqual(httpAnswer({ t: 'body', status: 200, type: 'text/html', body: 'é', h: { A: 'b' } }, '/x'), {
      status: 200,
      headers: { A: 'b', 'Content-Type': 'text/html' },
      body: 'é',
    });
  });
});
