// The sidecar's statistics wiring: what a decision adds to the counts (core of it in sidecar/stats.ts), the
// metrics, the ?mirrorstats page and the socket routes that serve them.
import type http from 'node:http';
import type pg from 'pg';
import { addStats, mirrorStatsOfDay, ORIGIN_MIRROR_ID, type DayCount } from '../core/db/stats.ts';
import type { FileRow } from '../core/types.ts';
import type { Decision } from './decide.ts';
import type { FileCache } from './file-cache.ts';
import { SidecarMetrics } from './metrics.ts';
import type { MirrorTable } from './mirror-table.ts';
import { mirrorStatsJson, renderMirrorStats, type MirrorStatsInput, type MirrorStatsLine } from './render-mirrorstats.ts';
import { buildHistory, HistoryReader, historyDays } from './stats-history.ts';
import { DownloadStats, utcDay, type Counts } from './stats.ts';

export interface Download {
  /** ORIGIN_MIRROR_ID for a local delivery. */
  mirrorId: number;
  /** The mirror's identifier; null for the origin. */
  mirror: string | null;
  fileId: number | null;
  bytes: number;
}

/** What a decision adds to the statistics: null when it is not a download (404, listing, page, ...). */
export function downloadOf(d: Decision, row: FileRow | null, identifierOf: (id: number) => string | undefined): Download | null {
  if (d.t === 'local') {
    // A self-serving host that is one of the mirrors counts its downloads for that mirror.
    const m = d.m ?? ORIGIN_MIRROR_ID;
    return { mirrorId: m, mirror: m === ORIGIN_MIRROR_ID ? null : (identifierOf(m) ?? null), fileId: row?.id ?? null, bytes: row?.size ?? 0 };
  }
  if (d.t !== 'redirect') return null;
  return { mirrorId: d.m, mirror: identifierOf(d.m) ?? null, fileId: row?.id ?? null, bytes: row?.size ?? 0 };
}

/**
 * `?mirrorstats` in a download URL's query string asks for the statistics page, on any file path, existing or
 * not (`/pub/anything?mirrorstats`). Not on a path ending in "/": nginx lists directories itself, without njs.
 */
export function isMirrorStatsQuery(query: string): boolean {
  return query.includes('mirrorstats') && new URLSearchParams(query).has('mirrorstats');
}


export interface SidecarStatsDeps {
  pool: pg.Pool;
  mirrors: MirrorTable;
  cache: FileCache;
  log: (message: string) => void;
  flushIntervalMs?: number;
  now?: () => number;
}

