// The sql snapshot format: INSERT statements for psql, in one transaction.
//
//   -- mirrorlane-export version 1
//   SET client_encoding = 'UTF8';
//   SET standard_conforming_strings = on;
//   BEGIN;
//   INSERT INTO mirror (identifier, http_url, …) VALUES ('ftp-a', 'http://ftp.example/pub/', …);
//   INSERT INTO mirror_note (mirror_id, created_at, author, body) VALUES ((SELECT id FROM mirror WHERE identifier = 'ftp-a'), '…', 'alice', 'text');
//   INSERT INTO as_peer (client_asn, mirror_id, created_at) VALUES (64500, (SELECT id FROM mirror WHERE identifier = 'ftp-a'), '…');
//   COMMIT;
//
// Strings are standard SQL literals ('' doubles a quote, line breaks kept as they are), lists are ARRAY[…]::text[]
// or ::cidr[], mirrors are referred to by identifier so ids are the target database's own.
//
// `mirrorlane import` does not hand this file to the database: it parses exactly this subset of SQL back into a
// snapshot (anything else is an error naming the line), so the file is validated before anything is written and
// an edited file can never run other SQL. Pure.
import { FORMAT_VERSION, TABLE_FIELDS, TABLE_KEYS, type Field, type Snapshot, type TableName, type Value } from './schema.ts';
import { SnapshotError, validateRows, type ParsedRow } from './validate.ts';

const SQL_TABLE: Record<TableName, string> = { mirror: 'mirror', note: 'mirror_note', peer: 'as_peer' };
const HEADER = `-- mirrorlane-export version ${FORMAT_VERSION}`;

export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

const mirrorRef = (identifier: string) => `(SELECT id FROM mirror WHERE identifier = ${sqlString(identifier)})`;

function literal(f: Field, v: Value): string {
  if (v === null) return 'NULL';
  if (Array.isArray(v)) return `ARRAY[${v.map(sqlString).join(', ')}]::${f.sqlType}`;
  if (typeof v === 'string') return sqlString(v);
  return String(v);
}

export function toSql(snap: Snapshot): string {
  const out = [
    HEADER,
    '-- Mirrors, their notes and AS peers. Load into a database that does not have these mirrors yet with',
    '--   psql -v ON_ERROR_STOP=1 -f FILE',
    '-- or use `mirrorlane import FILE` (which checks the file first, and can --replace what is there).',
    "SET client_encoding = 'UTF8';",
    'SET standard_conforming_strings = on;',
    'BEGIN;',
  ];
  for (const [table, key] of TABLE_KEYS) {
    const fields = TABLE_FIELDS[table];
    const cols = fields.map((f) => (f.name === 'mirror' ? 'mirror_id' : f.name));
    for (const row of snap[key]) {
      const vals = fields.map((f) => (f.name === 'mirror' ? mirrorRef(row.mirror as string) : literal(f, row[f.name])));
      out.push(`INSERT INTO ${SQL_TABLE[table]} (${cols.join(', ')}) VALUES (${vals.join(', ')});`);
    }
  }
  out.push('COMMIT;', '');
  return out.join('\n');
}

// ---- reading back ----

