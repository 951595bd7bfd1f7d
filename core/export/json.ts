// The json snapshot format: one document
//   {"format": "mirrorlane-export", "version": 1, "mirrors": [...], "notes": [...], "peers": [...]}
// with each row an object whose keys are the fields of schema.ts in that order. Two-space indentation, a final
// newline, rows sorted (sortSnapshot): the same data gives the same bytes. Pure.
import { FORMAT_NAME, FORMAT_VERSION, TABLE_FIELDS, TABLE_KEYS, type Row, type Snapshot } from './schema.ts';
import { SnapshotError, validateRows, type ParsedRow } from './validate.ts';

/** Rows rebuilt in field order so that key order never depends on how the row was made. */
function ordered(row: Row, table: keyof typeof TABLE_FIELDS): Row {
  const out: Row = {};
  for (const f of TABLE_FIELDS[table]) out[f.name] = row[f.name];
  return out;
}

export function toJson(snap: Snapshot): string {
  const doc: Record<string, unknown> = { format: FORMAT_NAME, version: FORMAT_VERSION };
  for (const [table, key] of TABLE_KEYS) doc[key] = snap[key].map((r) => ordered(r, table));
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export function fromJson(text: string): Snapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const hint = text.trim() === '' ? 'the file is empty' : /end of (JSON )?input|Unterminated/i.test(msg) ? 'the file looks truncated' : 'invalid JSON';
    throw new SnapshotError(`${hint}: ${msg}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SnapshotError('the JSON document must be an object');
  const d = doc as Record<string, unknown>;
  if (d.format !== FORMAT_NAME) throw new SnapshotError(`not a Mirrorlane export: "format" must be "${FORMAT_NAME}", got ${JSON.stringify(d.format ?? null)}`);
  if (d.version !== FORMAT_VERSION) {
    throw new SnapshotError(`export format version ${JSON.stringify(d.version ?? null)} is not supported: this Mirrorlane reads version ${FORMAT_VERSION}`);
  }
  const known = new Set(['format', 'version', ...TABLE_KEYS.map(([, k]) => k)]);
  for (const k of Object.keys(d)) if (!known.has(k)) throw new SnapshotError(`unknown top-level key '${k}'`);
  const rows: ParsedRow[] = [];
  for (const [table, key] of TABLE_KEYS) {
    const list = d[key];
    if (!Array.isArray(list)) throw new SnapshotError(`"${key}" must be a list`);
    list.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new SnapshotError(`${key}[${i}] must be an object`);
      rows.push({ table, where: `${key}[${i}]`, values: item as Record<string, unknown> });
    });
  }
  return validateRows(rows);
}
