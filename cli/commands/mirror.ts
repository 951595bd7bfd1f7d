// `mirrorlane mirror …`: add, list, show, edit, enable, disable, rename, delete (notes: note.ts).
import type { Command } from 'commander';
import { parseContinent, parseCountry, parseIdentifier } from '../../core/cli-parse.ts';
import {
  deleteMirror,
  fileCountOfMirror,
  fileCountsByMirror,
  insertMirror,
  listMirrors,
  mirrorByIdentifier,
  renameMirror,
  setEnabled,
  updateMirror,
  type MirrorInput,
  type MirrorPatch,
} from '../../core/db/mirrors.ts';
import { listEvents } from '../../core/db/events.ts';
import { listNotes } from '../../core/db/notes.ts';
import type { Mirror } from '../../core/types.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';
import { fillFromGeoIp } from './mirror-geoip.ts';
import { addFieldOptions, checkMirrorShape, continentFor, FIELD_LABELS, fieldsFromOptions } from './mirror-fields.ts';
import { eventLines, registerMirrorLogCommand, SHOW_EVENTS } from './mirror-log.ts';
import { registerNoteCommands } from './note.ts';
import { formatBytes, formatTime, yesNo } from './output.ts';

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(e: unknown): boolean {
  return (e as { code?: string }).code === UNIQUE_VIOLATION;
}

/** The failure for an identifier taken already, exactly or by a mirror whose identifier differs only by case; null if free. */
async function takenIdentifier(ctx: CliContext, identifier: string, what: string): Promise<CliFailure | null> {
  const { rows } = await ctx.db().query('SELECT identifier FROM mirror WHERE lower(identifier) = lower($1)', [identifier]);
  const other = rows[0]?.identifier as string | undefined;
  if (other === undefined) return null;
  if (other !== identifier) {
    return new CliFailure(`'${identifier}' differs from mirror '${other}' only by case: identifiers are unique regardless of case; ${what}`);
  }
  return new CliFailure(`mirror '${identifier}' already exists: ${what}`);
}

export function registerMirrorCommands(program: Command, ctx: CliContext): void {
  const mirror = program.command('mirror').description('manage mirrors: add, list, show, edit, enable, disable, rename, delete, notes, log');

  addFieldOptions(
    mirror
      .command('add')
      .description('add a mirror; it starts disabled. Location and AS not given are looked up by GeoIP from the host of its first URL')
      .argument('<identifier>', 'short unique name: letters, digits, . _ -'),
    'add',
  )
    .option('--enable', 'enable it at once instead of starting disabled')
    .action(async (identifier: string, _opts: unknown, cmd: Command) => addMirror(ctx, identifier, cmd));

  mirror
    .command('list')
    .alias('ls')
    .description('list mirrors with health, location, score, URLs and number of files held')
    .option('--country <cc>', 'only mirrors of this country')
    .option('--continent <cc>', 'only mirrors of this continent')
    .option('--enabled', 'only enabled mirrors')
    .option('--disabled', 'only disabled mirrors')
    .option('--json', 'print JSON')
    .action(async (opts: ListOptions) => list(ctx, opts));

  mirror
    .command('show')
    .description('every field of a mirror, its notes and the number of files it holds')
    .argument('<identifier>')
    .option('--json', 'print JSON')
    .action(async (identifier: string, opts: { json?: boolean }) => show(ctx, identifier, opts));

  addFieldOptions(
    mirror
      .command('edit')
      .description('change fields of a mirror; --no-FLAG clears a URL, the AS, the size limit or a list, --no-coordinates clears lat/lng, an empty string clears a text')
      .argument('<identifier>'),
    'edit',
  ).action(async (identifier: string, _opts: unknown, cmd: Command) => edit(ctx, identifier, cmd));

  for (const enabled of [true, false]) {
    mirror
      .command(enabled ? 'enable' : 'disable')
      .description(enabled ? 'let the redirector send clients to these mirrors' : 'stop sending clients to these mirrors')
      .argument('<identifier...>')
      .action(async (ids: string[]) => toggle(ctx, ids, enabled));
  }

  mirror
    .command('rename')
    .description('change the identifier of a mirror')
    .argument('<old>')
    .argument('<new>')
    .action(async (from: string, to: string) => rename(ctx, from, to));

  mirror
    .command('delete')
    .alias('rm')
    .description('delete a mirror with its notes; it is taken out of every file row')
    .argument('<identifier>')
    .option('--yes', 'do not ask (required when stdin is not a terminal)')
    .action(async (identifier: string, opts: { yes?: boolean }) => remove(ctx, identifier, opts));

  registerNoteCommands(mirror, ctx);
  registerMirrorLogCommand(mirror, ctx);
}

