// The sidecar process: an HTTP server on a unix socket that nginx's njs handler asks once per download (one
// subrequest); its answer is the client's, in the form njs copies (sidecar/http-answer.ts).
// Holds the mirror table and a file-row cache in memory; PostgreSQL is asked on a cache miss only.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../core/config.ts';
import { mismatchesOf, piecesOf, zsyncOf, type Mismatch } from '../core/db/file-extras.ts';
import type { Pieces } from '../core/scan/pieces.ts';
import { filesByPaths } from '../core/db/files.ts';
import { schemaProblem } from '../core/db/migrate.ts';
import { createPool, databaseUrl } from '../core/db/pool.ts';
import type { FileRow } from '../core/types.ts';
import { openGeoIp, type GeoIp } from '../core/geoip.ts';
import { aptReleaseFilesFn } from './apt-lists.ts';
import { decide, type DecideDeps, type DecisionTrace } from './decide.ts';
import { ChangeFollower } from './change-follower.ts';
import { FileCache } from './file-cache.ts';
import { FileRowBatcher } from './file-row-batcher.ts';
import { downloadTarget } from './download-target.ts';
import { httpAnswer, textAnswer, type HttpAnswer } from './http-answer.ts';
import { MirrorTable } from './mirror-table.ts';
import { OriginGate } from './origin-gate.ts';
import { TtlMemo } from './ttl-memo.ts';
import { watchStalls } from './stall-watch.ts';
import { isMirrorStatsQuery, SidecarStats } from './sidecar-stats.ts';

/** How long a stopping sidecar lets requests in flight finish before it drops their connections. */
const DRAIN_MS = 5000;

export interface RunningSidecar {
  socket: string;
  /** Download statistics, metrics and the ?mirrorstats page. */
  stats: SidecarStats;
  /** Apply a changed configuration (selection, delivery rules, formats, GeoIP files, self mirror) without a restart. */
  reload(config: Config): Promise<void>;
  /**
   * Stop: finish requests in flight (answered with Connection: close), save the statistics, close the database.
   * After a takeover the socket path belongs to the new sidecar and is left alone.
   */
  close(): Promise<void>;
}

export interface SidecarOptions {
  log?: (m: string) => void;
  geo?: GeoIp;
  /**
   * Take the socket over from a running sidecar (zero-downtime upgrade): listen on a fresh path, rename it over
   * the configured one, then ask the old process (its pid file) to drain and stop.
   */
  replace?: boolean;
}

/** Where a sidecar records its process id, beside its socket. */
export function sidecarPidFile(socket: string): string {
  return `${socket}.pid`;
}

function header(req: http.IncomingMessage, name: string): string {
  const v = req.headers[name];
  return typeof v === 'string' ? v : '';
}

/** The GeoIP files of a config: the ASN file built under var/ is used when none is configured. */
export function geoipFiles(config: Config): { city: string[]; asn: string | null } {
  const built = path.join(config.varDir, 'geoip', 'asn.mmdb');
  return { city: config.geoip.city, asn: config.geoip.asn ?? (fs.existsSync(built) ? built : null) };
}

