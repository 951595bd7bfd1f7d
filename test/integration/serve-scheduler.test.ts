// `mirrorlane serve` as an operator runs it (no npm start): each process offers to run the scheduler, exactly
// one of them probes (the PostgreSQL advisory lock), a dead mirror is marked down with nobody running `probe`,
// and when the probing process is killed another takes over. Its log lines carry their time; its socket is
// open to its owner and one group only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sidecarSockets } from '../../core/config.ts';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { spawnSidecar, type SidecarProcess } from '../../runtime/sidecar-process.ts';
import { buildCli } from '../../scripts/build-cli.ts';
import { runOk } from '../helpers/cli-run.ts';
import { writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';
import { tailFile } from '../helpers/logs.ts';
import { waitFor } from '../helpers/wait.ts';

let pgc: RunningPostgres;
let dir: string;
let configFile: string;
let env: NodeJS.ProcessEnv;
const procs: SidecarProcess[] = [];
const logFile = (n: number) => path.join(dir, 'log', `serve-${n}.log`);
const logs = () => [1, 2].map((n) => `--- serve ${n}:\n${tailFile(logFile(n))}`).join('\n');

async function health(identifier: string): Promise<string> {
  return (JSON.parse(await runOk(['mirror', 'show', identifier, '--json'], env)) as { health: string }).health;
}

describe('mirrorlane serve: the scheduler', { timeout: 180_000 }, () => {
  before(async () => {
    pgc = await startTempCluster();
    const pool = createPool(pgc.url);
    await migrate(pool);
    await pool.end();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-serve-sched-'));
    fs.chmodSync(dir, 0o755);
    const geo = writeGeoIpFixtures(path.join(dir, 'geo'));
    configFile = path.join(dir, 'mirrorlane.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        varDir: dir,
        databaseUrl: pgc.url,
        origin: { root: path.join(dir, 'origin') },
        geoip: { city: [geo.city], asn: geo.asn },
        sidecar: { processes: 2 },
        probe: { intervalS: 1, downAfter: 1, upAfter: 1, timeoutMs: 2000 },
        scan: { intervalS: 2, timeoutS: 60 },
      }),
    );
    fs.mkdirSync(path.join(dir, 'origin', 'pub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'origin', 'pub', 'scheduled.txt'), 'found by a scan nobody ran\n');
    env = { ...process.env, DATABASE_URL: pgc.url, MIRRORLANE_CONFIG: configFile };
    await runOk(['mirror', 'add', 'dead-one', '--http', 'http://127.0.12.9:9/', '--country', 'DE', '--lat', '50', '--lng', '8', '--enable'], env);
    await buildCli();
    const sockets = sidecarSockets({ sidecar: { socket: path.join(dir, 'run', 'sidecar.sock'), processes: 2 } } as Parameters<typeof sidecarSockets>[0]);
    for (const n of [1, 2]) procs.push(await spawnSidecar(configFile, sockets[n - 1], logFile(n), n === 1 ? [] : ['--instance', '2']));
  });
  after(async () => {
    for (const p of procs) if (p.process.exitCode === null && p.process.signalCode === null) p.process.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await pgc?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('one of two serve processes probes; a dead mirror goes down by itself; the other takes over when it dies', async () => {
    try {
      await waitFor(async () => (await health('dead-one')) === 'down', 'dead-one marked down', 60_000, 300);
      const holders = [1, 2].filter((n) => /this process holds the lock/.test(tailFile(logFile(n), 500)));
      assert.equal(holders.length, 1, 'exactly one scheduler works');
      const active = holders[0];
      assert.match(tailFile(logFile(active), 500), /probe: dead-one unknown → down: /);
      const other = active === 1 ? 2 : 1;
      procs[active - 1].process.kill('SIGKILL');
      await procs[active - 1].exited;
      await waitFor(async () => /this process holds the lock/.test(tailFile(logFile(other), 500)), 'the other serve takes the scheduler over', 60_000, 300);
    } catch (e) {
      if (e instanceof Error) e.message += `\n${logs()}`;
      throw e;
    }
  });

  test('scan.intervalS: the origin is scanned by itself', async () => {
    const pool = createPool(pgc.url);
    try {
      await waitFor(async () => (await pool.query("SELECT 1 FROM file WHERE path = '/pub/scheduled.txt'")).rowCount === 1, 'the scheduled origin scan', 60_000, 300);
    } catch (e) {
      if (e instanceof Error) e.message += `\n${logs()}`;
      throw e;
    } finally {
      await pool.end();
    }
  });

  test('log lines start with their UTC time; the socket is 0660', () => {
    const lines = tailFile(logFile(1), 500).split('\n').filter(Boolean);
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /, l);
    const running = procs.find((p) => p.process.exitCode === null && p.process.signalCode === null)!;
    const socket = procs.indexOf(running) === 0 ? path.join(dir, 'run', 'sidecar.sock') : path.join(dir, 'run', 'sidecar-2.sock');
    assert.equal(fs.statSync(socket).mode & 0o777, 0o660);
  });
});
