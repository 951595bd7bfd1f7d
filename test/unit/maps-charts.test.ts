// The world map, the stacked bar chart and the 30-day history: pure renderers and data shaping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { niceMax, renderStackedBars } from '../../sidecar/render-stats-chart.ts';
import { renderMirrorStats, mirrorStatsJson } from '../../sidecar/render-mirrorstats.ts';
import { buildHistory, historyDays } from '../../sidecar/stats-history.ts';
import { renderWorldMap } from '../../sidecar/world-map.ts';

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe('world map', () => {
  it('draws one circle per mirror and one for the client, escaped, without scripts', () => {
    const svg = renderWorldMap(
      [
        { lat: 50.1, lng: 8.7, label: 'Frankfurt <b>', mirror: 1 },
        { lat: 40.7, lng: -74, label: 'New York', mirror: 2, chosen: true },
        { lat: Number.NaN, lng: 0, label: 'broken', mirror: 3 },
      ],
      { lat: 52.5, lng: 13.4, label: 'you', mirror: null },
      'Map',
    );
    assert.equal(count(svg, /class="mirror-marker/g), 2, 'the mirror with bad coordinates is left out');
    assert.equal(count(svg, /class="client-marker"/g), 1);
    assert.match(svg, /Frankfurt &lt;b&gt;/);
    assert.doesNotMatch(svg, /<script|href=/i);
    // The chosen mirror is drawn last (on top).
    assert.ok(svg.lastIndexOf('data-mirror="2"') > svg.lastIndexOf('data-mirror="1"'));
    // East is right, north is up.
    const cx = (id: number) => Number(new RegExp(`cx="([\\d.]+)" cy="([\\d.]+)" r="\\d+" data-mirror="${id}"`).exec(svg)![1]);
    assert.ok(cx(1) > cx(2));
  });

  it('reuses the land paths projected at load: two maps share them byte for byte', () => {
    const a = renderWorldMap([], null, 'a');
    const b = renderWorldMap([{ lat: 0, lng: 0, label: 'x', mirror: 9 }], null, 'a');
    const land = (s: string) => /class="land" d="([^"]+)"/.exec(s)![1];
    assert.ok(land(a).length > 10_000);
    assert.equal(land(a), land(b));
  });
});

describe('stats history and chart', () => {
  it('historyDays gives the 30 UTC days ending today, oldest first', () => {
    const d = historyDays('2026-03-01');
    assert.equal(d.length, 30);
    assert.equal(d[0], '2026-01-31');
    assert.equal(d[28], '2026-02-28');
    assert.equal(d[29], '2026-03-01');
  });

  it('buildHistory makes one series per mirror, zero-filled, busiest first, ignoring days outside', () => {
    const days = historyDays('2026-03-01');
    const h = buildHistory(days, [
      { day: '2026-03-01', id: 2, requests: 3, bytes: 30 },
      { day: '2026-02-27', id: 1, requests: 10, bytes: 100 },
      { day: '2025-01-01', id: 1, requests: 999, bytes: 999 },
      { day: '2026-03-01', id: 2, requests: 1, bytes: 10 },
    ]);
    assert.deepEqual(h.series.map((s) => s.id), [1, 2]);
    assert.equal(h.series[0].requests.reduce((a, b) => a + b, 0), 10);
    assert.equal(h.series[0].requests[27], 10);
    assert.equal(h.series[1].requests[29], 4);
    assert.equal(h.series[1].bytes[29], 40);
  });

  it('niceMax rounds up to 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual([0, 1, 3, 7, 11, 290, 500, 501].map(niceMax), [1, 1, 5, 10, 20, 500, 500, 1000]);
  });

  it('stacks segments: a day with twice the total draws twice as high', () => {
    const svg = renderStackedBars(['d1', 'd2'], [{ label: 'a', key: 'a', values: [10, 20] }, { label: 'b', key: 'b', values: [10, 20] }], 't', String);
    const heights = [...svg.matchAll(/data-mirror="(\w)" data-day="(d\d)"/g)].length;
    assert.equal(heights, 4);
    const h = (m: string, d: string) => Number(new RegExp(`height="([\\d.]+)" fill="[^"]+" data-mirror="${m}" data-day="${d}"`).exec(svg)![1]);
    assert.ok(Math.abs(h('a', 'd2') - 2 * h('a', 'd1')) < 0.2);
  });

  it('the page keeps the today table and adds two charts; JSON carries both', () => {
    const days = historyDays('2026-03-01');
    const line = { origin: false, identifier: 'm1', operatorName: 'Op', operatorUrl: 'javascript:x', country: 'DE' };
    const series = [{ ...line, requests: days.map((_, i) => i), bytes: days.map((_, i) => i * 1000) }];
    const input = { day: '2026-03-01', generatedAt: new Date('2026-03-01T12:00:00Z'), databaseDown: false, lines: [{ ...line, requests: 29, bytes: 29000 }], history: { days, series } };
    const html = renderMirrorStats(input);
    assert.equal(count(html, /<svg class="chart"/g), 2);
    assert.match(html, /<tbody>\n<tr><td><span class="id">m1/);
    assert.doesNotMatch(html, /<script|href="javascript/);
    const json = mirrorStatsJson(input) as { days: string[]; history: { mirror: string; requests: number[] }[] };
    assert.equal(json.days.length, 30);
    assert.equal(json.history[0].mirror, 'm1');
    assert.equal(json.history[0].requests[29], 29);
  });
});
