// Resident memory of 1, 2 and 4 sidecars with the default GeoIP data (DB-IP Lite city, IPv4 + IPv6, ~134 MB):
// as separate processes (`mirrorlane serve --instance N` each, a copy of the data in each) and as threads of one
// process (`mirrorlane serve --all`, one copy shared). Figures, not assertions.
//
//   node --import tsx bench/sidecar-memory.ts [--counts 1,2,4] [--lookups 20000]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, sidecarSockets, writeConfigFile } from '../core/config.ts';
import { migrate } from '../core/db/migrate.ts';
import contract from '../njs/contract.ts';
import { createPool } from '../core/db/pool.ts';
import { startTempCluster } from '../runtime/postgres.ts';
import { cliEntry, waitForSocket } from '../runtime/sidecar-process.ts';
import { buildCli } from '../scripts/build-cli.ts';
import { seedMirrors } from './lib/dataset.ts';
import { mb, table } from './lib/format.ts';
import { memoryOf } from './lib/procstat.ts';
import { startSidecars, stopSidecars } from './lib/sidecar.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** Downloads asked straight on a socket, from addresses all over the IPv4 space: GeoIP pages get touched. */
async function exercise(socket: string, n: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let next = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const i = next++;
      const ip = `${(i * 7919) % 223 + 1}.${(i * 31) % 256}.${(i * 17) % 256}.${i % 250 + 1}`;
      const req = http.get(
        { socketPath: socket, agent, path: contract.SIDECAR_DOWNLOAD_PATH, headers: { 'X-Ml-Uri': `/f/${i % 100}.bin`, 'X-Ml-Method': 'GET', 'X-Ml-Client': ip, 'X-Ml-Scheme': 'http' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', () => resolve());
    });
  const lane = async () => {
    while (next < n) await one();
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  agent.destroy();
}

async function main(): Promise<void> {
  const counts = arg('--counts', '1,2,4').split(',').map(Number);
  const lookups = Number(arg('--lookups', '20000'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-mem-'));
  fs.chmodSync(dir, 0o755);
  await buildCli();
  const pg = await startTempCluster();
  const rows: string[][] = [['sidecars', 'as processes: RSS (sum)', 'as threads of one process: RSS']];
  try {
    const pool = createPool(pg.url, 2);
    await migrate(pool);
    await seedMirrors(pool, 50);
    await pool.end();
    for (const n of counts) {
      const config = defaultConfig(dir);
      config.databaseUrl = pg.socketUrl ?? pg.url;
      config.origin.root = path.join(dir, 'origin');
      fs.mkdirSync(config.origin.root, { recursive: true });
      config.sidecar.processes = n;
      config.demo = false;
      const file = path.join(dir, `config-${n}.json`);
      writeConfigFile(config, file);
      const sockets = sidecarSockets(config);

      const procs = await startSidecars(file, sockets, path.join(dir, 'log'));
      await Promise.all(sockets.map((s) => exercise(s, lookups)));
      const asProcesses = procs.reduce((a, p) => a + memoryOf(p.process.pid!).rss, 0);
      await stopSidecars(procs);

      const out = fs.openSync(path.join(dir, 'log', `all-${n}.log`), 'a');
      const child = spawn(process.execPath, [...cliEntry(), 'serve', '--all', '--config', file], { stdio: ['ignore', out, out] });
      fs.closeSync(out);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // The last thread's socket answering means every thread is up (they start in order).
      await Promise.race([
        waitForSocket(sockets[sockets.length - 1], 60_000),
        exited.then(() => {
          throw new Error(`serve --all exited: see ${dir}/log/all-${n}.log`);
        }),
      ]);
      await Promise.all(sockets.map((s) => exercise(s, lookups)));
      const asThreads = memoryOf(child.pid!).rss;
      child.kill('SIGTERM');
      await exited;
      rows.push([String(n), mb(asProcesses), mb(asThreads)]);
      console.log(`${n} sidecar(s): processes ${mb(asProcesses)}, threads ${mb(asThreads)}`);
    }
  } finally {
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('');
  console.log(`Resident memory with the default GeoIP data (DB-IP Lite city), ${lookups} decisions per sidecar first; Node ${process.version}`);
  console.log(table(rows, [true, true, true]));
}

main().catch((e) => {
  console.error(`sidecar-memory failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
