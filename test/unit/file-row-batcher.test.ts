import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FileRow } from '../../core/types.ts';
import { FileRowBatcher } from '../../sidecar/file-row-batcher.ts';

function row(path: string): FileRow {
  return { id: path.length, path, size: 1, mtime: new Date(0), sha256: null, sha1: null, md5: null, mirrors: [] } as unknown as FileRow;
}

/** A fetch the test completes by hand: each call waits until released. */
function manualFetch() {
  const calls: { paths: string[]; release: (fail?: Error) => void }[] = [];
  const fetch = (paths: string[]) =>
    new Promise<Map<string, FileRow>>((resolve, reject) => {
      calls.push({
        paths,
        release: (fail) => (fail ? reject(fail) : resolve(new Map(paths.filter((p) => !p.includes('missing')).map((p) => [p, row(p)])))),
      });
    });
  return { calls, fetch };
}

/** Let the promise callbacks run (the freed slot is taken in a callback after the lookups resolve). */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('FileRowBatcher: cache misses batched under load', () => {
  test('at low load each lookup goes alone and at once', async () => {
    const { calls, fetch } = manualFetch();
    const b = new FileRowBatcher(fetch, { maxInFlight: 2, maxBatch: 10 });
    const a = b.get('/a');
    assert.deepEqual(calls.map((c) => c.paths), [['/a']]);
    calls[0].release();
    assert.equal((await a)?.path, '/a');
  });

  test('when all slots are busy, waiting lookups go together in the next free slot; duplicates are one path', async () => {
    const { calls, fetch } = manualFetch();
    const b = new FileRowBatcher(fetch, { maxInFlight: 2, maxBatch: 3 });
    const first = [b.get('/1'), b.get('/2')];
    const waiting = [b.get('/3'), b.get('/4'), b.get('/3'), b.get('/missing'), b.get('/5')];
    assert.deepEqual(calls.map((c) => c.paths), [['/1'], ['/2']]);
    calls[0].release();
    await first[0];
    await settle();
    // One slot freed: the first three waiting paths (maxBatch) in one query.
    assert.deepEqual(calls[2].paths, ['/3', '/4', '/missing']);
    calls[1].release();
    await first[1];
    await settle();
    assert.deepEqual(calls[3].paths, ['/5']);
    calls[2].release();
    calls[3].release();
    const got = await Promise.all(waiting);
    assert.deepEqual(got.map((r) => r?.path ?? null), ['/3', '/4', '/3', null, '/5']);
    assert.deepEqual([b.queries, b.paths], [4, 6]);
  });

  test('a failed query rejects every lookup of its batch, and the next ones still run', async () => {
    const { calls, fetch } = manualFetch();
    const b = new FileRowBatcher(fetch, { maxInFlight: 1, maxBatch: 10 });
    const a = b.get('/a');
    const waiting = [b.get('/b'), b.get('/c')];
    calls[0].release(new Error('database down'));
    await assert.rejects(a, /database down/);
    await settle();
    assert.deepEqual(calls[1].paths, ['/b', '/c']);
    calls[1].release(new Error('still down'));
    await assert.rejects(waiting[0], /still down/);
    await assert.rejects(waiting[1], /still down/);
    await settle();
    const c = b.get('/d');
    calls[2].release();
    assert.equal((await c)?.path, '/d');
  });

  test('getMany: several paths asked together are one query, one promise per path', async () => {
    const { calls, fetch } = manualFetch();
    const b = new FileRowBatcher(fetch, { maxInFlight: 2, maxBatch: 10 });
    const rows = b.getMany(['/x.iso.meta4', '/x.iso']);
    assert.deepEqual(calls.map((c) => c.paths), [['/x.iso.meta4', '/x.iso']]);
    calls[0].release();
    assert.deepEqual((await Promise.all(rows)).map((r) => r?.path ?? null), ['/x.iso.meta4', '/x.iso']);
    assert.deepEqual([b.queries, b.paths], [1, 2]);
    assert.deepEqual(b.getMany([]), []);
    assert.equal(calls.length, 1);
  });
});
