import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLag, judgeTrace, parseTraceTimestamp } from '../../core/probe/trace.ts';

const T = 1750537730; // 2025-06-21T20:28:50Z

describe('parseTraceTimestamp', () => {
  const cases: [string, string, number | null][] = [
    ['unix seconds (Arch lastsync)', '1750537730\n', T],
    ['unix seconds with fraction', '1750537730.25', T],
    ['date -u (Debian trace) with more lines', 'Sat Jun 21 20:28:50 UTC 2025\nDate: x\nCreator: ftpsync\n', T],
    ['date -u with a one-digit day', 'Sun Jun  1 20:28:50 UTC 2025', T - 20 * 86400],
    ['RFC 2822 with offset', 'Sat, 21 Jun 2025 22:28:50 +0200', T],
    ['RFC 2822 GMT', 'Sat, 21 Jun 2025 20:28:50 GMT', T],
    ['RFC 2822 without weekday or seconds', '21 Jun 2025 20:28 +0000', T - 50],
    ['ISO 8601 Z', '2025-06-21T20:28:50Z', T],
    ['ISO 8601 offset', '2025-06-21T16:28:50-04:00', T],
    ['ISO 8601 without zone is UTC', '2025-06-21 20:28:50', T],
    ['ISO 8601 with milliseconds', '2025-06-21T20:28:50.123Z', T],
    ['leading blank lines and spaces', '\n\n   1750537730  \n', T],
    ['CRLF', '1750537730\r\nsomething', T],
    ['empty', '', null],
    ['garbage that Date.parse would take', 'garbage 2025', null],
    ['a named zone is ambiguous', 'Sat Jun 21 20:28:50 CEST 2025', null],
    ['31 February', '2025-02-31T00:00:00Z', null],
    ['25 o\'clock', '2025-06-21T25:00:00Z', null],
    ['HTML error page', '<html><body>Not here</body></html>', null],
    ['timestamp not on the first line', 'trace\n1750537730', null],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => assert.equal(parseTraceTimestamp(text), want));
  }
});

describe('formatLag', () => {
  const cases: [number, string][] = [
    [0, '1 min'],
    [59, '1 min'],
    [45 * 60, '45 min'],
    [3600, '1 h'],
    [5 * 3600 + 1800, '5 h'],
    [71 * 3600, '71 h'],
    [72 * 3600, '3 d'],
  ];
  for (const [s, want] of cases) it(`${s} s → ${want}`, () => assert.equal(formatLag(s), want));
});

describe('judgeTrace', () => {
  it('a mirror within maxAge is current', () => {
    assert.deepEqual(judgeTrace(T, T - 600, 3600), { lagS: 600, stale: false, reason: '' });
  });
  it('a mirror beyond maxAge is stale, the reason says by how much', () => {
    assert.deepEqual(judgeTrace(T, T - 5 * 3600 - 30, 3600), { lagS: 5 * 3600 + 30, stale: true, reason: 'stale: trace 5 h behind' });
  });
  it('exactly maxAge is not stale', () => assert.equal(judgeTrace(T, T - 3600, 3600).stale, false));
  it('a mirror ahead of the origin (origin read before its next sync) has no lag', () => {
    assert.deepEqual(judgeTrace(T, T + 100, 3600), { lagS: 0, stale: false, reason: '' });
  });
  it('maxAge 0 turns the check off', () => assert.equal(judgeTrace(T, 0, 0).stale, false));
});
