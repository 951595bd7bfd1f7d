// The pages people look at, in real headless Chromium through the real nginx + sidecar: the mirror list's world
// map (one marker per listed mirror with coordinates, one for the client) and ?mirrorstats with its 30-day
// charts, both under the page CSP (no script, nothing fetched). Screenshots are written to
// $MIRRORLANE_SHOTS (default: the test's temp folder, removed at the end).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { insertMirror } from '../../core/db/mirrors.ts';
import { haveChromium, launchChromium } from '../helpers/browser.ts';
import { request } from '../helpers/http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
let browser: Browser;
let shots: string;
const S = () => stack;
const TGZ = '/pub/mirrorlane-demo-1.0.tar.gz'; // on all three demo mirrors
const DE = '192.0.2.10';
const DAY_MS = 86_400_000;
const day = (back: number) => new Date(Date.now() - back * DAY_MS).toISOString().slice(0, 10);

before(async () => {
  stack = await startStack();
  // Two more mirrors holding the file: one in Brazil, one without coordinates (listed, but not on the map).
  const br = await insertMirror(stack.pool, { identifier: 'extra-br', httpUrl: 'http://127.0.17.20/pub/', country: 'BR', continent: 'SA', lat: -23.55, lng: -46.63, enabled: true });
  const nowhere = await insertMirror(stack.pool, { identifier: 'extra-nowhere', httpUrl: 'http://127.0.17.21/pub/', country: 'FR', continent: 'EU', enabled: true });
  await stack.pool.query('UPDATE file SET mirrors = mirrors || $2::smallint[] WHERE path = $1', [TGZ, [br.id, nowhere.id]]);
  // 30 days of saved statistics: demo-de grows by 10 requests a day, demo-us has 5 a day, the origin 1.
  const { rows } = await stack.pool.query(`SELECT id, identifier FROM mirror WHERE identifier IN ('demo-de', 'demo-us')`);
  const id = Object.fromEntries(rows.map((r) => [r.identifier, r.id]));
  for (let back = 29; back >= 1; back--) {
    const n = (30 - back) * 10;
    await stack.pool.query(
      `INSERT INTO stats_mirror_day (day, mirror_id, requests, bytes) VALUES ($1, $2, $3, $4), ($1, $5, 5, 5000000), ($1, 0, 1, 100)`,
      [day(back), id['demo-de'], n, n * 1_000_000, id['demo-us']],
    );
  }
  // Forty days back: outside the 30 days.
  await stack.pool.query(`INSERT INTO stats_mirror_day (day, mirror_id, requests, bytes) VALUES ($1, $2, 999, 999)`, [day(40), id['demo-de']]);
  browser = await launchChromium();
  shots = process.env.MIRRORLANE_SHOTS ?? path.join(stack.dir, 'shots');
  fs.mkdirSync(shots, { recursive: true });
}, { skip: !haveChromium() && 'Debian chromium not installed (scripts/ensure-deps.sh test installs it)' } as never);

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A page opened as a client at `ip`; collects CSP violations and failed requests. */
async function open(url: string, ip: string) {
  const context = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': ip }, viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  // The browser's own /favicon.ico (404 here) is not the page's doing; everything else that fails counts.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()}: ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
  const requests: string[] = [];
  page.on('request', (r) => {
    if (!r.url().endsWith('/favicon.ico')) requests.push(r.url());
  });
  const res = await page.goto(url);
  return { context, page, res, problems, requests };
}

