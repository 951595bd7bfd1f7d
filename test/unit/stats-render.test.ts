// The ?mirrorstats page, the /metrics registry and the date options of `mirrorlane stats`: pure parts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dayRange, parseDay } from '../../cli/commands/stats.ts';
import { ValueError } from '../../core/cli-parse.ts';
import type { Mirror } from '../../core/types.ts';
import { SidecarMetrics } from '../../sidecar/metrics.ts';
import { renderMirrorStats, type MirrorStatsLine } from '../../sidecar/render-mirrorstats.ts';

const line = (l: Partial<MirrorStatsLine>): MirrorStatsLine => ({
  origin: false,
  identifier: 'm',
  operatorName: '',
  operatorUrl: '',
  country: 'DE',
  requests: 0,
  bytes: 0,
  ...l,
});

describe('renderMirrorStats', () => {
  const page = renderMirrorStats({
    day: '2026-03-14',
    generatedAt: new Date('2026-03-14T10:20:30Z'),
    databaseDown: false,
    lines: [
      line({ identifier: 'small', requests: 1, bytes: 1024 }),
      line({ identifier: 'big', requests: 3, bytes: 3 * 1024, operatorName: '<script>alert("x")</script> & Co', operatorUrl: 'https://ex.org/?a=1&b="2"' }),
      line({ identifier: 'evil', operatorName: 'Bad link', operatorUrl: 'javascript:alert(1)' }),
      line({ origin: true, identifier: null, country: '', requests: 4, bytes: 100 }),
      line({ identifier: null, requests: 2 }),
    ],
  });

  test('escapes operator names and URLs; links only http(s)', () => {
    assert.ok(!page.includes('<script>alert'), 'raw markup from an operator name');
    assert.ok(page.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co'));
    assert.ok(page.includes('href="https://ex.org/?a=1&amp;b=&quot;2&quot;"'));
    assert.ok(!page.includes('javascript:'));
    assert.ok(page.includes('Bad link'));
  });

  test('shares of today\'s requests, busiest first, origin and deleted mirrors as their own lines', () => {
    assert.match(page, /until 10:20:30Z: 10 requests/);
    const order = [...page.matchAll(/<span class="id">([^<]+)<\/span>/g)].map((m) => m[1]);
    assert.deepEqual(order, ['(origin)', 'big', '(deleted mirror)', 'small', 'evil']);
    assert.match(page, /big<\/span>.*?<td class="num">3<\/td>.*?width:30\.0%/s);
    assert.match(page, /\(origin\)<\/span>.*?width:40\.0%/s);
    assert.match(page, /evil<\/span>.*?width:0\.0%/s);
  });

  test('says when the database part is missing', () => {
    const down = renderMirrorStats({ day: '2026-03-14', generatedAt: new Date(), databaseDown: true, lines: [] });
    assert.match(down, /cannot be reached/);
    assert.match(down, /0 requests/);
    assert.ok(!page.includes('cannot be reached'));
  });
});

describe('SidecarMetrics', () => {
  const mirror = (enabled: boolean, health: Mirror['health']) => ({ enabled, health }) as Mirror;
  const src = {
    cache: { hits: 5, misses: 2, size: 2 },
    mirrors: { all: () => [mirror(true, 'up'), mirror(true, 'up'), mirror(false, 'down')], listening: true, loadedAt: new Date(1_700_000_000_000) },
    stats: { flushes: 4, failedFlushes: 1, droppedFileCounts: 0, pendingRows: 3, lastFlushAt: null },
  };

  test('counters per decision kind and mirror, a latency histogram, and the state read at scrape time', async () => {
    const m = new SidecarMetrics(src, { processMetrics: false });
    m.decision('redirect', 0.0003);
    m.decision('redirect', 0.002);
    m.decision('local', 0.0001);
    m.decision('mirrorstats', null);
    m.download('demo-de', 1000);
    m.download('demo-de', 1000);
    m.download(null, 600);
    const { type, body } = await m.render();
    assert.match(type, /^text\/plain/);
    const has = (line: string) => assert.ok(body.split('\n').includes(line), `${line}\n---\n${body}`);
    has('mirrorlane_decisions_total{kind="redirect"} 2');
    has('mirrorlane_decisions_total{kind="mirrorstats"} 1');
    has('mirrorlane_decision_duration_seconds_count{kind="redirect"} 2');
    has('mirrorlane_decision_duration_seconds_bucket{le="0.0005",kind="redirect"} 1');
    has('mirrorlane_redirects_total{mirror="demo-de"} 2');
    has('mirrorlane_redirect_bytes_total{mirror="demo-de"} 2000');
    has('mirrorlane_local_deliveries_total 1');
    has('mirrorlane_local_delivery_bytes_total 600');
    has('mirrorlane_file_cache_hits_total 5');
    has('mirrorlane_file_cache_misses_total 2');
    has('mirrorlane_mirrors{enabled="true",health="up"} 2');
    has('mirrorlane_mirrors{enabled="false",health="down"} 1');
    has('mirrorlane_mirrors{enabled="false",health="up"} 0');
    has('mirrorlane_database_up 1');
    has('mirrorlane_stats_flushes_total{result="error"} 1');
    has('mirrorlane_stats_pending_rows 3');
    // Values kept elsewhere follow their source on the next scrape, without adding up.
    src.cache.hits = 9;
    src.mirrors.listening = false;
    const again = (await m.render()).body.split('\n');
    assert.ok(again.includes('mirrorlane_file_cache_hits_total 9'));
    assert.ok(again.includes('mirrorlane_database_up 0'));
  });
});

describe('stats CLI dates', () => {
  const now = Date.parse('2026-03-14T01:00:00Z');

  test('parseDay: YYYY-MM-DD, today, yesterday; impossible dates refused', () => {
    assert.equal(parseDay('--from', '2024-02-29', now), '2024-02-29');
    assert.equal(parseDay('--from', 'today', now), '2026-03-14');
    assert.equal(parseDay('--from', 'Yesterday', now), '2026-03-13');
    for (const bad of ['2023-02-29', '2026-13-01', '2026-3-1', '14.03.2026', '']) {
      assert.throws(() => parseDay('--from', bad, now), ValueError, bad);
    }
  });

  test('dayRange: 30 days up to today by default; --from after --to refused', () => {
    assert.deepEqual(dayRange({}, now), { from: '2026-02-13', to: '2026-03-14' });
    assert.deepEqual(dayRange({ to: '2026-01-10' }, now), { from: '2025-12-12', to: '2026-01-10' });
    assert.deepEqual(dayRange({ from: 'today' }, now), { from: '2026-03-14', to: '2026-03-14' });
    assert.throws(() => dayRange({ from: '2026-03-15', to: '2026-03-14' }, now), /after --to/);
  });
});
