// `mirrorlane origin scan`: bring the file table in line with the origin tree (new, changed and removed files,
// hashes). Mirrors are scanned separately.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OriginScanError, scanOrigin } from '../../core/scan/origin-scan.ts';
import { normaliseSubtree, SubtreeError } from '../../core/scan/subtree.ts';
import type { OriginScanResult } from '../../core/scan/types.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';
import { formatBytes } from './output.ts';

export function registerOriginCommands(program: Command, ctx: CliContext): void {
  const origin = program.command('origin').description('the origin tree: scan it into the file table');

  origin
    .command('scan')
    .description('walk the origin tree (config origin.root): add new files, re-hash changed ones, delete rows of removed ones')
    .option('--dir <subtree>', "only this part of the tree, as an origin path (e.g. '/pub/isos/')")
    .option('--allow-empty', 'let a scan that finds no file delete every row (refused by default: an unmounted disk looks like that)')
    .option('--json', 'print JSON')
    .action(async (opts: ScanOpts) => scan(ctx, opts));
}

interface ScanOpts {
  dir?: string;
  allowEmpty?: boolean;
  json?: boolean;
}

/**
 * A --dir that is neither on disk nor in the file table is a typo, not a deleted directory: refuse it rather than
 * report an empty scan with exit 0. (A deleted directory with rows is the scan's to handle: it refuses to empty it
 * without --allow-empty.)
 */
async function checkDirGiven(ctx: CliContext, root: string, dir: string): Promise<void> {
  const subtree = normaliseSubtree(dir);
  if (subtree === '/' || fs.existsSync(path.join(root, subtree))) return;
  const { rows } = await ctx.db().query('SELECT 1 FROM file WHERE starts_with(path, $1) LIMIT 1', [subtree]);
  if (rows.length === 0) {
    throw new CliFailure(`--dir ${dir}: no such directory under origin.root (${root}) and no file of the table under ${subtree}: give a directory of the origin tree, e.g. --dir /pub/`);
  }
}

async function scan(ctx: CliContext, opts: ScanOpts): Promise<void> {
  const config = ctx.config();
  let result: OriginScanResult;
  try {
    if (opts.dir !== undefined) await checkDirGiven(ctx, config.origin.root, opts.dir);
    result = await scanOrigin(ctx.db(), {
      root: config.origin.root,
      subtree: opts.dir,
      hashes: config.scan.originHashes,
      zsyncMinSize: config.formats.zsyncMinSize,
      onWarning: (line) => ctx.warn(`warning: ${line}`),
      allowEmpty: opts.allowEmpty === true,
    });
  } catch (e) {
    if (e instanceof SubtreeError) throw new UsageError(`--dir: ${e.message}`);
    if (e instanceof OriginScanError) throw new CliFailure(e.message);
    throw e;
  }
  if (opts.json) {
    ctx.json(result);
    return;
  }
  const where = opts.dir ? ` under ${opts.dir}` : '';
  ctx.out(
    `${result.files} files${where}: ${result.added} added, ${result.changed} changed, ${result.removed} removed; ` +
      `${result.hashed} hashed (${formatBytes(result.bytesHashed)}); ${result.skipped} skipped` +
      `${result.warnings ? ` (${result.warnings} with a warning)` : ''}; ${(result.ms / 1000).toFixed(1)} s`,
  );
}
