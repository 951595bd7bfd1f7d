// `mirrorlane file ls|add|rm`: which mirrors hold which files, by hand (the scanner does it in bulk).
// PATTERN is a path below the origin ("/pub/x.iso", the leading "/" may be left out) with shell wildcards
// "*" and "?"; "*" also matches "/". Quote it so the shell does not expand it.
import type { Command } from 'commander';
import { globToLike, hasWildcard, normaliseFilePattern, parseInteger } from '../../core/cli-parse.ts';
import { mismatchesOfFiles, mismatchText } from '../../core/db/file-extras.ts';
import { addMirrorToFiles, countFiles, deleteFiles, fileByPath, listFiles, removeMirrorFromFiles, upsertFile } from '../../core/db/files.ts';
import { listMirrors } from '../../core/db/mirrors.ts';
import { describeOriginFile, OriginFileError } from '../../core/origin-file.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';
import { registerFileCheckCommand } from './file-check.ts';
import { formatBytes, formatMtime } from './output.ts';

const DEFAULT_LIMIT = 1000;

export function registerFileCommands(program: Command, ctx: CliContext): void {
  const file = program
    .command('file')
    .description('files of the packed file table and the mirrors holding them; PATTERN takes shell wildcards * and ? (* also matches /)');

  file
    .command('ls')
    .alias('list')
    .description('list files (path, size, mtime, mirrors) matching PATTERN, default all')
    .argument('[pattern]', "path or shell pattern, e.g. '/pub/*.iso' (quote it)")
    .option('--mirror <identifier>', 'only files this mirror holds')
    .option('--limit <n>', `show at most N files, 0 for all (default ${DEFAULT_LIMIT})`)
    .option('--json', 'print JSON')
    .action(async (pattern: string | undefined, opts: { mirror?: string; limit?: string; json?: boolean }) => ls(ctx, pattern, opts));

  file
    .command('add')
    .description(
      'mark a mirror as holding the matching files; an exact path not in the table yet is created from the origin tree (size, mtime, SHA-256)',
    )
    .argument('<pattern>')
    .requiredOption('--mirror <identifier>', 'the mirror that holds them')
    .action(async (pattern: string, opts: { mirror: string }) => add(ctx, pattern, opts.mirror));

  file
    .command('rm')
    .description('take a mirror off the matching files (--mirror), or delete the file rows themselves (--forget --yes)')
    .argument('<pattern>')
    .option('--mirror <identifier>', 'the mirror that no longer holds them')
    .option('--forget', 'delete the matching file rows (a scan adds them again if they are still in the origin)')
    .option('--yes', 'with --forget: do not ask (required when stdin is not a terminal)')
    .action(async (pattern: string, opts: { mirror?: string; forget?: boolean; yes?: boolean }) => rm(ctx, pattern, opts));

  registerFileCheckCommand(file, ctx);
}

