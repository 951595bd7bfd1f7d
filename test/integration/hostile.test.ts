// Issue 6, hostile input: a labelled corpus of bad requests sent byte for byte (test/helpers/raw-http.ts) through
// the real nginx → sidecar (njs when it falls back). Each case names the exact answer it must get; every answer must also be clean:
// no 5xx (nginx's own 505 to an unknown HTTP version apart, see "protocol"), no header the attacker chose, a
// Location without CR, LF or spaces, no file from outside the tree, valid JSON/XML, no live markup in HTML. Then a
// seeded run of random paths, and the aftermath: no crashed worker, no fallback, the sidecar and downloads fine.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { XMLValidator } from 'fast-xml-parser';
import { mulberry32 } from '../helpers/prng.ts';
import { buildRequest, header, headerValues, rawRequest, type RawReply } from '../helpers/raw-http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
const S = () => stack;

const TGZ = '/pub/mirrorlane-demo-1.0.tar.gz';
const LOCAL = '/pub/origin-only.txt'; // no mirror holds it: nginx serves it (and handles Range itself)
/** A client in DE behind the trusted proxy 127.0.0.1: plain downloads go to demo-de (127.0.0.2). */
const DE = '192.0.2.10';
const UNTRUSTED = '127.0.0.5';

interface Case {
  category: string;
  label: string;
  data: Buffer;
  /** The statuses this request may get; 0 = an HTTP/0.9 answer (a body without status line). */
  expect: number[];
  localAddress?: string;
  head?: boolean;
  /** Extra assertions on the answer. */
  check?: (r: RawReply) => void;
}

interface ReqOpts {
  /** X-Forwarded-For; null sends none. Default: the DE client. */
  xff?: string | null;
  host?: string | null;
  version?: string;
  body?: string;
}

/** A request as raw bytes: method, target and version verbatim, then Host, X-Forwarded-For and `headers`. */
function req(method: string, target: string, headers: string[] = [], o: ReqOpts = {}): Buffer {
  const xff = o.xff === undefined ? DE : o.xff;
  const lines = xff === null ? headers : [`X-Forwarded-For: ${xff}`, ...headers];
  return buildRequest(`${method} ${target} ${o.version ?? 'HTTP/1.1'}`, lines, { host: o.host === undefined ? 'localhost' : o.host, body: o.body });
}

const get = (target: string, headers: string[] = [], o: ReqOpts = {}) => req('GET', target, headers, o);

const corpus: Case[] = [];
function add(category: string, label: string, data: Buffer, expect: number[], extra: Partial<Case> = {}): void {
  corpus.push({ category, label, data, expect, ...extra });
}

// --- Checks shared by several categories ---------------------------------------------------------------------

function mirrorUrl(host: string, p = TGZ): string {
  return `http://${host}:${stack.mirrorPort}${p}`;
}

/** A plain download by the DE client: 302 to demo-de, the very file. */
const toDemoDe = (r: RawReply) => {
  assert.equal(header(r, 'location'), mirrorUrl('127.0.0.2'));
  assert.equal(header(r, 'x-mirrorlane-mirror'), 'demo-de');
};

function json(r: RawReply): { client: { ip: string; overridden: boolean } } & Record<string, unknown> {
  assert.match(header(r, 'content-type') ?? '', /^application\/json/);
  return JSON.parse(r.body.toString('utf8'));
}

/** ?json answer: which address did the sidecar see? */
const clientIs = (ip: string, overridden = false) => (r: RawReply) => {
  const body = json(r);
  assert.equal(body.client.ip, ip);
  assert.equal(body.client.overridden, overridden);
};

const isHtml = (r: RawReply) => assert.match(header(r, 'content-type') ?? '', /^text\/html/);
const isPlain = (r: RawReply) => assert.match(header(r, 'content-type') ?? '', /^text\/plain/);
const isMeta4 = (r: RawReply) => assert.match(header(r, 'content-type') ?? '', /^application\/metalink4\+xml/);
const isMetalink3 = (r: RawReply) => assert.match(header(r, 'content-type') ?? '', /^application\/metalink\+xml/);

