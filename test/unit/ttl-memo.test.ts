import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TtlMemo } from '../../sidecar/ttl-memo.ts';

test('one load per key and period; shared by concurrent asks; a failure is not remembered; bounded', async () => {
  let now = 0;
  let loads = 0;
  const memo = new TtlMemo<number>(10_000, 2, () => now);
  const load = (v: number) => () => {
    loads++;
    return Promise.resolve(v);
  };
  const [a, b] = await Promise.all([memo.get('x', load(1)), memo.get('x', load(2))]);
  assert.deepEqual([a, b, loads], [1, 1, 1]);
  now = 9_999;
  assert.equal(await memo.get('x', load(3)), 1);
  now = 10_000;
  assert.equal(await memo.get('x', load(4)), 4, 'loaded again once the period is over');
  assert.equal(loads, 2);

  await assert.rejects(memo.get('y', () => Promise.reject(new Error('db down'))));
  await new Promise((r) => setImmediate(r));
  assert.equal(await memo.get('y', load(5)), 5, 'a failed load is asked again at once');

  await memo.get('z', load(6));
  assert.equal(memo.size, 2, 'the oldest key goes beyond the capacity');
  memo.drop(['z']);
  assert.equal(await memo.get('z', load(7)), 7, 'a dropped key (named by the change log) is loaded again');
  memo.clear();
  assert.equal(memo.size, 0);
});
