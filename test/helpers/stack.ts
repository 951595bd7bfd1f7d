// The whole redirector on real parts for integration tests: a throw-away PostgreSQL cluster, the GeoIP
// fixtures, the demo origin and its three mirrors (nginx on 127.0.0.2-4), the sidecar and a private nginx.
// When a test fails, withLogs() appends the logs of nginx, the sidecar and PostgreSQL to its error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { defaultConfig, writeConfigFile, type Config } from '../../core/config.ts';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { openGeoIp } from '../../core/geoip.ts';
import type { LocalMirrorServer } from '../../core/nginx-config.ts';
import { DEMO_MIRRORS, seedDemo, writeDemoTree } from '../../runtime/demo.ts';
import { freePort } from '../../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { startRedirector, type RunningRedirector } from '../../runtime/redirector.ts';
import { buildCli } from '../../scripts/build-cli.ts';
import { buildNjs } from '../../scripts/build-njs.ts';
import { writeGeoIpFixtures } from './geoip-fixture.ts';

export interface TestStack {
  dir: string;
  pg: RunningPostgres;
  pool: pg.Pool;
  config: Config;
  redirector: RunningRedirector;
  /** http://127.0.0.1:PORT */
  base: string;
  port: number;
  mirrorPort: number;
  sidecarLog: string[];
  /** The local mirror servers of the private nginx (to rewrite its config). */
  mirrorServers: LocalMirrorServer[];
  /** Environment for the CLI: DATABASE_URL and MIRRORLANE_CONFIG pointing at this stack. */
  env: NodeJS.ProcessEnv;
  logs(): string;
  stop(): Promise<void>;
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface StackOptions {
  /** Run the sidecar as its own process (`mirrorlane serve`), so a test can kill and restart it. */
  sidecarProcess?: boolean;
  /** Change the config before anything starts. */
  configure?: (config: Config, ports: { port: number; mirrorPort: number }) => void;
}

export async function startStack(opts: StackOptions = {}): Promise<TestStack> {
  // nginx workers run as nobody when the tests run as root: the tree must be world-readable.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-it-'));
  fs.chmodSync(dir, 0o755);
  const pgc = await startTempCluster();
  const pool = createPool(pgc.url);
  await migrate(pool);

  const geoFiles = await writeGeoIpFixtures(path.join(dir, 'geoip'));
  const port = await freePort();
  const mirrorPort = await freePort('127.0.0.2');
  const tree = writeDemoTree(path.join(dir, 'demo'));
  await seedDemo(pool, tree.origin, mirrorPort);

  const config = defaultConfig(dir);
  config.databaseUrl = pgc.url;
  config.origin.root = tree.origin;
  config.geoip = { city: [geoFiles.city], asn: geoFiles.asn };
  config.nginx.listen = [`127.0.0.1:${port}`, `[::1]:${port}`];
  config.nginx.workerProcesses = 1;
  // The sidecar in this process unless a test asks for processes (the default is one per core).
  config.sidecar.processes = 1;
  // Each line written at once, so that a failing test's log tail is complete.
  config.nginx.accessLog = 'unbuffered';
  config.demo = false;
  opts.configure?.(config, { port, mirrorPort });
  // The whole config, so that the CLI and a sidecar process see exactly what this process sees.
  const configFile = path.join(dir, 'mirrorlane.json');
  writeConfigFile(config, configFile);

  const sidecarLog: string[] = [];
  await buildNjs();
  // A sidecar process runs the bundle, as `mirrorlane serve` does after npm start / npm test built it.
  if (opts.sidecarProcess || config.sidecar.processes > 1) await buildCli();
  const geo = await openGeoIp(config.geoip);
  const mirrorServers = DEMO_MIRRORS.map((m) => ({ listen: `${m.host}:${mirrorPort}`, root: tree.mirrorRoots.get(m.identifier)! }));
  const redirector = await startRedirector(config, {
    nginxPrefix: path.join(dir, 'nginx'),
    mirrors: mirrorServers,
    geo,
    log: (m) => sidecarLog.push(m),
    sidecarConfigFile: opts.sidecarProcess ? configFile : undefined,
  });

  return {
    dir,
    pg: pgc,
    pool,
    config,
    redirector,
    base: `http://127.0.0.1:${port}`,
    port,
    mirrorPort,
    sidecarLog,
    mirrorServers,
    env: { ...process.env, DATABASE_URL: pgc.url, MIRRORLANE_CONFIG: configFile },
    logs() {
      return [
        '--- nginx error.log', tail(redirector.nginx.errorLog),
        '--- nginx access.log', tail(redirector.nginx.accessLog, 20),
        '--- sidecar', opts.sidecarProcess || config.sidecar.processes > 1 ? tail(path.join(dir, 'log', 'sidecar.log')) : sidecarLog.slice(-40).join('\n'),
        '--- postgres', tail(pgc.logFile, 20),
      ].join('\n');
    },
    async stop() {
      await redirector.stop();
      geo.close();
      await pool.end();
      await pgc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Wrap a test body so that a failure carries the stack's logs. */
export function withLogs(stack: () => TestStack, fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (e) {
      const err = e as Error;
      err.message += `\n\n${stack().logs()}`;
      throw err;
    }
  };
}
