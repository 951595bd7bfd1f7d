import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsvError, csvField, readCsv, streamCsv, writeCsv } from '../../core/csv.ts';

test('csvField quotes only what needs it, and the empty string (null stays bare)', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField(null), '');
  assert.equal(csvField(''), '""');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('cr\rhere'), '"cr\rhere"');
  assert.equal(csvField(' spaced '), ' spaced ');
});

test('writeCsv ends every record with CRLF', () => {
  assert.equal(writeCsv([['a', 'b'], ['1', null]]), 'a,b\r\n1,\r\n');
});

test('round trip keeps every value, null against empty, and line breaks inside fields as they were', () => {
  const records: (string | null)[][] = [
    ['h1', 'h2', 'h3', 'h4'],
    ['x', null, '', 'unicode: 日本 é 🚀'],
    ['"quoted"', 'a,b,c', 'line1\nline2\r\nline3', '\ttab'],
    [null, null, null, null],
  ];
  const back = readCsv(writeCsv(records));
  assert.deepEqual(
    back.map((r) => r.fields.map((f) => (f.value === '' && !f.quoted ? null : f.value))),
    records,
  );
  assert.deepEqual(back.map((r) => r.line), [1, 2, 3, 6]);
});

test('readCsv accepts LF line ends, a missing final line break and a byte order mark', () => {
  assert.deepEqual(
    readCsv('\ufeffa,b\n1,2').map((r) => r.fields.map((f) => f.value)),
    [['a', 'b'], ['1', '2']],
  );
  assert.deepEqual(readCsv(''), []);
  assert.deepEqual(readCsv('a\r\n').length, 1);
});

test('readCsv reports damage with its line', () => {
  assert.throws(() => readCsv('a,b\r\n"open,2\r\n'), (e: Error) => e instanceof CsvError && /line 2: quoted field is not closed/.test(e.message));
  assert.throws(() => readCsv('a,b"c\n'), /line 1: '"' inside an unquoted field/);
  assert.throws(() => readCsv('a\n"x"y,1\n'), /line 2: unexpected text after a closing quote/);
  assert.throws(() => readCsv('a\rb\n'), /bare carriage return/);
});

test('streamCsv reads line by line: quoted fields across lines joined, damage yielded with its line', async () => {
  async function* lines(): AsyncGenerator<string> {
    yield* ['1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."', 'a,b,1,"LLC ""SPUTNIK"""', '', 'a,b,1,plain org', 'a,b,1,""'];
    yield* ['a,b,1,"Two', 'lines"', 'a,b"c', 'a,b,1,"open'];
  }
  const out: (string[] | string)[] = [];
  for await (const r of streamCsv(lines())) out.push(r instanceof CsvError ? r.message : [String(r.line), ...r.fields.map((f) => f.value)]);
  assert.deepEqual(out, [
    ['1', '1.0.0.0', '1.0.0.255', '13335', 'Cloudflare, Inc.'],
    ['2', 'a', 'b', '1', 'LLC "SPUTNIK"'],
    ['4', 'a', 'b', '1', 'plain org'],
    ['5', 'a', 'b', '1', ''],
    ['6', 'a', 'b', '1', 'Two\nlines'],
    `line 8: '"' inside an unquoted field (quote the field and double the '"')`,
    'line 9: quoted field is not closed before the end of the file',
  ]);
});
