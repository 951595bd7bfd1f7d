// `npm run bench`: requests/s and latency of Mirrorlane's request path (nginx → njs → one subrequest → sidecar →
// PostgreSQL) beside nginx's own `return 302` on the same nginx, interleaved (baseline, subject, baseline, ...) and
// given as ratios: warm redirects (file rows cached) for each hot set, the same with the access log off and
// unbuffered (its cost), the JSON answer, the mirror list page, and cold redirects (every request queries
// PostgreSQL) over the whole table; at each file-table size asked for. Also fallbacks and sidecar timeouts from
// nginx's error log, the sidecars' resident memory, the file table's size per file, and where the CPU goes per
// request (nginx, sidecars, PostgreSQL, the rest). The Mirrorlane server runs the config `npm start` ships.
//
//   npm run bench -- [--files 1000000] [--duration 10] [--rounds 1] [--connections 64] [--threads 2] [--workers 2]
//                    [--sidecars N] [--mirrors 50] [--hot 500,5000] [--no-fill] [--profile] [--no-floor]
//                    [--no-access-log-cost] [--njs FILE] [--keep]
//   (or BENCH_FILES, BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_THREADS, BENCH_WORKERS, BENCH_SIDECARS,
//    BENCH_MIRRORS, BENCH_HOT, BENCH_FILL=0, BENCH_PROFILE=1, BENCH_FLOOR=0, BENCH_ACCESS_LOG_COST=0, BENCH_NJS=FILE)
//
// Everything runs on loopback in a temp folder that is removed at the end: a throw-away PostgreSQL, the GeoIP
// fixtures, the sidecars as their own processes (`mirrorlane serve`, so their memory can be read), a private nginx.
// Figures vary by machine and by what else runs; nothing here asserts on them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
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
import { writeGeoIpFixtures } from '../test/helpers/geoip-fixture.ts';
import { summariseProfile } from './lib/cpuprofile.ts';
import { fileTableSize, fillFiles, seedMirrors } from './lib/dataset.ts';
import { f1, int, pct, progress, sum } from './lib/format.ts';
import { parseOptions, type Options } from './lib/options.ts';
import { diffCounts, errorLogCounts, postmasterPid, sanityCheck, sidecarHealth, type Health } from './lib/probes.ts';
import { cpuPerRequest, memoryOf, sampleCpu } from './lib/procstat.ts';
import { report, type Run, type SizeResult } from './lib/report.ts';
import { baselineScenario, coldScenario, EXTRA_LOCATIONS, fixtureClients, loadFor, warmScenarios, type AccessLog, type Scenario } from './lib/scenarios.ts';
import { startSidecars, stopSidecars } from './lib/sidecar.ts';
import { runWrk, WRK_BIN } from './lib/wrk.ts';

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

