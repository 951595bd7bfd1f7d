// Snapshot formats without a database: each format written and read back gives the same snapshot and then the
// same bytes; damaged or foreign input gets one line naming the row and the field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CSV_COLUMNS } from '../../core/export/csv-format.ts';
import { detectFormat, parseSnapshot, serialise, type ImportFormat } from '../../core/export/formats.ts';
import { MIRROR_FIELDS, type Row, type Snapshot } from '../../core/export/schema.ts';
import { SnapshotError } from '../../core/export/validate.ts';

const T = '2024-05-01T12:34:56.123456Z';

function mirror(over: Row = {}): Row {
  const base: Row = {
    identifier: 'm1',
    http_url: 'http://m1.example/pub/',
    https_url: null,
    ftp_url: null,
    rsync_url: null,
    operator_name: 'Op',
    operator_url: 'https://op.example/',
    admin_name: 'Admin',
    admin_email: 'admin@example.org',
    public_notes: '',
    country: 'DE',
    continent: 'EU',
    other_countries: [],
    lat: null,
    lng: null,
    asn: null,
    prefixes: [],
    ipv4: true,
    ipv6: false,
    score: 100,
    enabled: true,
    health: 'unknown',
    health_reason: '',
    health_since: null,
    file_max_size: null,
    country_only: false,
    continent_only: false,
    as_only: false,
    prefix_only: false,
    excluded_countries: [],
    accepts_ranges: true,
    created_at: T,
    updated_at: T,
    scan_at: null,
    scan_protocol: '',
    scan_duration_ms: null,
    scan_files_found: null,
    scan_files_held: null,
    scan_files_added: null,
    scan_files_removed: null,
    scan_error: '',
    tz_offset_ms: 0,
    probe_at: null,
    probe_successes: 0,
    probe_failures: 0,
    caps_at: null,
    ipv6_pinned: false,
    https_pinned: false,
  };
  return { ...base, ...over };
}

const RICH: Snapshot = {
  mirrors: [
    mirror({
      identifier: 'a.mirror',
      http_url: null,
      https_url: 'https://a.example/pub/',
      ftp_url: 'ftp://anon:p@ss,word@a.example/pub/',
      rsync_url: 'rsync://user:secret@a.example/pub/',
      operator_name: 'Ünïversität "Quote", Comma\'s',
      admin_name: '',
      public_notes: 'line one\nline two, with "quotes"\r\nand a tab\t.',
      country: 'AT',
      other_countries: ['DE', 'CH'],
      lat: 48.2082,
      lng: -16.3738,
      asn: 4294967295,
      prefixes: ['192.0.2.0/24', '2001:db8::/32'],
      ipv6: true,
      score: 0,
      enabled: false,
      health: 'down',
      health_reason: 'HTTP 503, twice',
      health_since: '2024-05-02T00:00:00.000001Z',
      file_max_size: 4294967296,
      country_only: true,
      continent_only: true,
      as_only: true,
      prefix_only: true,
      excluded_countries: ['FR'],
      accepts_ranges: false,
      scan_at: T,
      scan_protocol: 'rsync',
      scan_duration_ms: 1234,
      scan_files_found: 10,
      scan_files_held: 9,
      scan_files_added: 1,
      scan_files_removed: 0,
      scan_error: 'timeout; "x"',
      tz_offset_ms: -3600000,
      probe_at: T,
      probe_successes: 3,
      probe_failures: 2,
    }),
    mirror({ identifier: 'b', operator_name: '', country: '**', continent: '', lat: 0, lng: 0, asn: 0, http_url: 'http://b.example/' }),
  ],
  notes: [
    { mirror: 'a.mirror', created_at: '2024-01-01T00:00:00.000000Z', author: 'alice', body: 'first, "quoted"\nsecond line' },
    { mirror: 'a.mirror', created_at: '2024-01-01T00:00:00.000000Z', author: '', body: 'same time, written later' },
    { mirror: 'b', created_at: T, author: 'bob 日本', body: "it's fine; -- not a comment" },
  ],
  peers: [
    { client_asn: 64500, mirror: 'a.mirror', created_at: T },
    { client_asn: 64500, mirror: 'b', created_at: T },
    { client_asn: 4294967295, mirror: 'b', created_at: T },
  ],
};

