import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileRow } from '../../core/types.ts';
import { FileCache } from '../../sidecar/file-cache.ts';

const row = (path: string): FileRow => ({ id: 1, path, size: 1, mtime: 1, sha256: null, sha1: null, md5: null, mirrors: [] });

test('file cache: hit, miss, cached absence', () => {
  const c = new FileCache(10);
  assert.equal(c.get('/a'), undefined);
  c.set('/a', row('/a'));
  c.set('/none', null);
  assert.equal(c.get('/a')?.path, '/a');
  assert.equal(c.get('/none'), null);
  assert.deepEqual([c.hits, c.misses], [2, 1]);
});

test('file cache: evicts the least recently used entry', () => {
  const c = new FileCache(2);
  c.set('/a', row('/a'));
  c.set('/b', row('/b'));
  c.get('/a'); // /b is now the oldest
  c.set('/c', row('/c'));
  assert.equal(c.get('/b'), undefined);
  assert.equal(c.get('/a')?.path, '/a');
  assert.equal(c.get('/c')?.path, '/c');
  assert.equal(c.size, 2);
  c.clear();
  assert.equal(c.size, 0);
});