async function benchSize(ctx: Ctx, files: number): Promise<SizeResult> {
  const { opts, dir, config } = ctx;
  const load = { url: ctx.url, clients: ctx.clients, threads: opts.threads, connections: opts.connections };
  const pool = createPool(ctx.pg.url, 2);
  const result: SizeResult = { files, fill: null!, table: null!, runs: [], neighbours: new Map(), memory: [], log: null!, profiles: [] };
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
    /** The Mirrorlane server's access log right now; the config is rewritten and nginx reloaded when it changes. */
    let accessLog: AccessLog = config.nginx.accessLog;
    const writeNginx = (mode: AccessLog) =>
      writeManagedNginxConfig({ ...config, nginx: { ...config.nginx, accessLog: mode } }, { prefix, listen: config.nginx.listen, workers: opts.workers, extraLocations: EXTRA_LOCATIONS }, opts.njs ?? NJS_FILE);
    writeNginx(accessLog);
    nginx = live.nginx = await startNginx(prefix, config.nginx.listen.map(parseListen));
    const useAccessLog = async (mode: AccessLog) => {
      if (mode === accessLog) return;
      writeNginx(mode);
      await nginx!.reload();
      accessLog = mode;
      // New workers, empty keep-alive pools: a short warm-up before measuring.
      await runWrk(loadFor(load, baselineScenario(files), 1));
    };
    const groups = () => ({ nginx: nginx!.process.pid!, sidecar: sidecars.map((p) => p.process.pid!), postgres: postmasterPid(ctx.pg) });

    await sanityCheck(ctx.url, files);
    const log0 = errorLogCounts(nginx.errorLog);

    const measure = async (s: Scenario): Promise<Run> => {
      const subject = s.kind !== 'baseline';
      if (subject) await useAccessLog(s.accessLog ?? config.nginx.accessLog);
      const h0 = subject ? await health() : null;
      const l0 = errorLogCounts(nginx!.errorLog);
      const c0 = sampleCpu(groups());
      const wrk = await runWrk(loadFor(load, s, opts.seconds));
      const c1 = sampleCpu(groups());
      const h1 = subject ? await health() : null;
      const lookups = h0 && h1 ? h1.hits - h0.hits + (h1.misses - h0.misses) : 0;
      const run: Run = {
        scenario: s,
        wrk,
        cpu: cpuPerRequest(c0, c1, wrk.requests),
        hitRatio: h0 && h1 && lookups > 0 ? (h1.hits - h0.hits) / lookups : null,
        log: diffCounts(l0, errorLogCounts(nginx!.errorLog)),
      };
      const problems =
        wrk.bad || wrk.socketErrors || run.log.fallbacks
          ? `  !! ${int(wrk.bad)} answers not 2xx/3xx, ${int(wrk.socketErrors)} socket errors, ${int(run.log.fallbacks)} njs fallbacks`
          : '';
      progress(
        `  ${s.label.padEnd(30)} ${int(wrk.rps).padStart(7)} req/s  p50 ${wrk.p50.toFixed(2).padStart(6)} ms  p99 ${wrk.p99.toFixed(2).padStart(6)} ms` +
          (run.hitRatio !== null ? `  cache hits ${pct(run.hitRatio)}` : '') +
          problems,
      );
      return run;
    };
    const warmUp = async (s: Scenario, seconds: number) => {
      await runWrk(loadFor(load, s, seconds));
    };
    const baseline = baselineScenario(files);
    /** baseline, s1, baseline, s2, ..., baseline: every subject between two baselines. */
    const interleave = async (subjects: Scenario[]) => {
      let before = await measure(baseline);
      result.runs.push(before);
      for (let r = 0; r < opts.rounds; r++) {
        for (const s of subjects) {
          const run = await measure(s);
          const after = await measure(baseline);
          result.runs.push(run, after);
          result.neighbours.set(run, [before, after]);
          before = after;
        }
      }
      await useAccessLog(config.nginx.accessLog);
    };

    // Phase 1: the sidecars with their file cache; each hot set is requested first so its rows are cached.
    const warm = warmScenarios(opts.hot, files, opts);
    progress(`  warm-up: nginx return 302, the hot sets (${opts.hot.map(int).join(', ')} files), ?json, ?mirrorlist`);
    await warmUp(baseline, 3);
    // Each sidecar caches the rows it is asked for: a warm scenario is warm once nearly every lookup hits.
    const warmUntilCached = async (s: Scenario) => {
      const deadline = performance.now() + 40_000;
      for (let ratio = 0; ratio < 0.99 && performance.now() < deadline; ) {
        const h0 = await health();
        await warmUp(s, 2);
        const h1 = await health();
        const n = h1.hits - h0.hits + (h1.misses - h0.misses);
        ratio = n > 0 ? (h1.hits - h0.hits) / n : 1;
      }
    };
    for (const s of warm) if (s.accessLog === null) await (s.kind === 'warm' ? warmUntilCached(s) : warmUp(s, 2));
    await interleave(warm);
    const h = await health();
    result.memory.push({ label: 'sidecars with cache, after the warm runs', ...memory(), cached: h.size });

    if (opts.fill) {
      // Fill the caches to their capacity with distinct rows to see what a full cache costs in memory. One wrk
      // thread walks the table in order, so each 5 s chunk starts where the last one's answers ended.
      const capacity = Math.min(config.sidecar.fileCacheSize * sockets.length, files);
      progress(`  filling the sidecars' file caches (${int(capacity)} rows in all) for the memory figure`);
      let first = Math.max(...opts.hot) + 1;
      const deadline = performance.now() + 180_000;
      let cached = h.size;
      const cold = coldScenario(files);
      while (cached < capacity && first <= files && performance.now() < deadline) {
        const r = await runWrk({ ...loadFor(load, cold, 5), threads: 1, mode: 'seq', first, count: files - first + 1 });
        first += r.requests;
        cached = (await health()).size;
      }
      result.memory.push({ label: 'sidecars with cache, caches filled', ...memory(), cached });
    }

    // Phase 2: sidecars without a file cache in place of the first ones.
    progress('  switching to sidecars without file cache (fileCacheSize 0): every request queries PostgreSQL');
    const t0 = performance.now();
    const killed = await stopSidecars(sidecars);
    const t1 = performance.now();
    sidecars = live.sidecars = await startSidecars(coldFile, sockets, logDir);
    progress(
      `  stopped the first sidecars in ${int(t1 - t0)} ms${killed ? ' (!! one did not exit within 15 s of SIGTERM: killed)' : ''}, ` +
        `started the others in ${int(performance.now() - t1)} ms`,
    );
    const cold = coldScenario(files);
    await warmUp(cold, 3);
    await interleave([cold]);
    result.memory.push({ label: 'sidecars without cache, after the cold runs', ...memory(), cached: (await health()).size });

    if (opts.profile) {
      // CPU profiles, after and apart from the measured runs (profiling slows the sidecar down).
      for (const [label, file, s] of [
        ['warm redirect', warmFile, warm[0]],
        ['cold redirect', coldFile, cold],
      ] as const) {
        const profDir = path.join(dir, `profile-${files}-${s.kind}`);
        fs.mkdirSync(profDir, { recursive: true });
        progress(`  CPU profile of the sidecar (node --cpu-prof), ${label}, ${opts.seconds} s`);
        await stopSidecars(sidecars);
        sidecars = live.sidecars = await startSidecars(file, sockets, logDir, profDir);
        await warmUp(s, 3);
        await runWrk(loadFor(load, s, opts.seconds));
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

    result.log = diffCounts(log0, errorLogCounts(nginx.errorLog));
    return result;
  } finally {
    await nginx?.stop();
    await stopSidecars(sidecars);
    live.nginx = null;
    live.sidecars = [];
    await pool.end();
  }
}

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
    // At least as many idle upstream connections per worker as connections from wrk (docs/CONVENTIONS.md, nginx).
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
