// `mirrorlane file check PATH` (MirrorBrain's `mb probefile`): ask every mirror that should hold one file whether it
// really serves the origin's copy, and set that beside what the file table says.
import type { Command } from 'commander';
import { normaliseFilePattern, parseInteger } from '../../core/cli-parse.ts';
import { fileByPath } from '../../core/db/files.ts';
import { listMirrors } from '../../core/db/mirrors.ts';
import { headFile, judgeHead, type HeadAnswer } from '../../core/file-check.ts';
import { outdatedRules } from '../../core/scan/apply-listing.ts';
import { runLimited } from '../../core/scan/limit.ts';
import type { Mirror } from '../../core/types.ts';
import { baseUrlFor, mirrorFileUrl } from '../../core/urls.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';
import { formatBytes, formatMtime, yesNo } from './output.ts';

const PARALLEL = 8;

interface CheckOpts {
  all?: boolean;
  json?: boolean;
  timeout?: string;
}

interface CheckRow {
  mirror: string;
  enabled: boolean;
  /** The file table lists this mirror as holding the file. */
  listed: boolean;
  url: string | null;
  status: number | null;
  size: number | null;
  mtime: number | null;
  has: boolean;
  verdict: string;
}

export function registerFileCheckCommand(file: Command, ctx: CliContext): void {
  file
    .command('check')
    .description('HEAD the file on every enabled mirror (and any the table lists): who really has the origin copy (size, mtime)')
    .argument('<path>', "origin path of one file, e.g. '/pub/x.iso'")
    .option('--all', 'disabled mirrors too')
    .option('--timeout <ms>', 'per request (default: probe.timeoutMs)')
    .option('--json', 'print JSON')
    .action(async (p: string, opts: CheckOpts) => check(ctx, p, opts));
}

async function check(ctx: CliContext, pathArg: string, opts: CheckOpts): Promise<void> {
  const filePath = normaliseFilePattern(pathArg);
  if (/[*?]/.test(filePath)) throw new UsageError('file check takes one path, not a pattern');
  const config = ctx.config();
  const timeoutMs = opts.timeout === undefined ? config.probe.timeoutMs : parseInteger('--timeout', opts.timeout, 1, 600000);
  const db = ctx.db();
  const row = await fileByPath(db, filePath);
  if (!row) throw new CliFailure(`'${filePath}' is not in the file table: see \`mirrorlane file ls\` (or run \`mirrorlane origin scan\`)`);
  const listed = new Set(row.mirrors);
  const mirrors = (await listMirrors(db)).filter((m) => m.enabled || listed.has(m.id) || opts.all);
  const rules = { outdatedAllowed: outdatedRules(config.scan.outdatedAllowedMinutes) };
  const rows: CheckRow[] = new Array(mirrors.length);
  await runLimited(mirrors, PARALLEL, async (m: Mirror, i) => {
    const base = baseUrlFor(m, 'http');
    const url = base === null ? null : mirrorFileUrl(base, filePath);
    const answer: HeadAnswer = url === null ? { kind: 'error', error: 'no http or https URL' } : await headFile(url, { timeoutMs, userAgent: config.probe.userAgent });
    const v = judgeHead(row, answer, rules);
    rows[i] = {
      mirror: m.identifier,
      enabled: m.enabled,
      listed: listed.has(m.id),
      url,
      status: answer.kind === 'response' ? answer.status : null,
      size: answer.kind === 'response' ? answer.size : null,
      mtime: answer.kind === 'response' ? answer.mtime : null,
      has: v.has,
      verdict: v.verdict,
    };
  });
  const has = rows.filter((r) => r.has).length;
  if (opts.json) {
    ctx.json({ file: { path: row.path, size: row.size, mtime: row.mtime }, mirrors: rows, has });
    return;
  }
  ctx.out(`${row.path}: ${formatBytes(row.size)}, modified ${formatMtime(row.mtime)}; ${has} of ${rows.length} mirrors have it, the table lists ${listed.size}`);
  if (!rows.length) return;
  ctx.table(
    ['mirror', 'listed', 'has it', 'HTTP', 'size', 'mtime', 'verdict'],
    rows.map((r) => [
      r.enabled ? r.mirror : `${r.mirror} (disabled)`,
      yesNo(r.listed),
      yesNo(r.has),
      r.status ?? '',
      r.size === null ? '' : r.size,
      r.mtime === null ? '' : formatMtime(r.mtime),
      r.verdict,
    ]),
  );
  const stale = rows.filter((r) => r.listed !== r.has).length;
  if (stale) ctx.out(`${stale} mirror(s) differ from the table: \`mirrorlane scan ID\` brings it in line`);
}
