// `npm start`: the whole redirector in the foreground. Database (embedded unless DATABASE_URL or the config
// names one), migrations, GeoIP, the demo when there is no config file, the sidecar and a private nginx.
// Ctrl-C or `npm stop` stops everything it started; the data under var/ stays for the next start.
import fs from 'node:fs';
import type pg from 'pg';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../core/config.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool, describeDbError, embeddedUrlFile } from '../core/db/pool.ts';
import { writeDemoTree, seedDemo, DEMO_MIRRORS } from '../runtime/demo.ts';
import { parseListen } from '../runtime/nginx.ts';
import { freePort, portInUse } from '../runtime/ports.ts';
import { startEmbedded, type RunningPostgres } from '../runtime/postgres.ts';
import { startRedirector } from '../runtime/redirector.ts';
import { buildAsnMmdb } from './build-asn-mmdb.ts';
import { buildCli } from './build-cli.ts';
import { buildNjs } from './build-njs.ts';

const say = (m: string) => console.log(`mirrorlane: ${m}`);

function argValue(flag: string): string | null {
  const i = process.argv.indexOf(flag);
  return i > 0 ? (process.argv[i + 1] ?? null) : null;
}

/** With no config file, 8080 is only a wish: another process may hold it. */
async function chooseListen(config: Config): Promise<void> {
  if (config.configPath) return;
  const { host, port } = parseListen(config.nginx.listen[0]);
  if (await portInUse(port, host)) {
    const other = await freePort(host);
    say(`port ${port} on ${host} is taken, using ${other} instead`);
    config.nginx.listen = [`${host}:${other}`];
  }
}

async function ensureAsnDatabase(config: Config): Promise<void> {
  if (config.geoip.asn) return;
  const out = path.join(config.varDir, 'geoip', 'asn.mmdb');
  const source = path.join(path.dirname(config.geoip.city[0] ?? ''), '..', 'asn', 'package.json');
  const stale = !fs.existsSync(out) || (fs.existsSync(source) && fs.statSync(source).mtimeMs > fs.statSync(out).mtimeMs);
  if (!stale) return;
  say('building the ASN database from @ip-location-db/asn (once)');
  const r = await buildAsnMmdb(out);
  say(`ASN database: ${r.ranges} ranges, ${(r.bytes / 1e6).toFixed(1)} MB in ${(r.ms / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const config = loadConfig(argValue('--config'));
  fs.mkdirSync(path.join(config.varDir, 'run'), { recursive: true, mode: 0o755 });
  fs.chmodSync(config.varDir, 0o755);
  fs.writeFileSync(path.join(config.varDir, 'run', 'mirrorlane.pid'), String(process.pid));

  await buildNjs();
  await buildCli();
  let embedded: RunningPostgres | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbedded(config.varDir, say);
    url = embedded.url;
    fs.writeFileSync(embeddedUrlFile(config), url, { mode: 0o600 });
    say(`embedded PostgreSQL on ${url.replace(/:[^:@/]*@/, ':***@')} (data in ${path.join(config.varDir, 'pg')})`);
  }
  const pool = createPool(url);
  const stopAll: (() => Promise<void>)[] = [];
  const shutdown = async (code: number) => {
    for (const stop of stopAll.reverse()) await stop().catch(() => {});
    await pool.end().catch(() => {});
    if (embedded) await embedded.stop().catch(() => {});
    fs.rmSync(path.join(config.varDir, 'run', 'mirrorlane.pid'), { force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const applied = await migrate(pool);
    if (applied.length) say(`database schema migrated: ${applied.map((m) => `${m.version}_${m.name}`).join(', ')}`);
  } catch (e) {
    console.error(`mirrorlane: ${describeDbError(e, url)}`);
    return shutdown(1);
  }
  try {
    await ensureAsnDatabase(config);
    await chooseListen(config);
    await serve(config, pool, stopAll, shutdown);
  } catch (e) {
    console.error(`mirrorlane: ${(e as Error).message}`);
    return shutdown(1);
  }
}

async function serve(config: Config, pool: pg.Pool, stopAll: (() => Promise<void>)[], shutdown: (code: number) => Promise<void>): Promise<void> {

  const mirrors = [];
  if (config.demo) {
    const tree = writeDemoTree(path.join(config.varDir, 'demo'));
    config.origin.root = tree.origin;
    const host = DEMO_MIRRORS[0].host;
    const port = (await portInUse(8081, host)) ? await freePort(host) : 8081;
    for (const m of DEMO_MIRRORS) mirrors.push({ listen: `${m.host}:${port}`, root: tree.mirrorRoots.get(m.identifier)! });
    await seedDemo(pool, tree.origin, port);
    say(`demo: origin ${tree.origin}, mirrors on ${DEMO_MIRRORS.map((m) => `${m.host}:${port}`).join(', ')}`);
  }
  const redirector = await startRedirector(config, { nginxPrefix: path.join(config.varDir, 'nginx'), mirrors, log: (m) => say(`sidecar: ${m}`) });
  stopAll.push(() => redirector.stop());
  redirector.nginx.process.once('exit', (code) => {
    console.error(`mirrorlane: nginx exited (${code}); see ${redirector.nginx.errorLog}`);
    void shutdown(1);
  });

  const { host, port } = parseListen(config.nginx.listen[0]);
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  say(`redirector listening on ${base}${config.origin.urlPrefix}`);
  if (config.demo) say(`try: curl -sI ${base}/pub/mirrorlane-demo-1.0.tar.gz`);
  say(`admin: ./bin/mirrorlane mirror list    stop: Ctrl-C or npm stop`);
}

main().catch((e) => {
  const msg = e instanceof ConfigError ? e.message : (e as Error).message;
  console.error(`mirrorlane: ${msg}`);
  process.exit(1);
});
