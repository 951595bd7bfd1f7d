// Issue 11: nothing outside the origin root is ever served or listed. A secret file beside the root, a directory
// outside it, and an origin tree holding every link shape that leads there (relative, absolute, chained, through
// a linked directory, a stale file row) — asked for as every answer kind, through `..`, %-encoding, double
// encoding and absolute-form request targets, through the real nginx with the sidecar up and then with it killed
// (njs's fallback delivers). None may return the secret's bytes or list the outside directory; symlinks that stay
// inside the root still deliver their target.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { upsertFile } from '../../core/db/files.ts';
import { mirrorByIdentifier } from '../../core/db/mirrors.ts';
import { buildRequest, rawRequest, type RawReply } from '../helpers/raw-http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
const S = () => stack;

const SECRET = 'MIRRORLANE-SECRET-BESIDE-THE-ROOT-7f3a';
const SECRET2 = 'MIRRORLANE-SECRET-IN-THE-OUTSIDE-DIR-91c2';
/** Names that only the outside directory holds: a listing that shows one listed it. */
const OUTSIDE_NAMES = /secret2\.txt|only-outside/;
const INSIDE_BODY = 'inside the root, reached through links\n';

/** Escaping paths (each shape of link), asked for plainly. */
const ESCAPES = [
  '/pub/escape.bin', // relative link ../../secret.txt
  '/pub/escape-abs.bin', // absolute link to the secret
  '/pub/chain-a.bin', // chain: a -> b -> c -> ../../secret.txt
  '/pub/via-dir.bin', // link through the escaping directory link
  '/pub/outdir/secret2.txt', // a file below a directory link that leaves the root
  '/pub/stale.bin', // a row in the file table, the path since replaced by an escaping link
  '/pub/self.bin', // a row held by the mirror this host is (self-serving mode): served here, were it allowed
  '/pub/rule.excluded', // a row a delivery rule (excludePaths) keeps on the origin
];
/** The escaping paths that have a file row (see before()). */
const ROWS = ['/pub/stale.bin', '/pub/self.bin', '/pub/rule.excluded'];

/** Every answer kind of one path. */
function kinds(p: string): string[] {
  return [p, `${p}?json`, `${p}?meta4`, `${p}.meta4`, `${p}?metalink`, `${p}?mirrorlist`, `${p}.mirrorlist`, `${p}?sha256`, `${p}.sha256`, `${p}?md5`, `${p}?mirrorstats`, `${p}?mirrorlist&json`];
}

/** The same files through dot segments, encodings, and absolute-form targets. */
const SHAPES = [
  '/pub/escape%2ebin',
  '/pub/%65scape.bin',
  '/pub/%65%73%63%61%70%65.bin?json',
  '/pub/outdir%2fsecret2.txt',
  '/pub/outdir%2Fsecret2.txt?meta4',
  '/pub/real/../escape.bin',
  '/pub/real/%2e%2e/escape.bin',
  '/pub/./escape.bin',
  '/pub//escape.bin',
  '/pub/outdir/../escape.bin',
  '/pub/outdir/./secret2.txt',
  '/pub/%2e%2e/secret.txt',
  '/pub/%2e%2e/%2e%2e/secret.txt',
  '/pub/..%2f..%2fsecret.txt',
  '/pub/%252e%252e/%252e%252e/secret.txt',
  '/pub/%252e%252e%252fsecret.txt',
  '/pub/escape%252ebin',
  '/pub/outdir%252fsecret2.txt',
  '/pub/outdir/%2e%2e/%2e%2e/secret.txt',
  '/pub/linkeddir/../escape.bin',
  'http://localhost/pub/escape.bin',
  'http://localhost/pub/escape.bin?json',
  'http://localhost/pub/outdir/secret2.txt',
  'http://evil.example/pub/chain-a.bin?sha256',
  'http://localhost/pub/outdir/',
  'http://localhost:1/pub/%2e%2e/%2e%2e/secret.txt',
];

/** Directory listings that must not show the outside directory. */
const LISTINGS = ['/pub/outdir/', '/pub/outdir', '/pub/outdir/?json', '/pub/outdir//', '/pub/outdir/.', '/pub/%6futdir/', '/pub/linkeddir/../outdir/'];

/** Links that stay inside the root: still delivered, with the target's bytes. */
const INSIDE = ['/pub/inside.txt', '/pub/inside-chain.txt', '/pub/inside-abs.txt', '/pub/linkeddir/target.txt', '/pub/real/target.txt', '/pub/%69nside.txt', 'http://localhost/pub/inside-chain.txt'];

function get(target: string): Buffer {
  return buildRequest(`GET ${target} HTTP/1.1`, ['X-Forwarded-For: 192.0.2.10'], { host: 'localhost' });
}

async function ask(target: string): Promise<RawReply> {
  return rawRequest({ port: stack.port, data: get(target) });
}

