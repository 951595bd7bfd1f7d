// Seeded fuzzing of the input checks: core/paths.ts originPathProblem, sidecar/query.ts parseQuery, and njs's
// path check (njs/path-rule.ts, imported here, and a sample of it under the real njs CLI when one is installed).
// Each run is bounded in time as well as in count, and prints its seed: a failure names the input and can be
// replayed.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { continentOf } from '../../core/continents.ts';
import { MAX_PATH_LENGTH, originPathProblem } from '../../core/paths.ts';
import pathRule from '../../njs/path-rule.ts';
import { parseQuery } from '../../sidecar/query.ts';
import { njsBinary, runUnderNjs } from '../helpers/njs-engine.ts';
import { mulberry32 } from '../helpers/prng.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x6d6c);
const RUNS = Number(process.env.FUZZ_RUNS ?? 50_000);
/** Wall-clock bound per fuzz loop: the runs stop early on a slow machine rather than hold the suite. */
const BUDGET_MS = 8_000;

type Rand = () => number;

const int = (rand: Rand, n: number) => Math.floor(rand() * n);
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[int(rand, xs.length)];

/** Pieces that matter to path checks: separators, dots in every spelling, controls, odd Unicode, lone surrogates. */
const PATH_TOKENS = [
  '/', '/', '/', '.', '..', '...', '%2e', '%2E', '%2e%2e', '%2f', '%5c', '\\', '%00', '\u0000', '\r', '\n', '\t',
  '\u001f', '\u007f', '\u0085', '\u2028', '\uFFFD', '\uFEFF', '\uD800', '\uDC00', '\uD83D\uDE00', 'é', 'ü', '?', '#',
  '%', '%%', ' ', 'pub', 'x.iso', 'a', 'Z', '0', '~', ';', '<script>', '"', "'", '&', '=', '+',
];

/** Query argument names: the ones parseQuery knows, in odd spellings too. */
const QUERY_KEYS = [
  'country', 'as', 'ip', 'avoid', 'https', 'json', 'meta4', 'metalink', 'mirrorlist', 'sha256', 'sha1', 'md5',
  'Country', 'IP', 'ip%00', 'c%6Funtry', '', '%', '&',
];

/** Pieces of values: countries, AS numbers, addresses, zone ids, escapes, markup. */
const QUERY_VALUE_TOKENS = [
  'de', 'DE', 'jp', 'fr', 'xx', 'QQ', 'AS', 'as', '4444', '4294967295', '4294967296', '0', '-1', '1e3', '1.2.3.4',
  '192.0.2.10', '999.1.1.1', '01.2.3.4', '::1', 'fe80::1', '2001:db8::1', '::ffff:1.2.3.4', '%25', '%', 'eth0',
  '<img>', '[', ']', ':', '.', ',', ' ', '%20', '+', '%00', '%0d%0a', '%ff', '%c0%ae', '\uD800', 'é', 'ß', '\u0130',
  '\u212A', '%3C', '%3E', '"', '\\', '=', '&', '1',
];

/** A query string of key=value pairs built from the tokens above, with noise. */
function randomQuery(rand: Rand): string {
  const pairs: string[] = [];
  const n = int(rand, 6);
  for (let i = 0; i < n; i++) {
    const key = rand() < 0.9 ? pick(rand, QUERY_KEYS) : randomString(rand, QUERY_VALUE_TOKENS, 3);
    const value = randomString(rand, QUERY_VALUE_TOKENS, rand() < 0.5 ? 1 : 5);
    pairs.push(rand() < 0.85 ? `${key}=${value}` : key);
  }
  return pairs.join(rand() < 0.95 ? '&' : pick(rand, ['&&', ';', '&amp;']));
}

function randomCodeUnit(rand: Rand): string {
  const r = rand();
  if (r < 0.5) return String.fromCharCode(0x20 + int(rand, 0x5f)); // printable ASCII
  if (r < 0.6) return String.fromCharCode(int(rand, 0x20)); // C0 controls
  if (r < 0.7) return String.fromCharCode(0x80 + int(rand, 0x80)); // C1, Latin-1
  return String.fromCharCode(int(rand, 0x10000)); // anything, lone surrogates included
}

function randomString(rand: Rand, tokens: readonly string[], maxParts: number): string {
  const parts: string[] = [];
  const n = int(rand, maxParts + 1);
  for (let i = 0; i < n; i++) parts.push(rand() < 0.7 ? pick(rand, tokens) : randomCodeUnit(rand));
  return parts.join('');
}