async function ls(ctx: CliContext, pattern: string | undefined, opts: { mirror?: string; limit?: string; json?: boolean }): Promise<void> {
  const like = pattern === undefined ? null : globToLike(normaliseFilePattern(pattern));
  const limit = opts.limit === undefined ? DEFAULT_LIMIT : parseInteger('--limit', opts.limit, 0, Number.MAX_SAFE_INTEGER);
  const db = ctx.db();
  const holder = opts.mirror === undefined ? null : await ctx.mirror(opts.mirror);
  const [files, mirrors] = await Promise.all([
    listFiles(db, like, { mirrorId: holder?.id, limit: limit || undefined }),
    listMirrors(db),
  ]);
  const names = new Map(mirrors.map((m) => [m.id, m.identifier]));
  const identifiers = (ids: number[]) => ids.map((id) => names.get(id) ?? `#${id}`);
  if (limit && files.length === limit) {
    const total = await countFiles(db, like, holder?.id ?? null);
    if (total > limit) ctx.warn(`showing the first ${limit} of ${total} files: use --limit 0 for all, or a narrower PATTERN`);
  }
  // The copies the last scans did not count, with why: an operator can see why a mirror gets no traffic.
  const mismatches = await mismatchesOfFiles(db, files.map((f) => f.id));
  const wrong = (id: number) => mismatches.get(id) ?? [];
  if (opts.json) {
    ctx.json(files.map((f) => ({ ...f, mirrors: identifiers(f.mirrors), excluded: wrong(f.id).map((x) => ({ identifier: x.mirror, reason: mismatchText(x.reason) })) })));
    return;
  }
  if (!files.length) {
    ctx.out(pattern === undefined && !holder ? 'no files in the table yet' : 'no file matches');
    return;
  }
  ctx.table(
    ['path', 'size', 'mtime', 'mirrors', 'not counted'],
    files.map((f) => [
      f.path, formatBytes(f.size), formatMtime(f.mtime), identifiers(f.mirrors).join(' '),
      wrong(f.id).map((x) => `${x.mirror} (${mismatchText(x.reason)})`).join(', '),
    ]),
  );
}

async function add(ctx: CliContext, patternArg: string, mirrorId: string): Promise<void> {
  const pattern = normaliseFilePattern(patternArg);
  const m = await ctx.mirror(mirrorId);
  const db = ctx.db();
  if (!hasWildcard(pattern) && !(await fileByPath(db, pattern))) {
    let described;
    try {
      described = await describeOriginFile(ctx.config().origin.root, pattern);
    } catch (e) {
      if (e instanceof OriginFileError) throw new CliFailure(`cannot add '${pattern}': ${e.message}`);
      throw e;
    }
    const row = await upsertFile(db, { path: pattern, ...described }, [m.id]);
    ctx.out(`created file row '${row.path}' (${formatBytes(row.size)}) from the origin tree, held by mirror '${m.identifier}'`);
    return;
  }
  const r = await addMirrorToFiles(db, globToLike(pattern), m.id);
  if (!r.matched) throw new CliFailure(`no file matches '${pattern}': see \`mirrorlane file ls\``);
  ctx.out(`mirror '${m.identifier}' now holds ${r.matched} matching file(s): ${r.changed} changed, ${r.matched - r.changed} already held`);
}

async function rm(ctx: CliContext, patternArg: string, opts: { mirror?: string; forget?: boolean; yes?: boolean }): Promise<void> {
  const pattern = normaliseFilePattern(patternArg);
  const like = globToLike(pattern);
  if (opts.forget && opts.mirror !== undefined) throw new UsageError('--forget and --mirror exclude each other: give one');
  if (!opts.forget && opts.mirror === undefined) throw new UsageError('give --mirror ID (take a mirror off the files) or --forget (delete the file rows)');
  const db = ctx.db();
  if (opts.forget) {
    const n = await countFiles(db, like);
    if (!n) {
      ctx.out(`no file matches '${pattern}': nothing deleted`);
      return;
    }
    if (!opts.yes) {
      if (!ctx.io.interactive || !ctx.io.confirm) {
        throw new UsageError(`refusing to delete ${n} file row(s) without confirmation: rerun with --yes`);
      }
      if (!(await ctx.io.confirm(`delete ${n} file row(s) matching '${pattern}'? [y/N] `))) {
        ctx.out('nothing deleted');
        return;
      }
    }
    const deleted = await deleteFiles(db, like);
    ctx.out(`deleted ${deleted} file row(s) matching '${pattern}'`);
    return;
  }
  const m = await ctx.mirror(opts.mirror!);
  const r = await removeMirrorFromFiles(db, like, m.id);
  if (!r.matched) {
    ctx.out(`no file matches '${pattern}': nothing changed`);
    return;
  }
  ctx.out(`mirror '${m.identifier}' taken off ${r.changed} of ${r.matched} matching file(s)`);
}
