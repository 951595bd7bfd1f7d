// `mirrorlane mirror note add|list`: the dated admin history of a mirror.
import type { Command } from 'commander';
import { addNote, listNotes } from '../../core/db/notes.ts';
import { UsageError, type CliContext } from './context.ts';
import { formatTime } from './output.ts';

export function registerNoteCommands(mirror: Command, ctx: CliContext): void {
  const note = mirror.command('note').description('dated admin notes on a mirror (never public)');

  note
    .command('add')
    .description('add a note to a mirror; the words of TEXT are joined with spaces')
    .argument('<identifier>')
    .argument('<text...>')
    .option('--author <name>', 'who wrote it (default: $SUDO_USER, else $USER)')
    .action(async (identifier: string, words: string[], opts: { author?: string }) => {
      const body = words.join(' ').trim();
      if (!body) throw new UsageError('TEXT may not be empty');
      const author = (opts.author ?? ctx.io.env.SUDO_USER ?? ctx.io.env.USER ?? '').trim();
      const m = await ctx.mirror(identifier);
      const n = await addNote(ctx.db(), m.id, author, body);
      ctx.out(`added note ${n.id} to mirror '${m.identifier}' (${formatTime(n.createdAt)}${author ? `, ${author}` : ''})`);
    });

  note
    .command('list')
    .alias('ls')
    .description('notes of a mirror, oldest first')
    .argument('<identifier>')
    .option('--json', 'print JSON')
    .action(async (identifier: string, opts: { json?: boolean }) => {
      const m = await ctx.mirror(identifier);
      const notes = await listNotes(ctx.db(), m.id);
      if (opts.json) return ctx.json(notes);
      if (!notes.length) return ctx.out(`no notes on mirror '${m.identifier}'`);
      ctx.table(['date', 'author', 'note'], notes.map((n) => [formatTime(n.createdAt), n.author, n.body]));
    });
}
