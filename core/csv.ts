// RFC 4180 CSV: a writer and a strict reader (pure), and the same reader over a stream of lines for large files.
//
// One extension, borrowed from PostgreSQL's COPY ... CSV: an empty field written without quotes is NULL, a quoted
// empty field ("") is the empty string. The reader reports for every field whether it was quoted, so callers can
// tell the two apart; the writer emits null as an unquoted empty field and '' as "".

export class CsvError extends Error {
  /** True when the text ended inside a quoted field (more lines may close it). */
  constructor(
    message: string,
    readonly unclosed = false,
  ) {
    super(message);
  }
}

/** One field as read: its text and whether it was quoted. */
export interface CsvField {
  value: string;
  quoted: boolean;
}

export interface CsvRecord {
  /** Line (1-based) on which the record starts; records may span lines inside quoted fields. */
  line: number;
  fields: CsvField[];
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One field: quoted when it must be (comma, quote, CR, LF) and when it is the empty string (null stays bare). */
export function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '' || NEEDS_QUOTES.test(value)) return `"${value.replaceAll('"', '""')}"`;
  return value;
}

/** Records to CSV text with CRLF after every record, the last one included (RFC 4180 section 2). */
export function writeCsv(records: (string | null)[][]): string {
  return records.map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}

/**
 * Parse CSV text. Records end with CRLF or a bare LF (files edited on Unix); a final line break is optional.
 * Strict where leniency would hide damage: an unterminated quoted field, a quote inside an unquoted field and text
 * after a closing quote are errors naming the line. A leading UTF-8 byte order mark (spreadsheets write one) is
 * skipped. Line breaks inside quoted fields are kept as they are. `firstLine` numbers the first line (for the
 * error messages and CsvRecord.line) when the text is part of a larger file.
 */
export function readCsv(text: string, firstLine = 1): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = firstLine;
  const n = text.length;
  if (i >= n) return records;
  let fields: CsvField[] = [];
  let recordLine = line;
  for (;;) {
    // At the start of a field.
    let value: string;
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      const startLine = line;
      let out = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new CsvError(`line ${startLine}: quoted field is not closed before the end of the file`, true);
        const chunk = text.slice(i, q);
        out += chunk;
        line += countNewlines(chunk);
        if (text[q + 1] === '"') {
          out += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      value = out;
      if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
        throw new CsvError(`line ${line}: unexpected text after a closing quote (a '"' inside a field must be doubled)`);
      }
    } else {
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && !(text[j] === '\r' && text[j + 1] === '\n')) {
        if (text[j] === '"') throw new CsvError(`line ${line}: '"' inside an unquoted field (quote the field and double the '"')`);
        if (text[j] === '\r') throw new CsvError(`line ${line}: bare carriage return outside a quoted field`);
        j++;
      }
      value = text.slice(i, j);
      i = j;
    }
    fields.push({ value, quoted });
    if (i < n && text[i] === ',') {
      i++;
      continue;
    }
    // End of the record: line break or end of text.
    records.push({ line: recordLine, fields });
    if (i >= n) break;
    i += text[i] === '\r' ? 2 : 1;
    line++;
    if (i >= n) break;
    fields = [];
    recordLine = line;
  }
  return records;
}

function countNewlines(s: string): number {
  let c = 0;
  for (let k = s.indexOf('\n'); k >= 0; k = s.indexOf('\n', k + 1)) c++;
  return c;
}

/**
 * Records from a stream of lines (readline), one at a time, so a large file is never held whole. A line that ends
 * inside a quoted field is joined with the next ones until the field closes. Empty lines are skipped. A malformed
 * record is yielded as its CsvError, so the caller decides whether it sinks the file.
 */
export async function* streamCsv(lines: AsyncIterable<string>): AsyncGenerator<CsvRecord | CsvError> {
  let pending: string | null = null;
  let lineNo = 0;
  let start = 1;
  for await (const raw of lines) {
    lineNo++;
    if (pending === null) start = lineNo;
    const text: string = pending === null ? raw : `${pending}\n${raw}`;
    pending = null;
    if (text === '') continue;
    try {
      yield* readCsv(text, start);
    } catch (e) {
      if (!(e instanceof CsvError)) throw e;
      if (e.unclosed) pending = text;
      else yield e;
    }
  }
  if (pending !== null) yield new CsvError(`line ${start}: quoted field is not closed before the end of the file`, true);
}