// ---- add

async function addMirror(ctx: CliContext, identifierArg: string, cmd: Command): Promise<void> {
  const identifier = parseIdentifier('IDENTIFIER', identifierArg);
  const input: MirrorInput = { identifier, ...fieldsFromOptions(cmd) };
  checkMirrorShape(
    {
      httpUrl: input.httpUrl ?? null,
      httpsUrl: input.httpsUrl ?? null,
      ftpUrl: input.ftpUrl ?? null,
      rsyncUrl: input.rsyncUrl ?? null,
      lat: input.lat ?? null,
      lng: input.lng ?? null,
      ipv4: input.ipv4 ?? true,
      ipv6: input.ipv6 ?? false,
    },
    'add',
  );
  const db = ctx.db();
  if (await mirrorByIdentifier(db, identifier)) {
    throw new CliFailure(`mirror '${identifier}' already exists: see \`mirrorlane mirror show ${identifier}\`, change it with \`mirrorlane mirror edit\``);
  }
  const taken = await takenIdentifier(ctx, identifier, 'see `mirrorlane mirror list`');
  if (taken) throw taken;
  if (input.country && input.continent === undefined) input.continent = continentFor(input.country) ?? undefined;
  await fillFromGeoIp(ctx, input);
  input.enabled = cmd.opts().enable === true;

  let m: Mirror;
  try {
    m = await insertMirror(db, input);
  } catch (e) {
    if (isUniqueViolation(e)) throw (await takenIdentifier(ctx, identifier, 'see `mirrorlane mirror list`')) ?? e;
    throw e;
  }
  ctx.out(`added mirror '${m.identifier}' (id ${m.id}): ${describeLocation(m)}`);
  if (!m.enabled) ctx.out(`it is disabled: check it, then enable it with \`mirrorlane mirror enable ${m.identifier}\``);
}

function describeLocation(m: Mirror): string {
  const parts = [m.country ? `country ${m.country}` : 'no country', m.continent ? `continent ${m.continent}` : 'no continent'];
  if (m.lat !== null && m.lng !== null) parts.push(`at ${m.lat},${m.lng}`);
  if (m.asn !== null) parts.push(`AS${m.asn}`);
  parts.push(`score ${m.score}`, m.enabled ? 'enabled' : 'disabled');
  return parts.join(', ');
}

// ---- list, show

interface ListOptions {
  country?: string;
  continent?: string;
  enabled?: boolean;
  disabled?: boolean;
  json?: boolean;
}

export function healthText(m: Mirror): string {
  let s: string = m.health;
  if (m.healthReason) s += `: ${m.healthReason}`;
  if (m.healthSince) s += ` since ${formatTime(m.healthSince)}`;
  return s;
}

/** "mirror.example (http https), rsync.example (rsync)": hosts with the protocols they serve. */
export function shortUrls(m: Mirror): string {
  const byHost = new Map<string, string[]>();
  for (const [scheme, url] of [['http', m.httpUrl], ['https', m.httpsUrl], ['ftp', m.ftpUrl], ['rsync', m.rsyncUrl]] as const) {
    if (!url) continue;
    let host: string;
    try {
      host = new URL(url).host;
    } catch {
      host = url;
    }
    byHost.set(host, [...(byHost.get(host) ?? []), scheme]);
  }
  return [...byHost].map(([host, schemes]) => `${host} (${schemes.join(' ')})`).join(', ');
}

