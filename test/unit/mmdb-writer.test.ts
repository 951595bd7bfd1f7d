import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reader } from 'maxmind';
import { mmdbType } from '../../core/geoip-build/mmdb-data.ts';
import { MmdbWriter } from '../../core/geoip-build/mmdb-writer.ts';
import type { MmdbMap } from '../../core/geoip-build/mmdb-data.ts';
import { GEO_FACTS, writeGeoIpFixtures } from '../helpers/geoip-fixture.ts';

type Rec = Record<string, unknown>;
const read = (buf: Buffer) => new Reader<Rec>(buf);
const made: string[] = [];
/** A temp folder, removed when the file's tests are done. */
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-mmdb-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** Run mmdblookup; null when it is not installed. */
function mmdblookup(file: string, ip: string): { status: number | null; out: string } | null {
  const r = spawnSync('mmdblookup', ['--file', file, '--ip', ip], { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const NO_MMDBLOOKUP = 'mmdblookup not installed (apt-get install mmdb-bin): libmaxminddb acceptance not checked';

test('round trip of every data type through the maxmind reader and libmaxminddb', (t) => {
  const record: MmdbMap = {
    str: 'hello',
    empty: '',
    unicode: 'Zürich – 東京 🚀',
    s29: 'x'.repeat(29),
    s300: 'y'.repeat(300),
    s70000: 'z'.repeat(70_000),
    dbl: mmdbType.double(52),
    dblAuto: -87.63,
    flt: mmdbType.float(1.5),
    u16: mmdbType.uint16(65535),
    u16zero: mmdbType.uint16(0),
    u32: 4294967295,
    u32small: 7,
    u64: mmdbType.uint64(2n ** 64n - 1n),
    u64small: 5n,
    u128: mmdbType.uint128(2n ** 128n - 1n),
    i32min: -2147483648,
    i32max: mmdbType.int32(2147483647),
    i32neg: -1,
    yes: true,
    no: false,
    raw: Uint8Array.from([0, 1, 255]),
    arr: [1, 'two', [3], { four: 4 }],
    emptyArr: [],
    map: { nested: { deeper: { x: 'y' } } },
    emptyMap: {},
    ['k'.repeat(40)]: 'long key',
  };
  const w = new MmdbWriter({ databaseType: 'Test-Types', description: { en: 'types', de: 'Typen' }, languages: ['en', 'de'] });
  w.insert('192.0.2.0/24', record);
  w.insert('2001:db8::/32', { again: record, also: 'hello' }); // repeats become pointers
  const buf = w.toBuffer();
  const got = read(buf).get('192.0.2.77')!;
  const expected: Rec = {
    ...record,
    dbl: 52,
    flt: 1.5,
    u16: 65535,
    u16zero: 0,
    u64: 2n ** 64n - 1n,
    u64small: 5n,
    u128: 2n ** 128n - 1n,
    i32max: 2147483647,
  };
  delete expected.raw;
  const { raw, ...rest } = got;
  assert.deepEqual(rest, expected);
  assert.deepEqual([...(raw as Uint8Array)], [0, 1, 255]);
  const v6 = read(buf).get('2001:db8:ffff::1')!;
  assert.equal(v6.also, 'hello');
  assert.deepEqual((v6.again as Rec).map, record.map);
  assert.equal((v6.again as Rec).s70000, 'z'.repeat(70_000));

  const dir = tmpDir();
  const file = path.join(dir, 'types.mmdb');
  fs.writeFileSync(file, buf);
  const r = mmdblookup(file, '192.0.2.77');
  if (r === null) return t.skip(NO_MMDBLOOKUP);
  assert.equal(r.status, 0, r.out);
  for (const type of ['<uint16>', '<uint32>', '<uint64>', '<uint128>', '<int32>', '<double>', '<float>', '<boolean>', '<bytes>', '<utf8_string>']) {
    assert.ok(r.out.includes(type), `${type} in ${r.out.slice(0, 300)}`);
  }
  assert.match(r.out, /-2147483648 <int32>/);
  assert.match(r.out, /18446744073709551615 <uint64>/);
  const r6 = mmdblookup(file, '2001:db8::5')!;
  assert.equal(r6.status, 0, r6.out);
  assert.match(r6.out, /"Zürich – 東京 🚀" <utf8_string>/);
});

/** The MMDB type (1..15) of the value stored under `key` in the metadata map. */
function metadataTypeOf(buf: Buffer, key: string): number {
  const marker = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com')]);
  const meta = buf.subarray(buf.lastIndexOf(marker) + marker.length);
  const encodedKey = Buffer.concat([Buffer.from([0x40 | key.length]), Buffer.from(key)]);
  const at = meta.indexOf(encodedKey);
  assert.ok(at >= 0, `metadata key ${key}`);
  const ctrl = meta[at + encodedKey.length];
  return ctrl >> 5 === 0 ? meta[at + encodedKey.length + 1] + 7 : ctrl >> 5;
}

test('metadata carries the exact types libmaxminddb insists on', () => {
  const w = new MmdbWriter({ databaseType: 'Test-Meta', description: 'd', buildEpoch: 1_700_000_000 });
  w.insert('198.51.100.0/24', { a: 1 });
  const buf = w.toBuffer();
  const UINT16 = 5, UINT32 = 6, UINT64 = 9, STRING = 2, ARRAY = 11, MAP = 7;
  assert.equal(metadataTypeOf(buf, 'node_count'), UINT32);
  assert.equal(metadataTypeOf(buf, 'record_size'), UINT16);
  assert.equal(metadataTypeOf(buf, 'ip_version'), UINT16);
  assert.equal(metadataTypeOf(buf, 'binary_format_major_version'), UINT16);
  assert.equal(metadataTypeOf(buf, 'binary_format_minor_version'), UINT16);
  assert.equal(metadataTypeOf(buf, 'build_epoch'), UINT64);
  assert.equal(metadataTypeOf(buf, 'database_type'), STRING);
  assert.equal(metadataTypeOf(buf, 'languages'), ARRAY);
  assert.equal(metadataTypeOf(buf, 'description'), MAP);
  const m = read(buf).metadata;
  assert.equal(m.binaryFormatMajorVersion, 2);
  assert.equal(m.binaryFormatMinorVersion, 0);
  assert.equal(m.ipVersion, 6);
  assert.equal(m.recordSize, 24);
  assert.equal(m.databaseType, 'Test-Meta');
  assert.deepEqual(m.description, { en: 'd' });
  assert.equal(m.buildEpoch.getTime(), 1_700_000_000_000);
});

test('later inserts win; a shorter prefix replaces what lies below it; equal halves merge', () => {
  const w = new MmdbWriter({ databaseType: 'Test' });
  w.insert('10.0.0.0/8', { v: 'A' });
  w.insert('10.1.0.0/16', { v: 'B' });
  w.insert('10.1.2.3', { v: 'host' });
  w.insert('172.16.0.0/13', { v: 'C' });
  w.insert('172.24.0.0/13', { v: 'C' }); // the other half of 172.16.0.0/12: merges into one /12 record
  w.insert('2001:db8::/32', { v: 'D' });
  w.insert('2001:db8::/33', { v: 'E' });
  const r = read(w.toBuffer());
  assert.deepEqual(r.get('10.1.2.3'), { v: 'host' });
  assert.deepEqual(r.get('10.1.2.4'), { v: 'B' });
  assert.deepEqual(r.get('10.2.0.0'), { v: 'A' });
  assert.deepEqual(r.getWithPrefixLength('172.20.1.1'), [{ v: 'C' }, 12]);
  assert.deepEqual(r.get('2001:db8::1'), { v: 'E' });
  assert.deepEqual(r.get('2001:db8:8000::1'), { v: 'D' });
  assert.equal(r.get('11.0.0.0'), null);

  const w2 = new MmdbWriter({ databaseType: 'Test' });
  w2.insert('10.1.0.0/16', { v: 'B' });
  w2.insert('10.0.0.0/8', { v: 'A' }); // replaces the /16 inserted before it
  const r2 = read(w2.toBuffer());
  assert.deepEqual(r2.getWithPrefixLength('10.1.2.3'), [{ v: 'A' }, 8]);
});

test('IPv4 is also reachable under ::ffff:0:0/96 (and ::/96), unless the alias is turned off', () => {
  const w = new MmdbWriter({ databaseType: 'Test' });
  w.insert('192.0.2.0/24', { v: 'v4' });
  w.insert('::ffff:198.51.100.0/120', { v: 'mapped insert' }); // stored as IPv4
  const r = read(w.toBuffer());
  assert.deepEqual(r.get('::ffff:192.0.2.1'), { v: 'v4' });
  assert.deepEqual(r.get('::192.0.2.1'), { v: 'v4' });
  assert.deepEqual(r.get('198.51.100.1'), { v: 'mapped insert' });
  assert.deepEqual(r.get('::ffff:198.51.100.1'), { v: 'mapped insert' });

  const w2 = new MmdbWriter({ databaseType: 'Test', ipv4MappedAlias: false });
  w2.insert('192.0.2.0/24', { v: 'v4' });
  const r2 = read(w2.toBuffer());
  assert.deepEqual(r2.get('192.0.2.1'), { v: 'v4' });
  assert.equal(r2.get('::ffff:192.0.2.1'), null);
});

test('an IPv4-only tree (ip_version 4), like DB-IP\'s IPv4 file', () => {
  const w = new MmdbWriter({ databaseType: 'city ipv4', ipVersion: 4 });
  w.insert('192.0.2.0/24', { v: 1 });
  w.insertRange('::ffff:198.51.100.0', '::ffff:198.51.100.255', { v: 2 });
  assert.throws(() => w.insert('2001:db8::/32', { v: 3 }), /IPv4-only/);
  const r = read(w.toBuffer());
  assert.equal(r.metadata.ipVersion, 4);
  assert.equal(r.metadata.treeDepth, 32);
  assert.deepEqual(r.get('192.0.2.9'), { v: 1 });
  assert.deepEqual(r.get('198.51.100.9'), { v: 2 });
});

test('bad input is refused with a clear message', () => {
  const w = new MmdbWriter({ databaseType: 'Test' });
  assert.throws(() => w.insert('192.0.2.0/33', {}), /prefix/);
  assert.throws(() => w.insert('192.0.2.0/x', {}), /prefix/);
  assert.throws(() => w.insert('nonsense/8', {}), /not an IP network/);
  assert.throws(() => w.insert('fe80::%eth0/64', {}), /not an IP network/); // no zone ids in a database
  assert.throws(() => w.insert('192.0.2.0/24/1', {}), /prefix/);
  assert.throws(() => w.insertRange('10.0.0.9', '10.0.0.1', {}), /after its end/);
  assert.throws(() => w.insertRange('10.0.0.1', '2001:db8::1', {}), /mixes address families/);
  assert.throws(() => w.insert('10.0.0.0/8', [] as unknown as MmdbMap), /map/);
  assert.throws(() => w.insert('10.0.0.0/8', { n: null } as unknown as MmdbMap), /null/);
  assert.throws(() => w.insert('10.0.0.0/8', { n: mmdbType.uint16(70000) }), /uint16 out of range/);
  w.insert('10.0.0.0/8', { ok: true });
  w.toBuffer();
  assert.throws(() => w.insert('11.0.0.0/8', {}), /after toBuffer/);
});

test('identical records are stored once, however many networks point at them', () => {
  const w = new MmdbWriter({ databaseType: 'Test' });
  for (let i = 0; i < 10_000; i++) {
    // Fresh but equal objects: recognised by content, not identity.
    w.insert(`10.${i >> 8}.${i & 255}.0/24`, { autonomous_system_number: 64500 + (i % 3), autonomous_system_organization: 'Example Networks' });
  }
  assert.equal(w.stats.records, 3);
  assert.ok(w.stats.dataBytes < 200, `data section ${w.stats.dataBytes} bytes`);
  const r = read(w.toBuffer());
  assert.deepEqual(r.get('10.39.15.1'), { autonomous_system_number: 64500 + ((39 * 256 + 15) % 3), autonomous_system_organization: 'Example Networks' });
});

// ---------------------------------------------------------------------------------------------------------------

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const v4 = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const v6 = (n: bigint) => {
  const parts: string[] = [];
  for (let i = 7; i >= 0; i--) parts.push(((n >> BigInt(16 * i)) & 0xffffn).toString(16));
  return parts.join(':');
};

test('20 000 random IPv4 ranges and 2 000 IPv6 ranges look up right (24, 28 and 32-bit records)', () => {
  const rand = rng(12345);
  // Random distinct boundaries, paired into disjoint ranges with gaps between them.
  const points = new Set<number>();
  while (points.size < 40_000) points.add(Math.floor(rand() * 2 ** 32));
  const sorted = [...points].sort((a, b) => a - b);
  const ranges4: [number, number, number][] = [];
  for (let i = 0; i + 1 < sorted.length; i += 2) ranges4.push([sorted[i], sorted[i + 1], Math.floor(rand() * 500)]);
  const big = () => (BigInt(Math.floor(rand() * 2 ** 32)) << 96n) | (BigInt(Math.floor(rand() * 2 ** 32)) << 64n) | BigInt(Math.floor(rand() * 2 ** 32));
  const points6 = [...new Set(Array.from({ length: 4000 }, () => (1n << 125n) | big()))].sort((a, b) => (a < b ? -1 : 1));
  const ranges6: [bigint, bigint, number][] = [];
  for (let i = 0; i + 1 < points6.length; i += 2) ranges6.push([points6[i], points6[i + 1], Math.floor(rand() * 500)]);
  const record = (id: number) => ({ id, name: `record ${id}` });

  const w = new MmdbWriter({ databaseType: 'Test-Random' });
  // Insert in random order: the result must not depend on it (the ranges are disjoint).
  const order = ranges4.map((_, i) => i).sort(() => rand() - 0.5);
  for (const i of order) w.insertRange(v4(ranges4[i][0]), v4(ranges4[i][1]), record(ranges4[i][2]));
  for (const [a, b, id] of ranges6) w.insertRange(v6(a), v6(b), record(id));
  assert.ok(w.stats.records <= 500);
  const buf = w.toBuffer();

  for (const recordSize of [24, 28, 32] as const) {
    const wb = recordSize === 24 ? buf : (() => {
      const x = new MmdbWriter({ databaseType: 'Test-Random', recordSize });
      for (const [a, b, id] of ranges4) x.insertRange(v4(a), v4(b), record(id));
      for (const [a, b, id] of ranges6) x.insertRange(v6(a), v6(b), record(id));
      return x.toBuffer();
    })();
    const r = read(wb);
    assert.equal(r.metadata.recordSize, recordSize);
    // libmaxminddb must read every record layout too (when mmdblookup is installed).
    const file = path.join(tmpDir(), `random-${recordSize}.mmdb`);
    fs.writeFileSync(file, wb);
    const [a0, , id0] = ranges4[777];
    const [a6, , id6] = ranges6[777];
    for (const [ip, id] of [[v4(a0), id0], [v6(a6), id6]] as const) {
      const x = mmdblookup(file, ip);
      if (x) assert.ok(x.status === 0 && x.out.includes(`"record ${id}"`), `${recordSize}-bit ${ip}: ${x.out}`);
    }
    for (let i = 0; i < ranges4.length; i++) {
      const [a, b, id] = ranges4[i];
      const want = record(id);
      assert.deepEqual(r.get(v4(a)), want, `start of range ${i}`);
      assert.deepEqual(r.get(v4(b)), want, `end of range ${i}`);
      assert.deepEqual(r.get(v4(a + Math.floor(rand() * (b - a + 1)))), want, `inside range ${i}`);
      if (a > 0 && (i === 0 || ranges4[i - 1][1] < a - 1)) assert.equal(r.get(v4(a - 1)), null, `before range ${i}`);
      if (b < 2 ** 32 - 1 && (i + 1 === ranges4.length || ranges4[i + 1][0] > b + 1)) assert.equal(r.get(v4(b + 1)), null, `after range ${i}`);
      assert.deepEqual(r.get(`::ffff:${v4(a)}`), want, `mapped start of range ${i}`);
    }
    for (let i = 0; i < ranges6.length; i++) {
      const [a, b, id] = ranges6[i];
      assert.deepEqual(r.get(v6(a)), record(id), `v6 start ${i}`);
      assert.deepEqual(r.get(v6(b)), record(id), `v6 end ${i}`);
      assert.equal(r.get(v6(a - 1n)), i > 0 && ranges6[i - 1][1] === a - 1n ? record(ranges6[i - 1][2]) : null);
      assert.equal(r.get(v6(b + 1n)), i + 1 < ranges6.length && ranges6[i + 1][0] === b + 1n ? record(ranges6[i + 1][2]) : null);
    }
  }
});

test('a range splits into the minimal set of networks', () => {
  const w = new MmdbWriter({ databaseType: 'Test' });
  w.insertRange('10.0.0.1', '10.0.0.254', { v: 1 });
  // 14 networks: .1/32 .2/31 .4/30 .8/29 .16/28 .32/27 .64/26 .128/26 .192/27 .224/28 .240/29 .248/30 .252/31 .254/32
  w.insertRange('2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', { v: 2 });
  const r = read(w.toBuffer());
  assert.deepEqual(r.getWithPrefixLength('10.0.0.1'), [{ v: 1 }, 32]);
  assert.deepEqual(r.getWithPrefixLength('10.0.0.2'), [{ v: 1 }, 31]);
  assert.deepEqual(r.getWithPrefixLength('10.0.0.100'), [{ v: 1 }, 26]);
  assert.deepEqual(r.getWithPrefixLength('10.0.0.150'), [{ v: 1 }, 26]);
  assert.deepEqual(r.getWithPrefixLength('10.0.0.200'), [{ v: 1 }, 27]);
  assert.deepEqual(r.getWithPrefixLength('10.0.0.254'), [{ v: 1 }, 32]);
  assert.equal(r.get('10.0.0.0'), null);
  assert.equal(r.get('10.0.0.255'), null);
  assert.deepEqual(r.getWithPrefixLength('2001:db8:1234::1'), [{ v: 2 }, 32]);
});

test('the test fixtures load in the maxmind reader and in libmaxminddb (mmdblookup)', (t) => {
  const paths = writeGeoIpFixtures(tmpDir());
  const city = read(fs.readFileSync(paths.city));
  for (const f of GEO_FACTS) {
    const rec = city.get(f.ip) as { country: { iso_code: string } } | null;
    assert.equal(rec?.country.iso_code, f.country, f.ip);
  }
  const r = mmdblookup(paths.city, GEO_FACTS[0].ip);
  if (r === null) return t.skip(NO_MMDBLOOKUP);
  for (const [file, ip, want] of [
    [paths.city, '192.0.2.10', '"DE" <utf8_string>'],
    [paths.city, '::ffff:203.0.113.9', '"JP" <utf8_string>'],
    [paths.city, '2001:db8:2::7', '"Chicago" <utf8_string>'],
    [paths.asn, '198.51.100.7', '64502 <uint32>'],
    [paths.flatCity, '127.0.0.4', '"Osaka" <utf8_string>'],
  ] as const) {
    const x = mmdblookup(file, ip)!;
    assert.equal(x.status, 0, x.out);
    assert.ok(x.out.includes(want), `${path.basename(file)} ${ip}: ${x.out}`);
  }
  const none = mmdblookup(paths.city, '127.0.0.1')!;
  assert.match(none.out, /Could not find an entry/);
});

test('an empty database is one node and valid', () => {
  const r = read(new MmdbWriter({ databaseType: 'Empty' }).toBuffer());
  assert.equal(r.metadata.nodeCount, 1);
  assert.equal(r.get('192.0.2.1'), null);
  assert.equal(r.get('2001:db8::1'), null);
});