for (const format of ['json', 'csv', 'sql'] as ImportFormat[]) {
  describe(`${format} format`, () => {
    test('written and read back gives the same snapshot, then the same bytes', () => {
      const text = serialise(format, RICH);
      const back = parseSnapshot(format, text);
      assert.deepEqual(back, RICH);
      assert.equal(serialise(format, back), text);
    });

    test('an empty database exports and imports', () => {
      const empty = { mirrors: [], notes: [], peers: [] };
      assert.deepEqual(parseSnapshot(format, serialise(format, empty)), empty);
    });

    test('output is sorted, whatever order the rows came in', () => {
      const shuffled: Snapshot = { mirrors: [...RICH.mirrors].reverse(), notes: [RICH.notes[2], RICH.notes[0], RICH.notes[1]], peers: [...RICH.peers].reverse() };
      assert.equal(serialise(format, shuffled), serialise(format, RICH));
    });

    test('a truncated file is refused', () => {
      const text = serialise(format, RICH);
      assert.throws(() => parseSnapshot(format, text.slice(0, Math.floor(text.length * 0.6))), SnapshotError);
    });

    test('the format is recognised from the name, or from the first line', () => {
      const text = serialise(format, RICH);
      assert.equal(detectFormat(`backup.${format}`, ''), format);
      assert.equal(detectFormat('backup', text), format);
    });
  });
}

test('json: the document layout', () => {
  const doc = JSON.parse(serialise('json', RICH));
  assert.deepEqual(Object.keys(doc), ['format', 'version', 'mirrors', 'notes', 'peers']);
  assert.equal(doc.format, 'mirrorlane-export');
  assert.equal(doc.version, 1);
  assert.deepEqual(Object.keys(doc.mirrors[0]), MIRROR_FIELDS.map((f) => f.name));
  assert.deepEqual(Object.keys(doc.notes[0]), ['mirror', 'created_at', 'author', 'body']);
  assert.deepEqual(Object.keys(doc.peers[0]), ['client_asn', 'mirror', 'created_at']);
});