/** How long the page reuses the database's part of its numbers (the unsaved part is always live). */
const PAGE_DB_TTL_MS = 5000;
/** The page waits no longer for the database: nginx gives the sidecar 500 ms by default. */
const PAGE_DB_WAIT_MS = 300;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('database too slow')), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class SidecarStats {
  readonly counts: DownloadStats;
  readonly metrics: SidecarMetrics;
  private pageRows: { day: string; flushes: number; at: number; rows: ReturnType<typeof mirrorStatsOfDay> } | null = null;
  private readonly history: HistoryReader;

  constructor(private readonly deps: SidecarStatsDeps) {
    this.counts = new DownloadStats({
      flush: (batch) => addStats(deps.pool, batch),
      intervalMs: deps.flushIntervalMs,
      log: deps.log,
      now: deps.now,
    });
    this.metrics = new SidecarMetrics({ cache: deps.cache, mirrors: deps.mirrors, stats: this.counts });
    this.history = new HistoryReader(deps.pool);
    this.counts.start();
  }

  /**
   * Count one answer; `d` null when decide() failed. `startedAt` is performance.now() before decide().
   * `download` false (a HEAD) measures the decision but counts no download.
   */
  track(d: Decision | null, row: FileRow | null, startedAt: number, download = true): void {
    this.metrics.decision(d ? d.t : 'error', (performance.now() - startedAt) / 1000);
    // A failed decision is answered by nginx's fallback (a fallback mirror or the origin): which, we do not know.
    if (!download || d === null) return;
    const dl = downloadOf(d, row, (id) => this.deps.mirrors.get(id)?.identifier);
    if (!dl) return;
    this.counts.record(dl.mirrorId, dl.fileId, dl.bytes);
    this.metrics.download(dl.mirror, dl.bytes);
  }

  /**
   * The ?mirrorstats page (HTML, or JSON with `json`) as a decision: today per mirror, and the last 30 days.
   * Never rejects: without the database it shows what it has.
   */
  async page(json = false): Promise<Decision> {
    this.metrics.decision('mirrorstats', null);
    const now = (this.deps.now ?? Date.now)();
    const day = utcDay(now);
    const [saved, past] = await Promise.all([
      within(this.savedOfDay(day, now), PAGE_DB_WAIT_MS).catch(() => null),
      within(this.history.before(day, now), PAGE_DB_WAIT_MS).catch(() => null),
    ]);
    const unsaved = this.counts.unsaved(day);
    const ids = new Set([...(saved?.keys() ?? []), ...unsaved.keys()]);
    for (const m of this.deps.mirrors.all()) if (m.enabled) ids.add(m.id);
    const today: DayCount[] = [...ids].map((id) => {
      const a = saved?.get(id);
      const b = unsaved.get(id);
      return { day, id, requests: (a?.requests ?? 0) + (b?.requests ?? 0), bytes: (a?.bytes ?? 0) + (b?.bytes ?? 0) };
    });
    const lineOf = (id: number, c: Counts): MirrorStatsLine => {
      const m = this.deps.mirrors.get(id);
      return {
        origin: id === ORIGIN_MIRROR_ID,
        identifier: id === ORIGIN_MIRROR_ID ? null : (m?.identifier ?? null),
        operatorName: m?.operatorName ?? '',
        operatorUrl: m?.operatorUrl ?? '',
        country: m?.country ?? '',
        requests: c.requests,
        bytes: c.bytes,
      };
    };
    const history = buildHistory(historyDays(day), [...(past ?? []), ...today]);
    const input: MirrorStatsInput = {
      day,
      generatedAt: new Date(now),
      lines: today.map((r) => lineOf(r.id, r)),
      history: { days: history.days, series: history.series.map((s) => ({ ...lineOf(s.id, { requests: 0, bytes: 0 }), requests: s.requests, bytes: s.bytes })) },
      databaseDown: saved === null,
      historyMissing: past === null,
    };
    const h = { 'Cache-Control': 'no-cache' };
    if (json) return { t: 'body', status: 200, type: 'application/json', body: `${JSON.stringify(mirrorStatsJson(input), null, 1)}\n`, h };
    return { t: 'body', status: 200, type: 'text/html; charset=utf-8', body: renderMirrorStats(input), h };
  }

  /**
   * The database's counts of `day`, shared by the requests of a few seconds so that a busy page costs one query
   * now and then; a flush of this sidecar makes them stale at once (its counts move from memory to the table).
   * A failure is shared too: with the database down, the page does not try a connection per request.
   */
  private savedOfDay(day: string, now: number): ReturnType<typeof mirrorStatsOfDay> {
    const c = this.pageRows;
    if (c && c.day === day && c.flushes === this.counts.flushes && now - c.at < PAGE_DB_TTL_MS) return c.rows;
    const rows = mirrorStatsOfDay(this.deps.pool, day);
    this.pageRows = { day, flushes: this.counts.flushes, at: now, rows };
    rows.catch(() => {}); // awaited by the pages; an unhandled rejection when none is left waiting
    return rows;
  }

  /** Routes of the sidecar's own socket: GET /metrics, POST /stats/flush. False when the path is not ours. */
  route(pathname: string, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (pathname === '/metrics') {
      this.metrics.render().then(
        (m) => res.writeHead(200, { 'Content-Type': m.type }).end(m.body),
        (e) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`),
      );
      return true;
    }
    if (pathname === '/stats/flush') {
      if (req.method !== 'POST') {
        res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain' }).end('use POST\n');
        return true;
      }
      void this.counts.flush().then((saved) => {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ saved, pendingRows: this.counts.pendingRows }));
      });
      return true;
    }
    return false;
  }

  close(): Promise<boolean> {
    return this.counts.close();
  }
}
