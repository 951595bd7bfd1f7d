// `mirrorlane stats mirror|file`: download statistics from the database (per UTC day, summed over a range).
// Sidecars save their counts every few seconds, so the last seconds may be missing here.
import type { Command } from 'commander';
import { parseInteger, ValueError } from '../../core/cli-parse.ts';
import { fileTotals, mirrorTotals, ORIGIN_MIRROR_ID } from '../../core/db/stats.ts';
import type { CliContext } from './context.ts';
import { formatBytes } from './output.ts';

const DAY_MS = 86_400_000;

/** A UTC day: "YYYY-MM-DD", "today" or "yesterday" (relative to `now`), as "YYYY-MM-DD". */
export function parseDay(flag: string, v: string, now = Date.now()): string {
  const s = v.trim().toLowerCase();
  if (s === 'today') return new Date(now).toISOString().slice(0, 10);
  if (s === 'yesterday') return new Date(now - DAY_MS).toISOString().slice(0, 10);
  const t = Date.parse(`${s}T00:00:00Z`);
  // Date.parse accepts 2024-02-30 in some engines; the round trip refuses it.
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s) {
    throw new ValueError(`${flag} must be a date YYYY-MM-DD, "today" or "yesterday", got '${v}'`);
  }
  return s;
}

/** The report's range: --to defaults to today, --from to 29 days before --to (30 days in all). */
export function dayRange(opts: { from?: string; to?: string }, now = Date.now()): { from: string; to: string } {
  const to = opts.to === undefined ? parseDay('--to', 'today', now) : parseDay('--to', opts.to, now);
  const from = opts.from === undefined ? new Date(Date.parse(to) - 29 * DAY_MS).toISOString().slice(0, 10) : parseDay('--from', opts.from, now);
  if (from > to) throw new ValueError(`--from (${from}) is after --to (${to})`);
  return { from, to };
}

/** Share as a fraction rounded to 4 decimals (JSON) */
function share(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0;
}

function pct(part: number, whole: number): string {
  return `${(whole > 0 ? (100 * part) / whole : 0).toFixed(1)} %`;
}

interface ReportOptions {
  from?: string;
  to?: string;
  limit?: string;
  json?: boolean;
}

export function registerStatsCommands(program: Command, ctx: CliContext): void {
  const stats = program
    .command('stats')
    .description('download statistics per mirror and per file (UTC days; the sidecars save them every few seconds)');

  const withRange = (cmd: Command) =>
    cmd
      .option('--from <date>', 'first day, YYYY-MM-DD, "today" or "yesterday" (default: 29 days before --to)')
      .option('--to <date>', 'last day, included (default: today, UTC)')
      .option('--json', 'print JSON');

  withRange(stats.command('mirror').description('requests, bytes and share per mirror; "(origin)" is what the origin served itself'))
    .option('--limit <n>', 'only the N busiest')
    .action(async (opts: ReportOptions) => {
      const { from, to } = dayRange(opts);
      const limit = opts.limit === undefined ? null : parseInteger('--limit', opts.limit, 1, 1_000_000);
      const all = await mirrorTotals(ctx.db(), from, to);
      const requests = all.reduce((s, r) => s + r.requests, 0);
      const bytes = all.reduce((s, r) => s + r.bytes, 0);
      const rows = limit === null ? all : all.slice(0, limit);
      const name = (r: (typeof all)[number]) => (r.mirrorId === ORIGIN_MIRROR_ID ? '(origin)' : r.identifier);
      if (opts.json) {
        return ctx.json({
          from,
          to,
          requests,
          bytes,
          mirrors: rows.map((r) => ({
            id: r.mirrorId,
            mirror: name(r),
            operatorName: r.operatorName,
            country: r.country,
            requests: r.requests,
            bytes: r.bytes,
            share: share(r.requests, requests),
            bytesShare: share(r.bytes, bytes),
          })),
        });
      }
      if (!rows.length) return ctx.out(`no downloads counted from ${from} to ${to}`);
      ctx.out(`${from} to ${to} (UTC): ${requests} requests, ${formatBytes(bytes)}`);
      ctx.table(
        ['mirror', 'country', 'requests', 'share', 'bytes', 'bytes share'],
        rows.map((r) => [name(r) ?? `(deleted #${r.mirrorId})`, r.country ?? '', r.requests, pct(r.requests, requests), formatBytes(r.bytes), pct(r.bytes, bytes)]),
      );
    });

  withRange(stats.command('file').description('the most requested files'))
    .option('--limit <n>', 'how many files', '20')
    .action(async (opts: ReportOptions) => {
      const { from, to } = dayRange(opts);
      const limit = parseInteger('--limit', opts.limit ?? '20', 1, 1_000_000);
      const t = await fileTotals(ctx.db(), from, to, limit);
      if (opts.json) {
        return ctx.json({
          from,
          to,
          files: t.files,
          requests: t.requests,
          bytes: t.bytes,
          top: t.top.map((f) => ({ id: f.fileId, path: f.path, requests: f.requests, bytes: f.bytes, share: share(f.requests, t.requests) })),
        });
      }
      if (!t.top.length) return ctx.out(`no downloads counted from ${from} to ${to}`);
      ctx.out(`${from} to ${to} (UTC): ${t.requests} requests of ${t.files} files, ${formatBytes(t.bytes)}`);
      ctx.table(
        ['file', 'requests', 'share', 'bytes'],
        t.top.map((f) => [f.path ?? `(deleted file #${f.fileId})`, f.requests, pct(f.requests, t.requests), formatBytes(f.bytes)]),
      );
    });
}