describe('pages in headless Chromium', () => {
  test('the mirror list shows a world map with one marker per listed mirror and one for the client', withLogs(S, async () => {
    const json = JSON.parse((await request(`${stack.base}${TGZ}?mirrorlist&json`, { headers: { 'X-Forwarded-For': DE } })).body);
    const listed: string[] = json.mirrors.map((m: { identifier: string }) => m.identifier).sort();
    assert.deepEqual(listed, ['demo-de', 'demo-jp', 'demo-us', 'extra-br', 'extra-nowhere']);

    const { context, page, res, problems, requests } = await open(`${stack.base}${TGZ}?mirrorlist`, DE);
    try {
      assert.equal(res?.status(), 200);
      assert.match(res?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
      const ids = await stack.pool.query('SELECT id, identifier FROM mirror');
      const nameOf = new Map(ids.rows.map((r) => [String(r.id), r.identifier as string]));
      const markers = await page.locator('svg.map circle.mirror-marker').evaluateAll((els) => els.map((e) => e.getAttribute('data-mirror')));
      assert.deepEqual(markers.map((id) => nameOf.get(id ?? '')).sort(), ['demo-de', 'demo-jp', 'demo-us', 'extra-br'], 'one marker per mirror with coordinates');
      assert.equal(await page.locator('svg.map circle.client-marker').count(), 1);
      assert.equal(await page.locator('svg.map circle.mirror-marker.chosen').count(), 1);
      // The land is drawn: a long path, and the map is laid out at a real size.
      const landLength = await page.locator('svg.map path.land').evaluate((e) => (e.getAttribute('d') ?? '').length);
      assert.ok(landLength > 10_000, `land path of ${landLength} characters`);
      const box = await page.locator('svg.map').boundingBox();
      assert.ok(box && box.width > 500 && box.height > 250, `map box ${JSON.stringify(box)}`);
      // Frankfurt is east of New York and north of São Paulo on the map.
      const pos = Object.fromEntries(
        (await page.locator('svg.map circle.mirror-marker').evaluateAll((els) => els.map((e) => [e.getAttribute('data-mirror'), [Number(e.getAttribute('cx')), Number(e.getAttribute('cy'))]]))).map(
          ([id, p]) => [nameOf.get(id as string), p],
        ),
      ) as Record<string, [number, number]>;
      assert.ok(pos['demo-de'][0] > pos['demo-us'][0] && pos['demo-de'][1] < pos['extra-br'][1] && pos['demo-jp'][0] > pos['demo-de'][0]);
      assert.match(await page.locator('body').innerText(), /1 listed mirror\(s\) without known coordinates are not on the map/);
      assert.deepEqual(problems, [], 'no CSP violation or failed request');
      assert.deepEqual(requests, [`${stack.base}${TGZ}?mirrorlist`], 'nothing fetched but the page');
      await page.screenshot({ path: path.join(shots, 'mirrorlist.png'), fullPage: true });
    } finally {
      await context.close();
    }
  }));

  test('?mirrorstats shows 30 days of requests and bytes per mirror as SVG charts, and ?mirrorstats&json the same data', withLogs(S, async () => {
    // Two redirects today, counted live by the sidecar.
    for (let i = 0; i < 2; i++) assert.equal((await request(`${stack.base}${TGZ}`, { headers: { 'X-Forwarded-For': DE } })).status, 302);

    const json = JSON.parse((await request(`${stack.base}/pub/any?mirrorstats&json`)).body);
    assert.equal(json.days.length, 30);
    assert.equal(json.days[29], day(0));
    assert.equal(json.days[0], day(29));
    const de = json.history.find((h: { mirror: string }) => h.mirror === 'demo-de');
    assert.equal(de.requests[0], 10, 'the first of the 30 days; the row 40 days back is outside');
    assert.equal(de.requests[1], 20);
    assert.equal(de.requests[28], 290);
    assert.equal(de.bytes[28], 290_000_000);
    assert.equal(de.requests[29], 2, "today's live counts");
    assert.equal(json.history[0].mirror, 'demo-de', 'busiest first');
    const origin = json.history.find((h: { origin: boolean }) => h.origin);
    assert.equal(origin.requests.slice(0, 29).reduce((a: number, b: number) => a + b, 0), 29);
    assert.ok(json.today.some((t: { mirror: string; requests: number }) => t.mirror === 'demo-de' && t.requests === 2));
    assert.ok(!JSON.stringify(json).includes('@'), 'no admin e-mail');

    const { context, page, res, problems } = await open(`${stack.base}/pub/any?mirrorstats`, DE);
    try {
      assert.equal(res?.status(), 200);
      assert.equal(await page.locator('svg.chart').count(), 2);
      // Requests chart: one bar segment per mirror and day with downloads.
      const reqBars = page.locator('svg.chart').first().locator('rect.seg');
      const deBars = await reqBars.evaluateAll((els) => els.filter((e) => e.getAttribute('data-mirror') === 'demo-de').map((e) => [e.getAttribute('data-day'), Number(e.getAttribute('height'))]));
      assert.equal(deBars.length, 30, 'demo-de: 29 saved days and today');
      const heights = new Map(deBars as [string, number][]);
      assert.ok(heights.get(day(1))! > heights.get(day(20))!, 'a busier day draws a taller bar');
      assert.match(await page.locator('body').innerText(), /Mirror statistics[\s\S]*Last 30 days[\s\S]*Requests[\s\S]*Bytes/);
      assert.equal(await page.locator('table tbody tr').count() >= 3, true, "today's table is kept");
      assert.deepEqual(problems, []);
      await page.screenshot({ path: path.join(shots, 'mirrorstats.png'), fullPage: true });
    } finally {
      await context.close();
    }
  }));
});
