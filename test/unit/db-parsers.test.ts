import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { parse as parsePgArray } from 'postgres-array';
import { INT2_ARRAY_OID, parseSmallintArray, TYPE_PARSERS } from '../../core/db/pool.ts';
import { mulberry32 } from '../helpers/prng.ts';

test('smallint[] text: the fast split gives what the generic array parser gives', () => {
  assert.deepEqual(parseSmallintArray('{}'), []);
  assert.deepEqual(parseSmallintArray('{7}'), [7]);
  assert.deepEqual(parseSmallintArray('{3,17,-2,32767}'), [3, 17, -2, 32767]);
  const rnd = mulberry32(6);
  for (let i = 0; i < 2000; i++) {
    const ids = Array.from({ length: Math.floor(rnd() * 60) }, () => Math.floor(rnd() * 65536) - 32768);
    const text = `{${ids.join(',')}}`;
    assert.deepEqual(parseSmallintArray(text), parsePgArray(text, Number));
  }
});

test('type parsers belong to our pools, not to the process', () => {
  const ours = TYPE_PARSERS.getTypeParser as (oid: number, format?: string) => (v: string) => unknown;
  assert.equal(ours(INT2_ARRAY_OID, 'text'), parseSmallintArray);
  assert.equal(ours(pg.types.builtins.INT8, 'text')('9007199254740991'), 9007199254740991);
  assert.equal(ours(pg.types.builtins.TEXT, 'text')('x'), 'x');
  // pg's process-wide parsers are left as pg ships them: bigint stays a string for anyone else.
  assert.equal((pg.types.getTypeParser(pg.types.builtins.INT8, 'text') as (v: string) => unknown)('5'), '5');
  assert.notEqual(pg.types.getTypeParser(INT2_ARRAY_OID as Parameters<typeof pg.types.getTypeParser>[0], 'text'), parseSmallintArray);
});