type Tok =
  | { t: 'word'; v: string; line: number }
  | { t: 'str'; v: string; line: number }
  | { t: 'num'; v: string; line: number }
  | { t: 'punct'; v: string; line: number }
  | { t: 'end'; v: ''; line: number };

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === "'") {
      const start = line;
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf("'", i);
        if (q < 0) throw new SnapshotError(`line ${start}: string literal is not closed before the end of the file`);
        const chunk = text.slice(i, q);
        v += chunk;
        for (const ch of chunk) if (ch === '\n') line++;
        if (text[q + 1] === "'") {
          v += "'";
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      toks.push({ t: 'str', v, line: start });
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9.]/.test(text[i + 1] ?? ''))) {
      const m = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
      if (!m) throw new SnapshotError(`line ${line}: bad number`);
      toks.push({ t: 'num', v: m[0], line });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(text[j])) j++;
      const w = text.slice(i, j);
      if (text[j] === "'") throw new SnapshotError(`line ${line}: ${w}'…' strings are not supported: use standard '…' literals`);
      toks.push({ t: 'word', v: w.toLowerCase(), line });
      i = j;
    } else if (c === ':' && text[i + 1] === ':') {
      toks.push({ t: 'punct', v: '::', line });
      i += 2;
    } else if ('(),;[]='.includes(c)) {
      toks.push({ t: 'punct', v: c, line });
      i++;
    } else {
      throw new SnapshotError(`line ${line}: unexpected ${JSON.stringify(c)}`);
    }
  }
  toks.push({ t: 'end', v: '', line });
  return toks;
}

class Parser {
  private pos = 0;
  constructor(private readonly toks: Tok[]) {}

  peek(): Tok {
    return this.toks[this.pos];
  }
  next(): Tok {
    return this.toks[this.pos++];
  }
  fail(tok: Tok, want: string): never {
    const got = tok.t === 'end' ? 'the end of the file' : tok.t === 'str' ? `a string` : `'${tok.v}'`;
    throw new SnapshotError(`line ${tok.line}: expected ${want}, got ${got}`);
  }
  is(t: Tok['t'], v?: string): boolean {
    const k = this.peek();
    return k.t === t && (v === undefined || k.v === v);
  }
  expect(t: Tok['t'], v?: string, want = v ?? t): Tok {
    const k = this.next();
    if (k.t !== t || (v !== undefined && k.v !== v)) this.fail(k, want);
    return k;
  }
  words(...ws: string[]): void {
    for (const w of ws) this.expect('word', w, w.toUpperCase());
  }

  value(): unknown {
    const k = this.peek();
    if (k.t === 'str') return this.next().v;
    if (k.t === 'num') return Number(this.next().v);
    if (k.t === 'word' && (k.v === 'null' || k.v === 'true' || k.v === 'false')) {
      this.next();
      return k.v === 'null' ? null : k.v === 'true';
    }
    if (k.t === 'word' && k.v === 'array') {
      this.next();
      this.expect('punct', '[');
      const items: string[] = [];
      while (!this.is('punct', ']')) {
        if (items.length) this.expect('punct', ',');
        items.push(this.expect('str', undefined, 'a string').v);
      }
      this.next();
      this.expect('punct', '::');
      this.expect('word', undefined, 'a type name');
      this.expect('punct', '[');
      this.expect('punct', ']');
      return items;
    }
    if (k.t === 'punct' && k.v === '(') {
      // (SELECT id FROM mirror WHERE identifier = '…'): a reference to a mirror by identifier.
      this.next();
      this.words('select', 'id', 'from', 'mirror', 'where', 'identifier');
      this.expect('punct', '=');
      const id = this.expect('str', undefined, 'a string').v;
      this.expect('punct', ')');
      return { mirrorRef: id };
    }
    return this.fail(k, 'a value (string, number, true, false, NULL, ARRAY[…] or a mirror reference)');
  }

  /** INSERT INTO t (cols) VALUES (…)[, (…)]; with INSERT INTO already read. */
  insert(rows: ParsedRow[]): void {
    const nameTok = this.expect('word', undefined, 'a table name');
    const table = (Object.keys(SQL_TABLE) as TableName[]).find((t) => SQL_TABLE[t] === nameTok.v);
    if (!table) throw new SnapshotError(`line ${nameTok.line}: table must be mirror, mirror_note or as_peer, got '${nameTok.v}'`);
    this.expect('punct', '(');
    const cols: string[] = [];
    while (!this.is('punct', ')')) {
      if (cols.length) this.expect('punct', ',');
      cols.push(this.expect('word', undefined, 'a column name').v);
    }
    this.next();
    this.words('values');
    do {
      const open = this.expect('punct', '(');
      const where = `line ${open.line}`;
      const vals: unknown[] = [];
      while (!this.is('punct', ')')) {
        if (vals.length) this.expect('punct', ',');
        vals.push(this.value());
      }
      this.next();
      if (vals.length !== cols.length) throw new SnapshotError(`${where}: ${vals.length} values for ${cols.length} columns`);
      rows.push({ table, where, values: rowValues(table, cols, vals, where) });
    } while (this.is('punct', ',') && this.next());
    this.expect('punct', ';');
  }

