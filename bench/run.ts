// `npm run bench`: requests/s and latency of Mirrorlane's request path (nginx → sidecar → PostgreSQL) beside
// nginx's own `return 302` on the same nginx, interleaved (baseline, subject, baseline, ...) and given as ratios,
// for a warm redirect (file row cached), a cold redirect (every request queries PostgreSQL), the JSON answer and
// the mirror list page; at each file-table size asked for. Also the sidecar's resident memory, the file table's
// size per file, and where the CPU goes per request (nginx, sidecar, PostgreSQL, the rest).
//
//   npm run bench -- [--files 100000,1000000] [--duration 10] [--rounds 1] [--connections 64] [--threads 2]
//                    [--workers 2] [--sidecars 2] [--mirrors 50] [--hot 1000] [--no-fill] [--profile] [--no-floor]
//                    [--njs FILE] [--keep]
//   (or BENCH_FILES, BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_THREADS, BENCH_WORKERS, BENCH_SIDECARS,
//    BENCH_MIRRORS, BENCH_HOT, BENCH_FILL=0, BENCH_PROFILE=1, BENCH_FLOOR=0, BENCH_NJS=FILE)
//
// Everything runs on loopback in a temp folder that is removed at the end: a throw-away PostgreSQL, the GeoIP
// fixtures, the sidecar as its own process (`mirrorlane serve`, so its memory can be read), a private nginx.
// Figures vary by machine and by what else runs; nothing here asserts on them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, sidecarSockets, writeConfigFile, type Config } from '../core/config.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool } from '../core/db/pool.ts';
import { NJS_FILE, writeManagedNginxConfig } from '../core/nginx-config.ts';
import { NGINX_BIN, parseListen, startNginx, type RunningNginx } from '../runtime/nginx.ts';
import { freePort } from '../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../runtime/postgres.ts';
import type { SidecarProcess } from '../runtime/sidecar-process.ts';
import { buildCli } from '../scripts/build-cli.ts';
import { buildNjs } from '../scripts/build-njs.ts';
import { GEO, GEO_FACTS, writeGeoIpFixtures } from '../test/helpers/geoip-fixture.ts';
import { summariseProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { fileTableSize, fillFiles, filePath, seedMirrors, type FillResult, type TableSize } from './lib/dataset.ts';
import { cpuPerRequest, memoryOf, sampleCpu } from './lib/procstat.ts';
import { startSidecars, stopSidecars } from './lib/sidecar.ts';
import { runWrk, WRK_BIN, type WrkLoad, type WrkResult } from './lib/wrk.ts';

// ---------------------------------------------------------------------------------------------------------------
// Options

interface Options {
  files: number[];
  seconds: number;
  rounds: number;
  connections: number;
  threads: number;
  workers: number | 'auto';
  mirrors: number;
  hot: number;
  fill: boolean;
  profile: boolean;
  /** Keep the temp folder (logs, configs, profiles) for a look afterwards. */
  keep: boolean;
  /** Also measure nginx proxying straight to the sidecar's /health: the floor without njs and without a decision. */
  floor: boolean;
  /** Another built njs handler to measure instead of build/njs/mirrorlane.js (to try a change). */
  njs: string | null;
  /** Sidecar processes (sidecar.processes): one Node process uses one core. */
  sidecars: number;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const o: Options = {
    files: (env.BENCH_FILES ?? '100000,1000000').split(',').map(Number),
    seconds: Number(env.BENCH_DURATION ?? 10),
    rounds: Number(env.BENCH_ROUNDS ?? 1),
    connections: Number(env.BENCH_CONNECTIONS ?? 64),
    threads: Number(env.BENCH_THREADS ?? 2),
    // 2 = 'auto' here: nginx gets both cores, as the default config gives it; the baseline gains most from it.
    workers: env.BENCH_WORKERS === 'auto' ? 'auto' : Number(env.BENCH_WORKERS ?? 2),
    mirrors: Number(env.BENCH_MIRRORS ?? 50),
    hot: Number(env.BENCH_HOT ?? 1000),
    fill: env.BENCH_FILL !== '0',
    profile: env.BENCH_PROFILE === '1',
    keep: false,
    floor: env.BENCH_FLOOR !== '0',
    njs: env.BENCH_NJS ?? null,
    // One per core, as an operator of a 2-core host would configure it.
    sidecars: Number(env.BENCH_SIDECARS ?? 2),
  };
  const usage = () => {
    console.error(
      'usage: npm run bench -- [--files 100000,1000000] [--duration SECONDS] [--rounds N] [--connections 64] [--threads 2]\n' +
        '                        [--workers 1|2|auto] [--sidecars 2] [--mirrors 50] [--hot 1000] [--no-fill] [--profile] [--no-floor]\n' +
        '                        [--njs FILE] [--keep]',
    );
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage();
      return v;
    };
    if (flag === '--files') o.files = value().split(',').map((s) => Number(s.replace(/_/g, '')));
    else if (flag === '--duration') o.seconds = Number(value());
    else if (flag === '--rounds') o.rounds = Number(value());
    else if (flag === '--connections') o.connections = Number(value());
    else if (flag === '--threads') o.threads = Number(value());
    else if (flag === '--workers') {
      const v = value();
      o.workers = v === 'auto' ? 'auto' : Number(v);
    } else if (flag === '--mirrors') o.mirrors = Number(value());
    else if (flag === '--hot') o.hot = Number(value());
    else if (flag === '--no-fill') o.fill = false;
    else if (flag === '--profile') o.profile = true;
    else if (flag === '--keep') o.keep = true;
    else if (flag === '--no-floor') o.floor = false;
    else if (flag === '--njs') o.njs = path.resolve(value());
    else if (flag === '--sidecars') o.sidecars = Number(value());
    else usage();
  }
  const positive = (n: number) => Number.isInteger(n) && n > 0;
  if (
    !o.files.length ||
    !o.files.every(positive) ||
    !positive(o.seconds) ||
    !positive(o.rounds) ||
    !positive(o.connections) ||
    !positive(o.threads) ||
    o.connections < o.threads ||
    !(o.workers === 'auto' || positive(o.workers)) ||
    !(positive(o.sidecars) && o.sidecars <= 64) ||
    !(positive(o.mirrors) && o.mirrors <= 1000) ||
    !positive(o.hot) ||
    (o.njs !== null && !fs.existsSync(o.njs))
  ) {
    usage();
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Output helpers

const startedAt = performance.now();
function progress(msg: string): void {
  const s = ((performance.now() - startedAt) / 1000).toFixed(0).padStart(4);
  console.log(`[${s}s] ${msg}`);
}
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function table(rows: string[][], rightAligned: boolean[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Clients: addresses inside the GeoIP fixture's networks (DE, FR, US, JP over IPv4 and IPv6) and a few without data.

function fixtureClients(): string[] {
  const out: string[] = [];
  for (const f of GEO_FACTS) {
    if (f.network.startsWith('127.')) continue; // where the fixture's mirrors live, not clients
    for (let k = 1; k <= 8; k++) {
      if (f.network.includes(':')) out.push(`${f.network.split('::')[0]}::${(k * 977).toString(16)}`);
      else {
        const [a, b, c, d] = f.ip.split('.').map(Number);
        const lastOctetBase = d < 128 ? 1 : 129;
        out.push(`${a}.${b}.${c}.${lastOctetBase + ((k * 13) % 120)}`);
      }
    }
  }
  out.push('10.1.2.3', '10.20.30.40', '192.0.3.7', '2001:db8:4::1'); // no GeoIP data: "elsewhere" only
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The pieces under test

const BASELINE_PREFIX = '/bench-302';
const FLOOR_PREFIX = '/bench-floor';
/** nginx alone: the same request line and headers, answered by `return 302` in the same server { }. */
const EXTRA_LOCATIONS = `
        # npm run bench: no access log for either side (it would only write gigabytes of lines).
        access_log off;
        # The baseline: what nginx alone does for a redirect.
        location ^~ ${BASELINE_PREFIX}/ {
            return 302 http://mirror-1.example.org/mirrorlane$uri;
        }
        # The floor: nginx proxying to the sidecar without njs and without a decision (its /health answer).
        location ^~ ${FLOOR_PREFIX}/ {
            rewrite ^ /health break;
            proxy_pass http://mirrorlane_sidecar;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }`;

interface Health {
  size: number;
  hits: number;
  misses: number;
}

function sidecarHealth(socket: string): Promise<Health> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: '/health', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body).fileCache as Health);
          } catch (e) {
            reject(e);
          }
        });
      })
      .on('error', reject);
  });
}