/** A random path: mostly "/..." built from tokens, sometimes very long, sometimes pure noise. */
function randomPath(rand: Rand): string {
  const r = rand();
  if (r < 0.05) return randomString(rand, PATH_TOKENS, 8); // may not start with "/"
  const body = randomString(rand, PATH_TOKENS, 16);
  if (r < 0.1) {
    // Around the length limit, in one- and multi-byte characters.
    const unit = pick(rand, ['a', 'é', '\u20ac', '\uD83D\uDE00']);
    const target = MAX_PATH_LENGTH - 8 + int(rand, 16);
    let s = '/';
    while (Buffer.byteLength(s) < target) s += unit;
    return s + body;
  }
  return '/' + body;
}

/** Time- and count-bounded loop; returns how many runs happened. */
function fuzz(runs: number, each: (i: number) => void): number {
  const start = performance.now();
  let i = 0;
  for (; i < runs; i++) {
    if ((i & 255) === 0 && performance.now() - start > BUDGET_MS) break;
    each(i);
  }
  return i;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The properties an accepted origin path has; returns what is wrong, or null. */
function acceptedPathViolation(p: string): string | null {
  if (!p.startsWith('/')) return 'does not start with "/"';
  if (Buffer.byteLength(p) > MAX_PATH_LENGTH) return 'longer than the limit';
  if (CONTROL.test(p)) return 'control character';
  if (p.split('/').some((s) => s === '.' || s === '..')) return 'dot segment';
  if (p.includes('//')) return 'empty segment';
  if (p.includes('\uFFFD') || LONE_SURROGATE.test(p)) return 'not valid UTF-8 (replacement character or lone surrogate)';
  if (Buffer.from(p, 'utf8').toString('utf8') !== p) return 'does not survive a UTF-8 round trip';
  return null;
}

test('fuzz: originPathProblem never throws, and every accepted path is safe', (t) => {
  const rand = mulberry32(SEED);
  let accepted = 0;
  const n = fuzz(RUNS, () => {
    const p = randomPath(rand);
    let problem: string | null;
    try {
      problem = originPathProblem(p);
    } catch (e) {
      assert.fail(`originPathProblem threw on ${JSON.stringify(p)} (seed ${SEED}): ${(e as Error).message}`);
    }
    if (problem !== null) {
      assert.equal(typeof problem, 'string');
      assert.ok(problem.length > 0, `empty reason for ${JSON.stringify(p)}`);
      return;
    }
    accepted++;
    const v = acceptedPathViolation(p);
    assert.equal(v, null, `originPathProblem accepted ${JSON.stringify(p)} (seed ${SEED}): ${v}`);
  });
  t.diagnostic(`seed ${SEED}: ${n} paths, ${accepted} accepted`);
  assert.ok(accepted > n / 20, 'the generator must produce acceptable paths too, or the properties test nothing');
  // Non-strings (the CLI passes what commander gives) are refused, not thrown on.
  for (const junk of [undefined, null, 42, {}, []]) assert.equal(typeof originPathProblem(junk as unknown as string), 'string');
});

const FORMATS = new Set(['redirect', 'json', 'meta4', 'metalink', 'mirrorlist', 'sha256', 'sha1', 'md5']);

function queryViolation(q: ReturnType<typeof parseQuery>): string | null {
  if (!FORMATS.has(q.format)) return `format ${q.format}`;
  if (typeof q.https !== 'boolean') return 'https not a boolean';
  const { country, asn, ip } = q.overrides;
  if (country !== null && !(/^[A-Z]{2}$/.test(country) && continentOf(country) !== null)) return `country ${JSON.stringify(country)}`;
  if (asn !== null && !(Number.isSafeInteger(asn) && asn >= 0 && asn <= 4294967295)) return `asn ${asn}`;
  if (ip !== null && (net.isIP(ip) === 0 || ip.length > 64)) return `ip ${JSON.stringify(ip)} is no address net.isIP accepts`;
  if (!Array.isArray(q.avoid) || q.avoid.some((c) => !/^[A-Z]{2}$/.test(c))) return `avoid ${JSON.stringify(q.avoid)}`;
  return null;
}

test('fuzz: parseQuery never throws, and every override it returns is valid', (t) => {
  const rand = mulberry32(SEED + 1);
  const seen = { country: 0, asn: 0, ip: 0, avoid: 0 };
  const n = fuzz(RUNS, () => {
    const query = randomQuery(rand);
    const accept = rand() < 0.2 ? randomString(rand, ['application/json', 'application/metalink4+xml', 'application/metalink+xml', ';q=', '0.5', '1', 'NaN', ',', '*/*', ' '], 12) : '';
    let q: ReturnType<typeof parseQuery>;
    try {
      q = parseQuery(query, accept);
    } catch (e) {
      assert.fail(`parseQuery threw on ${JSON.stringify(query)} / ${JSON.stringify(accept)} (seed ${SEED + 1}): ${(e as Error).message}`);
    }
    const v = queryViolation(q);
    assert.equal(v, null, `parseQuery(${JSON.stringify(query)}) (seed ${SEED + 1}): ${v}`);
    if (q.overrides.country !== null) seen.country++;
    if (q.overrides.asn !== null) seen.asn++;
    if (q.overrides.ip !== null) seen.ip++;
    if (q.avoid.length) seen.avoid++;
  });
  t.diagnostic(`seed ${SEED + 1}: ${n} queries; accepted overrides: ${JSON.stringify(seen)}`);
  for (const [k, count] of Object.entries(seen)) assert.ok(count > 0, `the generator never produced a valid ${k}: the property is untested`);
});

test('parseQuery: IPv6 zone ids in ?ip= are dropped, junk zones never pass', () => {
  assert.equal(parseQuery('ip=fe80::1%25eth0').overrides.ip, 'fe80::1');
  assert.equal(parseQuery('ip=fe80::1%25%3Cimg%3E').overrides.ip, 'fe80::1');
  assert.equal(parseQuery('ip=%5B::1%5D').overrides.ip, null);
  assert.equal(parseQuery('ip=1.2.3.4%25eth0').overrides.ip, null);
  assert.equal(parseQuery('ip=fe80::1%25').overrides.ip, null);
});

test('originPathProblem: lone surrogates are invalid UTF-8 like U+FFFD', () => {
  assert.match(originPathProblem('/pub/\uD800.iso') ?? 'null', /UTF-8/);
  assert.match(originPathProblem('/pub/\uDC00') ?? 'null', /UTF-8/);
  assert.equal(originPathProblem('/pub/\uD83D\uDE00.iso'), null, 'a surrogate pair is a real character');
});

test('fuzz: the njs uriProblem (njs/path-rule.ts) accepts only paths the sidecar accepts too (or refuses for length/UTF-8 only)', async (t) => {
  const fn = pathRule.uriProblem;
  const rand = mulberry32(SEED + 2);
  const sample: string[] = [];
  let accepted = 0;
  const n = fuzz(RUNS, (i) => {
    // r.uri as nginx hands it over: already percent-decoded and normalised, so feed decoded-looking strings.
    const uri = randomPath(rand);
    const problem = fn(uri, '/');
    assert.equal(typeof problem, 'string');
    if (i < 2000) sample.push(uri);
    if (problem !== '') return;
    accepted++;
    assert.ok(uri.startsWith('/'), `njs accepted ${JSON.stringify(uri)}: not under the prefix`);
    assert.ok(!CONTROL.test(uri), `njs accepted ${JSON.stringify(uri)}: control character`);
    assert.ok(!uri.split('/').some((s) => s === '.' || s === '..'), `njs accepted ${JSON.stringify(uri)}: dot segment`);
    assert.ok(!uri.includes('?'), `njs accepted ${JSON.stringify(uri)}: question mark`);
    assert.ok(uri.length <= MAX_PATH_LENGTH, `njs accepted ${JSON.stringify(uri)}: too long`);
    // What njs lets through, the sidecar may still refuse, but only for what njs does not check: bytes (njs counts
    // UTF-16 units), invalid UTF-8 (njs refuses it when encoding) and empty segments (nginx merges slashes).
    const sidecar = originPathProblem(uri);
    if (sidecar !== null) assert.match(sidecar, /longer than|UTF-8|empty segment/, `njs and sidecar disagree on ${JSON.stringify(uri)}`);
  });
  t.diagnostic(`seed ${SEED + 2}: ${n} URIs through uriProblem, ${accepted} accepted`);

  // The same module under the real njs engine (0.7.9 on Debian 12), when its CLI is installed: same answers.
  const njs = njsBinary();
  if (!njs) {
    t.diagnostic('njs CLI not installed: the engine cross-check is skipped');
    return;
  }
  // Lone surrogates cannot be carried into njs through JSON text; r.uri never holds them (it comes from bytes).
  const paths = sample.filter((p) => !LONE_SURROGATE.test(p)).slice(0, 1000);
  const lines = await runUnderNjs(
    njs,
    ['path-rule'],
    `var paths = ${JSON.stringify(paths)};\nfor (var i = 0; i < paths.length; i++) console.log(JSON.stringify(path_rule.uriProblem(paths[i], '/')));`,
  );
  const got = lines.map((l) => JSON.parse(l) as string);
  assert.equal(got.length, paths.length);
  for (let i = 0; i < paths.length; i++) assert.equal(got[i], fn(paths[i], '/'), `njs engine and V8 disagree on ${JSON.stringify(paths[i])}`);
  t.diagnostic(`${paths.length} URIs checked under ${njs}: same answers as under V8`);
});
