// `mirrorlane export` and `mirrorlane import`: every mirror, note and AS peer to a file and back (json, csv, sql),
// and mirmon's mirror list (export only). Formats: core/export/.
import fs from 'node:fs';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../core/export/atomic-file.ts';
import { ImportConflict, readSnapshot, writeSnapshot, type ImportCounts } from '../../core/export/db.ts';
import { detectFormat, EXPORT_FORMATS, IMPORT_FORMATS, isExportFormat, isImportFormat, parseSnapshot, serialise, type ImportFormat } from '../../core/export/formats.ts';
import { SnapshotError } from '../../core/export/validate.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';
import { importFromPeer, PEERS } from './import-peer.ts';

export function registerExportCommands(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description('write every mirror (all fields), note and AS peer to stdout or a file; mirmon formats: the enabled mirrors\' URLs for mirmon')
    .option('--format <format>', EXPORT_FORMATS.join(', '), 'json')
    .option('-o, --output <file>', 'write to FILE atomically (mode 0600 when new: it holds admin contacts) instead of stdout')
    .action(async (opts: { format: string; output?: string }) => exportCmd(ctx, opts));

  program
    .command('import')
    .description('read mirrors, notes and AS peers from an export; everything is checked before anything is written, in one transaction')
    .argument('<file>', "an export in json, csv or sql ('-': stdin)")
    .option('--format <format>', `${IMPORT_FORMATS.join(', ')} (default: from the file name or its first line)`)
    .option('--replace', 'make the database equal the file: delete mirrors it lacks, overwrite those it has (they keep their files), replace all notes and peers')
    .option('--dry-run', 'check the file and report what would change, writing nothing')
    .option('--from <system>', `import mirrors from ${PEERS.join(' or ')}: FILE is MirrorBrain's server table (mb export, pg_dump --data-only, CSV), or Mirrorbits' Redis URL`)
    .action(async (file: string, opts: { format?: string; replace?: boolean; dryRun?: boolean; from?: string }) =>
      opts.from === undefined ? importCmd(ctx, file, opts) : importFromPeer(ctx, opts.from, file, opts));
}

async function exportCmd(ctx: CliContext, opts: { format: string; output?: string }): Promise<void> {
  if (!isExportFormat(opts.format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got '${opts.format}'`);
  const snap = await readSnapshot(ctx.db());
  let text: string;
  try {
    text = serialise(opts.format, snap);
  } catch (e) {
    if (e instanceof SnapshotError) throw new CliFailure(`cannot export as ${opts.format}: ${e.message}`);
    throw e;
  }
  if (!opts.output) return ctx.io.stdout(text);
  try {
    writeFileAtomic(opts.output, text, 0o600);
  } catch (e) {
    throw new CliFailure(`cannot write ${opts.output}: ${(e as Error).message}`);
  }
  const what = opts.format.startsWith('mirmon') ? `${text.split('\n').filter(Boolean).length} URL(s)` : counts(snap.mirrors.length, snap.notes.length, snap.peers.length);
  ctx.out(`wrote ${opts.output} (${opts.format}): ${what}`);
}

function counts(mirrors: number, notes: number, peers: number): string {
  return `${mirrors} mirror(s), ${notes} note(s), ${peers} AS peer(s)`;
}

function readInput(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    throw new CliFailure(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliFailure(`${file}: not UTF-8 text`);
  }
}

function chooseFormat(file: string, text: string, given: string | undefined): ImportFormat {
  if (given !== undefined) {
    if (given.startsWith('mirmon')) {
      throw new UsageError(`the ${given} format cannot be imported: it holds only URLs, countries and e-mail addresses; import a json, csv or sql export`);
    }
    if (!isImportFormat(given)) throw new UsageError(`--format must be one of ${IMPORT_FORMATS.join(', ')}, got '${given}'`);
    return given;
  }
  const found = detectFormat(file, text);
  if (!found) throw new UsageError(`cannot tell the format of ${file}: give --format ${IMPORT_FORMATS.join('|')}`);
  return found;
}

async function importCmd(ctx: CliContext, file: string, opts: { format?: string; replace?: boolean; dryRun?: boolean }): Promise<void> {
  const text = readInput(file);
  const format = chooseFormat(file, text, opts.format);
  let snap;
  try {
    snap = parseSnapshot(format, text);
  } catch (e) {
    if (e instanceof SnapshotError) throw new CliFailure(`${file} (${format}): ${e.message}; nothing imported`);
    throw e;
  }
  let c: ImportCounts;
  try {
    c = await writeSnapshot(ctx.db(), snap, { replace: Boolean(opts.replace), dryRun: opts.dryRun });
  } catch (e) {
    if (e instanceof ImportConflict) throw new CliFailure(`${file}: ${e.message}; nothing imported`);
    throw e;
  }
  const mirrors = [`${c.mirrorsInserted} new`];
  if (opts.replace) mirrors.push(`${c.mirrorsUpdated} replaced`, `${c.mirrorsDeleted} deleted`);
  const gone = opts.replace ? `; replaced ${c.notesDeleted} note(s) and ${c.peersDeleted} AS peer(s) that were there` : '';
  const line = `${snap.mirrors.length} mirror(s) (${mirrors.join(', ')}), ${c.notes} note(s), ${c.peers} AS peer(s) from ${file} (${format})${gone}`;
  ctx.out(opts.dryRun ? `dry run, nothing written: would import ${line}` : `imported ${line}`);
}
