import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCopy, type CurrencyRules, type CurrencyResult } from '../../core/file-currency.ts';

// Mirrorbits' file checks: origin file of 43 000 bytes; mtimes in Unix seconds, timezone offset in ms.
const T = 1_700_000_000;
const origin = { path: '/test/test.tgz', size: 43_000, mtime: T };
const noRules: CurrencyRules = { outdatedAllowed: [] };
const ok: CurrencyResult = { ok: true };
const sizeDiffers: CurrencyResult = { ok: false, reason: 'file size differs' };
const mtimeDiffers: CurrencyResult = { ok: false, reason: 'mtime differs' };

const cases: { name: string; copy: { size: number; mtime: number }; rules: CurrencyRules; path?: string; want: CurrencyResult }[] = [
  { name: 'identical copy', copy: { size: 43_000, mtime: T }, rules: noRules, want: ok },
  { name: 'size 12 345', copy: { size: 12_345, mtime: T }, rules: noRules, want: sizeDiffers },
  { name: 'size checked before mtime', copy: { size: 12_345, mtime: T - 100 }, rules: noRules, want: sizeDiffers },
  { name: 'within 1 s tolerance (newer)', copy: { size: 43_000, mtime: T + 1 }, rules: noRules, want: ok },
  { name: 'within 1 s tolerance (older)', copy: { size: 43_000, mtime: T - 0.5 }, rules: noRules, want: ok },
  { name: '10 s newer', copy: { size: 43_000, mtime: T + 10 }, rules: noRules, want: mtimeDiffers },
  { name: '100 s older', copy: { size: 43_000, mtime: T - 100 }, rules: noRules, want: mtimeDiffers },
  {
    name: '100 s older, rule /test/ 2 min',
    copy: { size: 43_000, mtime: T - 100 },
    rules: { outdatedAllowed: [{ prefix: '/test/', minutes: 2 }] },
    want: ok,
  },
  {
    name: '100 s older, rule /test/ 1 min',
    copy: { size: 43_000, mtime: T - 100 },
    rules: { outdatedAllowed: [{ prefix: '/test/', minutes: 1 }] },
    want: mtimeDiffers,
  },
  {
    name: '100 s older, rule /wrong/ 2 min',
    copy: { size: 43_000, mtime: T - 100 },
    rules: { outdatedAllowed: [{ prefix: '/wrong/', minutes: 2 }] },
    want: mtimeDiffers,
  },
  {
    name: '100 s older, several rules: the matching largest counts',
    copy: { size: 43_000, mtime: T - 100 },
    rules: { outdatedAllowed: [{ prefix: '/wrong/', minutes: 60 }, { prefix: '/test/', minutes: 1 }, { prefix: '/', minutes: 2 }] },
    want: ok,
  },
  {
    name: '10 s newer, rule /test/ 2 min: a newer copy is never current',
    copy: { size: 43_000, mtime: T + 10 },
    rules: { outdatedAllowed: [{ prefix: '/test/', minutes: 2 }] },
    want: mtimeDiffers,
  },
  {
    name: '3 h older, rule /test/ 2 min',
    copy: { size: 43_000, mtime: T - 3 * 3600 },
    rules: { outdatedAllowed: [{ prefix: '/test/', minutes: 2 }] },
    want: mtimeDiffers,
  },
  {
    name: 'empty prefix is ignored, not a wildcard',
    copy: { size: 43_000, mtime: T - 100 },
    rules: { outdatedAllowed: [{ prefix: '', minutes: 2 }] },
    want: mtimeDiffers,
  },
  { name: 'timezone offset 1 h, fix off', copy: { size: 43_000, mtime: T + 3600 }, rules: noRules, want: mtimeDiffers },
  {
    name: 'timezone offset 1 h, fix on (3 600 000 ms)',
    copy: { size: 43_000, mtime: T + 3600 },
    rules: { outdatedAllowed: [], tzOffsetMs: 3_600_000 },
    want: ok,
  },
  {
    name: 'timezone fix on, offset does not match the copy',
    copy: { size: 43_000, mtime: T + 7200 },
    rules: { outdatedAllowed: [], tzOffsetMs: 3_600_000 },
    want: mtimeDiffers,
  },
  {
    name: 'negative timezone offset',
    copy: { size: 43_000, mtime: T - 1800 },
    rules: { outdatedAllowed: [], tzOffsetMs: -1_800_000 },
    want: ok,
  },
  { name: 'unknown copy mtime (NaN)', copy: { size: 43_000, mtime: NaN }, rules: noRules, want: mtimeDiffers },
  {
    name: 'path outside the rule prefix (prefix is literal, not a substring)',
    path: '/other/test/test.tgz',
    copy: { size: 43_000, mtime: T - 100 },
    rules: { outdatedAllowed: [{ prefix: '/test/', minutes: 2 }] },
    want: mtimeDiffers,
  },
];

for (const c of cases) {
  test(`checkCopy: ${c.name}`, () => {
    assert.deepEqual(checkCopy({ ...origin, path: c.path ?? origin.path }, c.copy, c.rules), c.want);
  });
}
