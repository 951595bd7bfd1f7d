// `npm start`: the whole redirector in the foreground. Database (embedded unless DATABASE_URL or the config
// names one), migrations, GeoIP, the demo when there is no config file, the sidecar processes (supervised: one
// that dies is started again) and a private nginx. Ctrl-C or `npm stop` stops everything it started, sidecars
// before the database; SIGHUP makes the sidecars reread the config file. The data stays for the next start.
import fs from 'node:fs';
import type pg from 'pg';
import path from 'node:path';
import { PROJECT_ROOT, loadConfig, writeConfigFile, type Config } from '../core/config.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool, describeDbError, embeddedUrlFile } from '../core/db/pool.ts';
import { reachableByOthers, SHARED_STATE_ROOT, sharedStateDir } from '../core/var-dir.ts';
import { writeDemoTree, seedDemo, DEMO_MIRRORS } from '../runtime/demo.ts';
import { startEmbedded, type EmbeddedPostgres } from '../runtime/embedded-pg.ts';
import { debugWanted, fail, oneLine } from '../runtime/errors.ts';
import { acquireInstanceLock, AlreadyRunningError, instancePidFile } from '../runtime/instance-lock.ts';
import { NGINX_BIN, parseListen } from '../runtime/nginx.ts';
import { reapOrphans } from '../runtime/orphans.ts';
import { freePort, portInUse } from '../runtime/ports.ts';
import { startRedirector, type RunningRedirector } from '../runtime/redirector.ts';
import { startScheduler, type Scheduler } from '../runtime/scheduler.ts';
import { JS_MODULE } from '../core/nginx-config.ts';
import { buildAsnMmdb } from '../core/geoip-build/asn-mmdb.ts';
import { buildCli } from './build-cli.ts';
import { buildNjs } from './build-njs.ts';

const say = (m: string) => console.log(`mirrorlane: ${m}`);
const isRoot = process.getuid?.() === 0;

function argValue(flag: string): string | null {
  const i = process.argv.indexOf(flag);
  return i > 0 ? (process.argv[i + 1] ?? null) : null;
}

/** With no config file, 8080 is only a wish: another process may hold it. With one, a taken port is an error. */
async function chooseListen(config: Config): Promise<void> {
  for (const listen of config.nginx.listen) {
    const { host, port } = parseListen(listen);
    if (!(await portInUse(port, host))) continue;
    if (config.configPath) {
      throw new Error(`port ${port} on ${host} is taken by another process: stop it (ss -ltnp 'sport = :${port}' shows which), or change nginx.listen in ${config.configPath}`);
    }
    const other = await freePort(host);
    say(`port ${port} on ${host} is taken, using ${other} instead`);
    config.nginx.listen = [`${host}:${other}`];
  }
}

