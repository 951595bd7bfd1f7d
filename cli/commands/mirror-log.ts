// `mirrorlane mirror log ID [--since DATE] [--json]`: the mirror's event history (health changes, scans, admin
// edits, enable/disable, notes), oldest first.
import type { Command } from 'commander';
import { ValueError } from '../../core/cli-parse.ts';
import { listEvents, type MirrorEvent } from '../../core/db/events.ts';
import { describeEvent } from '../../core/event-text.ts';
import type { CliContext } from './context.ts';
import { formatTime } from './output.ts';

/** How many events `mirror show` prints. */
export const SHOW_EVENTS = 5;

const RELATIVE = /^(\d{1,5})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "2026-11-20", "2026-11-20T10:00Z" (UTC unless a zone is given), "today", "yesterday", "30m", "12h", "7d". */
export function parseSince(flag: string, v: string, now = Date.now()): Date {
  const s = v.trim().toLowerCase();
  const day = (offset: number) => new Date(Math.floor(now / UNIT_MS.d) * UNIT_MS.d - offset * UNIT_MS.d);
  if (s === 'today') return day(0);
  if (s === 'yesterday') return day(1);
  const rel = RELATIVE.exec(s);
  if (rel) return new Date(now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]);
  const m = /^(\d{4}-\d{2}-\d{2})(?:[t ](\d{2}:\d{2}(?::\d{2})?)(z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  const t = m ? Date.parse(`${m[1]}T${m[2] ?? '00:00'}${m[3] && m[3] !== 'z' ? m[3] : 'Z'}`) : NaN;
  if (!m || Number.isNaN(t)) {
    throw new ValueError(`${flag} must be a date (YYYY-MM-DD[THH:MM]), "today", "yesterday" or an age like 12h or 7d, got '${v}'`);
  }
  return new Date(t);
}

export function eventLines(events: MirrorEvent[]): string[] {
  return events.map((e) => `${formatTime(e.at)}  ${e.source.padEnd(5)}  ${describeEvent(e)}`);
}

export function registerMirrorLogCommand(mirror: Command, ctx: CliContext): void {
  mirror
    .command('log')
    .description('event history of a mirror, oldest first: health changes, scans, edits, enable/disable, notes')
    .argument('<identifier>')
    .option('--since <date>', 'only events since then: YYYY-MM-DD[THH:MM] (UTC), today, yesterday, or an age (12h, 7d)')
    .option('--json', 'print JSON')
    .action(async (identifier: string, opts: { since?: string; json?: boolean }) => {
      const since = opts.since === undefined ? undefined : parseSince('--since', opts.since);
      const m = await ctx.mirror(identifier);
      const events = await listEvents(ctx.db(), m.id, { since });
      if (opts.json) return ctx.json(events);
      if (!events.length) return ctx.out(`no events for mirror '${m.identifier}'${since ? ` since ${formatTime(since)}` : ''}`);
      ctx.out(eventLines(events).join('\n'));
    });
}
