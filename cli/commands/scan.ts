// `mirrorlane scan`: list what mirrors hold and update the packed file table (core/scan/scan-mirror.ts).
//
// --all scans every mirror, disabled ones included: a new mirror is checked before it is enabled, and scanning a
// disabled mirror sends no client anywhere. --enable (MirrorBrain's `scan -e`) enables each named mirror whose
// scan succeeded; it is refused with --all, which would enable every mirror that happens to answer.
import type { Command } from 'commander';
import { parseInteger } from '../../core/cli-parse.ts';
import { mirrorByIdentifier, listMirrors, setEnabled } from '../../core/db/mirrors.ts';
import { CHANGE_LOG_KEEP_S, pruneChangeLog } from '../../core/db/change-log.ts';
import { createPool, databaseUrl } from '../../core/db/pool.ts';
import { runLimited } from '../../core/scan/limit.ts';
import { scanMirror, type ScanOutcome } from '../../core/scan/scan-mirror.ts';
import { normaliseSubtree, SubtreeError } from '../../core/scan/subtree.ts';
import type { Mirror } from '../../core/types.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';

interface ScanOptions {
  all?: boolean;
  jobs?: string;
  dir?: string;
  enable?: boolean;
  json?: boolean;
}

export function registerScanCommand(program: Command, ctx: CliContext): void {
  program
    .command('scan')
    .description('list what mirrors hold (over rsync, else FTP, else HTTP directory indexes) and record which origin files they carry')
    .argument('[mirror...]', 'identifiers of the mirrors to scan')
    .option('-a, --all', 'scan every mirror, disabled ones included')
    .option('-j, --jobs <n>', 'mirrors scanned in parallel (default: config scan.jobs)')
    .option('-d, --dir <subtree>', 'scan only this directory (e.g. /pub/iso); files elsewhere stay as they are')
    .option('-e, --enable', 'enable each named mirror whose scan succeeded')
    .option('--json', 'print JSON')
    .action(async (identifiers: string[], opts: ScanOptions) => scan(ctx, identifiers, opts));
}

function formatDuration(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** "+2:00", "-5:30". */
export function formatTzOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const min = Math.round(Math.abs(ms) / 60_000);
  return `${sign}${Math.floor(min / 60)}:${String(min % 60).padStart(2, '0')}`;
}

async function scan(ctx: CliContext, identifiers: string[], opts: ScanOptions): Promise<void> {
  if (opts.all && identifiers.length) throw new UsageError('name mirrors or give --all, not both');
  if (!opts.all && !identifiers.length) throw new UsageError('name the mirrors to scan, or give --all');
  if (opts.all && opts.enable) throw new UsageError('--enable works on named mirrors only; it would enable every mirror that answers');
  let subtree: string | undefined;
  if (opts.dir !== undefined) {
    try {
      subtree = normaliseSubtree(opts.dir);
    } catch (e) {
      if (e instanceof SubtreeError) throw new UsageError(`--dir: ${e.message}`);
      throw e;
    }
  }
  const config = ctx.config();
  const jobs = opts.jobs !== undefined ? parseInteger('--jobs', opts.jobs, 1, 64) : config.scan.jobs;

  // Each scan holds a connection while its listing streams in: a pool of our own, sized for the jobs.
  const url = databaseUrl(config);
  ctx.dbUrl = url;
  const pool = createPool(url, jobs + 2);
  try {
    let mirrors: Mirror[];
    if (opts.all) {
      mirrors = await listMirrors(pool);
      if (!mirrors.length) {
        ctx.out('no mirrors to scan: add one with `mirrorlane mirror add`');
        return;
      }
    } else {
      mirrors = [];
      for (const id of new Set(identifiers)) {
        const m = await mirrorByIdentifier(pool, id);
        if (!m) throw new CliFailure(`mirror '${id}' not found: see \`mirrorlane mirror list\``);
        mirrors.push(m);
      }
    }

    const outcomes: ScanOutcome[] = new Array(mirrors.length);
    await runLimited(mirrors, jobs, async (m, i) => {
      outcomes[i] = await scanMirror(pool, m, { subtree, scan: config.scan });
    });
    // Scans are what fills the change log; the regular ones keep it short. A failure here changes no outcome.
    await pruneChangeLog(pool, CHANGE_LOG_KEEP_S).catch(() => {});

    const enabled = new Set<string>();
    if (opts.enable) {
      const ok = outcomes.filter((o) => o.ok).map((o) => o.identifier);
      if (ok.length) for (const [id, changed] of await setEnabled(pool, ok, true)) if (changed) enabled.add(id);
    }

    if (opts.json) {
      ctx.json(
        outcomes.map((o) => ({
          mirror: o.identifier,
          ok: o.ok,
          protocol: o.protocol,
          found: o.result?.found ?? null,
          held: o.result?.held ?? null,
          added: o.result?.added ?? null,
          removed: o.result?.removed ?? null,
          durationMs: o.durationMs,
          tzOffsetMs: o.tzOffsetMs,
          enabled: enabled.has(o.identifier),
          error: o.error,
          warnings: o.warnings,
        })),
      );
    } else {
      ctx.table(
        ['mirror', 'protocol', 'found', 'held', 'added', 'removed', 'time', 'error'],
        outcomes.map((o) => [
          o.identifier,
          o.protocol,
          o.result?.found ?? '',
          o.result?.held ?? '',
          o.result?.added ?? '',
          o.result?.removed ?? '',
          formatDuration(o.durationMs),
          o.error.length > 80 ? `${o.error.slice(0, 79)}…` : o.error,
        ]),
      );
      for (const o of outcomes) {
        if (o.tzOffsetMs) ctx.out(`${o.identifier}: FTP times are off by ${formatTzOffset(o.tzOffsetMs)} h (server clock zone); corrected`);
        if (enabled.has(o.identifier)) ctx.out(`enabled mirror '${o.identifier}'`);
      }
      if (subtree) ctx.out(`scanned ${subtree} only; files elsewhere were left as they were`);
    }
    for (const o of outcomes) for (const w of o.warnings) ctx.warn(`warning: ${o.identifier}: ${w}`);

    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length) {
      // One line per failed mirror; reportError prefixes the first with "error: ".
      throw new CliFailure(failed.map((o) => `scan of '${o.identifier}' failed: ${o.error}`).join('\nerror: '));
    }
  } finally {
    await pool.end().catch(() => {});
  }
}