// Attacker markup, as it would look unescaped; the corpus uses only these. The pages' own SVGs (the mirror list's
// map, the stats charts) start with `<svg class="map"` / `<svg class="chart"`: no attacker string does.
const LIVE_MARKUP = /<script|<img|<svg(?! class="(?:map|chart)" )|<x>|onerror=|onload=/i;
// Proof that a traversal reached a file outside the tree: /etc/passwd, the stack's own config (database URL).
const LEAKS = /root:x:0:0|"databaseUrl"|postgres:\/\//;
// RFC 9110 field name; value without control characters other than HT.
const FIELD_LINE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex
const CTL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** What every answer must satisfy, whatever its status. Returns the list of problems (empty when clean). */
function cleanliness(c: Case, r: RawReply): string[] {
  const bad: string[] = [];
  if (r.status >= 500 && !c.expect.includes(r.status)) bad.push(`server error ${r.status}`);
  for (const [name, value] of r.headers) {
    if (!FIELD_LINE_NAME.test(name)) bad.push(`malformed header line ${JSON.stringify(name)}`);
    if (CTL.test(value)) bad.push(`control character in header ${name}: ${JSON.stringify(value)}`);
    if (/^set-cookie$/i.test(name)) bad.push(`Set-Cookie: ${value}`);
    if (/injected/i.test(name)) bad.push(`injected header ${name}: ${value}`);
  }
  const locations = headerValues(r, 'location');
  if (locations.length > 1) bad.push(`${locations.length} Location headers`);
  for (const l of locations) {
    if (/[\s]/.test(l)) bad.push(`Location with white space: ${JSON.stringify(l)}`);
    if (!/^https?:\/\/[^/?#\s]+/.test(l)) bad.push(`Location not absolute http(s): ${JSON.stringify(l)}`);
    if (/evil/i.test(l)) bad.push(`Location points where the client said: ${l}`);
  }
  const body = r.body.toString('utf8');
  if (LEAKS.test(body)) bad.push('body holds a file from outside the published tree');
  const type = header(r, 'content-type') ?? '';
  if (/^text\/html/.test(type) && LIVE_MARKUP.test(body)) bad.push(`live markup in HTML: ${body.match(LIVE_MARKUP)?.[0]}`);
  if (/json/.test(type) && !c.head) {
    try {
      JSON.parse(body);
    } catch {
      bad.push(`invalid JSON: ${body.slice(0, 200)}`);
    }
  }
  if (/xml/.test(type) && !c.head) {
    const v = XMLValidator.validate(body);
    if (v !== true) bad.push(`invalid XML: ${JSON.stringify(v)}`);
    if (/<x>|<img|<script/i.test(body)) bad.push('attacker markup as XML elements');
  }
  return bad;
}

async function runCase(c: Case): Promise<string[]> {
  let r: RawReply;
  try {
    r = await rawRequest({ port: stack.port, data: c.data, localAddress: c.localAddress, head: c.head, timeoutMs: 15_000 });
  } catch (e) {
    return [`${c.category} / ${c.label}: no answer: ${(e as Error).message}`];
  }
  const problems: string[] = [];
  if (!c.expect.includes(r.status)) problems.push(`status ${r.status} (${r.statusLine.slice(0, 60)}), expected ${c.expect.join('|')}`);
  problems.push(...cleanliness(c, r));
  if (problems.length === 0 && c.check) {
    try {
      c.check(r);
    } catch (e) {
      problems.push((e as Error).message.split('\n').slice(0, 6).join(' '));
    }
  }
  return problems.map((p) => `${c.category} / ${c.label}: ${p} — body: ${JSON.stringify(r.body.toString('utf8').slice(0, 120))}`);
}

/** Run cases with bounded concurrency; returns all problems. */
async function runAll(cases: Case[], concurrency = 16): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      problems.push(...(await runCase(c)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, worker));
  return problems;
}

// --- The corpus ------------------------------------------------------------------------------------------------

// Path traversal, generated: every spelling of ".." joined by every spelling of "/", aimed inside the tree (must
// resolve to the real file or stay a name that does not exist) and outside it (never a file from there).
{
  // decodes: nginx turns it into ".." and resolves it; literal: stays a name; utf8: invalid UTF-8, refused.
  const dots: [string, 'decodes' | 'literal' | 'utf8' | 'escape'][] = [
    ['..', 'decodes'],
    ['%2e%2e', 'decodes'],
    ['%2E%2E', 'decodes'],
    ['.%2e', 'decodes'],
    ['%2e.', 'decodes'],
    ['%252e%252e', 'literal'],
    ['.%252e', 'literal'],
    ['..%25', 'literal'],
    ['%c0%ae%c0%ae', 'utf8'],
    ['%e0%80%ae%e0%80%ae', 'utf8'],
    ['%c0%2e%c0%2e', 'utf8'],
    ['%u002e%u002e', 'escape'],
  ];
  // slash: nginx decodes it to "/" (and then resolves dot segments); bs: a backslash, just a character on Linux;
  // literal: stays "%2f"-like text; utf8: overlong "/", refused.
  const seps: [string, 'slash' | 'bs' | 'literal' | 'utf8'][] = [
    ['/', 'slash'],
    ['%2f', 'slash'],
    ['%2F', 'slash'],
    ['\\', 'bs'],
    ['%5c', 'bs'],
    ['%5C', 'bs'],
    ['%255c', 'literal'],
    ['%252f', 'literal'],
    ['%c0%af', 'utf8'],
    ['%e0%80%af', 'utf8'],
  ];
  for (const [dot, dk] of dots) {
    for (const [sep, sk] of seps) {
      const invalid = dk === 'escape' || dk === 'utf8' || sk === 'utf8';
      const resolves = dk === 'decodes' && sk === 'slash';
      // Inside: /pub/sub/../FILE is /pub/FILE, the real file; any other spelling is no file at all.
      const inside = `/pub/sub/${dot}${sep}mirrorlane-demo-1.0.tar.gz`;
      add('traversal', `inside ${dot} ${sep}`, get(inside), invalid ? [400] : resolves ? [302] : [404], resolves ? { check: toDemoDe } : {});
      // Outside: four levels up from /pub is above the root: nginx refuses; spellings that do not resolve name
      // nothing.
      const outside = `/pub/${`${dot}${sep}`.repeat(4)}etc/passwd`;
      add('traversal', `outside ${dot} ${sep}`, get(outside), invalid ? [400] : [resolves ? 400 : 404]);
    }
  }
  const mixed: [string, string, number[], ((r: RawReply) => void)?][] = [
    ['../ from the root', '/../etc/passwd', [400]],
    ['one level up, off the tree', '/pub/../etc/passwd', [404]],
    ['to the stack config', '/pub/../../mirrorlane.json', [400]],
    ['to the stack config, one level', '/pub/../mirrorlane.json', [404]],
    ['/pub/./x', `/pub/./mirrorlane-demo-1.0.tar.gz`, [302], toDemoDe],
    ['/./pub/./x', `/./pub/./mirrorlane-demo-1.0.tar.gz`, [302], toDemoDe],
    ['//pub', `//pub/mirrorlane-demo-1.0.tar.gz`, [302], toDemoDe],
    ['//pub//x', `//pub//mirrorlane-demo-1.0.tar.gz`, [302], toDemoDe],
    ['%2f%2fpub', `/%2f/pub/mirrorlane-demo-1.0.tar.gz`, [302], toDemoDe],
    ['%70ub', `/%70ub/mirrorlane-demo-1.0.tar.gz`, [302], toDemoDe],
    ['.%2e/%2e./x mixed', `/pub/a/b/.%2e/%2e./mirrorlane-demo-1.0.tar.gz`, [302], toDemoDe],
    ['..;/ (servlet style)', '/pub/..;/etc/passwd', [404]],
    ['..%00/', '/pub/..%00/etc/passwd', [400]],
    ['%2e%2e%5c mixed', '/pub/%2e%2e%5c%2e%2e%5cetc%5cpasswd', [404]],
    ['trailing /..', '/pub/sub/..', [200], isHtml],
    ['trailing /%2e%2e', '/pub/x/%2e%2e', [200], isHtml],
    ['trailing /%2e', '/pub/%2e', [200], isHtml],
    ['file/.', `${TGZ}/.`, [404]],
    ['file/', `${TGZ}/`, [404]],
    ['file/x', '/pub/README.txt/x', [404]],
    ['upper case tree', '/PUB/mirrorlane-demo-1.0.tar.gz', [404]],
    ['internal origin location', '/_mirrorlane/origin/pub/README.txt', [404]],
    ['the sidecar\'s request path from outside', '/_mirrorlane/download?p=/pub/x', [404]],
    ['X-Accel-Redirect target from outside', '/_mirrorlane/origin/mirrorlane-demo-1.0.tar.gz', [404]],
    ['internal origin via ..', '/pub/../_mirrorlane/origin/pub/README.txt', [404]],
    ['bad escape %ZZ', '/pub/%ZZ', [400]],
    ['bad escape %', '/pub/%', [400]],
    ['bad escape %2', '/pub/%2', [400]],
  ];
  for (const [label, target, expect, check] of mixed) add('traversal', label, get(target), expect, check ? { check } : {});
}

// Issue 11: symlinks in the tree that lead out of it (planted in before(): pub/passwd-link -> /etc/passwd,
// pub/etc-link -> /etc). Nothing from there, in any answer kind or spelling; no listing of /etc.
const noEtcListing = (r: RawReply) => assert.doesNotMatch(r.body.toString('utf8'), /href="(passwd|hostname|shadow)"|"name":"passwd"/);
for (const [label, target, expect] of [
  ['file link out of the tree', '/pub/passwd-link', [404]],
  ['file link out, ?json', '/pub/passwd-link?json', [404]],
  ['file link out, ?meta4', '/pub/passwd-link?meta4', [404]],
  ['file link out, .meta4', '/pub/passwd-link.meta4', [404]],
  ['file link out, ?sha256', '/pub/passwd-link?sha256', [404]],
  ['file link out, ?mirrorlist', '/pub/passwd-link?mirrorlist', [404]],
  ['file link out, encoded name', '/pub/%70asswd-link', [404]],
  ['file link out, absolute-form target', 'http://localhost/pub/passwd-link', [404]],
  ['file below a directory link out', '/pub/etc-link/passwd', [404]],
  ['file below a directory link out, %2f', '/pub/etc-link%2fpasswd', [404]],
  ['file below a directory link out, %2e%2e', '/pub/etc-link/%2e%2e/etc/passwd', [404]],
  ['listing of a directory link out', '/pub/etc-link/', [403, 404]],
  ['directory link out without its slash', '/pub/etc-link', [404]],
] as const) add('symlink', label, get(target), [...expect], { check: noEtcListing });

// NUL in several places: in the path always 400; in the query it is just a value nobody uses.
for (const [label, target] of [
  ['path end', '/pub/%00'],
  ['path middle', '/pub/mirror%00lane-demo-1.0.tar.gz'],
  ['after the file name', `${TGZ}%00`],
  ['poison extension', `${TGZ}%00.txt`],
  ['first segment', `/%00/pub/mirrorlane-demo-1.0.tar.gz`],
  ['before a dot segment', '/pub/%00/../mirrorlane-demo-1.0.tar.gz'],
  ['overlong NUL %c0%80', '/pub/%c0%80.iso'],
  ['raw NUL byte', '/pub/\x00.iso'],
] as const) add('nul', label, get(target), [400]);
add('nul', 'double-encoded %2500 is a name', get('/pub/%2500'), [404]);
add('nul', 'query value', get(`${TGZ}?country=%00`), [302], { check: toDemoDe });
add('nul', 'query name', get(`${TGZ}?%00=1`), [302], { check: toDemoDe });
add('nul', 'format name with NUL', get(`${TGZ}?mirrorlist%00`), [302], { check: toDemoDe });
add('nul', '?json&ip=%00', get(`${TGZ}?json&ip=%00`), [200], { check: clientIs(DE) });
add('nul', 'NUL in a header value', get(TGZ, ['X-A: a\x00b']), [400]);
add('nul', 'NUL in a header name', get(TGZ, ['X-\x00A: b']), [400]);

// CR/LF: in the path refused; in the query carried as data, never as a header line.
for (const [label, target] of [
  ['%0d%0a header', '/pub/a%0d%0aX-Injected:%201'],
  ['%0d%0a Set-Cookie', '/pub/a%0d%0aSet-Cookie:%20a=1'],
  ['%0D%0A upper', '/pub/a%0D%0AX-Injected:%201'],
  ['%0d only', '/pub/a%0dX-Injected:%201'],
  ['%0a only', '/pub/a%0aX-Injected:%201'],
  ['after the file', `${TGZ}%0d%0aX-Injected:%201`],
  ['double CRLF body', '/pub/a%0d%0a%0d%0a<script>x</script>'],
  ['tab', '/pub/a%09b'],
] as const) add('crlf', `path ${label}`, get(target), [400]);
add('crlf', 'path U+560A U+560D (bytes 0a/0d in UTF-16)', get('/pub/%E5%98%8A%E5%98%8DX-Injected:1'), [404], { check: isPlain });
add('crlf', 'path U+010D U+010A', get('/pub/%C4%8D%C4%8AX-Injected:1'), [404], { check: isPlain });
add('crlf', 'query value', get(`${TGZ}?x=%0d%0aX-Injected:%201`), [302], { check: toDemoDe });
add('crlf', 'query name', get(`${TGZ}?%0d%0aX-Injected:1`), [302], { check: toDemoDe });
add('crlf', 'query Set-Cookie', get(`${TGZ}?a=%0d%0aSet-Cookie:%20a=1`), [302], { check: toDemoDe });
add('crlf', '?json&ip=CRLF', get(`${TGZ}?json&ip=%0d%0aX-Injected:1`), [200], { check: clientIs(DE) });
add('crlf', '?mirrorlist&country=CRLF', get(`${TGZ}?mirrorlist&country=%0d%0aX-Injected:1`), [200], { check: isHtml });
add('crlf', '?meta4 with CRLF', get(`${TGZ}?meta4&x=%0d%0aSet-Cookie:%20a=1`), [200], { check: isMeta4 });
add('crlf', 'directory redirect keeps the query encoded', get('/pub?a=%0d%0aX-Injected:1'), [301], {
  check: (r) => assert.match(header(r, 'location') ?? '', /\/pub\/\?a=%0d%0aX-Injected:1$/),
});
add('crlf', 'raw CR in the request line', get('/pub/a\rX-Injected: 1'), [400]);
// A bare LF ends the line: "GET /pub/a" is an HTTP/0.9 request, answered with a body only; the rest is dropped.
add('crlf', 'raw LF in the request line', get('/pub/a\nX-Injected: 1'), [0], { check: (r) => assert.equal(r.headers.length, 0) });

// Overlong paths: the limit is 1024 bytes (the sidecar counts bytes); nginx's own line buffer is
// 8 KB (414 beyond). The query to the sidecar is bounded too (414), so that Node never refuses it.
{
  const a = (n: number) => 'a'.repeat(n);
  const cases: [string, string, number[]][] = [
    ['1024 bytes', `/${a(1023)}`, [404]],
    ['1025 bytes', `/${a(1024)}`, [400]],
    ['1024 under /pub', `/pub/${a(1019)}`, [404]],
    ['1025 under /pub', `/pub/${a(1020)}`, [400]],
    ['1024 bytes percent-encoded', `/pub/${'%61'.repeat(1019)}`, [404]],
    ['1025 bytes percent-encoded', `/pub/${'%61'.repeat(1020)}`, [400]],
    ['1023 bytes of é (514 characters)', `/pub/${'%C3%A9'.repeat(509)}`, [404]],
    ['1025 bytes of é: the sidecar counts bytes', `/pub/${'%C3%A9'.repeat(510)}`, [400]],
    ['1024 bytes of 4-byte characters', `/pub/${'%F0%9F%98%80'.repeat(254)}${a(3)}`, [404]],
    ['1028 bytes of 4-byte characters', `/pub/${'%F0%9F%98%80'.repeat(255)}${a(3)}`, [400]],
    ['500 segments', `/pub${'/a'.repeat(509)}`, [404]],
    ['600 segments', `/pub${'/a'.repeat(600)}`, [400]],
    ['4000 bytes', `/pub/${a(4000)}`, [400]],
    ['8000 bytes', `/pub/${a(8000)}`, [400]],
    ['9000 bytes: over nginx line buffer', `/pub/${a(9000)}`, [414]],
    ['100 KB', `/pub/${a(100_000)}`, [414]],
    ['1 MB', `/pub/${a(1_000_000)}`, [414]],
    ['query 5000', `${TGZ}?x=${a(5000)}`, [302]],
    ['query 6500', `${TGZ}?x=${a(6500)}`, [302]],
    ['query 2500 escapes', `${TGZ}?x=${'%25'.repeat(2500)}`, [302]],
    ['query 3000 raw UTF-8 characters', `${TGZ}?x=${Buffer.from('é'.repeat(3000)).toString('latin1')}`, [302]],
    ['?json query 6500', `${TGZ}?json&x=${a(6500)}`, [200]],
  ];
  for (const [label, target, expect] of cases) add('long-path', label, get(target), expect, expect[0] === 302 ? { check: toDemoDe } : {});
}

// Overlong and many headers: nginx refuses lines over 8 KB and more than 32 KB in all (400); what the sidecar is
// sent (User-Agent, Accept, Range, Host and the request target, at most 32 KB) fits the sidecar's 64 KB limit.
{
  const b = (n: number) => 'b'.repeat(n);
  const many = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: v`);
  const cases: [string, string[], number[], ReqOpts?][] = [
    ['one 7 KB header', [`X-Big: ${b(7000)}`], [302]],
    ['one 9 KB header', [`X-Big: ${b(9000)}`], [400]],
    ['9 KB Cookie', [`Cookie: a=${b(9000)}`], [400]],
    ['7 KB header name', [`X-${b(7000)}: 1`], [302]],
    ['100 headers', many(100), [302]],
    ['500 headers', many(500), [302]],
    ['5000 headers', many(5000), [400]],
    ['7 KB User-Agent', [`User-Agent: ${b(7000)}`], [302]],
    ['7 KB Host', [], [302], { host: `h${b(7000)}` }],
    ['User-Agent, Accept, Range 2.5 KB each', [`User-Agent: ${b(2500)}`, `Accept: ${b(2500)}`, `Range: bytes=${'1'.repeat(2500)}-`], [302]],
    ['User-Agent 7 KB + Accept 2 KB', [`User-Agent: ${b(7000)}`, `Accept: ${b(2000)}`], [302]],
    ['User-Agent, Accept, Range 7 KB each', [`User-Agent: ${b(7000)}`, `Accept: ${b(7000)}`, `Range: bytes=${'1'.repeat(7000)}-`], [302]],
    ['7 KB X-Forwarded-For (not forwarded)', [`X-Forwarded-For: ${'1.'.repeat(3500)}`], [302], { xff: null }],
    ['header without colon (ignored)', ['NoColonHere'], [302]],
    ['space in a header name', ['Bad Name: x'], [400]],
    ['obs-fold continuation line', ['X-A: a', ' folded'], [400]],
    ['underscore in a name (ignored)', ['X_Injected: 1'], [302]],
    ['bare LF inside a value splits the line', ['X-A: a\nX-Injected: 1'], [302]],
    ['bare CR inside a value', ['X-A: a\rX-Injected: 1'], [400]],
    ['Transfer-Encoding chunked, bad body', ['Transfer-Encoding: chunked'], [400], { body: 'zz\r\n' }],
    ['Transfer-Encoding and Content-Length', ['Transfer-Encoding: chunked', 'Content-Length: 5'], [400], { body: '0\r\n\r\n' }],
    ['Content-Length -1', ['Content-Length: -1'], [400]],
    ['two Content-Lengths', ['Content-Length: 1', 'Content-Length: 2'], [400]],
    ['Expect: 100-continue on GET', ['Expect: 100-continue'], [302]],
    ['Upgrade: websocket', ['Connection: Upgrade', 'Upgrade: websocket'], [302]],
  ];
  for (const [label, headers, expect, o] of cases) add('headers', label, get(TGZ, headers, o ?? {}), expect, expect[0] === 302 && o?.xff !== null ? { check: toDemoDe } : {});
}

// Invalid UTF-8: in the path a clean 400; in the query the value is simply not one we use.
for (const [label, bytes] of [
  ['%ff', '%ff'],
  ['%fe%ff', '%fe%ff'],
  ['lone continuation %80', '%80'],
  ['truncated %c3', '%c3'],
  ['bad continuation %c3%28', '%c3%28'],
  ['truncated 3-byte %e2%82', '%e2%82'],
  ['bad 3-byte %e2%28%a1', '%e2%28%a1'],
  ['bad 4-byte %f0%28%8c%bc', '%f0%28%8c%bc'],
  ['5-byte form', '%f8%88%80%80%80'],
  ['UTF-16 surrogate %ed%a0%80', '%ed%a0%80'],
  ['above U+10FFFF', '%f4%90%80%80'],
  ['U+FFFD itself', '%ef%bf%bd'],
  ['raw 0xff 0xfe', '\xff\xfe'],
  ['raw truncated 0xc3', '\xc3.iso'],
] as const) add('utf8', `path ${label}`, get(`/pub/${bytes}`), [400]);
add('utf8', 'path BOM is a valid name', get('/pub/%ef%bb%bfx'), [404], { check: isPlain });
add('utf8', 'query %ff', get(`${TGZ}?x=%ff`), [302], { check: toDemoDe });
add('utf8', 'query raw 0xff', get(`${TGZ}?country=\xff\xfe`), [302], { check: toDemoDe });
add('utf8', '?json with %ff', get(`${TGZ}?json&x=%ff%fe`), [200], { check: clientIs(DE) });
add('utf8', '?json&ip=%c0%ae', get(`${TGZ}?json&ip=%c0%ae`), [200], { check: clientIs(DE) });
add('utf8', '?mirrorlist&country=%ff', get(`${TGZ}?mirrorlist&country=%ff`), [200], { check: isHtml });
add('utf8', '?meta4&avoid=%ed%a0%80', get(`${TGZ}?meta4&avoid=%ed%a0%80`), [200], { check: isMeta4 });

// Methods: only GET and HEAD. the sidecar answers 405 with Allow; nginx refuses some itself (TRACE 405; lower case,
// digits, binary, CONNECT host:port 400).
for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'PURGE', 'LINK', 'FOO', 'GE_T', 'X-Y', 'A'.repeat(100)]) {
  add('methods', m.length > 20 ? `${m.length}-letter method` : m, req(m, TGZ), [405], { check: (r) => assert.equal(header(r, 'allow'), 'GET, HEAD') });
}
add('methods', 'POST with a body', req('POST', TGZ, ['Content-Length: 3'], { body: 'abc' }), [405]);
add('methods', 'PUT with a chunked body', req('PUT', TGZ, ['Transfer-Encoding: chunked'], { body: '3\r\nabc\r\n0\r\n\r\n' }), [405]);
add('methods', 'POST announcing 2 MB (over client_max_body_size)', req('POST', TGZ, ['Content-Length: 2000000']), [413]);
add('methods', 'TRACE (nginx)', req('TRACE', TGZ), [405]);
add('methods', 'CONNECT to a path (nginx)', req('CONNECT', TGZ), [405]);
add('methods', 'CONNECT host:port (nginx)', req('CONNECT', '127.0.0.1:80'), [400]);
add('methods', 'lower-case get', req('get', TGZ), [400]);
add('methods', 'mixed-case Get', req('Get', TGZ), [400]);
add('methods', 'digit in method', req('G3T', TGZ), [400]);
add('methods', 'NUL in method', req('GE\x00T', TGZ), [400]);
add('methods', 'TLS ClientHello bytes', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]), [400]);
add('methods', 'leading space', req(' GET', TGZ), [400]);
add('methods', 'OPTIONS *', req('OPTIONS', '*'), [400]);
add('methods', 'HEAD is a download', req('HEAD', TGZ), [302], {
  head: true,
  check: (r) => {
    toDemoDe(r);
    assert.equal(r.body.length, 0);
  },
});
add('methods', 'empty lines before the request', Buffer.concat([Buffer.from('\r\n\r\n'), get(TGZ)]), [302], { check: toDemoDe });

// Range: a redirect ignores its value (the mirror deals with it); local delivery is nginx's range filter, which
// answers 206, 416, or the whole file — never an error of ours.
{
  const ranges: [string, string, number][] = [
    ['abc', 'bytes=abc', 416],
    ['dash only', 'bytes=-', 416],
    ['start past the end', 'bytes=999999999999-', 416],
    ['overflowing number', 'bytes=0-18446744073709551616', 416],
    ['zero suffix', 'bytes=-0', 416],
    ['end before start', 'bytes=5-1', 416],
    ['double dash', 'bytes=--1', 416],
    ['three numbers', 'bytes=1-2-3', 416],
    ['unknown unit', 'items=0-1', 200],
    ['space after =', 'bytes= 0-1', 206],
    ['two ranges', 'bytes=0-1,5-6', 206],
    ['range and suffix', 'bytes=0-0,-1', 206],
    ['200 one-byte ranges', `bytes=${Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(',')}`, 206],
    ['1000 ranges, more bytes than the file: the whole file', `bytes=${Array.from({ length: 1000 }, (_, i) => `${i % 300}-${i % 300}`).join(',')}`, 200],
    ['200 overlapping whole-file ranges', `bytes=${Array(200).fill('0-299').join(',')}`, 200],
    ['empty', '', 200],
  ];
  for (const [label, value, local] of ranges) {
    add('range', `redirect: ${label}`, get(TGZ, [`Range: ${value}`]), [302], { check: toDemoDe });
    add('range', `local: ${label}`, get(LOCAL, [`Range: ${value}`]), [local]);
  }
}

// X-Forwarded-For: from a peer nginx does not trust, every claim is ignored, whatever header carries it; from
// the trusted proxy, garbage leaves the proxy's own address.
for (const [label, headers] of [
  ['X-Forwarded-For DE', [`X-Forwarded-For: ${DE}`]],
  ['X-Forwarded-For claiming the trusted proxy', ['X-Forwarded-For: 127.0.0.1']],
  ['X-Forwarded-For chain ending in the proxy', [`X-Forwarded-For: ${DE}, 127.0.0.1`]],
  ['two X-Forwarded-For headers', [`X-Forwarded-For: ${DE}`, 'X-Forwarded-For: 198.51.100.10']],
  ['X-Real-IP', [`X-Real-IP: ${DE}`]],
  ['Forwarded', [`Forwarded: for=${DE}`]],
  ['True-Client-IP and CF-Connecting-IP', [`True-Client-IP: ${DE}`, `CF-Connecting-IP: ${DE}`]],
  ['the internal X-Ml-Client header', [`X-Ml-Client: ${DE}`]],
  ['X-Ml-Scheme https', ['X-Ml-Scheme: https']],
] as const) {
  add('xff-untrusted', label, get(`${TGZ}?json`, [...headers], { xff: null }), [200], { localAddress: UNTRUSTED, check: clientIs(UNTRUSTED) });
}
add('xff-untrusted', 'a plain download is not placed in DE', get(TGZ, [], { xff: DE }), [302], {
  localAddress: UNTRUSTED,
  check: (r) => assert.notEqual(header(r, 'x-mirrorlane-tier'), 'country'),
});
add('xff-trusted', 'internal X-Ml-Client from the trusted proxy', get(`${TGZ}?json`, [`X-Ml-Client: ${DE}`], { xff: null }), [200], { check: clientIs('127.0.0.1') });
for (const [label, xff, ip] of [
  ['not-an-ip', 'not-an-ip', '127.0.0.1'],
  ['999.1.1.1', '999.1.1.1', '127.0.0.1'],
  ['unknown', 'unknown', '127.0.0.1'],
  ['empty', '', '127.0.0.1'],
  ['commas only', ',,,,', '127.0.0.1'],
  ['IPv6 zone id', 'fe80::1%eth0', '127.0.0.1'],
  ['bracketed [::1]', '[::1]', '127.0.0.1'],
  // nginx's realip reads "[address]:port" (as a proxy may send it), though not "[address]" alone.
  ['bracketed with port', '[2001:db8::1]:80', '2001:db8::1'],
  ['markup', '<script>alert(1)</script>', '127.0.0.1'],
  ['8 KB of dots', '1.'.repeat(3500), '127.0.0.1'],
  ['100 entries: the last counts', Array.from({ length: 100 }, (_, i) => `198.51.100.${i}`).join(', '), '198.51.100.99'],
  ['DE then the proxy', `${DE}, 127.0.0.1`, DE],
  ['garbage then DE', `not-an-ip, ${DE}`, DE],
  ['DE then garbage', `${DE}, not-an-ip`, '127.0.0.1'],
  ['IPv4 with port', `${DE}:80`, DE],
  ['IPv6', '2001:db8::1', '2001:db8::1'],
] as const) {
  add('xff-trusted', label, get(`${TGZ}?json`, [], { xff }), [200], { check: clientIs(ip) });
}
add('xff-trusted', 'markup in X-Forwarded-For on the mirror list', get(`${TGZ}?mirrorlist`, [], { xff: '<script>alert(1)</script>' }), [200], { check: isHtml });

// IPv6 zone ids in ?ip=: the zone is dropped, junk never passes as an address.
for (const [label, value, ip, overridden] of [
  ['fe80::1%eth0', 'fe80::1%25eth0', 'fe80::1', true],
  ['zone with markup', 'fe80::1%25%3Cimg%3E', 'fe80::1', true],
  ['zone with CRLF', 'fe80::1%25%0d%0aX-Injected:1', 'fe80::1', true],
  ['numeric zone', '::1%251', '::1', true],
  ['double-encoded %', 'fe80::1%2525eth0', 'fe80::1', true],
  ['empty zone', 'fe80::1%25', DE, false],
  ['IPv4 with a zone', '192.0.2.10%25eth0', DE, false],
  ['brackets', '%5B::1%5D', DE, false],
  ['brackets and zone', '%5Bfe80::1%25eth0%5D', DE, false],
] as const) {
  add('ip-zone', `?json&ip=${label}`, get(`${TGZ}?json&ip=${value}`), [200], { check: clientIs(ip, overridden) });
}
add('ip-zone', '?mirrorlist&ip= zone with markup', get(`${TGZ}?mirrorlist&ip=fe80::1%25%3Csvg%3E`), [200], { check: isHtml });

// Markup in query arguments, path, headers: never live in HTML, JSON stays JSON, XML stays well-formed.
for (const [label, target, expect, check] of [
  ['?mirrorlist&country=<script> raw', `${TGZ}?mirrorlist&country=<script>alert(1)</script>`, 200, isHtml],
  ['?mirrorlist&country=<script> encoded', `${TGZ}?mirrorlist&country=%3Cscript%3Ealert(1)%3C/script%3E`, 200, isHtml],
  ['?json&ip=<img>', `${TGZ}?json&ip=%3Cimg%20src=x%20onerror=alert(1)%3E`, 200, clientIs(DE)],
  ['?json&country=JSON breakout', `${TGZ}?json&country=%22%7D%2C%22x%22%3A%3Cimg%3E`, 200, clientIs(DE)],
  ['?meta4&avoid=<x>', `${TGZ}?meta4&avoid=%3Cx%3E`, 200, isMeta4],
  ['?metalink&country="><img>', `${TGZ}?metalink&country=%22%3E%3Cimg%3E`, 200, isMetalink3],
  ['?mirrorlist&avoid=<svg onload>', `${TGZ}?mirrorlist&avoid=%3Csvg/onload=alert(1)%3E,de`, 200, isHtml],
  ['?mirrorlist&as=<script>', `${TGZ}?mirrorlist&as=%3Cscript%3E`, 200, isHtml],
  ['.mirrorlist suffix with markup', `${TGZ}.mirrorlist?country=%22%3E%3Cimg%3E`, 200, isHtml],
  ['unknown file with markup, ?mirrorlist: plain text 404', '/pub/%3Cscript%3Ealert(1)%3C/script%3E.iso?mirrorlist', 404, isPlain],
  ['unknown .meta4 with markup, ?json: JSON 404', '/pub/%3Cscript%3E.iso.meta4?json', 404, (r: RawReply) => json(r)],
  ['directory with markup', '/pub/%3Cimg%3E/', 404, isHtml],
] as const) {
  add('markup', label, get(target), [expect], { check });
}
add('markup', '?mirrorstats with markup', get(`${TGZ}?mirrorstats&x=%3Cscript%3Ealert(1)%3C/script%3E`), [200], { check: isHtml });
add('markup', '?mirrorstats on a path with markup', get('/pub/%3Cimg%20src=x%20onerror=alert(1)%3E?mirrorstats'), [200], { check: isHtml });
add('markup', 'User-Agent with markup on the mirror list', get(`${TGZ}?mirrorlist`, ['User-Agent: <script>alert(1)</script>']), [200], { check: isHtml });
add('markup', 'Accept with markup asking for JSON', get(TGZ, ['Accept: application/json;<script>']), [200], { check: clientIs(DE) });

// Absurd Accept headers: JSON or Metalink when asked plainly, else a redirect.
for (const [label, accept, expect, check] of [
  ['8 KB of metalink types', 'application/metalink4+xml;q=0.5,'.repeat(240), 200, isMeta4],
  ['application/json', 'application/json', 200, clientIs(DE)],
  ['application/metalink4+xml', 'application/metalink4+xml', 200, isMeta4],
  ['metalink q=NaN and q=1e999', 'application/metalink4+xml;q=NaN, application/metalink+xml;q=1e999', 302, toDemoDe],
  ['metalink q=-1', 'application/metalink+xml;q=-1', 302, toDemoDe],
  ['metalink q=0', 'application/metalink4+xml;q=0', 302, toDemoDe],
  ['*/*;q=abc', '*/*;q=abc', 302, toDemoDe],
  ['4000 commas', ','.repeat(4000), 302, toDemoDe],
  ['browser', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 302, toDemoDe],
  ['upper-case METALINK', 'APPLICATION/METALINK4+XML', 302, toDemoDe],
  ['raw 0xff bytes', '\xff\xfe', 302, toDemoDe],
  ['empty', '', 302, toDemoDe],
] as const) {
  add('accept', label, get(TGZ, [`Accept: ${accept}`]), [expect], { check });
}

// Host games: nginx vets the header (400 for empty, CR, slashes, two of them); otherwise the redirect goes to the
// mirror, never to the host the client named.
for (const [label, host, expect] of [
  ['evil.example', 'evil.example', 302],
  ['evil.example with port', 'evil.example:8080', 302],
  ['port out of range', 'evil.example:99999', 302],
  ['IPv6 literal', '[::1]:1', 302],
  ['trailing dot', 'evil.example.', 302],
  ['upper case', 'EVIL.EXAMPLE', 302],
  ['markup (no slash)', '<script>alert(1)<', 302],
  ['quote', 'a"b', 302],
  ['empty', '', 400],
  ['slash', 'evil.example/x', 400],
  ['dot dot', '..', 400],
  ['CR inside', 'a\rX-Injected: 1', 400],
  ['raw 0xff', 'a\xffb', 302],
] as const) {
  add('host', label, get(TGZ, [], { host }), [expect], expect === 302 ? { check: toDemoDe } : {});
}
add('host', 'no Host, HTTP/1.1', get(TGZ, [], { host: null }), [400]);
add('host', 'no Host, HTTP/1.0', get(TGZ, [], { host: null, version: 'HTTP/1.0' }), [302], { check: toDemoDe });
add('host', 'two Host headers', get(TGZ, ['Host: evil.example']), [400]);
add('host', 'absolute-form target naming evil.example', get(`http://evil.example${TGZ}`), [302], { check: toDemoDe });
add('host', 'absolute-form with markup host', get(`http://%3Cx%3E${TGZ}`), [400]);
add('host', 'evil.example on ?meta4: no own URL from a bad Host', get(`${TGZ}?meta4`, [], { host: 'a"><x>' }), [200], { check: isMeta4 });

// Protocol oddities. nginx answers an unknown major version with 505 before any location is chosen: that 5xx is
// the protocol's word, not a failure of ours, and the only 5xx the corpus allows.
add('protocol', 'HTTP/2.0 request line', get(TGZ, [], { version: 'HTTP/2.0' }), [505]);
add('protocol', 'HTTP/9.9 request line', get(TGZ, [], { version: 'HTTP/9.9' }), [505]);
add('protocol', 'HTTP/1 (no minor)', get(TGZ, [], { version: 'HTTP/1' }), [400]);
add('protocol', 'HTTPS/1.1', get(TGZ, [], { version: 'HTTPS/1.1' }), [400]);
add('protocol', 'junk after the version', get(TGZ, [], { version: 'HTTP/1.1 extra' }), [400]);
add('protocol', 'bare LF line ends', Buffer.from(`GET ${TGZ} HTTP/1.1\nHost: localhost\nX-Forwarded-For: ${DE}\nConnection: close\n\n`), [302], { check: toDemoDe });
add('protocol', 'HTTP/0.9 simple request: body only, no header at all', Buffer.from(`GET ${TGZ}\r\n`), [0], {
  check: (r) => {
    assert.equal(r.headers.length, 0);
    assert.doesNotMatch(r.raw.toString('latin1'), /^HTTP\//);
  },
});

// --- The tests -------------------------------------------------------------------------------------------------

const categories = [...new Set(corpus.map((c) => c.category))];

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function sidecarHealth(): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.get({ socketPath: stack.config.sidecar.socket, path: '/health', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.setTimeout(5000, () => r.destroy(new Error('sidecar /health timed out')));
    r.on('error', reject);
  });
}

describe('hostile input through nginx and the sidecar (issue 6)', () => {
  before(async () => {
    stack = await startStack();
    // For the "symlink" cases: links that lead out of the origin root.
    fs.symlinkSync('/etc/passwd', path.join(stack.config.origin.root, 'pub', 'passwd-link'));
    fs.symlinkSync('/etc', path.join(stack.config.origin.root, 'pub', 'etc-link'));
  });
  after(async () => {
    await stack?.stop();
  });

  test('the corpus is large and every case is labelled', (t) => {
    const counts: Record<string, number> = {};
    for (const c of corpus) counts[c.category] = (counts[c.category] ?? 0) + 1;
    t.diagnostic(`${corpus.length} cases: ${JSON.stringify(counts)}`);
    assert.ok(corpus.length >= 200, `only ${corpus.length} cases`);
    const labels = corpus.map((c) => `${c.category} / ${c.label}`);
    assert.equal(new Set(labels).size, labels.length, 'duplicate labels');
    for (const c of corpus) assert.ok(c.expect.every((s) => s < 500 || c.category === 'protocol'), `${c.label}: only nginx's 505 may be expected`);
  });

  for (const category of categories) {
    test(`corpus: ${category}`, withLogs(S, async () => {
      const problems = await runAll(corpus.filter((c) => c.category === category));
      assert.deepEqual(problems, []);
    }));
  }

  test('1000 seeded random paths through the real nginx: never a 5xx, always clean', withLogs(S, async () => {
    const rand = mulberry32(0x686f73);
    const pieces = [
      '/', '/', '/', '.', '..', '%2e', '%2e%2e', '%2f', '%5c', '\\', '%00', '%0d', '%0a', '%0d%0a', '%ff', '%c0%ae',
      '%25', '%', '%e2%80%a8', '%ef%bf%bd', '?', '#', ';', '&', '=', 'pub', 'mirrorlane-demo-1.0.tar.gz', 'README.txt',
      '.meta4', '.mirrorlist', '.sha256', 'x', 'é', '~', '%20', '+', '<x>', '"', "'", '*', '@', ':',
      '?json', '?mirrorlist', '?meta4', '&ip=fe80::1%25eth0', '&country=de', '&avoid=<x>',
    ];
    const cases: Case[] = [];
    for (let i = 0; i < 1000; i++) {
      let target = rand() < 0.8 ? '/pub/' : '/';
      const n = 1 + Math.floor(rand() * 12);
      for (let j = 0; j < n; j++) {
        if (rand() < 0.9) target += pieces[Math.floor(rand() * pieces.length)];
        // Any byte but the three that end a request line: nginx must refuse or serve, never fail.
        else target += String.fromCharCode([0x00, 0x09, 0x7f, 0x80, 0xc3, 0xff][Math.floor(rand() * 6)]);
      }
      const method = rand() < 0.9 ? 'GET' : 'HEAD';
      // Answers this loop may meet; which one depends on the path, and the corpus pins those down case by case.
      cases.push({ category: 'random', label: `#${i} ${method} ${JSON.stringify(target)}`, data: req(method, target), expect: [200, 301, 302, 400, 404, 405, 414], head: method === 'HEAD' });
    }
    const problems = await runAll(cases);
    assert.deepEqual(problems, []);
  }));

  test('afterwards: no crashed worker, no fallback, the sidecar answers and a download still redirects', withLogs(S, async () => {
    const errorLog = readLog(stack.redirector.nginx.errorLog).split('\n');
    const lines = (re: RegExp) => errorLog.filter((l) => re.test(l));
    assert.deepEqual(lines(/exited on signal/), [], 'an nginx worker crashed');
    assert.deepEqual(lines(/\[(alert|crit|emerg)\]/), [], 'nginx logged alert/crit/emerg');
    assert.deepEqual(lines(/js exception|js: .*error/i), [], 'the njs handler threw');
    // Every hostile request was decided by the sidecar: none fell back because it refused or failed.
    assert.deepEqual(lines(/mirrorlane: sidecar/), [], 'a hostile request made njs fall back');
    assert.deepEqual(stack.sidecarLog.filter((l) => /decision failed|Error/.test(l)), [], 'the sidecar failed on a request');

    const health = await sidecarHealth();
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).ok, true);

    const r = await rawRequest({ port: stack.port, data: get(TGZ) });
    assert.equal(r.status, 302);
    toDemoDe(r);
    const fromUs = await rawRequest({ port: stack.port, data: get(TGZ, [], { xff: '198.51.100.10' }) });
    assert.equal(header(fromUs, 'location'), mirrorUrl('127.0.0.3'));
    // Over IPv6 too: ::1 is a trusted proxy.
    const v6 = await rawRequest({ host: '::1', port: stack.port, data: get(`${TGZ}?json`) });
    assert.equal(v6.status, 200);
    assert.equal(json(v6).client.ip, DE);
    assert.ok(net.isIP(json(v6).client.ip));
  }));
});