/** Every way an answer could carry what lies outside: bytes, a listing, a header. */
function leaks(r: RawReply): string[] {
  const raw = r.raw.toString('latin1');
  const found: string[] = [];
  if (raw.includes(SECRET)) found.push('the secret beside the root');
  if (raw.includes(SECRET2)) found.push('the file in the outside directory');
  if (OUTSIDE_NAMES.test(r.body.toString('latin1')) && /Index of|"name"/.test(r.body.toString('latin1'))) found.push('a listing of the outside directory');
  if (r.status >= 500) found.push(`a ${r.status}`);
  return found;
}

/** Ask each target; a problem line per answer that leaks or was served as a file. */
async function check(targets: string[], allow200: (t: string) => boolean): Promise<string[]> {
  const problems: string[] = [];
  for (const t of targets) {
    const r = await ask(t);
    const bad = leaks(r);
    if (r.status === 200 && !allow200(t)) bad.push('answered 200');
    if (bad.length) problems.push(`${t}: ${r.status}: ${bad.join(', ')}`);
  }
  return problems;
}

/**
 * ?mirrorstats is the statistics page whatever the path: 200 is fine there, a file's bytes are not. So are the
 * descriptions (JSON, Metalink, mirror list) of the rows: they show what the file table holds, never the
 * bytes the path now leads to, and name no source that would serve them.
 */
const described = (t: string) => t.includes('mirrorstats') || ROWS.some((p) => t.startsWith(p) && t !== p && !/sha256|md5/.test(t));