async function list(ctx: CliContext, opts: ListOptions): Promise<void> {
  if (opts.enabled && opts.disabled) throw new UsageError('--enabled and --disabled exclude each other: give one');
  const country = opts.country === undefined ? null : parseCountry('--country', opts.country, { wildcard: true });
  const continent = opts.continent === undefined ? null : parseContinent('--continent', opts.continent);
  const db = ctx.db();
  const [mirrors, counts] = await Promise.all([listMirrors(db), fileCountsByMirror(db)]);
  const shown = mirrors.filter(
    (m) =>
      (country === null || m.country === country) &&
      (continent === null || m.continent === continent) &&
      (!opts.enabled || m.enabled) &&
      (!opts.disabled || !m.enabled),
  );
  if (opts.json) {
    ctx.json(shown.map((m) => ({ ...m, fileCount: counts.get(m.id) ?? 0 })));
    return;
  }
  if (!shown.length) {
    ctx.out(mirrors.length ? 'no mirror matches' : 'no mirrors yet: add one with `mirrorlane mirror add`');
    return;
  }
  ctx.table(
    ['identifier', 'enabled', 'health', 'country', 'cont.', 'score', 'urls', 'files'],
    shown.map((m) => [m.identifier, yesNo(m.enabled), healthText(m), m.country, m.continent, m.score, shortUrls(m), counts.get(m.id) ?? 0]),
  );
}

