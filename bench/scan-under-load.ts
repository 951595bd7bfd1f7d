// Warm redirects per second while mirror scans are applied: `npx tsx bench/scan-under-load.ts [--seconds 10]
// [--rounds 2] [--files 100000] [--scan-files 10000] [--every 5]`. The same warm load (wrk on a hot set of 1 000
// files) runs without scans and with a scan of one mirror (10 000 files, 100 of them dropped and the previous
// 100 restored each time) applied every 5 s, interleaved; the figure is the ratio. A scan that drops every
// sidecar's file cache (what a 'files' NOTIFY did before the change log) makes the warm load cold for a while.
// Figures vary by machine and by what else runs; nothing asserts on them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { defaultConfig, sidecarSockets, writeConfigFile } from '../core/config.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool } from '../core/db/pool.ts';
import { writeManagedNginxConfig } from '../core/nginx-config.ts';
import { applyMirrorListing } from '../core/scan/apply-listing.ts';
import type { ListedFile } from '../core/scan/types.ts';
import { parseListen, startNginx, type RunningNginx } from '../runtime/nginx.ts';
import { freePort } from '../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../runtime/postgres.ts';
import type { SidecarProcess } from '../runtime/sidecar-process.ts';
import { buildCli } from '../scripts/build-cli.ts';
import { buildNjs } from '../scripts/build-njs.ts';
import { GEO, writeGeoIpFixtures } from '../test/helpers/geoip-fixture.ts';
import { fillFiles, filePath, seedMirrors } from './lib/dataset.ts';
import { startSidecars, stopSidecars } from './lib/sidecar.ts';
import { runWrk, WRK_BIN } from './lib/wrk.ts';

function opt(name: string, dflt: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const v = at >= 0 ? Number(process.argv[at + 1]) : dflt;
  if (!(v > 0)) {
    console.error(`--${name} must be a positive number`);
    process.exit(2);
  }
  return v;
}
const SECONDS = opt('seconds', 10);
const ROUNDS = opt('rounds', 2);
const FILES = opt('files', 100_000);
const SCAN_FILES = opt('scan-files', 10_000);
const EVERY_S = opt('every', 5);
const HOT = 1000;

// The origin's values of file i, as bench/lib/dataset.ts fills them.
const sizeOf = (i: number) => 100000 + ((i * 7919) % 500000000);
const mtimeOf = (i: number) => 1700000000 + ((i * 31) % 31536000);

function listing(round: number): ListedFile[] {
  const out: ListedFile[] = [];
  for (let i = 1; i <= SCAN_FILES; i++) if (i % 100 !== round % 100) out.push({ path: filePath(i), size: sizeOf(i), mtime: mtimeOf(i) });
  return out;
}

async function main(): Promise<void> {
  if (!fs.existsSync(WRK_BIN)) throw new Error(`${WRK_BIN} not found: apt-get install wrk`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-bench-scan-'));
  fs.chmodSync(dir, 0o755);
  let pg: RunningPostgres | null = null;
  let sidecars: SidecarProcess[] = [];
  let nginx: RunningNginx | null = null;
  try {
    await buildNjs();
    await buildCli();
    pg = await startTempCluster();
    const pool = createPool(pg.url, 4);
    await migrate(pool);
    const mirrors = await seedMirrors(pool, 50);
    await fillFiles(pool, FILES, 50);
    const geo = writeGeoIpFixtures(path.join(dir, 'geoip'));
    const port = await freePort();
    const config = defaultConfig(dir);
    config.databaseUrl = pg.socketUrl ?? pg.url;
    config.origin.root = path.join(dir, 'origin');
    fs.mkdirSync(config.origin.root, { recursive: true, mode: 0o755 });
    config.geoip = { city: [geo.city], asn: geo.asn };
    config.nginx.listen = [`127.0.0.1:${port}`];
    config.nginx.workerProcesses = 2;
    config.nginx.keepalive = 128;
    config.sidecar.processes = 2;
    config.demo = false;
    const file = path.join(dir, 'sidecar.json');
    writeConfigFile(config, file);
    sidecars = await startSidecars(file, sidecarSockets(config), path.join(dir, 'log'));
    const prefix = path.join(dir, 'nginx');
    writeManagedNginxConfig(config, { prefix, listen: config.nginx.listen, workers: 2 });
    nginx = await startNginx(prefix, config.nginx.listen.map(parseListen));

    const load = () =>
      runWrk({ url: `http://127.0.0.1:${port}`, base: '', first: 1, count: HOT, query: '', mode: 'random', clients: [GEO.berlin.ip], threads: 2, connections: 64, seconds: SECONDS });
    const sample = await fetch(`http://127.0.0.1:${port}${filePath(1)}`, { redirect: 'manual', headers: { 'X-Forwarded-For': GEO.berlin.ip } });
    console.log(`sample answer: ${sample.status} ${sample.headers.get('location') ?? ''}`);
    await load(); // warm-up: fills the caches
    let scanRound = 0;
    const applyMs: number[] = [];
    const withScans = async () => {
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const t = performance.now();
          await applyMirrorListing(pool, mirrors[0], listing(scanRound++), { outdatedAllowedMinutes: {} });
          applyMs.push(performance.now() - t);
          const wait = EVERY_S * 1000 - (performance.now() - t);
          for (let waited = 0; !stop && waited < wait; waited += 100) await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const r = await load();
      stop = true;
      await loop;
      return r;
    };
    const quiet: number[] = [];
    const scanned: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const a = await load();
      const b = await withScans();
      quiet.push(a.rps);
      scanned.push(b.rps);
      console.log(`round ${round}: warm ${Math.round(a.rps)} req/s without scans, ${Math.round(b.rps)} req/s with scans (${((100 * b.rps) / a.rps).toFixed(1)} %); bad answers ${a.bad + b.bad}, socket errors ${a.socketErrors + b.socketErrors}`);
    }
    const sum = (x: number[]) => x.reduce((s, v) => s + v, 0);
    const avgApply = applyMs.length ? Math.round(sum(applyMs) / applyMs.length) : 0;
    console.log(
      `warm redirects with a ${SCAN_FILES}-file scan applied every ${EVERY_S} s: ${((100 * sum(scanned)) / sum(quiet)).toFixed(1)} % of the rate without scans ` +
        `(${ROUNDS} x ${SECONDS} s each; ${applyMs.length} applies, ${avgApply} ms on average)`,
    );
    await pool.end();
  } finally {
    await nginx?.stop();
    await stopSidecars(sidecars);
    await pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
