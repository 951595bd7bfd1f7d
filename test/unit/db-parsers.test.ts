import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { parse as parsePgArray } from 'postgres-array';
import { INT2_ARRAY_OID, parseSmallintArray } from '../../core/db/pool.ts';
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
  // Installed for the type pg returns file.mirrors as.
  assert.equal(pg.types.getTypeParser(INT2_ARRAY_OID, 'text'), parseSmallintArray);
});
