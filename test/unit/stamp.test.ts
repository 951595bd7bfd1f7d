// Redirect stamps: the documented message, checked against a vector made with openssl, and verification.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendStamp, signStamp, stampMessage, verifyStamp } from '../../core/stamp.ts';

const SECRET = 'correct horse';
const T = 1767225600;

test('stamp: hex HMAC-SHA256 of time immediately followed by the unencoded origin path', () => {
  assert.equal(stampMessage(T, '/pub/x y.iso'), '1767225600/pub/x y.iso');
  // printf '%s' '1767225600/pub/x y.iso' | openssl dgst -sha256 -hmac 'correct horse'
  assert.deepEqual(signStamp(SECRET, T, '/pub/x y.iso'), { time: T, stamp: '4c8fee458b7c47bd6f81a14b4bfdfc37f1a83566f6460d11aae4c80856864d6d' });
  // The path as UTF-8.
  assert.equal(signStamp(SECRET, T, '/pub/ünï.iso').stamp, 'b2f53a8f51c94b75f3a03b667f6e2a724eb6b27467bb88ac0eaa3f738ba516ec');
  assert.equal(signStamp(SECRET, T + 0.9, '/pub/x y.iso').time, T, 'whole seconds');
});

test('stamp: appended as ?time=&stamp=, or with & after an existing query', () => {
  const s = signStamp(SECRET, T, '/a');
  assert.equal(appendStamp('http://m.example/a', s), `http://m.example/a?time=${T}&stamp=${s.stamp}`);
  assert.equal(appendStamp('http://m.example/a?x=1', s), `http://m.example/a?x=1&time=${T}&stamp=${s.stamp}`);
});

test('stamp: verify accepts a fresh stamp and refuses other paths, secrets, old, future and junk ones', () => {
  const s = signStamp(SECRET, T, '/pub/x.iso');
  const o = { now: T + 100, maxAgeS: 3600 };
  assert.equal(verifyStamp(SECRET, '/pub/x.iso', String(T), s.stamp, o), true);
  assert.equal(verifyStamp(SECRET, '/pub/y.iso', String(T), s.stamp, o), false, 'other path');
  assert.equal(verifyStamp('other', '/pub/x.iso', String(T), s.stamp, o), false, 'other secret');
  assert.equal(verifyStamp(SECRET, '/pub/x.iso', String(T + 1), s.stamp, o), false, 'other time');
  assert.equal(verifyStamp(SECRET, '/pub/x.iso', String(T), s.stamp, { now: T + 3601, maxAgeS: 3600 }), false, 'too old');
  assert.equal(verifyStamp(SECRET, '/pub/x.iso', String(T), s.stamp, { now: T - 61, maxAgeS: 3600 }), false, 'from the future');
  assert.equal(verifyStamp(SECRET, '/pub/x.iso', String(T), s.stamp, { now: T - 59, maxAgeS: 3600 }), true, 'within the clock skew');
  for (const [time, stamp] of [['', s.stamp], ['12a', s.stamp], [String(T), 'zz'], [String(T), s.stamp.toUpperCase()], [String(T), s.stamp.slice(2)]]) {
    assert.equal(verifyStamp(SECRET, '/pub/x.iso', time, stamp, o), false, `${time} ${stamp}`);
  }
});
