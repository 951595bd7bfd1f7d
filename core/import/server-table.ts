// Reads rows of MirrorBrain's `server` table from what operators have: the SQL that `mb export` writes
// (INSERT INTO server (...) VALUES (...) with $QUOTE$ strings), `pg_dump --data-only` of that table (COPY ... FROM
// stdin, or INSERTs with --inserts), or a CSV with a header row (psql's \copy ... CSV HEADER). Every value comes
// back as text or null, as PostgreSQL would print it; mapping to Mirrorlane's fields is mirrorbrain.ts's job. Pure.
import { CsvError, readCsv } from '../csv.ts';
import { SnapshotError } from '../export/validate.ts';

export interface RawRow {
  /** "line 7": where the row starts in the input. */
  where: string;
  values: Record<string, string | null>;
}

const lineAt = (text: string, i: number) => text.slice(0, i).split('\n').length;

/** The table name as written: server, public.server, "server", public."server". */
const TABLE = String.raw`(?:(?:"?public"?)\.)?"?server"?`;

/** Read one SQL literal at s[i]: '...', E'...', $tag$...$tag$, NULL, a number, true/false. */
function literal(s: string, i: number): { value: string | null; end: number } {
  const rest = s.slice(i);
  const dollar = /^\$([A-Za-z_]*)\$/.exec(rest);
  if (dollar) {
    const tag = dollar[0];
    const close = s.indexOf(tag, i + tag.length);
    if (close < 0) throw new SnapshotError(`line ${lineAt(s, i)}: unterminated ${tag} string`);
    return { value: s.slice(i + tag.length, close), end: close + tag.length };
  }
  const escaped = /^[Ee]'/.test(rest);
  if (rest.startsWith("'") || escaped) {
    let j = i + (escaped ? 2 : 1);
    let out = '';
    for (;;) {
      if (j >= s.length) throw new SnapshotError(`line ${lineAt(s, i)}: unterminated string`);
      const c = s[j];
      if (c === "'" && s[j + 1] === "'") {
        out += "'";
        j += 2;
      } else if (c === "'") {
        j++;
        break;
      } else if (escaped && c === '\\' && j + 1 < s.length) {
        const e = s[j + 1];
        out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        j += 2;
      } else {
        out += c;
        j++;
      }
    }
    // A cast after the literal ('{}'::text[]) says nothing the mapping needs.
    const cast = /^::[A-Za-z_ ]+(\[\])?/.exec(s.slice(j));
    return { value: out, end: j + (cast ? cast[0].length : 0) };
  }
  const word = /^(NULL|true|false|-?\d+(\.\d+)?(e[+-]?\d+)?)\b/i.exec(rest);
  if (!word) throw new SnapshotError(`line ${lineAt(s, i)}: cannot read the value starting ${JSON.stringify(rest.slice(0, 20))}`);
  return { value: word[0].toUpperCase() === 'NULL' ? null : word[0], end: i + word[0].length };
}

/** The tuples after VALUES: (a, b), (c, d) ; */
function tuples(s: string, start: number): { rows: { at: number; values: (string | null)[] }[]; end: number } {
  const rows: { at: number; values: (string | null)[] }[] = [];
  let i = start;
  const skip = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  for (;;) {
    skip();
    if (s[i] !== '(') throw new SnapshotError(`line ${lineAt(s, i)}: expected "(" after VALUES`);
    const at = i;
    i++;
    const values: (string | null)[] = [];
    for (;;) {
      skip();
      const v = literal(s, i);
      values.push(v.value);
      i = v.end;
      skip();
      if (s[i] === ',') i++;
      else if (s[i] === ')') {
        i++;
        break;
      } else throw new SnapshotError(`line ${lineAt(s, i)}: expected "," or ")" in VALUES`);
    }
    rows.push({ at, values });
    skip();
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (s[i] === ';' || i >= s.length) return { rows, end: i + 1 };
    throw new SnapshotError(`line ${lineAt(s, i)}: expected ";" after VALUES`);
  }
}

const columnsOf = (list: string) => list.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));