function fetchOnce(url: string, xff: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'X-Forwarded-For': xff }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

/** Lines njs logged when it could not use the sidecar's answer (it then falls back). */
function fallbackLines(errorLog: string): number {
  let text = '';
  try {
    text = fs.readFileSync(errorLog, 'utf8');
  } catch {
    return 0;
  }
  let n = 0;
  for (let i = text.indexOf('js: mirrorlane: '); i >= 0; i = text.indexOf('js: mirrorlane: ', i + 1)) n++;
  return n;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function postmasterPid(pg: RunningPostgres): number {
  return Number(fs.readFileSync(path.join(path.dirname(pg.logFile), 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}


// ---------------------------------------------------------------------------------------------------------------
// Scenarios

type Scenario = 'baseline' | 'warm' | 'cold' | 'json' | 'mirrorlist' | 'floor';

const LABEL: Record<Scenario, string> = {
  baseline: 'nginx return 302',
  warm: 'warm redirect',
  cold: 'cold redirect',
  json: 'JSON answer (?json)',
  mirrorlist: 'mirror list (?mirrorlist)',
  floor: 'floor: proxy to sidecar /health',
};

const TARGET: Record<Scenario, string> = {
  baseline: '',
  warm: '>= 20 % (Mirrorbits ~14 %), p99 < 10 ms',
  cold: '>= 10 %',
  json: '',
  mirrorlist: '',
  floor: 'no njs, no decision',
};

interface Run {
  scenario: Scenario;
  wrk: WrkResult;
  /** CPU µs per request by process group. */
  cpu: Record<string, number>;
  /** File cache hits among the sidecar's lookups during the run (subject runs). */
  hitRatio: number | null;
  /** njs fallbacks (sidecar too slow, down or answering garbage) logged by nginx during the run. */
  fallbacks: number;
}

interface SizeResult {
  files: number;
  fill: FillResult;
  table: TableSize;
  runs: Run[];
  /** Subject run → the baseline runs just before and after it. */
  neighbours: Map<Run, Run[]>;
  memory: { label: string; rss: number; peak: number; cached: number }[];
  /** njs fallbacks logged over the whole size, warm-ups included. */
  fallbacks: number;
  profiles: { label: string; summary: ProfileSummary }[];
}

/** What runs right now, so that an interrupted benchmark leaves nothing behind. */
const live: { nginx: RunningNginx | null; sidecars: SidecarProcess[] } = { nginx: null, sidecars: [] };

interface Ctx {
  opts: Options;
  dir: string;
  pg: RunningPostgres;
  config: Config;
  url: string;
  clients: string[];
}

function loadFor(ctx: Ctx, scenario: Scenario, files: number, seconds: number): WrkLoad {
  const hot = Math.min(ctx.opts.hot, files);
  const common = { url: ctx.url, clients: ctx.clients, threads: ctx.opts.threads, connections: ctx.opts.connections, seconds, mode: 'random' as const };
  switch (scenario) {
    case 'baseline':
      return { ...common, base: BASELINE_PREFIX, first: 1, count: files, query: '' };
    case 'warm':
      return { ...common, base: '', first: 1, count: hot, query: '' };
    case 'cold':
      return { ...common, base: '', first: 1, count: files, query: '' };
    case 'json':
      return { ...common, base: '', first: 1, count: hot, query: '?json' };
    case 'mirrorlist':
      return { ...common, base: '', first: 1, count: hot, query: '?mirrorlist' };
    case 'floor':
      return { ...common, base: FLOOR_PREFIX, first: 1, count: hot, query: '' };
  }
}

async function benchSize(ctx: Ctx, files: number): Promise<SizeResult> {
  const { opts, dir, config } = ctx;
  const pool = createPool(ctx.pg.url, 2);
  const result: SizeResult = { files, fill: null!, table: null!, runs: [], neighbours: new Map(), memory: [], fallbacks: 0, profiles: [] };
  let sidecars: SidecarProcess[] = [];
  let nginx: RunningNginx | null = null;
  try {
    progress(`${int(files)} files: filling the file table (one INSERT ... SELECT FROM generate_series, then VACUUM ANALYZE)`);
    result.fill = await fillFiles(pool, files, opts.mirrors);
    result.table = await fileTableSize(pool);
    progress(
      `  ${int(result.fill.rows)} rows in ${f1(result.fill.seconds)} s; ${f1(result.fill.holders.avg)} holders per file (${result.fill.holders.min}..${result.fill.holders.max}); ` +
        `${f1(result.table.bytesPerFile)} B per file`,
    );

    // Two sidecar configurations: the default file cache, and none at all (every request queries PostgreSQL).
    const warmFile = path.join(dir, `sidecar-warm.json`);
    const coldFile = path.join(dir, `sidecar-cold.json`);
    writeConfigFile(config, warmFile);
    writeConfigFile({ ...config, sidecar: { ...config.sidecar, fileCacheSize: 0 } }, coldFile);
    const sockets = sidecarSockets(config);
    const logDir = path.join(dir, 'log');
    const health = async (): Promise<Health> => {
      const all = await Promise.all(sockets.map(sidecarHealth));
      return { size: sum(all.map((h) => h.size)), hits: sum(all.map((h) => h.hits)), misses: sum(all.map((h) => h.misses)) };
    };
    const memory = () => {
      const m = sidecars.map((p) => memoryOf(p.process.pid!));
      return { rss: sum(m.map((x) => x.rss)), peak: sum(m.map((x) => x.peak)) };
    };

    sidecars = live.sidecars = await startSidecars(warmFile, sockets, logDir);
    const prefix = path.join(dir, `nginx-${files}`);
    writeManagedNginxConfig(config, { prefix, listen: config.nginx.listen, workers: opts.workers, extraLocations: EXTRA_LOCATIONS }, opts.njs ?? NJS_FILE);
    nginx = live.nginx = await startNginx(prefix, config.nginx.listen.map(parseListen));
    const groups = () => ({ nginx: nginx!.process.pid!, sidecar: sidecars.map((p) => p.process.pid!), postgres: postmasterPid(ctx.pg) });

    await sanityCheck(ctx, files);

    const measure = async (scenario: Scenario, seconds = opts.seconds): Promise<Run> => {
      const subject = scenario !== 'baseline';
      const h0 = subject ? await health() : null;
      const f0 = fallbackLines(nginx!.errorLog);
      const c0 = sampleCpu(groups());
      const wrk = await runWrk(loadFor(ctx, scenario, files, seconds));
      const c1 = sampleCpu(groups());
      const h1 = subject ? await health() : null;
      const lookups = h0 && h1 ? h1.hits - h0.hits + (h1.misses - h0.misses) : 0;
      const run: Run = {
        scenario,
        wrk,
        cpu: cpuPerRequest(c0, c1, wrk.requests),
        hitRatio: h0 && h1 && lookups > 0 ? (h1.hits - h0.hits) / lookups : null,
        fallbacks: fallbackLines(nginx!.errorLog) - f0,
      };
      const problems =
        wrk.bad || wrk.socketErrors || run.fallbacks
          ? `  !! ${int(wrk.bad)} answers not 2xx/3xx, ${int(wrk.socketErrors)} socket errors, ${int(run.fallbacks)} njs fallbacks`
          : '';
      progress(
        `  ${LABEL[scenario].padEnd(26)} ${int(wrk.rps).padStart(7)} req/s  p50 ${f2(wrk.p50).padStart(6)} ms  p99 ${f2(wrk.p99).padStart(6)} ms` +
          (run.hitRatio !== null ? `  cache hits ${pct(run.hitRatio)}` : '') +
          problems,
      );
      return run;
    };
    const warmUp = async (scenario: Scenario, seconds: number) => {
      await runWrk(loadFor(ctx, scenario, files, seconds));
    };
    /** baseline, s1, baseline, s2, ..., baseline: every subject between two baselines. */
    const interleave = async (subjects: Scenario[]) => {
      let before = await measure('baseline');
      result.runs.push(before);
      for (let r = 0; r < opts.rounds; r++) {
        for (const s of subjects) {
          const run = await measure(s);
          const after = await measure('baseline');
          result.runs.push(run, after);
          result.neighbours.set(run, [before, after]);
          before = after;
        }
      }
    };

    // Phase 1: the sidecar with its file cache; the hot set is requested first so its rows are cached.
    progress(`  warm-up: nginx return 302, the hot set of ${int(Math.min(opts.hot, files))} files, ?json, ?mirrorlist`);
    await warmUp('baseline', 3);
    await warmUp('warm', 4);
    await warmUp('json', 2);
    await warmUp('mirrorlist', 2);
    await interleave(opts.floor ? ['warm', 'json', 'mirrorlist', 'floor'] : ['warm', 'json', 'mirrorlist']);
    const h = await health();
    result.memory.push({ label: 'sidecar with cache, after the warm runs', ...memory(), cached: h.size });

    if (opts.fill) {
      // Fill the cache to its capacity with distinct rows to see what a full cache costs in memory. One wrk
      // thread walks the table in order, so each 5 s chunk starts where the last one's answers ended.
      const capacity = Math.min(config.sidecar.fileCacheSize, files);
      progress(`  filling the sidecar's file cache (${int(capacity)} rows) for the memory figure`);
      let first = Math.min(opts.hot, files) + 1;
      const deadline = performance.now() + 180_000;
      let cached = h.size;
      while (cached < capacity && first <= files && performance.now() < deadline) {
        const r = await runWrk({ ...loadFor(ctx, 'cold', files, 5), threads: 1, mode: 'seq', first, count: files - first + 1 });
        first += r.requests;
        cached = (await health()).size;
      }
      result.memory.push({ label: 'sidecar with cache, cache filled', ...memory(), cached });
    }

    // Phase 2: a sidecar without a file cache in place of the first one.
    progress('  switching to a sidecar without file cache (fileCacheSize 0): every request queries PostgreSQL');
    const t0 = performance.now();
    const killed = await stopSidecars(sidecars);
    const t1 = performance.now();
    sidecars = live.sidecars = await startSidecars(coldFile, sockets, logDir);
    progress(
      `  stopped the first sidecar in ${int(t1 - t0)} ms${killed ? ' (!! it did not exit within 15 s of SIGTERM: killed)' : ''}, ` +
        `started the second in ${int(performance.now() - t1)} ms`,
    );
    await warmUp('cold', 3);
    await interleave(['cold']);
    result.memory.push({ label: 'sidecar without cache, after the cold runs', ...memory(), cached: (await health()).size });

    if (opts.profile) {
      // CPU profiles, after and apart from the measured runs (profiling slows the sidecar down).
      for (const [label, file, scenario] of [
        ['warm redirect', warmFile, 'warm'],
        ['cold redirect', coldFile, 'cold'],
      ] as const) {
        const profDir = path.join(dir, `profile-${files}-${scenario}`);
        fs.mkdirSync(profDir, { recursive: true });
        progress(`  CPU profile of the sidecar (node --cpu-prof), ${label}, ${opts.seconds} s`);
        await stopSidecars(sidecars);
        sidecars = live.sidecars = await startSidecars(file, sockets, logDir, profDir);
        await warmUp(scenario, 3);
        await runWrk(loadFor(ctx, scenario, files, opts.seconds));
        // The profile is written when the process exits (not when it has to be killed).
        if (await stopSidecars(sidecars, 60_000)) progress('  !! a profiled sidecar did not exit within 60 s of SIGTERM: killed');
        sidecars = live.sidecars = [];
        // tsx's loader thread writes a profile of its own: the main thread's is the biggest.
        const prof = fs
          .readdirSync(profDir)
          .filter((f) => f.endsWith('.cpuprofile'))
          .sort((a, b) => fs.statSync(path.join(profDir, b)).size - fs.statSync(path.join(profDir, a)).size)[0];
        if (prof) result.profiles.push({ label, summary: summariseProfile(path.join(profDir, prof)) });
        else progress(`  !! no profile written in ${profDir}`);
      }
    }

    result.fallbacks = fallbackLines(nginx.errorLog);
    return result;
  } finally {
    await nginx?.stop();
    await stopSidecars(sidecars);
    live.nginx = null;
    live.sidecars = [];
    await pool.end();
  }
}

/** One request of each kind answers what the scenario claims to measure, or the benchmark stops here. */
async function sanityCheck(ctx: Ctx, files: number): Promise<void> {
  const p = filePath(Math.min(7, files));
  const client = GEO.berlin.ip;
  const fail = (what: string, r: { status: number; headers: http.IncomingHttpHeaders; body: string }) => {
    throw new Error(`sanity check: ${what}: got ${r.status} ${JSON.stringify(r.headers)}\n${r.body.slice(0, 500)}`);
  };
  const base = await fetchOnce(`${ctx.url}${BASELINE_PREFIX}${p}`, client);
  if (base.status !== 302) fail('baseline should answer 302', base);
  const redirect = await fetchOnce(`${ctx.url}${p}`, client);
  if (redirect.status !== 302 || !/^https?:\/\/mirror-\d+\.example\.org\//.test(String(redirect.headers.location))) fail('a 302 to a mirror', redirect);
  const json = await fetchOnce(`${ctx.url}${p}?json`, client);
  if (json.status !== 200 || !String(json.headers['content-type']).startsWith('application/json')) fail('the JSON answer', json);
  const list = await fetchOnce(`${ctx.url}${p}?mirrorlist`, client);
  if (list.status !== 200 || !String(list.headers['content-type']).startsWith('text/html')) fail('the mirror list page', list);
  progress(
    `  check: ${p} from ${client} → 302 ${redirect.headers['x-mirrorlane-mirror']} (tier ${redirect.headers['x-mirrorlane-tier']}), ` +
      `answer sizes: redirect ${Buffer.byteLength(JSON.stringify(redirect.headers))} B of headers, JSON ${int(json.body.length)} B, mirror list ${int(list.body.length)} B`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function summarise(r: SizeResult, scenario: Scenario) {
  const runs = r.runs.filter((x) => x.scenario === scenario);
  const bases = scenario === 'baseline' ? runs : runs.flatMap((x) => r.neighbours.get(x) ?? []);
  const rps = avg(runs.map((x) => x.wrk.rps));
  const baseRps = avg(bases.map((x) => x.wrk.rps));
  // Ratio per subject run against the mean of its two neighbouring baselines, then averaged.
  const ratio = scenario === 'baseline' ? null : avg(runs.map((x) => x.wrk.rps / avg((r.neighbours.get(x) ?? []).map((b) => b.wrk.rps))));
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(runs[0]?.cpu ?? {})) cpu[k] = avg(runs.map((x) => x.cpu[k]));
  return {
    rps,
    baseRps,
    ratio,
    p50: avg(runs.map((x) => x.wrk.p50)),
    p99: Math.max(...runs.map((x) => x.wrk.p99)),
    bad: runs.reduce((a, x) => a + x.wrk.bad + x.wrk.socketErrors, 0),
    fallbacks: runs.reduce((a, x) => a + x.fallbacks, 0),
    cpu,
    hit: runs[0]?.hitRatio ?? null,
  };
}

function report(opts: Options, results: SizeResult[], nginxVersion: string): void {
  console.log('');
  console.log('='.repeat(100));
  console.log(
    `Mirrorlane request path vs nginx \`return 302\`, same nginx, interleaved; ${os.cpus().length} cores shared by wrk, nginx, the sidecar and PostgreSQL`,
  );
  console.log(
    `${nginxVersion}, worker_processes ${opts.workers}, ${opts.sidecars} sidecar process(es), upstream keepalive ${Math.max(128, opts.connections)}; wrk -t${opts.threads} -c${opts.connections} -d${opts.seconds}s --latency; ` +
      `${opts.rounds} round(s); Node ${process.version}; ${opts.mirrors} mirrors; hot set ${int(opts.hot)} files`,
  );
  if (opts.njs) console.log(`njs handler measured: ${opts.njs}`);
  for (const r of results) {
    console.log('');
    console.log(
      `${int(r.files)} files (${f1(r.fill.holders.avg)} holders per file, ${r.fill.holders.min}..${r.fill.holders.max}; paths ${f1(r.fill.avgPathBytes)} B on average)`,
    );
    const rows: string[][] = [['scenario', 'req/s', 'p50 ms', 'p99 ms', '302 req/s', 'ratio', 'cache hits', 'CPU µs/req: nginx', 'sidecar', 'pg', 'other', 'target']];
    for (const s of ['baseline', 'warm', 'cold', 'json', 'mirrorlist', 'floor'] as Scenario[]) {
      if (!r.runs.some((x) => x.scenario === s)) continue;
      const m = summarise(r, s);
      rows.push([
        LABEL[s] + (m.bad || m.fallbacks ? ` (!! ${int(m.bad)} not 2xx/3xx, ${int(m.fallbacks)} fallbacks)` : ''),
        int(m.rps),
        f2(m.p50),
        f2(m.p99),
        s === 'baseline' ? '' : int(m.baseRps),
        m.ratio === null ? '' : pct(m.ratio),
        m.hit === null ? '' : pct(m.hit),
        f1(m.cpu.nginx),
        f1(m.cpu.sidecar),
        f1(m.cpu.postgres),
        f1(m.cpu.other),
        TARGET[s],
      ]);
    }
    console.log(table(rows, [false, true, true, true, true, true, true, true, true, true, true, false]));
    const t = r.table;
    console.log(
      `database: file table ${mb(t.total)} for ${int(t.rows)} files = ${f1(t.bytesPerFile)} B per file (heap ${f1(t.heap / t.rows)}, indexes ${f1(t.indexes / t.rows)}, ` +
        `rest ${f1((t.total - t.heap - t.indexes) / t.rows)}); target < 350 B`,
    );
    for (const m of r.memory) console.log(`memory: ${m.label}: RSS ${mb(m.rss)} (peak ${mb(m.peak)}), ${int(m.cached)} rows cached`);
    if (r.fallbacks) {
      const measured = r.runs.reduce((a, x) => a + x.fallbacks, 0);
      console.log(`nginx error log: ${int(r.fallbacks)} njs fallbacks (sidecar slow or unavailable), ${int(measured)} of them during measured runs`);
    }
    for (const p of r.profiles) {
      console.log(`CPU profile of ${opts.sidecars > 1 ? 'the first sidecar' : 'the sidecar'}, ${p.label} (${int(p.summary.busyMs)} ms sampled, idle excluded):`);
      console.log(`  by area:      ${p.summary.byArea.slice(0, 8).map(([l, s]) => `${l} ${pct(s)}`).join('; ')}`);
      console.log(`  self time:    ${p.summary.selfByFunction.slice(0, 10).map(([l, s]) => `${l} ${pct(s)}`).join('; ')}`);
      console.log(`  inclusive:    ${p.summary.inclusiveOwn.slice(0, 10).map(([l, s]) => `${l} ${pct(s)}`).join('; ')}`);
    }
  }
  console.log('');
  console.log(
    'ratio: subject req/s over the mean of the nginx `return 302` runs just before and after it. CPU µs/req: utime+stime\n' +
      'of nginx (master+workers, njs included), the sidecar process, PostgreSQL (postmaster and backends), and the rest\n' +
      'of the machine (wrk, kernel) per request. Targets are printed for comparison, not asserted.',
  );
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  if (!fs.existsSync(WRK_BIN)) throw new Error(`${WRK_BIN} not found: run \`bash scripts/ensure-deps.sh bench\` (apt-get install wrk)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-bench-'));
  // nginx workers run as nobody when we are root: the socket's folder must be reachable.
  fs.chmodSync(dir, 0o755);
  let pg: RunningPostgres | null = null;
  const cleanup = async () => {
    await live.nginx?.stop();
    await stopSidecars(live.sidecars);
    await pg?.stop();
    pg = null;
    if (opts.keep) console.error(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    console.error('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Output piped into `head` that has gone: keep going quietly and clean up at the end.
  process.stdout.on('error', () => {});
  try {
    progress(`files ${opts.files.map(int).join(', ')}; ${opts.seconds} s per run; ${opts.rounds} round(s); temp folder ${dir}`);
    await buildNjs();
    await buildCli();
    pg = await startTempCluster();
    const pool = createPool(pg.url, 2);
    await migrate(pool);
    await seedMirrors(pool, opts.mirrors);
    await pool.end();
    const geo = writeGeoIpFixtures(path.join(dir, 'geoip'));
    const port = await freePort();
    const config = defaultConfig(dir);
    // The sidecars reach PostgreSQL over its unix socket, as on a host where both run (Debian: /run/postgresql).
    config.databaseUrl = pg.socketUrl ?? pg.url;
    config.origin.root = path.join(dir, 'origin');
    fs.mkdirSync(config.origin.root, { recursive: true, mode: 0o755 });
    config.geoip = { city: [geo.city], asn: geo.asn };
    config.nginx.listen = [`127.0.0.1:${port}`];
    config.nginx.workerProcesses = opts.workers;
    // At least as many idle upstream connections per worker as connections from wrk (see DESIGN.md).
    config.nginx.keepalive = Math.max(config.nginx.keepalive, opts.connections);
    config.sidecar.processes = opts.sidecars;
    config.demo = false;
    const ctx: Ctx = { opts, dir, pg, config, url: `http://127.0.0.1:${port}`, clients: fixtureClients() };

    const results: SizeResult[] = [];
    for (const files of opts.files) results.push(await benchSize(ctx, files));
    const nginxVersion = spawnSync(NGINX_BIN, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: /, '') || 'nginx';
    report(opts, results, nginxVersion);
    progress('done');
  } finally {
    await cleanup();
  }
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
