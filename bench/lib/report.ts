// The benchmark's final report: one table per file-table size, ratios against the neighbouring baselines.
import os from 'node:os';
import type { ProfileSummary } from './cpuprofile.ts';
import type { FillResult, TableSize } from './dataset.ts';
import { avg, f1, f2, int, mb, pct, table } from './format.ts';
import type { Options } from './options.ts';
import type { ErrorLogCounts } from './probes.ts';
import type { Scenario } from './scenarios.ts';
import type { WrkResult } from './wrk.ts';

export interface Run {
  scenario: Scenario;
  wrk: WrkResult;
  /** CPU µs per request by process group. */
  cpu: Record<string, number>;
  /** File cache hits among the sidecar's lookups during the run (subject runs). */
  hitRatio: number | null;
  /** What nginx logged about the sidecars during the run. */
  log: ErrorLogCounts;
}

export interface SizeResult {
  files: number;
  fill: FillResult;
  table: TableSize;
  /** In the order measured; subjects in the order of first appearance. */
  runs: Run[];
  /** Subject run → the baseline runs just before and after it. */
  neighbours: Map<Run, Run[]>;
  memory: { label: string; rss: number; peak: number; cached: number }[];
  /** Over the whole size, warm-ups included. */
  log: ErrorLogCounts;
  profiles: { label: string; summary: ProfileSummary }[];
}

function summarise(r: SizeResult, key: string) {
  const runs = r.runs.filter((x) => x.scenario.key === key);
  const baseline = key === 'baseline';
  const bases = baseline ? runs : runs.flatMap((x) => r.neighbours.get(x) ?? []);
  // Ratio per subject run against the mean of its two neighbouring baselines, then averaged.
  const ratio = baseline ? null : avg(runs.map((x) => x.wrk.rps / avg((r.neighbours.get(x) ?? []).map((b) => b.wrk.rps))));
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(runs[0]?.cpu ?? {})) cpu[k] = avg(runs.map((x) => x.cpu[k]));
  return {
    scenario: runs[0].scenario,
    rps: avg(runs.map((x) => x.wrk.rps)),
    baseRps: avg(bases.map((x) => x.wrk.rps)),
    ratio,
    p50: avg(runs.map((x) => x.wrk.p50)),
    p99: Math.max(...runs.map((x) => x.wrk.p99)),
    bad: runs.reduce((a, x) => a + x.wrk.bad + x.wrk.socketErrors, 0),
    fallbacks: runs.reduce((a, x) => a + x.log.fallbacks, 0),
    cpu,
    hit: runs[0]?.hitRatio ?? null,
  };
}

export function report(opts: Options, results: SizeResult[], nginxVersion: string): void {
  console.log('');
  console.log('='.repeat(100));
  console.log(
    `Mirrorlane request path (nginx → njs → one subrequest → sidecar) vs nginx \`return 302\`, same nginx, interleaved; ` +
      `${os.cpus().length} cores shared by wrk, nginx, the sidecars and PostgreSQL`,
  );
  console.log(
    `${nginxVersion}, worker_processes ${opts.workers}, ${opts.sidecars} sidecar process(es), upstream keepalive ${Math.max(128, opts.connections)}; ` +
      `wrk -t${opts.threads} -c${opts.connections} -d${opts.seconds}s --latency; ${opts.rounds} round(s); Node ${process.version}; ${opts.mirrors} mirrors; ` +
      `access log as shipped (buffered) unless a row says otherwise`,
  );
  if (opts.njs) console.log(`njs handler measured: ${opts.njs}`);
  for (const r of results) {
    console.log('');
    console.log(
      `${int(r.files)} files (${f1(r.fill.holders.avg)} holders per file, ${r.fill.holders.min}..${r.fill.holders.max}; paths ${f1(r.fill.avgPathBytes)} B on average)`,
    );
    const rows: string[][] = [['scenario', 'req/s', 'p50 ms', 'p99 ms', '302 req/s', 'ratio', 'cache hits', 'fallbacks', 'CPU µs/req: nginx', 'sidecar', 'pg', 'other', 'target']];
    const keys: string[] = [];
    for (const run of r.runs) if (!keys.includes(run.scenario.key)) keys.push(run.scenario.key);
    keys.sort((a, b) => (a === 'baseline' ? -1 : b === 'baseline' ? 1 : 0));
    for (const key of keys) {
      const m = summarise(r, key);
      rows.push([
        m.scenario.label + (m.bad ? ` (!! ${int(m.bad)} not 2xx/3xx)` : ''),
        int(m.rps),
        f2(m.p50),
        f2(m.p99),
        key === 'baseline' ? '' : int(m.baseRps),
        m.ratio === null ? '' : pct(m.ratio),
        m.hit === null ? '' : pct(m.hit),
        key === 'baseline' ? '' : int(m.fallbacks),
        f1(m.cpu.nginx),
        f1(m.cpu.sidecar),
        f1(m.cpu.postgres),
        f1(m.cpu.other),
        m.scenario.target,
      ]);
    }
    console.log(table(rows, [false, true, true, true, true, true, true, true, true, true, true, true, false]));
    const t = r.table;
    console.log(
      `database: file table ${mb(t.total)} for ${int(t.rows)} files = ${f1(t.bytesPerFile)} B per file (heap ${f1(t.heap / t.rows)}, indexes ${f1(t.indexes / t.rows)}, ` +
        `rest ${f1((t.total - t.heap - t.indexes) / t.rows)}); target < 350 B`,
    );
    for (const m of r.memory) console.log(`memory: ${m.label}: RSS ${mb(m.rss)} (peak ${mb(m.peak)}), ${int(m.cached)} rows cached`);
    const measured = r.runs.reduce((a, x) => a + x.log.fallbacks, 0);
    console.log(
      `nginx error log: ${int(r.log.fallbacks)} njs fallbacks (${int(measured)} during measured runs), ${int(r.log.timeouts)} "upstream timed out", ` +
        `${int(r.log.noLive)} "no live upstreams"`,
    );
    for (const p of r.profiles) {
      console.log(`CPU profile of ${opts.sidecars > 1 ? 'the first sidecar' : 'the sidecar'}, ${p.label} (${int(p.summary.busyMs)} ms sampled, idle excluded):`);
      console.log(`  by area:      ${p.summary.byArea.slice(0, 8).map(([l, s]) => `${l} ${pct(s)}`).join('; ')}`);
      console.log(`  self time:    ${p.summary.selfByFunction.slice(0, 10).map(([l, s]) => `${l} ${pct(s)}`).join('; ')}`);
      console.log(`  inclusive:    ${p.summary.inclusiveOwn.slice(0, 10).map(([l, s]) => `${l} ${pct(s)}`).join('; ')}`);
    }
  }
  console.log('');
  console.log(
    'ratio: subject req/s over the mean of the nginx `return 302` runs just before and after it. fallbacks: answers njs\n' +
      'gave without the sidecar (fallback mirror or origin) during the run. CPU µs/req: utime+stime of nginx (master+workers,\n' +
      'njs included), the sidecar processes, PostgreSQL (postmaster and backends), and the rest of the machine (wrk, kernel)\n' +
      'per request. Targets are printed for comparison, not asserted.',
  );
}
