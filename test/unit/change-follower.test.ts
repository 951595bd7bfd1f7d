import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileRow } from '../../core/types.ts';
import { planChanges } from '../../sidecar/change-follower.ts';
import { FileCache } from '../../sidecar/file-cache.ts';

test('planChanges: paths deduplicated, mirrors flagged, cursor advanced', () => {
  const plan = planChanges('100', {
    upto: '120',
    horizon: '0',
    entries: [
      { kind: 'files', ids: null, paths: ['/a', '/b'] },
      { kind: 'mirrors', ids: [3], paths: null },
      { kind: 'files', ids: null, paths: ['/b', '/c'] },
    ],
  });
  assert.deepEqual(plan, { reloadAll: false, mirrors: true, allFiles: false, paths: ['/a', '/b', '/c'], next: '120' });
});

test('planChanges: a too-big statement drops all files; a cursor at or below the pruned horizon reloads all', () => {
  const big = planChanges('100', { upto: '101', horizon: '99', entries: [{ kind: 'all_files', ids: null, paths: null }, { kind: 'files', ids: null, paths: ['/x'] }] });
  assert.equal(big.allFiles, true);
  assert.deepEqual(big.paths, []);
  // xid8 values compare as numbers, not as text ('99' > '100' as text).
  assert.equal(planChanges('100', { upto: '130', horizon: '100', entries: [] }).reloadAll, true);
  assert.equal(planChanges('100', { upto: '130', horizon: '99', entries: [] }).reloadAll, false);
  assert.equal(planChanges('1000', { upto: '1300', horizon: '999', entries: [] }).reloadAll, false);
});

const row = (path: string): FileRow => ({ id: 1, path, size: 1, mtime: 1, sha256: null, sha1: null, md5: null, mirrors: [] });

test('file cache: drop forgets only the named paths; a lookup older than a drop is not stored', () => {
  const c = new FileCache(10);
  c.set('/a', row('/a'));
  c.set('/b', row('/b'));
  const since = c.epoch;
  c.drop(['/a']);
  assert.equal(c.get('/a'), undefined);
  assert.equal(c.get('/b')?.path, '/b');
  c.set('/a', row('/a'), since); // read before the drop: may be the old row
  assert.equal(c.get('/a'), undefined);
  c.set('/a', row('/a'), c.epoch);
  assert.equal(c.get('/a')?.path, '/a');
});