async function show(ctx: CliContext, identifier: string, opts: { json?: boolean }): Promise<void> {
  const m = await ctx.mirror(identifier);
  const db = ctx.db();
  const [notes, fileCount, events] = await Promise.all([listNotes(db, m.id), fileCountOfMirror(db, m.id), listEvents(db, m.id, { last: SHOW_EVENTS })]);
  if (opts.json) {
    ctx.json({ ...m, fileCount, notes, recentEvents: events });
    return;
  }
  const rows: [string, string][] = [
    ['identifier', m.identifier],
    ['id', String(m.id)],
    ['enabled', yesNo(m.enabled)],
    ['health', healthText(m)],
    ['http', m.httpUrl ?? ''],
    ['https', m.httpsUrl ?? ''],
    ['ftp', m.ftpUrl ?? ''],
    ['rsync', m.rsyncUrl ?? ''],
    ['country', m.country],
    ['continent', m.continent],
    ['other countries', m.otherCountries.join(' ')],
    ['coordinates', m.lat !== null && m.lng !== null ? `${m.lat},${m.lng}` : ''],
    ['asn', m.asn !== null ? `AS${m.asn}` : ''],
    ['prefixes', m.prefixes.join(' ')],
    ['ipv4', yesNo(m.ipv4)],
    ['ipv6', yesNo(m.ipv6)],
    ['score', String(m.score)],
    ['max size', m.fileMaxSize !== null ? `${m.fileMaxSize} (${formatBytes(m.fileMaxSize)})` : 'no limit'],
    ['country only', yesNo(m.countryOnly)],
    ['continent only', yesNo(m.continentOnly)],
    ['as only', yesNo(m.asOnly)],
    ['prefix only', yesNo(m.prefixOnly)],
    ['excluded countries', m.excludedCountries.join(' ')],
    ['accepts ranges', yesNo(m.acceptsRanges)],
    ['operator', m.operatorName],
    ['operator url', m.operatorUrl],
    ['admin', m.adminName],
    ['admin email', m.adminEmail],
    ['public notes', m.publicNotes],
    ['files held', String(fileCount)],
    ['last scan', scanText(m)],
    ['scan counts', m.scan.at ? `found ${m.scan.filesFound ?? '?'}, held ${m.scan.filesHeld ?? '?'}, added ${m.scan.filesAdded ?? '?'}, removed ${m.scan.filesRemoved ?? '?'}` : ''],
    ['timezone fix', m.tzOffsetMs ? `${m.tzOffsetMs / 60_000} min` : 'none'],
    ['last probe', m.probeAt ? `${formatTime(m.probeAt)} (${m.probeSuccesses} ok / ${m.probeFailures} failed in a row)` : 'never'],
    ['created', formatTime(m.createdAt)],
    ['updated', formatTime(m.updatedAt)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`.trimEnd());
  lines.push('', notes.length ? 'notes:' : 'notes: none');
  for (const n of notes) lines.push(`  ${formatTime(n.createdAt)}  ${n.author || '-'}: ${n.body}`);
  lines.push('', `last events (all: mirrorlane mirror log ${m.identifier}):`, ...eventLines(events).map((l) => `  ${l}`));
  ctx.out(lines.join('\n'));
}

// ---- edit

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function display(v: unknown): string {
  if (v === null || v === undefined || v === '') return '(none)';
  if (Array.isArray(v)) return v.length ? v.join(',') : '(none)';
  if (typeof v === 'boolean') return yesNo(v);
  return String(v);
}

async function edit(ctx: CliContext, identifier: string, cmd: Command): Promise<void> {
  const patch: MirrorPatch = fieldsFromOptions(cmd);
  if (!Object.keys(patch).length) {
    throw new UsageError('nothing to change: give at least one field flag, see `mirrorlane mirror edit --help`');
  }
  const m = await ctx.mirror(identifier);
  // A new country brings its continent along unless the continent is given too.
  if (patch.country !== undefined && patch.continent === undefined && patch.country !== m.country) {
    const continent = continentFor(patch.country);
    if (continent) patch.continent = continent;
  }
  const after = { ...m, ...patch };
  checkMirrorShape(after, 'edit');
  const changed = FIELD_LABELS.filter(([key]) => key in patch && !same(m[key], after[key]));
  if (!changed.length) {
    ctx.out(`mirror '${m.identifier}' unchanged: it already has these values`);
    return;
  }
  const updated = await updateMirror(ctx.db(), m.id, patch);
  if (!updated) throw new CliFailure(`mirror '${identifier}' was deleted meanwhile: see \`mirrorlane mirror list\``);
  ctx.out(`updated mirror '${updated.identifier}':`);
  for (const [key, label] of changed) ctx.out(`  ${label}: ${display(m[key])} → ${display(updated[key])}`);
}

// ---- enable, disable, rename, delete

async function toggle(ctx: CliContext, identifiers: string[], enabled: boolean): Promise<void> {
  const db = ctx.db();
  const known = new Set((await listMirrors(db)).map((m) => m.identifier));
  const missing = identifiers.filter((id) => !known.has(id));
  if (missing.length) {
    const names = missing.map((id) => `'${id}'`).join(', ');
    throw new CliFailure(`mirror ${names} not found, nothing changed: see \`mirrorlane mirror list\``);
  }
  const result = await setEnabled(db, identifiers, enabled);
  const word = enabled ? 'enabled' : 'disabled';
  for (const id of new Set(identifiers)) {
    ctx.out(result.get(id) ? `${word} mirror '${id}'` : `mirror '${id}' was already ${word}`);
  }
}

async function rename(ctx: CliContext, from: string, toArg: string): Promise<void> {
  const to = parseIdentifier('NEW', toArg);
  let m: Mirror | null;
  try {
    m = await renameMirror(ctx.db(), from, to);
  } catch (e) {
    if (isUniqueViolation(e)) throw (await takenIdentifier(ctx, to, 'choose another identifier')) ?? e;
    throw e;
  }
  if (!m) throw new CliFailure(`mirror '${from}' not found: see \`mirrorlane mirror list\``);
  ctx.out(`renamed mirror '${from}' to '${to}'`);
}

async function remove(ctx: CliContext, identifier: string, opts: { yes?: boolean }): Promise<void> {
  const m = await ctx.mirror(identifier);
  const db = ctx.db();
  const files = await fileCountOfMirror(db, m.id);
  if (!opts.yes) {
    if (!ctx.io.interactive || !ctx.io.confirm) {
      throw new UsageError(`refusing to delete mirror '${identifier}' without confirmation: rerun with --yes`);
    }
    const ok = await ctx.io.confirm(`delete mirror '${identifier}' (listed on ${files} files) and its notes? [y/N] `);
    if (!ok) {
      ctx.out('nothing deleted');
      return;
    }
  }
  const deleted = await deleteMirror(db, identifier);
  if (!deleted) throw new CliFailure(`mirror '${identifier}' was deleted meanwhile`);
  ctx.out(`deleted mirror '${identifier}' (id ${deleted.id}); it was taken out of ${files} file rows`);
}

/** "2026-11-23 18:01Z over rsync in 1.2 s" or "… failed: <error>"; "never" before the first scan. */
function scanText(m: Mirror): string {
  if (!m.scan.at) return 'never';
  const how = `${formatTime(m.scan.at)}${m.scan.protocol ? ` over ${m.scan.protocol}` : ''}`;
  if (m.scan.error) return `${how} failed: ${m.scan.error}`;
  return m.scan.durationMs === null ? how : `${how} in ${(m.scan.durationMs / 1000).toFixed(1)} s`;
}
