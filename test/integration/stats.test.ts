// Download statistics end to end: redirects through real nginx counted by the sidecar, saved in batches to
// PostgreSQL, reported by `mirrorlane stats`, shown by ?mirrorstats, exposed on /metrics; PostgreSQL stopped
// and started again under a flush; a sidecar saving its counts when it stops.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../cli/main.ts';
import { pgCtl } from '../../runtime/postgres.ts';
import { runSidecar } from '../../sidecar/server.ts';
import { request } from '../helpers/http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';
import { waitFor } from '../helpers/wait.ts';

const waitForLong = (check: () => Promise<boolean>, what: string, timeoutMs = 10_000) => waitFor(check, what, timeoutMs, 50);

let stack: TestStack;
const S = () => stack;
const TGZ = '/pub/mirrorlane-demo-1.0.tar.gz'; // 200 KiB, on all three mirrors
const ISO = '/pub/mirrorlane-demo-1.0.iso'; // 2 MiB, not on demo-jp
const TGZ_SIZE = 200 * 1024;
const ISO_SIZE = 2 * 1024 * 1024;
const DE = '192.0.2.10';
const US = '198.51.100.10';

function from(ip: string, p = TGZ) {
  return request(stack.base + p, { headers: { 'X-Forwarded-For': ip } });
}

/** A request to a sidecar's own unix socket (what `curl --unix-socket SOCK http://x/PATH` does). */
function onSocket(socket: string, method: string, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path: p, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function flush(): Promise<{ saved: boolean; pendingRows: number }> {
  const r = await onSocket(stack.config.sidecar.socket, 'POST', '/stats/flush');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body);
}

async function metrics(): Promise<string> {
  const r = await onSocket(stack.config.sidecar.socket, 'GET', '/metrics');
  assert.equal(r.status, 200);
  return r.body;
}

