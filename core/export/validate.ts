// Checks a parsed snapshot completely before anything is written: every field of every row (type, range, shape),
// the rules across fields, and the references between tables. The first problem becomes one line naming the row
// (as the format locates it: "mirrors[2]", "line 7") and the field. Pure.
import { identifierKey } from '../validate.ts';
import { TABLE_FIELDS, TABLE_KEYS, TIMESTAMP_RE, type Field, type Row, type Snapshot, type TableName } from './schema.ts';

export class SnapshotError extends Error {}

/** A row as a parser found it: values not yet checked, and where it was in the input. */
export interface ParsedRow {
  table: TableName;
  /** "mirrors[2]", "line 7": how the input's own format locates the row. */
  where: string;
  values: Record<string, unknown>;
}

/** A value for a message: JSON-quoted so that newlines stay on one line, and cut when long. */
export function show(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function label(row: ParsedRow): string {
  const key = row.table === 'mirror' ? row.values.identifier : row.values.mirror;
  const what = row.table === 'mirror' ? 'mirror' : row.table === 'note' ? 'note on' : 'AS peer of';
  return typeof key === 'string' && key !== '' ? `${row.where} (${what} '${key}')` : `${row.where} (${row.table})`;
}

const KIND_RULE: Record<Field['kind'], string> = {
  text: 'a string',
  'text?': 'a string or null',
  int: 'an integer',
  'int?': 'an integer or null',
  'float?': 'a number or null',
  bool: 'true or false',
  list: 'a list of strings',
  time: 'a timestamp (2024-05-01T12:34:56.000000Z)',
  'time?': 'a timestamp (2024-05-01T12:34:56.000000Z) or null',
};

function hasKind(f: Field, v: unknown): boolean {
  const nullable = f.kind.endsWith('?');
  if (v === null) return nullable;
  switch (f.kind) {
    case 'text':
    case 'text?':
      return typeof v === 'string';
    case 'int':
    case 'int?':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'float?':
      return typeof v === 'number' && Number.isFinite(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'list':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'time':
    case 'time?':
      return typeof v === 'string' && TIMESTAMP_RE.test(v) && !Number.isNaN(Date.parse(v));
  }
}

function checkRow(row: ParsedRow): Row {
  const fields = TABLE_FIELDS[row.table];
  const fail = (msg: string): never => {
    throw new SnapshotError(`${label(row)}: ${msg}`);
  };
  const names = new Set(fields.map((f) => f.name));
  for (const k of Object.keys(row.values)) if (!names.has(k)) fail(`unknown field '${k}'`);
  const out: Row = {};
  for (const f of fields) {
    if (!(f.name in row.values) && f.absent === undefined) fail(`field '${f.name}' is missing`);
    const v = f.name in row.values ? row.values[f.name] : f.absent;
    if (!hasKind(f, v)) fail(`${f.name} must be ${KIND_RULE[f.kind]}, got ${show(v)}`);
    // PostgreSQL text cannot hold NUL.
    if ((typeof v === 'string' && v.includes('\0')) || (Array.isArray(v) && v.some((x) => x.includes('\0')))) {
      fail(`${f.name} may not contain a NUL character`);
    }
    if (v !== null && f.check) {
      const rule = f.check(v);
      if (rule) fail(`${f.name} must be ${rule}, got ${show(v)}`);
    }
    out[f.name] = v as Row[string];
  }
  if (row.table === 'mirror') {
    if (out.http_url === null && out.https_url === null && out.ftp_url === null && out.rsync_url === null) {
      fail('a mirror needs at least one of http_url, https_url, ftp_url, rsync_url');
    }
    if ((out.lat === null) !== (out.lng === null)) fail('lat and lng go together: both numbers or both null');
  }
  return out;
}

/** Every row checked, then uniqueness and references; returns the snapshot or throws SnapshotError. */
export function validateRows(rows: ParsedRow[]): Snapshot {
  const snap: Snapshot = { mirrors: [], notes: [], peers: [] };
  const key = Object.fromEntries(TABLE_KEYS) as Record<TableName, keyof Snapshot>;
  const checked = rows.map((r) => {
    const row = checkRow(r);
    snap[key[r.table]].push(row);
    return row;
  });
  const identifiers = new Map<string, ParsedRow>();
  const peerPairs = new Set<string>();
  rows.forEach((r, i) => {
    const row = checked[i];
    if (r.table === 'mirror') {
      const id = row.identifier as string;
      const first = identifiers.get(identifierKey(id));
      if (first && first.values.identifier === id) throw new SnapshotError(`${label(r)}: identifier '${id}' appears twice (first at ${first.where})`);
      if (first) {
        throw new SnapshotError(`${label(r)}: identifier '${id}' differs from '${String(first.values.identifier)}' (${first.where}) only by case`);
      }
      identifiers.set(identifierKey(id), r);
    }
  });
  rows.forEach((r, i) => {
    const row = checked[i];
    if (r.table === 'mirror') return;
    const owner = identifiers.get(identifierKey(row.mirror as string));
    if (!owner || owner.values.identifier !== row.mirror) {
      throw new SnapshotError(`${label(r)}: mirror '${row.mirror}' is not among the mirrors of this file`);
    }
    if (r.table === 'peer') {
      const pair = `${row.client_asn} ${row.mirror}`;
      if (peerPairs.has(pair)) throw new SnapshotError(`${label(r)}: AS${row.client_asn} → '${row.mirror}' appears twice`);
      peerPairs.add(pair);
    }
  });
  return snap;
}
