// The last 30 days of downloads per mirror for ?mirrorstats: the days before today from PostgreSQL (they no
// longer change, so they are read at most once a minute), today's counts from the caller (saved + unsaved).
import type pg from 'pg';
import { mirrorStatsOfDays, type DayCount } from '../core/db/stats.ts';

export const HISTORY_DAYS = 30;
const DAY_MS = 86_400_000;
const HISTORY_TTL_MS = 60_000;

/** The HISTORY_DAYS UTC days ending with `today`, oldest first. */
export function historyDays(today: string): string[] {
  const t = Date.parse(`${today}T00:00:00Z`);
  return Array.from({ length: HISTORY_DAYS }, (_, i) => new Date(t - (HISTORY_DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

export interface MirrorSeries {
  /** Mirror id, 0 for the origin. */
  id: number;
  /** One number per day of `days`. */
  requests: number[];
  bytes: number[];
}

export interface StatsHistory {
  days: string[];
  /** Busiest (by requests over the period) first. */
  series: MirrorSeries[];
}

/** Day rows (any order) → one series per mirror over `days`; rows outside `days` are ignored. Pure. */
export function buildHistory(days: string[], rows: DayCount[]): StatsHistory {
  const index = new Map(days.map((d, i) => [d, i]));
  const byId = new Map<number, MirrorSeries>();
  for (const r of rows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    let s = byId.get(r.id);
    if (!s) {
      s = { id: r.id, requests: new Array(days.length).fill(0), bytes: new Array(days.length).fill(0) };
      byId.set(r.id, s);
    }
    s.requests[i] += r.requests;
    s.bytes[i] += r.bytes;
  }
  const total = (s: MirrorSeries) => s.requests.reduce((a, b) => a + b, 0);
  return { days, series: [...byId.values()].sort((a, b) => total(b) - total(a) || a.id - b.id) };
}

/** Reads and caches the days before today. */
export class HistoryReader {
  private cached: { today: string; at: number; rows: Promise<DayCount[]> } | null = null;

  constructor(private readonly pool: pg.Pool) {}

  /** Rows of the HISTORY_DAYS - 1 days before `today`. Rejects when the database cannot be read. */
  before(today: string, now: number): Promise<DayCount[]> {
    const c = this.cached;
    if (c && c.today === today && now - c.at < HISTORY_TTL_MS) return c.rows;
    const days = historyDays(today);
    const rows = mirrorStatsOfDays(this.pool, days[0], days[days.length - 2]);
    this.cached = { today, at: now, rows };
    // A failure is not kept: the next page asks again.
    rows.catch(() => {
      if (this.cached?.rows === rows) this.cached = null;
    });
    return rows;
  }
}
