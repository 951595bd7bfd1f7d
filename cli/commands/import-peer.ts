// `mirrorlane import --from mirrorbrain FILE` and `--from mirrorbits REDIS-URL`: mirrors (with their comments as
// notes) from the systems operators come from. Every peer field is mapped or reported as dropped; every row is
// checked (core/export/validate.ts) before anything is written, in one transaction; --dry-run shows what would
// be written and writes nothing.
import fs from 'node:fs';
import { ImportConflict, writeSnapshot } from '../../core/export/db.ts';
import { newMirrorDefaults, toSnapshot, type PeerMirror } from '../../core/import/peer-rows.ts';
import { mapMirrorbitsHash, readMirrorbits, RedisReadError } from '../../core/import/mirrorbits.ts';
import { mapServerRow } from '../../core/import/mirrorbrain.ts';
import { readServerRows } from '../../core/import/server-table.ts';
import { SnapshotError, show } from '../../core/export/validate.ts';
import type { Row } from '../../core/export/schema.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';

export const PEERS = ['mirrorbrain', 'mirrorbits'] as const;

async function peerMirrors(from: string, source: string): Promise<{ mirrors: PeerMirror[]; what: string }> {
  if (from === 'mirrorbrain') {
    let text: string;
    try {
      text = fs.readFileSync(source === '-' ? 0 : source, 'utf8');
    } catch (e) {
      throw new CliFailure(`cannot read ${source}: ${(e as Error).message}`);
    }
    const { format, rows } = readServerRows(text);
    return { mirrors: rows.map(mapServerRow), what: `${source} (MirrorBrain server table, ${format})` };
  }
  if (!/^rediss?:\/\//.test(source)) throw new UsageError(`--from mirrorbits takes a Redis URL (redis://host:6379/0), got '${source}'`);
  try {
    return { mirrors: (await readMirrorbits(source)).map(mapMirrorbitsHash), what: `Mirrorbits at ${source.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')}` };
  } catch (e) {
    if (e instanceof RedisReadError) throw new CliFailure(e.message);
    throw e;
  }
}

/** "score=50 country=DE …": the fields that differ from a new mirror's defaults. */
function describe(row: Row): string {
  const defaults = newMirrorDefaults('');
  return Object.entries(row)
    .filter(([k, v]) => k !== 'identifier' && k !== 'created_at' && k !== 'updated_at' && JSON.stringify(v) !== JSON.stringify(defaults[k]))
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : show(v).replace(/^"(.*)"$/, '$1')}`)
    .join(' ');
}

export async function importFromPeer(ctx: CliContext, from: string, source: string, opts: { dryRun?: boolean; replace?: boolean }): Promise<void> {
  if (!(PEERS as readonly string[]).includes(from)) throw new UsageError(`--from must be one of ${PEERS.join(', ')}, got '${from}'`);
  if (opts.replace) throw new UsageError('--replace is for Mirrorlane exports; an import from a peer only adds mirrors');
  let mirrors: PeerMirror[];
  let what: string;
  let snap;
  try {
    ({ mirrors, what } = await peerMirrors(from, source));
    snap = toSnapshot(mirrors, `import from ${from}`);
  } catch (e) {
    if (e instanceof SnapshotError) throw new CliFailure(`${source}: ${e.message}; nothing imported`);
    throw e;
  }
  if (!mirrors.length) throw new CliFailure(`${what}: no mirrors found; nothing imported`);
  try {
    await writeSnapshot(ctx.db(), snap, { replace: false, dryRun: opts.dryRun });
  } catch (e) {
    if (e instanceof ImportConflict) throw new CliFailure(`${source}: ${e.message}; nothing imported`);
    throw e;
  }
  const lines: string[] = [];
  for (const row of snap.mirrors) lines.push(`${opts.dryRun ? 'would add' : 'added'} mirror '${row.identifier}': ${describe(row)}`);
  for (const n of snap.notes) lines.push(`${opts.dryRun ? 'would add' : 'added'} note on '${n.mirror}': ${show(n.body)}`);
  // Dropped fields once each, with the mirrors that had them.
  const dropped = new Map<string, number>();
  for (const m of mirrors) for (const d of m.dropped) dropped.set(d, (dropped.get(d) ?? 0) + 1);
  for (const [d, n] of dropped) lines.push(`dropped ${d} (${n} mirror(s))`);
  const summary = `${snap.mirrors.length} mirror(s) and ${snap.notes.length} note(s) from ${what}`;
  lines.push(opts.dryRun ? `dry run, nothing written: would import ${summary}` : `imported ${summary}; they are disabled unless enabled there: check, then \`mirrorlane mirror enable\``);
  ctx.out(lines.join('\n'));
}
