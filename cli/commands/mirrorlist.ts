// `mirrorlane mirrorlist`: the public list of mirrors for a download page, as HTML, text, Markdown or JSON.
import type { Command } from 'commander';
import { listMirrors } from '../../core/db/mirrors.ts';
import { writeFileAtomic } from '../../core/export/atomic-file.ts';
import { renderHtmlFragment, renderHtmlPage } from '../../core/mirrorlist/html.ts';
import { renderJson } from '../../core/mirrorlist/json.ts';
import { buildMirrorList } from '../../core/mirrorlist/model.ts';
import { subtreeHolders } from '../../core/mirrorlist/subtree-query.ts';
import { originCoverage } from '../../core/mirrorlist/subtrees.ts';
import { renderMarkdown, renderText } from '../../core/mirrorlist/text.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';

const FORMATS = ['html', 'txt', 'md', 'json'] as const;
type Format = (typeof FORMATS)[number];

interface Options {
  format: string;
  output?: string;
  all?: boolean;
  fragment?: boolean;
  title?: string;
}

export function registerMirrorlistCommand(program: Command, ctx: CliContext): void {
  program
    .command('mirrorlist')
    .description('the public mirror list: enabled mirrors by continent and country, with operator, download URLs, IPv6 and the parts of the tree they carry (never admin contacts, admin notes or credentials)')
    .option('--format <format>', `${FORMATS.join(', ')}`, 'txt')
    .option('-o, --output <file>', 'write to FILE atomically (a temporary file renamed over it) instead of stdout')
    .option('--all', 'include disabled mirrors, marked as such')
    .option('--fragment', 'html: only the list, to include in a page of your own (default: a whole page)')
    .option('--title <text>', 'heading and page title', 'Mirrors')
    .action(async (opts: Options) => mirrorlist(ctx, opts));
}

async function mirrorlist(ctx: CliContext, opts: Options): Promise<void> {
  if (!(FORMATS as readonly string[]).includes(opts.format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${opts.format}'`);
  }
  const format = opts.format as Format;
  if (opts.fragment && format !== 'html') throw new UsageError('--fragment goes with --format html');
  const db = ctx.db();
  const [mirrors, holders] = await Promise.all([listMirrors(db), subtreeHolders(db)]);
  const list = buildMirrorList(mirrors, originCoverage(holders), { all: opts.all, title: opts.title });
  const text =
    format === 'html' ? (opts.fragment ? renderHtmlFragment(list) : renderHtmlPage(list))
    : format === 'md' ? renderMarkdown(list)
    : format === 'json' ? renderJson(list)
    : renderText(list);
  if (!opts.output) return ctx.io.stdout(text);
  try {
    writeFileAtomic(opts.output, text, 0o644);
  } catch (e) {
    throw new CliFailure(`cannot write ${opts.output}: ${(e as Error).message}`);
  }
  ctx.out(`wrote ${opts.output}: ${list.mirrorCount} mirror(s), ${format}`);
}