test('json: damaged input gets one line naming what is wrong', () => {
  const text = serialise('json', RICH);
  const cases: [string, RegExp][] = [
    [text.slice(0, 100), /truncated/],
    ['', /empty/],
    ['[]', /must be an object/],
    ['{"format":"other"}', /not a Mirrorlane export/],
    ['{"format":"mirrorlane-export","version":2,"mirrors":[],"notes":[],"peers":[]}', /version 2 is not supported/],
    [text.replace('"score": 0', '"score": "0"'), /^mirrors\[0\] \(mirror 'a\.mirror'\): score must be an integer, got "0"$/],
    [text.replace('"score": 0', '"score": 10001'), /score must be an integer 0\.\.10000, got 10001/],
    [text.replace('"score": 0,', ''), /mirrors\[0\] \(mirror 'a\.mirror'\): field 'score' is missing/],
    [text.replace('"score": 0', '"scroe": 0'), /unknown field 'scroe'/],
    [text.replace('"country": "AT"', '"country": "at"'), /country must be an ISO 3166-1 country code/],
    // The same rule as `mirror add --country`: the shape of a code is not enough.
    [text.replace('"country": "AT"', '"country": "QQ"'), /^mirrors\[0\] \(mirror 'a\.mirror'\): country must be an ISO 3166-1 country code .*, got "QQ"$/],
    [text.replace(/"other_countries": \[[^\]]*\]/, '"other_countries": ["QQ"]'), /other_countries must be a list of ISO 3166-1 country codes .*not "QQ"/],
    [text.replace(/"excluded_countries": \[[^\]]*\]/, '"excluded_countries": ["QQ"]'), /excluded_countries must be a list of ISO 3166-1 country codes .*not "QQ"/],
    [text.replace('"identifier": "b"', '"identifier": "A.Mirror"'), /identifier 'A\.Mirror' differs from 'a\.mirror' \(mirrors\[0\]\) only by case/],
    [text.replace('"192.0.2.0/24"', '"192.0.2.1/24"'), /prefixes must be .*CIDR.*192\.0\.2\.1\/24/],
    [text.replace('"https_url": "https://a.example/pub/"', '"https_url": "https://u:p@a.example/pub/"'), /https_url must be a https:\/\/ URL without user name/],
    [text.replace('"lat": 48.2082', '"lat": null'), /lat and lng go together/],
    [text.replace(/"body": "same time[^"]*"/, '"body": ""'), /notes\[1\] \(note on 'a\.mirror'\): body must be a non-empty text/],
    [text.replace(/"mirror": "b"/, '"mirror": "zz"'), /note on 'zz'\): mirror 'zz' is not among the mirrors of this file/],
    [text.replace('"identifier": "b"', '"identifier": "a.mirror"'), /identifier 'a\.mirror' appears twice \(first at mirrors\[0\]\)/],
    [text.replace('"created_at": "2024-05-01T12:34:56.123456Z"', '"created_at": "yesterday"'), /created_at must be a timestamp/],
  ];
  for (const [input, re] of cases) {
    assert.throws(
      () => parseSnapshot('json', input),
      (e: Error) => e instanceof SnapshotError && re.test(e.message) && !e.message.includes('\n'),
      `${re}`,
    );
  }
});

test('csv: one header, one row per mirror, note and peer, table in the first column', () => {
  const text = serialise('csv', RICH);
  const lines = text.split('\r\n');
  assert.equal(lines[0], CSV_COLUMNS.join(','));
  assert.ok(CSV_COLUMNS.join(',').startsWith('table,identifier,http_url,https_url,ftp_url,rsync_url,'));
  assert.ok(CSV_COLUMNS.join(',').endsWith(',probe_failures,caps_at,ipv6_pinned,https_pinned,mirror,author,body,client_asn'));
  assert.match(text, /\r\nnote,,,/);
  assert.match(text, /\r\npeer,,,/);
  // NULL is an empty cell, the empty string is "" (b's operator name), lists are space separated.
  assert.match(text, /\r\nmirror,b,http:\/\/b\.example\/,,,,"",/);
  assert.match(text, /,DE CH,/);
  assert.match(text, /,192\.0\.2\.0\/24 2001:db8::\/32,/);
});

test('csv: damaged input names the line and the column', () => {
  const text = serialise('csv', RICH);
  const [header, ...rest] = text.split('\r\n');
  const noScore = [header.replace(',score,', ','), ...rest].join('\r\n');
  assert.throws(() => parseSnapshot('csv', noScore), /line 1: the CSV header lacks column 'score'/);
  assert.throws(() => parseSnapshot('csv', [header + ',extra', ...rest].join('\r\n')), /unknown column 'extra'/);
  assert.throws(() => parseSnapshot('csv', [header, 'mirror,x,y', ''].join('\r\n')), /line 2: 3 fields, but the header has 53/);
  const scoreIdx = CSV_COLUMNS.indexOf('score');
  const bMirror = text.split('\r\n').findIndex((l) => l.startsWith('mirror,b,'));
  const lines = text.split('\r\n');
  const cells = lines[bMirror].split(',');
  cells[scoreIdx] = 'lots';
  lines[bMirror] = cells.join(',');
  assert.throws(() => parseSnapshot('csv', lines.join('\r\n')), (e: Error) => /^line 5 \(mirror 'b'\): score must be an integer, got "lots"$/.test(e.message));
  assert.throws(() => parseSnapshot('csv', text.replace('\r\nnote,,', '\r\nnote,x,')), /column 'identifier' is not a field of a note row and must be empty/);
  assert.throws(() => parseSnapshot('csv', text.replace('\r\npeer,', '\r\nperson,')), /table must be mirror, note or peer/);
  assert.throws(() => parseSnapshot('csv', ''), /empty/);
});