function plant(): void {
  const root = stack.config.origin.root;
  const pub = path.join(root, 'pub');
  const beside = path.dirname(root);
  fs.writeFileSync(path.join(beside, 'secret.txt'), `${SECRET}\n`, { mode: 0o644 });
  const outside = path.join(stack.dir, 'outside');
  fs.mkdirSync(path.join(outside, 'dists', 'only-outside'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(outside, 'secret2.txt'), `${SECRET2}\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(outside, 'dists', 'only-outside', 'Release'), `${SECRET2}\n`, { mode: 0o644 });

  fs.symlinkSync('../../secret.txt', path.join(pub, 'escape.bin'));
  fs.symlinkSync(path.join(beside, 'secret.txt'), path.join(pub, 'escape-abs.bin'));
  fs.symlinkSync('chain-b.bin', path.join(pub, 'chain-a.bin'));
  fs.symlinkSync('chain-c', path.join(pub, 'chain-b.bin'));
  fs.symlinkSync('../../secret.txt', path.join(pub, 'chain-c'));
  fs.symlinkSync(outside, path.join(pub, 'outdir'));
  fs.symlinkSync('outdir/secret2.txt', path.join(pub, 'via-dir.bin'));
  for (const p of ROWS) fs.symlinkSync('../../secret.txt', path.join(root, p));

  fs.mkdirSync(path.join(pub, 'real'), { mode: 0o755 });
  fs.writeFileSync(path.join(pub, 'real', 'target.txt'), INSIDE_BODY, { mode: 0o644 });
  fs.symlinkSync('real', path.join(pub, 'linkeddir'));
  fs.symlinkSync('real/target.txt', path.join(pub, 'inside.txt'));
  fs.symlinkSync('inside.txt', path.join(pub, 'inside-chain.txt'));
  fs.symlinkSync(path.join(pub, 'real', 'target.txt'), path.join(pub, 'inside-abs.txt'));

  // An apt subtree whose dists/ leads outside: its suites are not looked into.
  fs.mkdirSync(path.join(root, 'debian'), { mode: 0o755 });
  fs.symlinkSync(path.join(outside, 'dists'), path.join(root, 'debian', 'dists'));
}

describe('nothing outside the origin root is served or listed (issue 11)', () => {
  before(async () => {
    stack = await startStack({
      sidecarProcess: true,
      configure: (c) => {
        c.formats.aptLists = { '/debian.list': '/debian/' };
        // This host is demo-de: what the selection gives it is served here (the DE client's downloads).
        c.selfMirror = 'demo-de';
        c.delivery.excludePaths = ['*.excluded'];
      },
    });
    plant();
    const de = await mirrorByIdentifier(stack.pool, 'demo-de');
    // A row from before the file was swapped for a link, no mirror holding it: the origin would deliver it.
    await upsertFile(stack.pool, { path: '/pub/stale.bin', size: SECRET.length + 1, mtime: 1_700_000_000, sha256: null }, []);
    // Big enough not to be served locally for its size: self-serving and the delivery rule make them local.
    await upsertFile(stack.pool, { path: '/pub/self.bin', size: 100_000, mtime: 1_700_000_000, sha256: null }, [de!.id]);
    await upsertFile(stack.pool, { path: '/pub/rule.excluded', size: 100_000, mtime: 1_700_000_000, sha256: null }, [de!.id]);
    // A mirror holding a Release file of the suite that only the outside directory has.
    await upsertFile(stack.pool, { path: '/debian/dists/only-outside/Release', size: SECRET2.length + 1, mtime: 1_700_000_000, sha256: null }, [de!.id]);
  });
  after(async () => {
    await stack?.stop();
  });

  test('links inside the root work, to files and through a linked directory', withLogs(S, async () => {
    for (const t of INSIDE) {
      const r = await ask(t);
      assert.equal(r.status, 200, t);
      assert.equal(r.body.toString('utf8'), INSIDE_BODY, t);
    }
    // The root's own listing works and shows no file of the outside directory.
    const listing = await ask('/pub/');
    assert.equal(listing.status, 200);
    assert.match(listing.body.toString('utf8'), /README\.txt/);
    assert.deepEqual(leaks(listing), []);
  }));

  test('sidecar up: no link shape, answer kind, encoding or request form reaches outside', withLogs(S, async () => {
    const problems = await check([...ESCAPES.flatMap(kinds), ...SHAPES], described);
    assert.deepEqual(problems, []);
    // Plain requests are answered 404 by the sidecar, like any file that does not exist.
    for (const p of ESCAPES) assert.equal((await ask(p)).status, 404, p);
  }));

  test('a file swapped for an escaping link right after it was served: nginx refuses what the sidecar allowed', withLogs(S, async () => {
    const file = path.join(stack.config.origin.root, 'pub', 'swap.txt');
    fs.writeFileSync(file, INSIDE_BODY, { mode: 0o644 });
    const first = await ask('/pub/swap.txt');
    assert.equal(first.status, 200);
    assert.equal(first.body.toString('utf8'), INSIDE_BODY);
    fs.rmSync(file);
    fs.symlinkSync('../../secret.txt', file);
    // The sidecar may still believe its cached answer (a file, here): nginx, following no link, refuses (403);
    // once that is stale, the sidecar refuses itself (404). Never the secret.
    const second = await ask('/pub/swap.txt');
    assert.deepEqual(leaks(second), []);
    assert.ok([403, 404].includes(second.status), `status ${second.status}`);
  }));

  test('sidecar up: directory listings of an escaping directory, and the apt list', withLogs(S, async () => {
    assert.deepEqual(await check(LISTINGS, () => false), []);
    const apt = await ask('/debian.list');
    assert.equal(apt.status, 200);
    // Only the origin itself: the mirror holding the outside suite's Release is not named.
    assert.doesNotMatch(apt.body.toString('utf8'), /127\.0\.0\.2/);
    assert.match(apt.body.toString('utf8'), /^http:\/\/localhost\/debian\/\s/m);
  }));

  test('a demo mirror server follows no link out of its tree either', withLogs(S, async () => {
    const mirrorRoot = stack.mirrorServers[0].root;
    fs.symlinkSync(path.join(path.dirname(stack.config.origin.root), 'secret.txt'), path.join(mirrorRoot, 'pub', 'escape.bin'));
    fs.symlinkSync(path.join(stack.dir, 'outside'), path.join(mirrorRoot, 'pub', 'outdir'));
    const [host, port] = stack.mirrorServers[0].listen.split(':');
    for (const t of ['/pub/escape.bin', '/pub/outdir/secret2.txt', '/pub/outdir/']) {
      const r = await rawRequest({ port: Number(port), host, data: get(t) });
      assert.deepEqual(leaks(r), [], t);
      assert.notEqual(r.status, 200, t);
    }
    const fine = await rawRequest({ port: Number(port), host, data: get('/pub/README.txt') });
    assert.equal(fine.status, 200);
  }));

  test('sidecar killed: njs falls back to the origin, by the same rule', withLogs(S, async () => {
    const proc = stack.redirector.sidecarProcess!;
    proc.process.kill('SIGKILL');
    await proc.exited;
    // The fallback is what answers now.
    const plain = await ask('/pub/origin-only.txt');
    assert.equal(plain.status, 200);
    assert.match(fs.readFileSync(stack.redirector.nginx.errorLog, 'utf8'), /mirrorlane: sidecar unreachable/);

    for (const t of INSIDE) {
      const r = await ask(t);
      assert.equal(r.status, 200, t);
      assert.equal(r.body.toString('utf8'), INSIDE_BODY, t);
    }
    const problems = await check([...ESCAPES.flatMap(kinds), ...SHAPES, ...LISTINGS, '/debian.list'], () => false);
    assert.deepEqual(problems, []);
    for (const p of ESCAPES) assert.equal((await ask(p)).status, 404, p);
    // A directory named without its slash is sent to its listing, not to nginx's internal location.
    const dir = await ask('/pub/real');
    assert.equal(dir.status, 301);
    assert.match(dir.headers.find(([k]) => k.toLowerCase() === 'location')?.[1] ?? '', /\/pub\/real\/$/);
  }));
});