  /** SET client_encoding = 'UTF8' and SET standard_conforming_strings = on are the only settings accepted. */
  set(): void {
    const name = this.expect('word', undefined, 'a setting name');
    this.expect('punct', '=');
    const v = this.next();
    const value = v.v.toLowerCase();
    const fine = (name.v === 'client_encoding' && /^utf-?8$/.test(value)) || (name.v === 'standard_conforming_strings' && value === 'on');
    if (!fine) throw new SnapshotError(`line ${name.line}: only SET client_encoding = 'UTF8' and SET standard_conforming_strings = on are accepted`);
    this.expect('punct', ';');
  }
}

function rowValues(table: TableName, cols: string[], vals: unknown[], where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  cols.forEach((col, i) => {
    const v = vals[i];
    const isRef = typeof v === 'object' && v !== null && 'mirrorRef' in v;
    if (col === 'mirror_id' && table !== 'mirror') {
      if (!isRef) throw new SnapshotError(`${where}: mirror_id must be (SELECT id FROM mirror WHERE identifier = '…')`);
      out.mirror = (v as { mirrorRef: string }).mirrorRef;
      return;
    }
    if (col === 'id') throw new SnapshotError(`${where}: ids are not imported: rows name their mirror by identifier`);
    if (isRef) throw new SnapshotError(`${where}: a mirror reference is only allowed for mirror_id`);
    if (col in out) throw new SnapshotError(`${where}: column '${col}' appears twice`);
    out[col] = v;
  });
  return out;
}

export function fromSql(text: string): Snapshot {
  const first = text.replace(/^\ufeff/, '').split('\n', 1)[0].trimEnd();
  const m = /^-- mirrorlane-export version (\d+)$/.exec(first);
  if (!m) throw new SnapshotError(`line 1: not a Mirrorlane SQL export (the first line must be '${HEADER}')`);
  if (Number(m[1]) !== FORMAT_VERSION) {
    throw new SnapshotError(`export format version ${m[1]} is not supported: this Mirrorlane reads version ${FORMAT_VERSION}`);
  }
  const p = new Parser(tokenize(text.replace(/^\ufeff/, '')));
  const rows: ParsedRow[] = [];
  let open = false;
  let done = false;
  for (;;) {
    const k = p.next();
    if (k.t === 'end') break;
    if (done) throw new SnapshotError(`line ${k.line}: nothing may follow COMMIT`);
    if (k.t === 'punct' && k.v === ';') continue;
    if (k.t !== 'word') p.fail(k, 'a statement (SET, BEGIN, INSERT INTO, COMMIT)');
    if (k.v === 'set') p.set();
    else if (k.v === 'begin' || k.v === 'start') {
      if (k.v === 'start') p.words('transaction');
      p.expect('punct', ';');
      open = true;
    } else if (k.v === 'insert') {
      p.words('into');
      p.insert(rows);
    } else if (k.v === 'commit') {
      p.expect('punct', ';');
      if (!open) throw new SnapshotError(`line ${k.line}: COMMIT without BEGIN`);
      done = true;
    } else {
      p.fail(k, 'a statement (SET, BEGIN, INSERT INTO, COMMIT)');
    }
  }
  // A file cut short loses its COMMIT: psql would roll back, so we refuse too.
  if (open && !done) throw new SnapshotError('the file ends without COMMIT: it looks truncated');
  return validateRows(rows);
}
