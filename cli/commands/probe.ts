// `mirrorlane probe [MIRROR…] [--watch] [--interval S] [--jobs N] [--json]`: health checks of the mirrors over
// http and https (core/probe/). One round prints a table; --watch runs rounds until SIGINT/SIGTERM and prints the
// changes as they happen. Down mirrors are not an error (exit 0): exit 1 means the probe itself could not run.
import type { Command } from 'commander';
import { parseInteger } from '../../core/cli-parse.ts';
import { describeDbError } from '../../core/db/pool.ts';
import type { ProtocolCheck, Step } from '../../core/probe/types.ts';
import {
  DEFAULT_CONCURRENCY,
  probeRound,
  UnknownMirrorsError,
  watchProbes,
  type MirrorProbeResult,
  type ProbeRoundReport,
} from '../../core/probe/run.ts';
import { changeText, stateText } from '../../core/probe/state.ts';
import { formatLag } from '../../core/probe/trace.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';
import { formatTime } from './output.ts';

interface ProbeOptions {
  watch?: boolean;
  interval?: string;
  jobs: string;
  json?: boolean;
}

export function registerProbeCommand(program: Command, ctx: CliContext): void {
  program
    .command('probe')
    .description(
      'check mirrors over http and https (base URL, a small file they hold, the trace file) and update their health; ' +
        'a file a mirror no longer has is taken out of its files',
    )
    .argument('[mirror...]', 'identifiers of the mirrors to probe, enabled or not (default: every enabled mirror)')
    .option('--watch', 'probe again every --interval seconds until Ctrl-C or SIGTERM, printing state changes')
    .option('--interval <s>', 'seconds between rounds with --watch (default: probe.intervalS of the config)')
    .option('--jobs <n>', 'mirrors probed at the same time', String(DEFAULT_CONCURRENCY))
    .option('--json', 'print JSON (with --watch: one JSON object per line and event)')
    .action(async (identifiers: string[], opts: ProbeOptions) => probe(ctx, identifiers, opts));
}

async function probe(ctx: CliContext, identifiers: string[], opts: ProbeOptions): Promise<void> {
  const config = ctx.config();
  if (opts.interval !== undefined && !opts.watch) throw new UsageError('--interval goes with --watch');
  const intervalS = opts.interval === undefined ? config.probe.intervalS : parseInteger('--interval', opts.interval, 1, 86_400);
  const concurrency = parseInteger('--jobs', opts.jobs, 1, 1000);
  const round = { identifiers, concurrency };
  try {
    if (opts.watch) await watch(ctx, { ...round, intervalS, json: opts.json === true });
    else printRound(ctx, await probeRound(ctx.db(), config, round), opts.json === true);
  } catch (e) {
    if (e instanceof UnknownMirrorsError) throw new CliFailure(`${e.message}: see \`mirrorlane mirror list\``);
    throw e;
  }
}

// ---- one round

/** "200", "connection refused", "200 after 1 redirect". */
function answerText(s: Step): string {
  const a = s.answer;
  const what = a.kind === 'error' ? a.error : a.status >= 300 && a.status < 400 && a.location ? `${a.status} to ${a.location}` : String(a.status);
  const via = s.redirects.length ? ` after ${s.redirects.length} redirect${s.redirects.length > 1 ? 's' : ''}` : '';
  return `${what}${via} (${a.ms} ms)`;
}

function protocolText(p: ProtocolCheck, r: MirrorProbeResult): string {
  const parts = [`base ${answerText(p.base)}`];
  if (p.file && r.check.file) parts.push(`${r.check.file.path} ${answerText(p.file)}`);
  if (p.trace) parts.push(`trace ${answerText(p.trace)}`);
  return `${p.scheme}: ${parts.join(', ')}`;
}

