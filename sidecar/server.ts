// The sidecar process: an HTTP server on a unix socket that nginx asks once per download.
// Holds the mirror table and a file-row cache in memory; PostgreSQL is asked on a cache miss only.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import { fileByPath } from '../core/db/files.ts';
import { createPool, databaseUrl } from '../core/db/pool.ts';
import { openGeoIp, type GeoIp } from '../core/geoip.ts';
import { aptReleaseFilesFn } from './apt-lists.ts';
import { decide, type DecideDeps, type OriginKind } from './decide.ts';
import { FileCache } from './file-cache.ts';
import { MirrorTable } from './mirror-table.ts';
import { isMirrorStatsQuery, SidecarStats } from './stats.ts';

export interface RunningSidecar {
  socket: string;
  /** Download statistics, metrics and the ?mirrorstats page. */
  stats: SidecarStats;
  close(): Promise<void>;
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

/** Remove a socket file left by a dead sidecar; refuse to steal one that a live process still serves. */
async function clearStaleSocket(socket: string): Promise<void> {
  if (!fs.existsSync(socket)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another sidecar already listens on ${socket}: stop it first (npm stop)`);
  fs.rmSync(socket);
}

function originKindFn(root: string) {
  return async (p: string): Promise<OriginKind> => {
    try {
      const st = await fs.promises.stat(path.join(root, p));
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'none';
    } catch {
      return 'none';
    }
  };
}

export async function runSidecar(config: Config, opts: { log?: (m: string) => void; geo?: GeoIp } = {}): Promise<RunningSidecar> {
  const log = opts.log ?? ((m: string) => console.error(`[sidecar] ${m}`));
  const url = databaseUrl(config);
  const geo = opts.geo ?? (await openGeoIp(geoipFiles(config)));
  const pool = createPool(url, 8);
  const cache = new FileCache(config.sidecar.fileCacheSize);
  const mirrors = new MirrorTable(url, pool, { onFilesChanged: () => cache.clear(), log });
  await mirrors.start();
  const stats = new SidecarStats({ pool, mirrors, cache, log });

  const deps: DecideDeps = {
    async fileRow(p) {
      const cached = cache.get(p);
      if (cached !== undefined) return cached;
      const row = await fileByPath(pool, p);
      cache.set(p, row);
      return row;
    },
    mirror: (id) => mirrors.get(id),
    peers: () => mirrors.peers,
    geo,
    originKind: originKindFn(config.origin.root),
    selection: { distanceRange: config.selection.distanceRange, maxAlternatives: config.selection.maxAlternatives },
    delivery: config.delivery,
    random: Math.random,
    urlPrefix: config.origin.urlPrefix,
    formats: config.formats,
    aptReleaseFiles: aptReleaseFilesFn(config.origin.root),
  };

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://sidecar');
    if (u.pathname === '/health') {
      const body = JSON.stringify({
        ok: true,
        database: mirrors.listening ? 'up' : 'down',
        mirrors: mirrors.all().length,
        mirrorsLoadedAt: mirrors.loadedAt,
        fileCache: { size: cache.size, hits: cache.hits, misses: cache.misses },
      });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    // GET /metrics, POST /stats/flush: on the socket only (nginx forwards nothing but decisions).
    if (stats.route(u.pathname, req, res)) return;
    const query = u.searchParams.get('q') ?? '';
    if (isMirrorStatsQuery(query)) {
      void stats.page().then((d) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(d)));
      return;
    }
    const seen = stats.capture(deps);
    const startedAt = performance.now();
    decide(
      {
        path: u.searchParams.get('p') ?? '',
        query,
        clientIp: header(req, 'x-ml-client'),
        scheme: header(req, 'x-ml-scheme'),
        userAgent: header(req, 'x-ml-user-agent'),
        range: header(req, 'x-ml-range'),
        accept: header(req, 'x-ml-accept'),
        host: header(req, 'x-ml-host'),
      },
      seen.deps,
    ).then(
      (d) => {
        stats.track(d, seen.row(), startedAt);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(d));
      },
      (e) => {
        stats.track(null, seen.row(), startedAt);
        log(`decision failed: ${(e as Error).stack ?? e}`);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"t":"local","why":"sidecar error"}');
      },
    );
  });
  server.keepAliveTimeout = config.sidecar.keepAliveTimeoutMs;
  server.headersTimeout = config.sidecar.keepAliveTimeoutMs + 5000;

  const socket = config.sidecar.socket;
  fs.mkdirSync(path.dirname(socket), { recursive: true, mode: 0o755 });
  await clearStaleSocket(socket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  // nginx workers run as another user (nobody when started as root).
  fs.chmodSync(socket, 0o666);
  log(`listening on ${socket}; ${mirrors.all().length} mirrors loaded`);

  return {
    socket,
    stats,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      // Save the last counts while the pool is still open.
      await stats.close();
      await mirrors.close();
      await pool.end().catch(() => {});
      if (!opts.geo) geo.close();
    },
  };
}