function fromInserts(text: string): RawRow[] {
  const out: RawRow[] = [];
  const re = new RegExp(String.raw`INSERT\s+INTO\s+${TABLE}\s*\(([^)]*)\)\s*VALUES\s*`, 'gi');
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const cols = columnsOf(m[1]);
    const t = tuples(text, m.index + m[0].length);
    for (const r of t.rows) {
      if (r.values.length !== cols.length) throw new SnapshotError(`line ${lineAt(text, r.at)}: ${r.values.length} values for ${cols.length} columns`);
      out.push({ where: `line ${lineAt(text, r.at)}`, values: Object.fromEntries(cols.map((c, k) => [c, r.values[k]])) });
    }
    re.lastIndex = t.end;
  }
  return out;
}

/** COPY's text format: tab-separated, \N for NULL, backslash escapes. */
function copyField(f: string): string | null {
  if (f === '\\N') return null;
  return f.replace(/\\(.)/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

function fromCopy(text: string): RawRow[] {
  const out: RawRow[] = [];
  const lines = text.split('\n');
  const head = new RegExp(String.raw`^COPY\s+${TABLE}\s*\(([^)]*)\)\s+FROM\s+stdin;`, 'i');
  for (let i = 0; i < lines.length; i++) {
    const m = head.exec(lines[i]);
    if (!m) continue;
    const cols = columnsOf(m[1]);
    for (i++; i < lines.length && lines[i] !== '\\.'; i++) {
      const fields = lines[i].replace(/\r$/, '').split('\t');
      if (fields.length !== cols.length) throw new SnapshotError(`line ${i + 1}: ${fields.length} fields for ${cols.length} columns`);
      out.push({ where: `line ${i + 1}`, values: Object.fromEntries(cols.map((c, k) => [c, copyField(fields[k])])) });
    }
  }
  return out;
}

function fromCsv(text: string): RawRow[] {
  let records;
  try {
    records = readCsv(text);
  } catch (e) {
    if (e instanceof CsvError) throw new SnapshotError(e.message);
    throw e;
  }
  const [header, ...rows] = records.filter((r) => !(r.fields.length === 1 && r.fields[0].value === '' && !r.fields[0].quoted));
  if (!header) return [];
  const cols = header.fields.map((f) => f.value.trim());
  if (!cols.includes('identifier')) throw new SnapshotError('line 1: the CSV header names no "identifier" column');
  return rows.map((r) => {
    if (r.fields.length !== cols.length) throw new SnapshotError(`line ${r.line}: ${r.fields.length} fields for ${cols.length} columns`);
    return { where: `line ${r.line}`, values: Object.fromEntries(cols.map((c, k) => [c, !r.fields[k].quoted && r.fields[k].value === '' ? null : r.fields[k].value])) };
  });
}

export type ServerFormat = 'sql' | 'copy' | 'csv';

export function detectServerFormat(text: string): ServerFormat | null {
  if (new RegExp(String.raw`^COPY\s+${TABLE}\s*\(`, 'im').test(text)) return 'copy';
  if (new RegExp(String.raw`INSERT\s+INTO\s+${TABLE}\s*\(`, 'i').test(text)) return 'sql';
  const first = text.replace(/^\uFEFF/, '').split('\n')[0];
  if (/(^|,)"?identifier"?(,|$)/.test(first.trim())) return 'csv';
  return null;
}

/** The server rows of `text`; throws SnapshotError naming the line when it cannot be read. */
export function readServerRows(text: string): { format: ServerFormat; rows: RawRow[] } {
  const format = detectServerFormat(text);
  // pg_dump --inserts leaves the column names out, and MirrorBrain's column order differs between its versions.
  const bare = new RegExp(String.raw`INSERT\s+INTO\s+${TABLE}\s+VALUES`, 'i').exec(text);
  if (!format && bare) {
    throw new SnapshotError(`line ${lineAt(text, bare.index)}: INSERT without column names: dump the table with pg_dump --data-only --column-inserts (or without --inserts)`);
  }
  if (!format) {
    throw new SnapshotError('no rows of MirrorBrain\'s server table found: expected `mb export` SQL, pg_dump --data-only of the table (COPY or INSERT), or CSV with a header row');
  }
  const rows = format === 'copy' ? fromCopy(text) : format === 'sql' ? fromInserts(text) : fromCsv(text);
  return { format, rows };
}