test('sql: statements, quoting and references', () => {
  const text = serialise('sql', RICH);
  assert.ok(text.startsWith('-- mirrorlane-export version 1\n'));
  assert.match(text, /\nBEGIN;\n/);
  assert.ok(text.endsWith('\nCOMMIT;\n'));
  assert.match(text, /'Ünïversität "Quote", Comma''s'/);
  assert.match(text, /ARRAY\['192\.0\.2\.0\/24', '2001:db8::\/32'\]::cidr\[\]/);
  assert.match(text, /ARRAY\[\]::text\[\]/);
  assert.match(text, /INSERT INTO mirror_note \(mirror_id, created_at, author, body\) VALUES \(\(SELECT id FROM mirror WHERE identifier = 'a\.mirror'\), /);
  assert.match(text, /INSERT INTO as_peer \(client_asn, mirror_id, created_at\) VALUES \(64500, \(SELECT id FROM mirror WHERE identifier = 'a\.mirror'\)/);
});

test('sql: only the exported subset is read; anything else is refused with its line', () => {
  const text = serialise('sql', RICH);
  const cases: [string, RegExp][] = [
    [text.replace('COMMIT;\n', ''), /ends without COMMIT: it looks truncated/],
    [text.replace('BEGIN;\n', 'BEGIN;\nDROP TABLE mirror;\n'), /line 8: expected a statement/],
    [text.replace('COMMIT;\n', 'COMMIT;\nDELETE FROM file;\n'), /nothing may follow COMMIT/],
    [text.replace('SET standard_conforming_strings = on;', 'SET standard_conforming_strings = off;'), /only SET client_encoding/],
    [text.replace('INSERT INTO as_peer', 'INSERT INTO file'), /table must be mirror, mirror_note or as_peer, got 'file'/],
    [text.replace(/\(SELECT id FROM mirror WHERE identifier = 'b'\)/, '7'), /mirror_id must be \(SELECT id FROM mirror WHERE identifier = '…'\)/],
    ['INSERT INTO mirror (id) VALUES (1);', /first line must be '-- mirrorlane-export version 1'/],
    [text.replace("'down'", "E'down'"), /E'…' strings are not supported/],
    [text.replace(', 0, false, ', ', 0, maybe, '), /line \d+: expected a value/],
  ];
  for (const [input, re] of cases) assert.throws(() => parseSnapshot('sql', input), (e: Error) => e instanceof SnapshotError && re.test(e.message), `${re}`);
});

test('mirmon: enabled mirrors, one line per URL, lower-case country, credentials removed', () => {
  const snap: Snapshot = {
    mirrors: [
      mirror({ identifier: 'x', http_url: 'http://x.example/pub/', https_url: 'https://x.example/pub/', rsync_url: 'rsync://u:pw@x.example/pub/', country: 'NL' }),
      mirror({ identifier: 'off', enabled: false }),
      mirror({ identifier: 'world', country: '**', admin_email: '', http_url: 'http://w.example/' }),
    ],
    notes: [],
    peers: [],
  };
  assert.equal(
    serialise('mirmon', snap),
    'zz http://w.example/\nnl http://x.example/pub/ admin@example.org\nnl https://x.example/pub/ admin@example.org\nnl rsync://x.example/pub/ admin@example.org\n',
  );
  assert.equal(serialise('mirmon-apache', snap).split('\n')[3], 'rsync nl rsync://x.example/pub/ admin@example.org');
  assert.equal(serialise('mirmon', { mirrors: [], notes: [], peers: [] }), '');
});