/** The value of one sample (`name{labels}` exactly as printed), 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

type Totals = Map<string, { requests: number; bytes: number }>;

/** Saved counts over all days (the stack is fresh): per mirror identifier ("(origin)" for id 0) and per path. */
async function saved(): Promise<{ mirrors: Totals; files: Totals }> {
  const m = await stack.pool.query(
    `SELECT coalesce(m.identifier, '(origin)') AS k, sum(requests)::bigint AS requests, sum(bytes)::bigint AS bytes
     FROM stats_mirror_day s LEFT JOIN mirror m ON m.id = s.mirror_id GROUP BY 1`,
  );
  const f = await stack.pool.query(
    `SELECT f.path AS k, sum(requests)::bigint AS requests, sum(bytes)::bigint AS bytes
     FROM stats_file_day s JOIN file f ON f.id = s.file_id GROUP BY 1`,
  );
  const map = (rows: { k: string; requests: number; bytes: number }[]): Totals => new Map(rows.map((r) => [r.k, { requests: r.requests, bytes: r.bytes }]));
  return { mirrors: map(m.rows), files: map(f.rows) };
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await runCli(args, { env: stack.env, stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
  return { code, out: out.join('') };
}


describe('download statistics on real nginx, sidecar and PostgreSQL', () => {
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  test('redirects and local deliveries are counted per mirror and per file, saved, and reported by the CLI', withLogs(S, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await from(DE)).status);
    for (let i = 0; i < 2; i++) statuses.push((await from(US)).status);
    statuses.push((await from(DE, ISO)).status);
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 302]);
    // Local deliveries: a small file, a file no mirror holds. Not downloads: a 404 and a listing.
    assert.equal((await from(DE, '/pub/README.txt')).status, 200);
    assert.equal((await from(DE, '/pub/origin-only.txt')).status, 200);
    assert.equal((await from(DE, '/pub/no-such-file')).status, 404);
    assert.equal((await from(DE, '/pub/')).status, 200);

    assert.deepEqual(await flush(), { saved: true, pendingRows: 0 });
    const s = await saved();
    assert.deepEqual(s.mirrors.get('demo-de'), { requests: 4, bytes: 3 * TGZ_SIZE + ISO_SIZE });
    assert.deepEqual(s.mirrors.get('demo-us'), { requests: 2, bytes: 2 * TGZ_SIZE });
    assert.deepEqual(s.mirrors.get('(origin)'), { requests: 2, bytes: 600 + 300 });
    assert.equal(s.mirrors.get('demo-jp'), undefined);
    assert.deepEqual(s.files.get(TGZ), { requests: 5, bytes: 5 * TGZ_SIZE });
    assert.deepEqual(s.files.get(ISO), { requests: 1, bytes: ISO_SIZE });
    assert.deepEqual(s.files.get('/pub/README.txt'), { requests: 1, bytes: 600 });
    assert.equal(s.files.size, 4);

    const m = await cli(['stats', 'mirror', '--json']);
    assert.equal(m.code, 0, m.out);
    const report = JSON.parse(m.out);
    assert.equal(report.requests, 8);
    assert.equal(report.bytes, 5 * TGZ_SIZE + ISO_SIZE + 900);
    const de = report.mirrors.find((r: { mirror: string }) => r.mirror === 'demo-de');
    assert.deepEqual([de.requests, de.bytes, de.share], [4, 3 * TGZ_SIZE + ISO_SIZE, 0.5]);
    assert.deepEqual(report.mirrors.map((r: { mirror: string }) => r.mirror), ['demo-de', '(origin)', 'demo-us']);
    assert.equal(report.mirrors[1].id, 0);

    const f = await cli(['stats', 'file', '--json', '--limit', '1']);
    assert.equal(f.code, 0, f.out);
    const files = JSON.parse(f.out);
    assert.deepEqual([files.files, files.requests, files.top.length, files.top[0].path, files.top[0].requests], [4, 8, 1, TGZ, 5]);

    const table = await cli(['stats', 'mirror', '--from', 'today']);
    assert.equal(table.code, 0, table.out);
    assert.match(table.out, /8 requests/);
    assert.match(table.out, /demo-de.*4.*50\.0 %/);
    assert.match(table.out, /\(origin\)/);
    const old = await cli(['stats', 'file', '--from', '2000-01-01', '--to', '2000-01-31']);
    assert.match(old.out, /no downloads counted from 2000-01-01 to 2000-01-31/);
    assert.equal((await cli(['stats', 'mirror', '--from', '2000-02-30'])).code, 2);
  }));

  test('/metrics on the sidecar socket: counters rise by the requests made', withLogs(S, async () => {
    const before = await metrics();
    for (let i = 0; i < 5; i++) assert.equal((await from(US)).headers['x-mirrorlane-mirror'], 'demo-us');
    assert.equal((await from(DE, '/pub/README.txt')).status, 200);
    const after = await metrics();
    const rise = (series: string) => sample(after, series) - sample(before, series);
    assert.equal(rise('mirrorlane_decisions_total{kind="redirect"}'), 5);
    assert.equal(rise('mirrorlane_decisions_total{kind="local"}'), 1);
    assert.equal(rise('mirrorlane_redirects_total{mirror="demo-us"}'), 5);
    assert.equal(rise('mirrorlane_redirect_bytes_total{mirror="demo-us"}'), 5 * TGZ_SIZE);
    assert.equal(rise('mirrorlane_local_deliveries_total'), 1);
    assert.equal(rise('mirrorlane_decision_duration_seconds_count{kind="redirect"}'), 5);
    assert.ok(rise('mirrorlane_file_cache_hits_total') >= 6);
    assert.equal(sample(after, 'mirrorlane_database_up'), 1);
    const mirrorSeries = after.split('\n').filter((l) => l.startsWith('mirrorlane_mirrors{enabled="true"'));
    assert.equal(mirrorSeries.reduce((sum, l) => sum + Number(l.split(' ')[1]), 0), 3, mirrorSeries.join('\n'));
    assert.match(after, /^process_cpu_user_seconds_total /m);
  }));

  test('?mirrorstats through nginx: today\'s share from the database plus unsaved counts, escaped', withLogs(S, async () => {
    const evil = `<img src=x onerror=alert(1)> "Quotes" & Co`;
    await stack.pool.query(`UPDATE mirror SET operator_name = $1, operator_url = 'javascript:alert(2)' WHERE identifier = 'demo-us'`, [evil]);
    await stack.pool.query(`UPDATE mirror SET admin_email = 'hidden-admin@example.org', admin_name = 'Hidden Admin'`);
    const page = async (p = TGZ) => from(DE, `${p}?mirrorstats`);
    await waitForLong(async () => (await page()).body.includes('&lt;img'), 'the new operator name on the page');

    assert.equal((await flush()).saved, true);
    const savedDe = (await saved()).mirrors.get('demo-de')!.requests;
    for (let i = 0; i < 2; i++) await from(DE); // counted, not saved yet
    const r = await page();
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(r.body, /^<!DOCTYPE html>/);
    const count = (id: string) => Number(new RegExp(`>${id}</span>.*?<td class="num">([\\d,]+)</td>`, 's').exec(r.body)?.[1].replace(/,/g, ''));
    assert.equal(count('demo-de'), savedDe + 2);
    assert.ok(count('demo-jp') === 0, 'mirrors without downloads today are listed');
    assert.ok(r.body.includes('&lt;img src=x onerror=alert(1)&gt; &quot;Quotes&quot; &amp; Co'));
    assert.ok(!r.body.includes('<img'), 'markup from the operator name');
    assert.ok(!r.body.includes('javascript:'));
    assert.ok(!/hidden-admin|Hidden Admin/.test(r.body), 'admin contact on a public page');
    // Any file path works, existing or not; the page itself is not a download.
    const other = await page('/pub/no-such-file');
    assert.equal(other.status, 200);
    assert.equal(count('demo-de'), Number(new RegExp('>demo-de</span>.*?<td class="num">([\\d,]+)</td>', 's').exec(other.body)?.[1]));
  }));

  test('a flush while PostgreSQL is down keeps the counts; they are saved once it is back', withLogs(S, async () => {
    assert.equal((await flush()).saved, true);
    const before = await saved();
    pgCtl(stack.pg, 'stop');
    try {
      // Warm caches: downloads still go to mirrors without the database.
      for (let i = 0; i < 3; i++) assert.equal((await from(DE)).headers['x-mirrorlane-mirror'], 'demo-de');
      const down = await flush();
      assert.equal(down.saved, false);
      assert.ok(down.pendingRows >= 2, JSON.stringify(down));
      assert.equal((await from(DE, `${TGZ}?mirrorstats`)).status, 200);
      assert.equal(sample(await metrics(), 'mirrorlane_stats_flushes_total{result="error"}') >= 1, true);
    } finally {
      pgCtl(stack.pg, 'start');
    }
    await waitForLong(async () => (await flush()).saved, 'a flush that succeeds after the restart');
    const afterRestart = await saved();
    assert.equal(afterRestart.mirrors.get('demo-de')!.requests, before.mirrors.get('demo-de')!.requests + 3);
    assert.equal(afterRestart.files.get(TGZ)!.requests, before.files.get(TGZ)!.requests + 3);
    assert.equal(afterRestart.files.get(TGZ)!.bytes, before.files.get(TGZ)!.bytes + 3 * TGZ_SIZE);
    await waitForLong(async () => sample(await metrics(), 'mirrorlane_database_up') === 1, 'the sidecar reconnected');
  }));

  test('a sidecar saves what it counted when it stops', withLogs(S, async () => {
    const socket = path.join(stack.dir, 'second-sidecar.sock');
    const second = await runSidecar({ ...stack.config, sidecar: { ...stack.config.sidecar, socket } }, { log: (m) => stack.sidecarLog.push(`[second] ${m}`) });
    let closed = false;
    try {
      const before = (await saved()).mirrors.get('demo-us')!.requests;
      for (let i = 0; i < 4; i++) {
        // What nginx forwards for a download (nginx/server.conf): the client's request in X-Ml-* lines.
        const r = await onSocket(socket, 'GET', '/_mirrorlane/download', { 'X-Ml-Uri': TGZ, 'X-Ml-Method': 'GET', 'X-Ml-Client': US, 'X-Ml-Scheme': 'http' });
        assert.equal(r.status, 302, r.body);
        assert.equal(r.headers['x-mirrorlane-mirror'], 'demo-us');
      }
      assert.ok(second.stats.counts.pendingRows > 0, 'counts wait in memory (flush interval not reached)');
      await second.close();
      closed = true;
      assert.equal((await saved()).mirrors.get('demo-us')!.requests, before + 4);
    } finally {
      if (!closed) await second.close();
    }
  }));
});
