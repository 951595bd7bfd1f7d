// The csv snapshot format: one RFC 4180 file (CRLF, quotes doubled) holding all three tables.
//
//   table,identifier,http_url,…,probe_failures,mirror,author,body,client_asn     ← header: the union of the fields
//   mirror,ftp-a,http://ftp.example/pub/,…                                      ← one row per mirror,
//   note,,,…,2024-05-01T12:34:56.000000Z,…,ftp-a,alice,"asked for https"        ← then per note,
//   peer,,,…,2024-05-01T12:34:56.000000Z,…,ftp-a,,,64500                         ← then per AS peer
//
// The first column names the table; a row fills the columns of its table's fields and leaves the others empty
// (created_at is shared by all three). Columns are found by name, so their order may change; a missing or unknown
// column is an error. Cells: NULL is an empty unquoted cell, the empty string is "" (PostgreSQL's COPY CSV rule);
// booleans true/false; lists (country codes, networks) separated by single spaces; timestamps as in json. Pure.
import { readCsv, writeCsv, type CsvField } from '../csv.ts';
import { TABLE_FIELDS, TABLE_KEYS, type Field, type Snapshot, type TableName, type Value } from './schema.ts';
import { SnapshotError, validateRows, type ParsedRow } from './validate.ts';

/** The header: "table", then every field of mirror, note and peer, each name once, in that order. */
export const CSV_COLUMNS: readonly string[] = (() => {
  const cols = ['table'];
  for (const [table] of TABLE_KEYS) for (const f of TABLE_FIELDS[table]) if (!cols.includes(f.name)) cols.push(f.name);
  return cols;
})();

function cellOf(f: Field, v: Value, where: string): string | null {
  if (v === null) return null;
  if (Array.isArray(v)) {
    const bad = v.find((x) => x === '' || /\s/.test(x));
    if (bad !== undefined) throw new SnapshotError(`${where}: ${f.name} holds ${JSON.stringify(bad)}, which a space-separated CSV list cannot carry`);
    return v.join(' ');
  }
  return String(v);
}

export function toCsv(snap: Snapshot): string {
  const records: (string | null)[][] = [CSV_COLUMNS.slice()];
  for (const [table, key] of TABLE_KEYS) {
    const fields = TABLE_FIELDS[table];
    for (const row of snap[key]) {
      const rec: (string | null)[] = CSV_COLUMNS.map(() => null);
      rec[0] = table;
      const where = `${table} ${JSON.stringify(row.identifier ?? row.mirror)}`;
      for (const f of fields) rec[CSV_COLUMNS.indexOf(f.name)] = cellOf(f, row[f.name], where);
      records.push(rec);
    }
  }
  return writeCsv(records);
}

/** A cell back to a typed value; what does not parse stays a string so the validator names it. */
function valueOf(f: Field, cell: CsvField): unknown {
  const s = cell.value;
  if (s === '' && !cell.quoted) {
    if (f.kind === 'text') return '';
    if (f.kind === 'list') return [];
    return null;
  }
  switch (f.kind) {
    case 'int':
    case 'int?':
      return /^-?\d+$/.test(s) ? Number(s) : s;
    case 'float?':
      return /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : s;
    case 'bool':
      return s === 'true' ? true : s === 'false' ? false : s;
    case 'list':
      return s === '' ? [] : s.split(' ');
    default:
      return s;
  }
}

const TABLES = new Set<string>(TABLE_KEYS.map(([t]) => t));

export function fromCsv(text: string): Snapshot {
  const records = readCsv(text).filter((r) => !(r.fields.length === 1 && r.fields[0].value === '' && !r.fields[0].quoted));
  if (!records.length) throw new SnapshotError('the CSV file is empty: it needs at least the header line');
  const header = records[0].fields.map((f) => f.value);
  const seen = new Set<string>();
  for (const name of header) {
    if (!CSV_COLUMNS.includes(name)) throw new SnapshotError(`line ${records[0].line}: unknown column '${name}' in the CSV header`);
    if (seen.has(name)) throw new SnapshotError(`line ${records[0].line}: column '${name}' appears twice in the CSV header`);
    seen.add(name);
  }
  // Columns added since an export was made may be absent (their fields have an `absent` value).
  const optional = new Set(Object.values(TABLE_FIELDS).flatMap((fs) => fs.filter((f) => f.absent !== undefined).map((f) => f.name)));
  const missing = CSV_COLUMNS.filter((c) => !seen.has(c) && !optional.has(c));
  if (missing.length) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
    throw new SnapshotError(`line ${records[0].line}: the CSV header lacks column '${missing[0]}'${more}`);
  }
  const index = new Map(header.map((name, i) => [name, i]));
  const rows: ParsedRow[] = [];
  for (const rec of records.slice(1)) {
    const where = `line ${rec.line}`;
    if (rec.fields.length !== header.length) {
      throw new SnapshotError(`${where}: ${rec.fields.length} fields, but the header has ${header.length}`);
    }
    const table = rec.fields[index.get('table')!].value;
    if (!TABLES.has(table)) throw new SnapshotError(`${where}: table must be mirror, note or peer, got ${JSON.stringify(table)}`);
    const fields = TABLE_FIELDS[table as TableName];
    const own = new Set(fields.map((f) => f.name));
    const values: Record<string, unknown> = {};
    for (const f of fields) if (index.has(f.name)) values[f.name] = valueOf(f, rec.fields[index.get(f.name)!]);
    for (const name of CSV_COLUMNS) {
      if (name === 'table' || own.has(name) || !index.has(name)) continue;
      const cell = rec.fields[index.get(name)!];
      if (cell.value !== '' || cell.quoted) throw new SnapshotError(`${where}: column '${name}' is not a field of a ${table} row and must be empty`);
    }
    rows.push({ table: table as TableName, where, values });
  }
  return validateRows(rows);
}