function resultText(r: MirrorProbeResult): string {
  const v = r.verdict;
  if (v.skipped) return 'skipped: no http or https URL';
  const lines = [v.ok ? 'ok' : `failed: ${v.reason}`];
  if (v.ok && v.traceLagS !== null) lines[0] += `, trace ${v.traceLagS < 60 ? 'current' : `${formatLag(v.traceLagS)} behind`}`;
  if (r.removedFile) lines.push(`${r.removedFile.path} missing (${r.removedFile.why}): taken out of its files`);
  if (r.disabled) lines.push('disabled (probe.disableOnMissing)');
  const c = r.capabilities?.changed;
  if (c?.ipv6 !== undefined) lines.push(c.ipv6 ? 'answers over IPv6: ipv6 set' : `no IPv6 (${r.capabilities?.found.ipv6?.why}): ipv6 cleared`);
  if (c?.httpsUrl) lines.push(`answers over https: https URL set to ${c.httpsUrl}`);
  return lines.join('\n');
}

function printRound(ctx: CliContext, report: ProbeRoundReport, json: boolean): void {
  const t = ctx.config().probe;
  if (json) {
    ctx.json({
      startedAt: report.startedAt,
      warnings: report.warnings,
      results: report.results.map((r) => ({ ...eventOf(r), verdict: r.verdict, before: r.before, after: r.after, check: r.check })),
    });
    return;
  }
  for (const w of report.warnings) ctx.warn(`warning: ${w}`);
  if (!report.results.length) {
    ctx.out('no enabled mirror to probe: enable one with `mirrorlane mirror enable`, or name mirrors');
    return;
  }
  ctx.table(
    ['mirror', 'checks', 'result', 'state'],
    report.results.map((r) => [
      r.identifier,
      r.check.protocols.map((p) => protocolText(p, r)).join('\n') || '-',
      resultText(r),
      changeText(r.before, r.after) || stateText(r.after, t),
    ]),
  );
}

// ---- watch

/** What a watcher wants to know about one mirror's probe: a change, a file taken out, a disable. */
function eventOf(r: MirrorProbeResult) {
  return {
    identifier: r.identifier,
    from: r.before.health,
    to: r.after.health,
    reason: r.after.reason,
    since: r.after.since,
    changed: r.changed,
    removedFile: r.removedFile,
    disabled: r.disabled,
    capabilities: r.capabilities,
  };
}

async function watch(
  ctx: CliContext,
  opts: { identifiers: string[]; concurrency: number; intervalS: number; json: boolean },
): Promise<void> {
  const config = ctx.config();
  const stop = new AbortController();
  const onSignal = (s: NodeJS.Signals) => {
    ctx.warn(`${s}: stopping the probe`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const what = opts.identifiers.length ? opts.identifiers.join(', ') : 'enabled mirrors';
  ctx.warn(`probing ${what} every ${opts.intervalS} s; stop with Ctrl-C or SIGTERM`);
  let rounds = 0;
  let lastWarnings = '';
  try {
    await watchProbes(ctx.db(), config, {
      ...opts,
      signal: stop.signal,
      onResult: (r) => {
        if (!r.changed && !r.removedFile && !r.disabled) return;
        if (opts.json) {
          ctx.out(JSON.stringify({ at: new Date(), ...eventOf(r) }));
          return;
        }
        const at = formatTime(new Date());
        if (r.removedFile) ctx.out(`${at}  ${r.identifier}  ${r.removedFile.path} missing (${r.removedFile.why}): taken out of its files`);
        if (r.disabled) ctx.out(`${at}  ${r.identifier}  disabled (probe.disableOnMissing)`);
        if (r.changed) ctx.out(`${at}  ${r.identifier}  ${changeText(r.before, r.after)}`);
      },
      onRound: (report) => {
        rounds++;
        // The same warning every round would drown the changes: say it when it changes.
        const w = report.warnings.join('\n');
        if (w && w !== lastWarnings) for (const line of report.warnings) ctx.warn(`warning: ${line}`);
        lastWarnings = w;
      },
      onError: (e) => {
        // Failing from the start is a setup problem: exit 1. Later, the database may come back: keep going.
        if (rounds === 0) throw e;
        ctx.warn(`error: probe round failed: ${describeDbError(e, ctx.dbUrl)}; retrying in ${opts.intervalS} s`);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