function socketAlive(socket: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

function listen(server: http.Server, socket: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Bind the socket. Always on a private path first (SOCKET.PID), renamed over the configured one: nginx's next
 * connection reaches this process, connections already open stay with the old one until it drains them. And
 * when a process closes its server, libuv unlinks the path it bound, which is then the private name that no
 * longer exists, never the configured path that may by then belong to a newer sidecar.
 * Without `replace`, a live sidecar on the path is an error; a dead one's socket file is replaced.
 */
async function bindSocket(server: http.Server, socket: string, replace: boolean, group: number | null): Promise<number | null> {
  fs.mkdirSync(path.dirname(socket), { recursive: true, mode: 0o755 });
  const live = fs.existsSync(socket) && (await socketAlive(socket));
  if (live && !replace) {
    throw new Error(`another sidecar already listens on ${socket}: stop it first (npm stop), or take over with \`mirrorlane serve --replace\``);
  }
  let previous: number | null = null;
  if (live) {
    try {
      previous = Number(fs.readFileSync(sidecarPidFile(socket), 'utf8')) || null;
    } catch {
      previous = null;
    }
  }
  const fresh = `${socket}.${process.pid}`;
  fs.rmSync(fresh, { force: true });
  await listen(server, fresh);
  // Only the owner and the nginx workers' group may connect: /health and /metrics are not for every local user.
  if (group !== null) fs.chownSync(fresh, -1, group);
  fs.chmodSync(fresh, 0o660);
  fs.renameSync(fresh, socket);
  fs.writeFileSync(sidecarPidFile(socket), String(process.pid));
  return previous;
}

/** The group id for the socket: the configured group, nogroup as root (the private nginx's workers), else none. */
function socketGid(name: string): number | null {
  const wanted = name || (process.getuid?.() === 0 ? 'nogroup' : '');
  if (!wanted) return null;
  if (/^\d+$/.test(wanted)) return Number(wanted);
  try {
    const line = execFileSync('getent', ['group', wanted], { encoding: 'utf8' });
    return Number(line.split(':')[2]);
  } catch {
    throw new Error(`sidecar.socketGroup: no group "${wanted}" on this host: name the group of nginx's workers (www-data on Debian)`);
  }
}

/** What decide() needs from this process: caches, the mirror table, and the settings that may change live. */
/** The extras beside file rows, remembered briefly (sidecar/ttl-memo.ts); one set per process, kept across reloads. */
interface ExtrasMemo {
  pieces: TtlMemo<Pieces | null>;
  mismatches: TtlMemo<Mismatch[]>;
  zsync: TtlMemo<Buffer | null>;
}

const EXTRAS_TTL_MS = 10_000;

function extrasMemo(): ExtrasMemo {
  return { pieces: new TtlMemo(EXTRAS_TTL_MS, 2000), mismatches: new TtlMemo(EXTRAS_TTL_MS, 5000), zsync: new TtlMemo(EXTRAS_TTL_MS, 200) };
}

function dropExtras(extras: ExtrasMemo, paths: string[] | null): void {
  for (const m of [extras.pieces, extras.mismatches, extras.zsync]) {
    if (paths === null) m.clear();
    else m.drop(paths);
  }
}

function buildDeps(config: Config, geo: GeoIp, cache: FileCache, mirrors: MirrorTable, lookups: FileRowBatcher, pool: pg.Pool, extras: ExtrasMemo): DecideDeps {
  const origin = new OriginGate(config.origin.root);
  return {
    async fileRow(p) {
      const cached = cache.get(p);
      if (cached !== undefined) return cached;
      const since = cache.epoch;
      const row = await lookups.get(p);
      cache.set(p, row, since);
      return row;
    },
    fileRows(paths) {
      const since = cache.epoch;
      const cached = paths.map((p) => cache.get(p));
      // The misses in one batch: one query when a slot is free.
      const asked = lookups.getMany(paths.filter((_p, i) => cached[i] === undefined));
      let k = 0;
      return paths.map((p, i) => {
        const hit = cached[i];
        if (hit !== undefined) return Promise.resolve(hit);
        return asked[k++].then((row) => {
          cache.set(p, row, since);
          return row;
        });
      });
    },
    mirror: (id) => mirrors.get(id),
    peers: () => mirrors.peers,
    geo,
    // The origin rule (core/origin-rule.ts): nothing outside origin.root is delivered or named.
    originKind: (p) => origin.kind(p),
    localPath: (p) => origin.deliverable(p),
    selection: { distanceRange: config.selection.distanceRange, maxAlternatives: config.selection.maxAlternatives },
    delivery: config.delivery,
    random: Math.random,
    urlPrefix: config.origin.urlPrefix,
    formats: config.formats,
    aptReleaseFiles: aptReleaseFilesFn(config.origin.root),
    selfMirror: config.selfMirror,
    publicUrl: config.publicUrl,
    // Only Metalink, torrent, JSON and file page answers read them: one indexed query per file and 10 s.
    pieces: (row) => extras.pieces.get(row.path, () => piecesOf(pool, row.id, row.sha256)),
    mismatches: (row) => extras.mismatches.get(row.path, () => mismatchesOf(pool, row.id)),
    zsync: (row) => extras.zsync.get(row.path, () => zsyncOf(pool, row.id, row.sha256)),
  };
}

export async function runSidecar(config: Config, opts: SidecarOptions = {}): Promise<RunningSidecar> {
  const log = opts.log ?? ((m: string) => console.error(`[sidecar] ${m}`));
  const url = databaseUrl(config);
  let geo = opts.geo ?? (await openGeoIp(geoipFiles(config)));
  // Writes (statistics) go to the primary; reads to readDatabaseUrl (a replica near this host) when set.
  const pool = createPool(url, 8);
  const readUrl = config.readDatabaseUrl ?? url;
  const readPool = readUrl === url ? pool : createPool(readUrl, 8);
  // A schema this code does not know would be misread on every request. A database that is down is no reason to
  // stay down: the sidecar answers from fallbacks and finds it later.
  const schema = await schemaProblem(readPool).catch(() => null);
  if (schema !== null) {
    await pool.end().catch(() => {});
    if (readPool !== pool) await readPool.end().catch(() => {});
    if (!opts.geo) geo.close();
    throw new Error(schema);
  }
  const cache = new FileCache(config.sidecar.fileCacheSize);
  const fallback = readPool !== pool && config.sidecar.readFallbackToPrimary;
  const readRows = async (paths: string[]): Promise<Map<string, FileRow>> => {
    try {
      return await filesByPaths(readPool, paths);
    } catch (e) {
      if (!fallback) throw e;
      return filesByPaths(pool, paths);
    }
  };
  // Two lookup queries at a time: under load the rest wait and go together, fewer and bigger queries. Measured
  // with npm run bench (cold redirects, 2 sidecars): 2 in flight 10.3 % of `return 302`, 6 in flight 8.4 %.
  const lookups = new FileRowBatcher(readRows, { maxInFlight: 2, maxBatch: 256 });
  const mirrors = new MirrorTable(readPool);
  const extras = extrasMemo();
  const follower = new ChangeFollower(
    readPool,
    {
      reloadMirrors: () => mirrors.reload(),
      dropFiles: (paths) => {
        cache.drop(paths);
        dropExtras(extras, paths);
      },
      dropAllFiles: () => {
        cache.clear();
        dropExtras(extras, null);
      },
      connected: (up) => {
        mirrors.listening = up;
      },
      log,
    },
    { pollMs: config.sidecar.changePollMs, listenUrl: readUrl },
  );
  await follower.start();
  const stats = new SidecarStats({ pool, mirrors, cache, log });
  // Half nginx's budget: a stall that long is worth a log line even before nginx falls back.
  const stalls = watchStalls(config.nginx.sidecarTimeoutMs / 2, log);
  let deps = buildDeps(config, geo, cache, mirrors, lookups, readPool, extras);
  let current = config;
  /** Set while stopping: answers carry Connection: close so nginx opens its next connection elsewhere. */
  let draining = false;

  /** Write an answer. njs asks with GET even for a HEAD; nginx leaves the body out itself. */
  const send = (res: http.ServerResponse, a: HttpAnswer) => {
    if (draining) res.setHeader('Connection', 'close');
    // nginx dates the client's answer itself: a Date line per answer would only be parsed and dropped.
    res.sendDate = false;
    a.headers['Content-Length'] = Buffer.byteLength(a.body);
    try {
      res.writeHead(a.status, a.headers);
    } catch (e) {
      // A value Node refuses to send (a control character): njs falls back instead.
      log(`answer not sendable: ${(e as Error).message}`);
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      res.writeHead(503, { 'Content-Length': 0 }).end();
      return;
    }
    res.end(a.body);
  };

  // Room for long queries and headers copied from the client (nginx limits those to 8 KB a line already).
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    const clientIp = req.headers['x-ml-client'];
    // Only the downloads njs asks about carry X-Ml-Client; the rest are the socket's own routes.
    if (typeof clientIp !== 'string') {
      routeAdmin(req, res);
      return;
    }
    const method = header(req, 'x-ml-method');
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, textAnswer(405, 'Method not allowed: use GET or HEAD\n', { Allow: 'GET, HEAD' }));
      return;
    }
    const urlPrefix = current.origin.urlPrefix;
    const target = downloadTarget(header(req, 'x-ml-uri'), urlPrefix);
    if ('problem' in target) {
      send(res, textAnswer(400, `Bad request: ${target.problem}\n`));
      return;
    }
    if (isMirrorStatsQuery(target.query)) {
      void stats.page(new URLSearchParams(target.query).has('json')).then((d) => send(res, httpAnswer(d, target.path, current.nginx.mode)));
      return;
    }
    const trace: DecisionTrace = { row: null };
    const startedAt = performance.now();
    // A HEAD is no download: it is answered alike but not counted.
    const counted = method === 'GET';
    decide(
      {
        path: target.path,
        query: target.query,
        clientIp,
        scheme: header(req, 'x-ml-scheme'),
        userAgent: header(req, 'x-ml-user-agent'),
        range: header(req, 'x-ml-range'),
        accept: header(req, 'x-ml-accept'),
        host: header(req, 'x-ml-host'),
      },
      deps,
      trace,
    ).then(
      (d) => {
        stats.track(d, trace.row, startedAt, counted);
        send(res, httpAnswer(d, target.path, current.nginx.mode));
      },
      (e) => {
        stats.track(null, trace.row, startedAt, counted);
        log(`decision failed: ${(e as Error).stack ?? e}`);
        // njs answers the client from its fallback (a fallback mirror or the origin).
        send(res, textAnswer(503, 'sidecar error\n'));
      },
    );
  });

  /** /health, GET /metrics, POST /stats/flush: reached on the socket only, nginx forwards downloads alone. */
  function routeAdmin(req: http.IncomingMessage, res: http.ServerResponse): void {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname === '/health') {
      const body = JSON.stringify({
        ok: true,
        database: mirrors.listening ? 'up' : 'down',
        mirrors: mirrors.all().length,
        mirrorsLoadedAt: mirrors.loadedAt,
        fileCache: { size: cache.size, hits: cache.hits, misses: cache.misses },
        changes: { polls: follower.polls, reloads: follower.reloads, listening: follower.listening },
        // Cache misses asked of the database, and in how many queries (fewer under load: batched).
        lookups: { paths: lookups.paths, queries: lookups.queries },
        // Event-loop stalls over half of nginx.sidecarTimeoutMs (logged with where the time went).
        stalls: stalls.figures,
      });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    if (stats.route(pathname, req, res)) return;
    send(res, textAnswer(404, 'Not found: the sidecar answers /health, /metrics and POST /stats/flush; downloads come through nginx\n'));
  }
  server.keepAliveTimeout = config.sidecar.keepAliveTimeoutMs;
  server.headersTimeout = config.sidecar.keepAliveTimeoutMs + 5000;

  const socket = config.sidecar.socket;
  let previous: number | null;
  try {
    previous = await bindSocket(server, socket, opts.replace === true, socketGid(config.sidecar.socketGroup));
  } catch (e) {
    // Nothing may keep the process alive after this: `serve` must print the error and exit.
    stalls.stop();
    await stats.close().catch(() => {});
    await follower.close().catch(() => {});
    await pool.end().catch(() => {});
    if (readPool !== pool) await readPool.end().catch(() => {});
    if (!opts.geo) geo.close();
    throw e;
  }
  const boundInode = fs.statSync(socket).ino;
  log(`listening on ${socket}; ${mirrors.all().length} mirrors loaded`);
  if (previous !== null && previous !== process.pid) {
    log(`took the socket over; asking the previous sidecar (pid ${previous}) to drain and stop`);
    try {
      process.kill(previous, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }

  /** Whether the socket path still leads to this process (not after a takeover). */
  const ownsSocket = () => {
    try {
      return fs.statSync(socket).ino === boundInode;
    } catch {
      return false;
    }
  };

  return {
    socket,
    stats,
    async reload(next: Config) {
      const files = geoipFiles(next);
      if (!opts.geo && JSON.stringify(files) !== JSON.stringify(geoipFiles(current))) {
        const old = geo;
        geo = await openGeoIp(files);
        old.close();
      }
      current = next;
      deps = buildDeps(next, geo, cache, mirrors, lookups, readPool, extras);
      log('configuration reloaded');
    },
    async close() {
      draining = true;
      // No new connections; the path libuv unlinks on close is the private one, long renamed (see bindSocket).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections go at once; busy ones answer with Connection: close, then go. nginx opens
      // its next connections to whoever holds the socket path now.
      const deadline = Date.now() + DRAIN_MS;
      server.closeIdleConnections();
      while (Date.now() < deadline && (await connectionCount(server)) > 0) {
        await new Promise((r) => setTimeout(r, 25));
        server.closeIdleConnections();
      }
      server.closeAllConnections();
      await closed;
      const mine = ownsSocket();
      if (mine) fs.rmSync(socket, { force: true });
      stalls.stop();
      // Save the last counts while the pool is still open.
      await stats.close();
      await follower.close();
      await pool.end().catch(() => {});
      if (readPool !== pool) await readPool.end().catch(() => {});
      if (!opts.geo) geo.close();
      if (mine) fs.rmSync(sidecarPidFile(socket), { force: true });
    },
  };
}

function connectionCount(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((_e, n) => resolve(n ?? 0)));
}
