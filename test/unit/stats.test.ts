// The sidecar's download counters and their batched flush, with a fake flush function and a fake clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatsBatch } from '../../core/db/stats.ts';
import type { FileRow, Mirror } from '../../core/types.ts';
import { downloadOf, isMirrorStatsQuery, SidecarStats } from '../../sidecar/sidecar-stats.ts';
import { DownloadStats, utcDay } from '../../sidecar/stats.ts';

const NOON = Date.parse('2026-03-14T12:00:00Z');

function harness(opts: { fail?: () => boolean; maxFileRows?: number; intervalMs?: number } = {}) {
  const batches: StatsBatch[] = [];
  const logs: string[] = [];
  let now = NOON;
  let release: (() => void) | null = null;
  let hold = false;
  const stats = new DownloadStats({
    async flush(batch) {
      if (hold) await new Promise<void>((r) => (release = r));
      if (opts.fail?.()) throw new Error('connect ECONNREFUSED');
      batches.push(batch);
    },
    now: () => now,
    log: (m) => logs.push(m),
    maxFileRows: opts.maxFileRows,
    intervalMs: opts.intervalMs,
  });
  return {
    stats,
    batches,
    logs,
    setNow: (t: number) => (now = t),
    hold: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

const byKey = <T extends { day: string; id: number }>(rows: T[]): T[] => [...rows].sort((a, b) => a.day.localeCompare(b.day) || a.id - b.id);

describe('DownloadStats: counting', () => {
  test('aggregates requests and bytes per day and mirror, and per day and file', async () => {
    const h = harness();
    h.stats.record(1, 10, 1000);
    h.stats.record(1, 10, 1000);
    h.stats.record(2, 10, 1000);
    h.stats.record(2, 11, 50);
    h.stats.record(0, null, 0); // local delivery of a file not in the table
    assert.equal(await h.stats.flush(), true);
    assert.equal(h.batches.length, 1);
    const day = '2026-03-14';
    assert.deepEqual(byKey(h.batches[0].mirrors), [
      { day, id: 0, requests: 1, bytes: 0 },
      { day, id: 1, requests: 2, bytes: 2000 },
      { day, id: 2, requests: 2, bytes: 1050 },
    ]);
    assert.deepEqual(byKey(h.batches[0].files), [
      { day, id: 10, requests: 3, bytes: 3000 },
      { day, id: 11, requests: 1, bytes: 50 },
    ]);
  });

  test('a new UTC day starts new rows', async () => {
    const h = harness();
    h.setNow(Date.parse('2026-03-14T23:59:59.999Z'));
    h.stats.record(1, 10, 5);
    h.setNow(Date.parse('2026-03-15T00:00:00Z'));
    h.stats.record(1, 10, 5);
    h.stats.record(1, 10, 5);
    await h.stats.flush();
    assert.deepEqual(byKey(h.batches[0].mirrors), [
      { day: '2026-03-14', id: 1, requests: 1, bytes: 5 },
      { day: '2026-03-15', id: 1, requests: 2, bytes: 10 },
    ]);
    assert.equal(h.batches[0].files.length, 2);
  });

  test('thousands of requests make one batch, not one write each', async () => {
    const h = harness();
    for (let i = 0; i < 5000; i++) h.stats.record(1 + (i % 3), 100 + (i % 7), 10);
    await h.stats.flush();
    assert.equal(h.batches.length, 1);
    assert.equal(h.batches[0].mirrors.length, 3);
    assert.equal(h.batches[0].files.length, 7);
    assert.equal(h.batches[0].mirrors.reduce((s, r) => s + r.requests, 0), 5000);
    // Nothing new: no write at all.
    await h.stats.flush();
    assert.equal(h.batches.length, 1);
  });

  test('unsaved(): what is pending and in flight for a day, per mirror', async () => {
    const h = harness();
    h.stats.record(1, 10, 100);
    h.hold();
    const flushing = h.stats.flush();
    h.stats.record(1, 10, 100);
    h.stats.record(2, 10, 100);
    assert.deepEqual([...h.stats.unsaved('2026-03-14')].sort(), [
      [1, { requests: 2, bytes: 200 }],
      [2, { requests: 1, bytes: 100 }],
    ]);
    assert.equal(h.stats.unsaved('2026-03-13').size, 0);
    h.release();
    await flushing;
    assert.deepEqual([...h.stats.unsaved('2026-03-14')].sort(), [
      [1, { requests: 1, bytes: 100 }],
      [2, { requests: 1, bytes: 100 }],
    ]);
  });
});

describe('DownloadStats: failing flushes', () => {
  test('a failed flush keeps its counts and the next one sends them with the new ones', async () => {
    let down = true;
    const h = harness({ fail: () => down });
    h.stats.record(1, 10, 100);
    h.stats.record(1, 11, 100);
    assert.equal(await h.stats.flush(), false);
    assert.equal(await h.stats.flush(), false);
    assert.equal(h.stats.failedFlushes, 2);
    h.stats.record(1, 10, 100);
    h.stats.record(3, 12, 7);
    down = false;
    assert.equal(await h.stats.flush(), true);
    assert.equal(h.batches.length, 1);
    const day = '2026-03-14';
    assert.deepEqual(byKey(h.batches[0].mirrors), [
      { day, id: 1, requests: 3, bytes: 300 },
      { day, id: 3, requests: 1, bytes: 7 },
    ]);
    assert.deepEqual(byKey(h.batches[0].files), [
      { day, id: 10, requests: 2, bytes: 200 },
      { day, id: 11, requests: 1, bytes: 100 },
      { day, id: 12, requests: 1, bytes: 7 },
    ]);
    assert.equal(h.stats.pendingRows, 0);
    // One line when it starts failing, one when it recovers: not one per attempt.
    assert.equal(h.logs.length, 2, h.logs.join('\n'));
    assert.match(h.logs[0], /not saved.*ECONNREFUSED/);
    assert.match(h.logs[1], /saved again/);
  });

  test('counts made while a flush is in flight survive its failure', async () => {
    let down = true;
    const h = harness({ fail: () => down });
    h.stats.record(1, 10, 1);
    h.hold();
    const first = h.stats.flush();
    h.stats.record(1, 10, 1); // same keys as the batch in flight
    h.stats.record(2, 20, 1);
    h.release();
    assert.equal(await first, false);
    assert.equal(h.stats.pendingRows, 4); // mirrors 1, 2 and files 10, 20: the duplicate merged
    down = false;
    await h.stats.flush();
    assert.deepEqual(byKey(h.batches[0].files).map((r) => [r.id, r.requests]), [
      [10, 2],
      [20, 1],
    ]);
  });

  test('bound on per-file rows: new files are counted per mirror only, known files still per file', async () => {
    const h = harness({ fail: () => true, maxFileRows: 3 });
    for (const f of [1, 2, 3]) h.stats.record(1, f, 10);
    await h.stats.flush(); // fails: the 3 rows stay
    h.stats.record(1, 4, 10); // a 4th file: over the bound
    h.stats.record(1, 5, 10);
    h.stats.record(1, 2, 10); // known file: still counted per file
    assert.equal(h.stats.droppedFileCounts, 2);
    assert.equal(h.stats.pendingRows, 3 + 1);
    assert.deepEqual([...h.stats.unsaved('2026-03-14')], [[1, { requests: 6, bytes: 60 }]]);
    assert.equal(h.logs.filter((l) => /per mirror only/.test(l)).length, 1, h.logs.join('\n'));
  });

  test('flushes run one at a time, in order', async () => {
    const h = harness();
    h.stats.record(1, 1, 1);
    h.hold();
    const a = h.stats.flush();
    h.stats.record(2, 2, 2);
    const b = h.stats.flush();
    h.release();
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
    assert.deepEqual(h.batches.map((x) => x.mirrors.map((r) => r.id)), [[1], [2]]);
  });
});

describe('DownloadStats: timer and shutdown', () => {
  test('flushes on its own every intervalMs', async () => {
    const h = harness({ intervalMs: 20 });
    h.stats.start();
    h.stats.record(1, 1, 1);
    const deadline = Date.now() + 2000;
    while (!h.batches.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.batches.length, 1);
    await h.stats.close();
  });

  test('close() saves what is left and stops the timer', async () => {
    const h = harness({ intervalMs: 60_000 });
    h.stats.start();
    h.stats.record(1, 1, 1);
    assert.equal(await h.stats.close(), true);
    assert.equal(h.batches.length, 1);
  });

  test('close() with the database down says how much is lost', async () => {
    const h = harness({ fail: () => true });
    h.stats.record(1, 1, 1);
    assert.equal(await h.stats.close(), false);
    assert.match(h.logs.at(-1)!, /2 unsaved rows lost at shutdown/);
  });
});

describe('downloadOf: what a decision counts', () => {
  const row: FileRow = { id: 7, path: '/pub/x.iso', size: 4096, mtime: 0, sha256: null, sha1: null, md5: null, mirrors: [3] };
  const ids = (id: number) => ({ 3: 'demo-de' })[id];

  test('a redirect counts for its mirror with the file size', () => {
    const d = { t: 'redirect' as const, url: 'http://m/x', m: 3, h: { 'X-Mirrorlane-Mirror': 'demo-de', 'X-Mirrorlane-Tier': 'country' } };
    assert.deepEqual(downloadOf(d, row, ids), { mirrorId: 3, mirror: 'demo-de', fileId: 7, bytes: 4096 });
  });

  test('a local delivery counts for the origin (id 0), with or without a file row', () => {
    assert.deepEqual(downloadOf({ t: 'local', why: 'small file' }, row, ids), { mirrorId: 0, mirror: null, fileId: 7, bytes: 4096 });
    assert.deepEqual(downloadOf({ t: 'local', why: 'database unavailable' }, null, ids), { mirrorId: 0, mirror: null, fileId: null, bytes: 0 });
  });

  test('a redirect to a mirror deleted meanwhile still counts, under its id', () => {
    assert.deepEqual(downloadOf({ t: 'redirect', url: 'http://m/x', m: 9, h: {} }, row, ids), { mirrorId: 9, mirror: null, fileId: 7, bytes: 4096 });
  });

  test('404s, listings and bodies count nothing', () => {
    assert.equal(downloadOf({ t: 'notfound' }, null, ids), null);
    assert.equal(downloadOf({ t: 'dir', url: '/pub/' }, null, ids), null);
    assert.equal(downloadOf({ t: 'body', status: 200, type: 'application/json', body: '{}' }, row, ids), null);
  });
});

test('isMirrorStatsQuery: the parameter, not a substring', () => {
  assert.equal(isMirrorStatsQuery('mirrorstats'), true);
  assert.equal(isMirrorStatsQuery('country=de&mirrorstats='), true);
  assert.equal(isMirrorStatsQuery('x=mirrorstats'), false);
  assert.equal(isMirrorStatsQuery('nomirrorstats'), false);
  assert.equal(isMirrorStatsQuery(''), false);
});

test('utcDay', () => {
  assert.equal(utcDay(Date.parse('2026-12-31T23:59:59Z')), '2026-12-31');
  assert.equal(utcDay(Date.parse('2027-01-01T00:00:00Z')), '2027-01-01');
});

describe('SidecarStats: counting decisions and the page, with a fake pool and mirror table', () => {
  const mirror = (id: number, identifier: string, extra: Partial<Mirror> = {}) =>
    ({ id, identifier, enabled: true, health: 'up', operatorName: `Operator ${identifier}`, operatorUrl: '', country: 'DE', ...extra }) as Mirror;
  const table = [mirror(1, 'one'), mirror(2, 'two'), mirror(3, 'off', { enabled: false })];
  const mirrors = { get: (id: number) => table.find((m) => m.id === id), all: () => table, listening: true, loadedAt: new Date() };
  const row: FileRow = { id: 9, path: '/pub/x.iso', size: 1000, mtime: 0, sha256: null, sha1: null, md5: null, mirrors: [2, 1] };

  let clock = NOON;
  function setup(query: (q: { name: string; values: unknown[] }) => Promise<{ rows: unknown[] }>) {
    const pool = { query } as unknown as ConstructorParameters<typeof SidecarStats>[0]['pool'];
    const cache = { hits: 0, misses: 0, size: 0 } as unknown as ConstructorParameters<typeof SidecarStats>[0]['cache'];
    return new SidecarStats({ pool, mirrors: mirrors as unknown as ConstructorParameters<typeof SidecarStats>[0]['mirrors'], cache, log: () => {}, flushIntervalMs: 60_000, now: () => clock });
  }
  const redirect = (identifier: string) => ({
    t: 'redirect' as const,
    url: 'http://m/x.iso',
    m: table.find((m) => m.identifier === identifier)!.id,
    h: { 'X-Mirrorlane-Mirror': identifier },
  });
  const count = (body: string, id: string) => Number(new RegExp(`>${id.replace(/[()]/g, '\\$&')}</span>.*?<td class="num">(\\d+)</td>`, 's').exec(body)?.[1]);

  test('the page adds unsaved counts to the saved ones; a failed query shows what is in memory, with a warning', async () => {
    let down = false;
    const queries: string[] = [];
    const stats = setup(async (q) => {
      queries.push(q.name);
      if (down) throw new Error('ECONNREFUSED');
      return q.name === 'stats_mirror_of_day' ? { rows: [{ mirror_id: 1, requests: 10, bytes: 10_000 }, { mirror_id: 0, requests: 1, bytes: 5 }] } : { rows: [] };
    });
    try {
      stats.track(redirect('one'), row, performance.now());
      stats.track(redirect('two'), row, performance.now());
      stats.track({ t: 'local', why: 'small file' }, row, performance.now());
      stats.track({ t: 'notfound' }, null, performance.now());
      const page = await stats.page();
      assert.equal(page.t, 'body');
      const body = page.t === 'body' ? page.body : '';
      assert.deepEqual([count(body, 'one'), count(body, 'two'), count(body, '(origin)')], [11, 1, 2]);
      assert.ok(!body.includes('>off<'), 'a disabled mirror without downloads today is left out');
      assert.ok(!body.includes('cannot be reached'));
      // Within a few seconds the saved part is reused: one query for two pages.
      await stats.page();
      assert.equal(queries.filter((n) => n === 'stats_mirror_of_day').length, 1);

      down = true;
      assert.equal(await stats.counts.flush(), false);
      // Still within the reuse time: saved (as read before) plus unsaved.
      const cached = await stats.page();
      assert.equal(count(cached.t === 'body' ? cached.body : '', 'one'), 11);
      clock += 6000;
      const downPage = await stats.page();
      const downBody = downPage.t === 'body' ? downPage.body : '';
      assert.match(downBody, /cannot be reached/);
      assert.deepEqual([count(downBody, 'one'), count(downBody, 'two'), count(downBody, '(origin)')], [1, 1, 1]);
    } finally {
      await stats.close();
    }
  });

  test('a redirect is counted for the mirror its identifier names, with the file row the decision used', async () => {
    const batches: unknown[][] = [];
    const stats = setup(async (q) => {
      if (q.name === 'stats_add') batches.push(q.values);
      return { rows: [] };
    });
    // The row comes from decide()'s trace (see decide.test.ts).
    stats.track(redirect('two'), row, performance.now());
    // decide failed: nginx's fallback answers (a fallback mirror or the origin), so no download is counted.
    stats.track(null, row, performance.now());
    await stats.close();
    assert.equal(batches.length, 1);
    const [, mirrorIds, requests, bytes, , fileIds, fileRequests] = batches[0] as number[][];
    assert.deepEqual([...mirrorIds], [2]);
    assert.deepEqual([requests, bytes], [[1], [1000]]);
    assert.deepEqual([fileIds, fileRequests], [[9], [1]]);
    assert.match(await stats.metrics.render().then((m) => m.body), /^mirrorlane_decisions_total\{kind="error"\} 1$/m);
  });
});
