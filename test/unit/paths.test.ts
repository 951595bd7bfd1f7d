import assert from 'node:assert/strict';
import { test } from 'node:test';
import { originPathProblem } from '../../core/paths.ts';

test('origin paths: good ones pass', () => {
  for (const p of ['/', '/pub/x.iso', '/pub/dir/', '/a b/ü.tar.gz', '/.hidden', '/a..b']) assert.equal(originPathProblem(p), null, p);
});

test('origin paths: each bad one is named', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['pub/x', /start with/],
    ['/pub/../etc/passwd', /dot segment/],
    ['/pub/./x', /dot segment/],
    ['/pub/x\u0000y', /control/],
    ['/pub/x\r\nSet-Cookie: a', /control/],
    ['/pub/\u007f', /control/],
    ['/pub//x', /empty segment/],
    ['/pub/\uFFFD', /UTF-8/],
    ['/' + 'a'.repeat(1024), /longer than/],
  ];
  for (const [p, re] of cases) assert.match(originPathProblem(p) ?? 'null', re, JSON.stringify(p));
});
