import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  addressEnd,
  formatIp,
  isV4Mapped,
  maskHostBits,
  netContains,
  parseIp,
  parseIpInto,
  parseIpWords,
  parseNet,
  parseNets,
  parsePrefixLength,
  prefixByteMask,
  type ParsedIp,
} from '../../core/ip.ts';
import { mulberry32 } from '../helpers/prng.ts';

/** Words of a ParsedIp as text: "4:c0000201", "6:20010db8:0:0:1". */
function wordsText(ip: ParsedIp | null): string | null {
  if (ip === null) return null;
  if (ip.family === 4) return `4:${ip.w0.toString(16)}`;
  return `6:${[ip.w0, ip.w1, ip.w2, ip.w3].map((w) => w.toString(16)).join(':')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Bytes

describe('parseIpInto', () => {
  test('accepts exactly what node:net accepts (without zone ids)', () => {
    const samples = [
      '0.0.0.0', '1.2.3.4', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1..2.3',
      '1.2.3.4 ', ' 1.2.3.4', '', 'x', '::', '::1', '1::', '2001:db8::1', '2001:DB8::A', '2001:db8:0:0:0:0:0:1',
      '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7', '::1:2:3:4:5:6:7:8', '1::2::3',
      ':1::', '1:', ':::', '12345::', '::ffff:1.2.3.4', '::1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
      '::ffff:1.2.3', '::ffff:1.2.3.256', '::ffff:01.2.3.4', '1.2.3.4::', 'fe80::1%eth0', '2001:db8::g', '1.2.3.4/24',
      '0000:0::1', '00000::1',
    ];
    const out = new Uint8Array(16);
    for (const s of samples) {
      const want = s.includes('%') ? 0 : net.isIP(s); // zone ids are the caller's business (addressEnd)
      assert.equal(parseIpInto(s, out), want, s);
    }
  });

  test('bytes: IPv4 in [0..3], IPv6 in [0..15], ::ffff:a.b.c.d as IPv6', () => {
    const out = new Uint8Array(16);
    assert.equal(parseIpInto('198.51.100.7', out), 4);
    assert.deepEqual([...out.subarray(0, 4)], [198, 51, 100, 7]);
    assert.equal(parseIpInto('2001:db8::a:1', out), 6);
    assert.deepEqual([...out], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 1]);
    assert.equal(parseIpInto('::ffff:192.0.2.1', out), 6);
    assert.deepEqual([...out.subarray(10)], [0xff, 0xff, 192, 0, 2, 1]);
    assert.ok(isV4Mapped(out));
    assert.equal(parseIpInto('::FFFF:C000:201', out), 6);
    assert.ok(isV4Mapped(out));
    assert.equal(parseIpInto('::fffe:c000:201', out), 6);
    assert.ok(!isV4Mapped(out));
  });

  test('start and end select part of the text', () => {
    const out = new Uint8Array(16);
    const s = 'x192.0.2.1/24';
    assert.equal(parseIpInto(s, out, 1, s.indexOf('/')), 4);
    assert.deepEqual([...out.subarray(0, 4)], [192, 0, 2, 1]);
    assert.equal(parseIpInto('fe80::1%eth0', out, 0, 7), 6);
    assert.equal(out[15], 1);
  });
});

test('addressEnd: where a zone id starts', () => {
  assert.equal(addressEnd('192.0.2.1'), 9);
  assert.equal(addressEnd('fe80::1%eth0'), 7);
  assert.equal(addressEnd('fe80::1%25'), 7);
  assert.equal(addressEnd('fe80::1%'), -1); // nothing after the '%'
  assert.equal(addressEnd('192.0.2.1%eth0'), -1); // IPv4 has no zones
  assert.equal(addressEnd('%eth0'), -1);
  assert.equal(addressEnd('1.2.3.4%a:b'), -1); // the only ':' is in the zone
});

test('parsePrefixLength: one to three digits, at most max', () => {
  const len = (s: string, max = 128) => parsePrefixLength(s, 0, s.length, max);
  assert.equal(len('0'), 0);
  assert.equal(len('24'), 24);
  assert.equal(len('024'), 24);
  assert.equal(len('128'), 128);
  assert.equal(len('129'), -1);
  assert.equal(len('33', 32), -1);
  for (const bad of ['', '0024', '-1', '+1', ' 1', '1 ', '2a', '1e1']) assert.equal(len(bad), -1, bad);
  assert.equal(parsePrefixLength('x/24', 2, 4, 32), 24);
});

test('prefixByteMask and maskHostBits', () => {
  assert.deepEqual([0, 1, 2, 3].map((i) => prefixByteMask(20, i)), [0xff, 0xff, 0xf0, 0]);
  assert.deepEqual([0, 1].map((i) => prefixByteMask(0, i)), [0, 0]);
  const b = Uint8Array.from([192, 0, 2, 77]);
  assert.equal(maskHostBits(b, 24, 4), true);
  assert.deepEqual([...b], [192, 0, 2, 0]);
  assert.equal(maskHostBits(b, 24, 4), false);
  const v6 = new Uint8Array(16);
  parseIpInto('2001:db8::1', v6);
  assert.equal(maskHostBits(v6, 128, 6), false);
  assert.equal(maskHostBits(v6, 32, 6), true);
  assert.equal(formatIp(v6, 6), '2001:db8::');
});

test('formatIp: dotted quad, RFC 5952 style IPv6', () => {
  const fmt = (s: string) => {
    const b = new Uint8Array(16);
    const f = parseIpInto(s, b);
    assert.ok(f !== 0, s);
    return formatIp(b, f);
  };
  assert.equal(fmt('192.0.2.1'), '192.0.2.1');
  assert.equal(fmt('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(fmt('::'), '::');
  assert.equal(fmt('1:0:0:2:0:0:0:3'), '1:0:0:2::3'); // the longest run
  assert.equal(fmt('1:0:0:2:3:0:0:4'), '1::2:3:0:0:4'); // the first of equal runs
  assert.equal(fmt('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7'); // a single zero group stays
  assert.equal(fmt('::ffff:192.0.2.1'), '::ffff:c000:201');
});

// ---------------------------------------------------------------------------------------------------------------
// Words and prefixes (mirror selection, local delivery)

describe('parseIp / parseNet', () => {
  const ipCases: [string, string | null][] = [
    ['192.0.2.1', '4:c0000201'],
    ['0.0.0.0', '4:0'],
    ['255.255.255.255', '4:ffffffff'],
    ['256.0.0.1', null],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['01.2.3.4', null],
    ['1..3.4', null],
    ['', null],
    [' 192.0.2.1', null],
    ['2001:db8::1', '6:20010db8:0:0:1'],
    ['::', '6:0:0:0:0'],
    ['::1', '6:0:0:0:1'],
    ['fe80::1%eth0', '6:fe800000:0:0:1'],
    ['fe80::1%', null],
    ['192.0.2.1%eth0', null],
    ['2001:db8:0:0:0:0:0:1', '6:20010db8:0:0:1'],
    ['2001:db8::', '6:20010db8:0:0:0'],
    ['::ffff:192.0.2.1', '4:c0000201'],
    ['::ffff:c000:201', '4:c0000201'],
    ['::fffe:192.0.2.1', '6:0:0:fffe:c0000201'],
    ['64:ff9b::192.0.2.1', '6:64ff9b:0:0:c0000201'],
    ['2001:db8:::1', null],
    ['2001:db8::1::2', null],
    ['1:2:3:4:5:6:7:8:9', null],
    ['1:2:3:4:5:6:7', null],
    ['12345::', null],
    ['g::1', null],
  ];
  for (const [input, want] of ipCases) {
    test(`parseIp(${JSON.stringify(input)})`, () => assert.equal(wordsText(parseIp(input)), want));
  }

  test('parseIpWords fills the object it is given', () => {
    const w: ParsedIp = { family: 6, w0: 1, w1: 2, w2: 3, w3: 4 };
    assert.equal(parseIpWords('192.0.2.1', w), true);
    assert.deepEqual(w, { family: 4, w0: 0xc0000201, w1: 0, w2: 0, w3: 0 });
    assert.equal(parseIpWords('nope', w), false);
  });

  const netCases: [string, string, boolean][] = [
    ['192.0.2.0/24', '192.0.2.255', true],
    ['192.0.2.0/24', '192.0.3.0', false],
    ['192.0.2.77/24', '192.0.2.1', true],
    ['0.0.0.0/0', '203.0.113.5', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['203.0.113.9', '203.0.113.9', true],
    ['203.0.113.9', '203.0.113.8', false],
    [' 192.0.2.0 / 24 ', '192.0.2.1', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8:1:2::/63', '2001:db8:1:3::1', true],
    ['2001:db8:1:2::/64', '2001:db8:1:3::1', false],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['fe80::%eth0/10', 'fe80::1', true],
    ['::/0', '192.0.2.1', false],
    ['::ffff:192.0.2.0/120', '192.0.2.3', true],
    ['::ffff:192.0.2.0/120', '::ffff:192.0.2.3', true],
    ['192.0.2.0/24', '::ffff:192.0.2.3', true],
  ];
  for (const [n, ip, want] of netCases) {
    test(`${ip} in ${n}: ${want}`, () => {
      const pn = parseNet(n);
      const a = parseIp(ip);
      assert.ok(pn && a);
      assert.equal(netContains(pn, a), want);
    });
  }
  for (const bad of ['192.0.2.0/33', '2001:db8::/129', '::ffff:192.0.2.0/129', '192.0.2.0/', '192.0.2.0/x', '192.0.2.0/24/1', 'nope/8', '192.0.2.0/120']) {
    test(`parseNet rejects ${bad}`, () => assert.equal(parseNet(bad), null));
  }

  test('parseNets drops malformed prefixes and keeps the text', () => {
    assert.deepEqual(parseNets(['192.0.2.0/24', 'junk', '2001:db8::/32']).map((n) => n.text), ['192.0.2.0/24', '2001:db8::/32']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties, against node:net on random input

/** Random 16-bit groups, with runs of zeros now and then so that "::" has something to shorten. */
function randomGroups(rnd: () => number): number[] {
  const g = Array.from({ length: 8 }, () => (rnd() < 0.35 ? 0 : Math.floor(rnd() * 65536)));
  if (rnd() < 0.15) [g[0], g[1], g[2], g[3], g[4], g[5]] = [0, 0, 0, 0, 0, 0xffff]; // IPv4-mapped
  return g;
}

/** One of the many spellings of the IPv6 address with these groups: "::" anywhere it fits, case, zero padding, dotted tail. */
function spellV6(g: number[], rnd: () => number): string {
  const parts: string[] = g.map((x) => {
    const h = x.toString(16);
    return rnd() < 0.2 ? h.padStart(4, '0') : h;
  });
  if (rnd() < 0.25) parts.splice(6, 2, `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`);
  let s = parts.join(':');
  const zeros: [number, number][] = [];
  for (let i = 0; i < parts.length; i++) {
    for (let j = i; j < parts.length && /^0+$/.test(parts[j]); j++) zeros.push([i, j + 1]);
  }
  if (zeros.length > 0 && rnd() < 0.7) {
    const [a, b] = zeros[Math.floor(rnd() * zeros.length)];
    s = `${parts.slice(0, a).join(':')}::${parts.slice(b).join(':')}`;
  }
  return rnd() < 0.2 ? s.toUpperCase() : s;
}

function bytesOfGroups(g: number[]): number[] {
  return g.flatMap((x) => [x >> 8, x & 255]);
}

const ALPHABET = '0123456789abcdefABCDEFg:.%/ -';

/** 0 to 3 random edits: insert, delete or replace a character. */
function mutate(s: string, rnd: () => number): string {
  for (let n = Math.floor(rnd() * 4); n > 0; n--) {
    const i = Math.floor(rnd() * (s.length + 1));
    const c = ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    const op = rnd();
    s = op < 0.33 ? s.slice(0, i) + c + s.slice(i) : op < 0.66 ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + c + s.slice(i + 1);
  }
  return s;
}

describe('properties against node:net', () => {
  test('every spelling of a random address parses to its bytes, and node:net agrees it is one', () => {
    const rnd = mulberry32(1);
    const out = new Uint8Array(16);
    for (let k = 0; k < 20_000; k++) {
      if (rnd() < 0.3) {
        const b = [0, 1, 2, 3].map(() => Math.floor(rnd() * 256));
        const s = b.join('.');
        assert.equal(net.isIP(s), 4, s);
        assert.equal(parseIpInto(s, out), 4, s);
        assert.deepEqual([...out.subarray(0, 4)], b, s);
        const w0 = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
        assert.deepEqual(parseIp(s), { family: 4, w0, w1: 0, w2: 0, w3: 0 }, s);
        continue;
      }
      const g = randomGroups(rnd);
      const s = spellV6(g, rnd);
      assert.equal(net.isIP(s), 6, s);
      assert.equal(parseIpInto(s, out), 6, s);
      assert.deepEqual([...out], bytesOfGroups(g), s);
      // Words: the same bits, IPv4-mapped ones as IPv4.
      const w = parseIp(s);
      assert.ok(w !== null, s);
      const words = [0, 2, 4, 6].map((i) => ((g[i] << 16) | g[i + 1]) >>> 0);
      if (isV4Mapped(out)) assert.deepEqual(w, { family: 4, w0: words[3], w1: 0, w2: 0, w3: 0 }, s);
      else assert.deepEqual(w, { family: 6, w0: words[0], w1: words[1], w2: words[2], w3: words[3] }, s);
      // A zone id is dropped by parseIp, refused by parseIpInto.
      assert.equal(wordsText(parseIp(`${s}%eth${k % 10}`)), wordsText(w), s);
    }
  });

  test('random near-addresses: accepted exactly when node:net accepts them', () => {
    const rnd = mulberry32(2);
    const out = new Uint8Array(16);
    let accepted = 0;
    for (let k = 0; k < 50_000; k++) {
      const base = rnd() < 0.3 ? [0, 1, 2, 3].map(() => Math.floor(rnd() * 300)).join('.') : spellV6(randomGroups(rnd), rnd);
      const s = mutate(rnd() < 0.1 ? `${base}%eth0` : base, rnd);
      const want = net.isIP(s);
      const pct = s.indexOf('%');
      if (pct < 0) {
        assert.equal(parseIpInto(s, out), want, s);
        assert.equal(parseIp(s) !== null, want !== 0, s);
      } else if (/^[0-9a-zA-Z.:-]*$/.test(s.slice(pct + 1))) {
        // node:net's own zone syntax; parseIp takes any non-empty zone.
        assert.equal(parseIp(s) !== null, want !== 0, s);
        assert.equal(parseIpInto(s, out), 0, s);
      }
      if (want !== 0) accepted++;
    }
    assert.ok(accepted > 10_000 && accepted < 40_000, `a useful mix of good and bad input (${accepted} good)`);
  });

  test('netContains agrees with net.BlockList on random prefixes and addresses', () => {
    const rnd = mulberry32(3);
    let inside = 0;
    const runs = 20_000;
    for (let k = 0; k < runs; k++) {
      const v4 = rnd() < 0.5;
      const max = v4 ? 32 : 128;
      const len = Math.floor(rnd() * (max + 1));
      const netBytes = new Uint8Array(16);
      for (let i = 0; i < 16; i++) netBytes[i] = Math.floor(rnd() * 256);
      if (!v4 && isV4Mapped(netBytes)) continue; // IPv4 networks are tested as such
      // The address: in the network (random host bits) half the time, else anywhere.
      const addr = Uint8Array.from(netBytes);
      const near = rnd() < 0.5;
      for (let i = 0; i < max / 8; i++) {
        const r = Math.floor(rnd() * 256);
        addr[i] = near ? (netBytes[i] & prefixByteMask(len, i)) | (r & ~prefixByteMask(len, i) & 0xff) : r;
      }
      if (!v4 && isV4Mapped(addr)) continue; // parseIp makes these IPv4; BlockList would match them to IPv6 rules
      const netText = formatIp(netBytes, v4 ? 4 : 6); // host bits and all: both sides mask them
      const addrText = v4 && rnd() < 0.2 ? `::ffff:${formatIp(addr, 4)}` : formatIp(addr, v4 ? 4 : 6);
      const list = new net.BlockList();
      list.addSubnet(netText, len, v4 ? 'ipv4' : 'ipv6');
      const want = list.check(addrText, addrText.includes(':') ? 'ipv6' : 'ipv4');
      // parseNet reads ::ffff:a.b.c.d/(96+n) as a.b.c.d/n: the same network for BlockList.
      const text = v4 && rnd() < 0.2 ? `::ffff:${netText}/${96 + len}` : `${netText}/${len}`;
      const pn = parseNet(text);
      const pa = parseIp(addrText);
      assert.ok(pn !== null && pa !== null, `${text} ${addrText}`);
      assert.equal(netContains(pn, pa), want, `${addrText} in ${text}`);
      if (want) inside++;
      // The network maskHostBits leaves holds the address exactly when the original prefix does.
      const masked = Uint8Array.from(netBytes);
      maskHostBits(masked, len, v4 ? 4 : 6);
      const mn = parseNet(`${formatIp(masked, v4 ? 4 : 6)}/${len}`);
      assert.ok(mn !== null);
      assert.equal(netContains(mn, pa), want, `${addrText} in masked ${text}`);
    }
    assert.ok(inside > runs * 0.4, `enough addresses inside their network (${inside})`);
  });
});