/** nginx and its njs module, checked before anything is started: the fix is one apt-get line. */
function checkNginx(): void {
  const missing = [fs.existsSync(NGINX_BIN) ? null : 'nginx', fs.existsSync(JS_MODULE) ? null : 'libnginx-mod-http-js'].filter(Boolean);
  if (missing.length) throw new Error(`${missing.join(' and ')} not installed: run apt-get install -y ${missing.join(' ')} (as root), then npm start`);
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

/**
 * The state folder. As root the private nginx's workers (nobody) must enter it to reach the socket and the demo
 * tree, so it is made 0755: it is Mirrorlane's own folder (the database and password inside stay private). A
 * clone others cannot enter keeps its state under /var/lib/mirrorlane (core/var-dir.ts); var/ in the clone
 * then links there, so the paths in the README still work.
 */
function prepareVarDir(config: Config): void {
  if (isRoot && !reachableByOthers(path.dirname(config.varDir))) {
    throw new Error(
      `varDir ${config.varDir}: users postgres and nobody (nginx's workers) cannot enter it, a folder above it is closed to others; ` +
        `set varDir to a folder they can reach, e.g. ${path.join(SHARED_STATE_ROOT, 'NAME')}`,
    );
  }
  fs.mkdirSync(path.join(config.varDir, 'run'), { recursive: true, mode: 0o755 });
  if (isRoot) {
    fs.chmodSync(config.varDir, 0o755);
    fs.chmodSync(path.join(config.varDir, 'run'), 0o755);
  }
  const own = path.join(PROJECT_ROOT, 'var');
  if (config.varDir === sharedStateDir(PROJECT_ROOT) && !fs.existsSync(own)) {
    fs.symlinkSync(config.varDir, own);
    say(`state in ${config.varDir} (users postgres and nobody cannot enter ${PROJECT_ROOT}); var/ links there`);
  }
}

async function main(): Promise<void> {
  const config = loadConfig(argValue('--config'));
  checkNginx();
  prepareVarDir(config);
  let lock: { release(): void };
  try {
    lock = acquireInstanceLock(instancePidFile(config.varDir));
  } catch (e) {
    if (!(e instanceof AlreadyRunningError)) throw e;
    const which = config.configPath ? `-- --config ${config.configPath}` : '';
    throw new Error(`already running for ${config.configPath ?? 'the demo'} (pid ${e.pid}); stop it first with npm stop ${which}`.trim());
  }

  let embedded: EmbeddedPostgres | null = null;
  let pool: pg.Pool | null = null;
  let redirector: RunningRedirector | null = null;
  let scheduler: Scheduler | null = null;
  let stopping: Promise<void> | null = null;
  /** Sidecars first (they save their statistics), then nginx's partner database, then the lock. */
  const shutdown = (code: number): Promise<void> =>
    (stopping ??= (async () => {
      await scheduler?.stop();
      if (redirector) await redirector.stop().catch((e) => say(`stopping the redirector: ${oneLine(e)}`));
      await pool?.end().catch(() => {});
      if (embedded) await embedded.stop().catch((e) => say(`stopping PostgreSQL: ${oneLine(e)}`));
      lock.release();
      process.exit(code);
    })());
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => {
    const procs = redirector?.sidecarProcesses ?? [];
    say(`SIGHUP: the ${procs.length} sidecar process(es) reread ${config.configPath ?? 'their config'}`);
    for (const p of procs) p.process.kill('SIGHUP');
  });

  try {
    await reapOrphans(config, path.join(config.varDir, 'nginx'), say);
    await chooseListen(config);
    await buildNjs();
    await buildCli();
    let url = config.databaseUrl;
    if (!url) {
      embedded = await startEmbedded(config.varDir, say);
      url = embedded.url;
      fs.writeFileSync(embeddedUrlFile(config), url, { mode: 0o600 });
      say(`embedded PostgreSQL on ${url.replace(/:[^:@/]*@/, ':***@')} (data in ${embedded.dataDir})`);
    }
    pool = createPool(url);
    try {
      const applied = await migrate(pool);
      if (applied.length) say(`database schema migrated: ${applied.map((m) => `${m.version}_${m.name}`).join(', ')}`);
    } catch (e) {
      throw new Error(describeDbError(e, url));
    }
    await ensureAsnDatabase(config);
    redirector = await serve(config, pool);
    // Probes and scheduled scans from here, once nginx serves (the demo's mirrors are served by that nginx).
    scheduler = startScheduler(config, url, { configFile: config.configPath, log: (m) => say(m) });
    redirector.nginx.process.once('exit', (code) => {
      if (stopping) return;
      console.error(`mirrorlane: nginx exited (${code}); see ${redirector!.nginx.errorLog}`);
      void shutdown(1);
    });
  } catch (e) {
    console.error(`mirrorlane: ${oneLine(e)}`);
    if (debugWanted() && (e as Error).stack) console.error((e as Error).stack);
    await shutdown(1);
  }
}

async function serve(config: Config, pool: pg.Pool): Promise<RunningRedirector> {
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
  // The sidecars read the operator's file itself, so SIGHUP applies what the operator changed. Without one (or
  // when this process changed what the file says: a demo with an origin of its own) they get a copy.
  let sidecarConfigFile = config.configPath;
  if (!sidecarConfigFile || (config.demo && loadConfig(sidecarConfigFile).origin.root !== config.origin.root)) {
    sidecarConfigFile = path.join(config.varDir, 'run', 'sidecar-config.json');
    writeConfigFile(config, sidecarConfigFile);
  }
  const redirector = await startRedirector(config, {
    nginxPrefix: path.join(config.varDir, 'nginx'),
    mirrors,
    sidecarConfigFile,
    supervise: true,
    log: (m) => say(m),
  });
  const { host, port } = parseListen(config.nginx.listen[0]);
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  say(`${redirector.sidecarProcesses.length} sidecar process(es), logs in ${path.join(config.varDir, 'log')}`);
  say(`redirector listening on ${base}${config.origin.urlPrefix}`);
  if (config.demo) say(`try: curl -sI ${base}/pub/mirrorlane-demo-1.0.tar.gz`);
  say(`admin: ./bin/mirrorlane mirror list    stop: Ctrl-C or npm stop${config.configPath ? ` -- --config ${config.configPath}` : ''}`);
  return redirector;
}

main().catch((e) => fail('mirrorlane', e));
