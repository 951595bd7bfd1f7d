// The origin rule (issue 11): the pure halves, the resolver on a real temporary tree, the sidecar's cache of it,
// and decide() checking every local answer with it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../core/config.ts';
import type { GeoIp } from '../../core/geoip.ts';
import { renderNginxSnippets } from '../../core/nginx-config.ts';
import { realRoot, resolveOriginPath } from '../../core/origin-resolve.ts';
import { isInside, originPathOf, refusalReason } from '../../core/origin-rule.ts';
import type { FileRow } from '../../core/types.ts';
import { decide, type DecideDeps, type DecideRequest } from '../../sidecar/decide.ts';
import { httpAnswer } from '../../sidecar/http-answer.ts';
import { OriginGate } from '../../sidecar/origin-gate.ts';

test('inside means on a path-component boundary', () => {
  assert.equal(isInside('/srv/pub', '/srv/pub'), true);
  assert.equal(isInside('/srv/pub', '/srv/pub/a/b.iso'), true);
  assert.equal(isInside('/srv/pub', '/srv/pub2/x'), false);
  assert.equal(isInside('/srv/pub', '/srv/pu'), false);
  assert.equal(isInside('/srv/pub', '/etc/passwd'), false);
  assert.equal(isInside('/srv/pub/', '/srv/pub/x'), true);
  assert.equal(originPathOf('/srv/pub', '/srv/pub/a/b.iso'), '/a/b.iso');
  assert.equal(originPathOf('/srv/pub/', '/srv/pub/a'), '/a');
  assert.equal(originPathOf('/srv/pub', '/srv/pub'), '/');
  assert.equal(originPathOf('/srv/pub', '/srv/pubx/a'), null);
  assert.equal(refusalReason({ kind: 'outside', target: '/etc/shadow' }), 'resolves to /etc/shadow, outside the origin root');
  assert.equal(refusalReason({ kind: 'file', real: '/a', size: 1, mtimeMs: 0 }), null);
});

describe('resolving origin paths on a real tree', () => {
  let dir: string;
  let root: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-origin-rule-'));
    const r = path.join(dir, 'root');
    fs.mkdirSync(path.join(r, 'pub', 'rel'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'root2'));
    fs.writeFileSync(path.join(dir, 'secret'), 'secret');
    fs.writeFileSync(path.join(dir, 'root2', 'x'), 'x');
    fs.writeFileSync(path.join(r, 'pub', 'rel', 'x.iso'), 'iso');
    fs.symlinkSync('rel/x.iso', path.join(r, 'pub', 'latest.iso'));
    fs.symlinkSync('latest.iso', path.join(r, 'pub', 'chain.iso'));
    fs.symlinkSync('../../secret', path.join(r, 'pub', 'escape'));
    fs.symlinkSync('escape', path.join(r, 'pub', 'chain-escape'));
    // A sibling whose name starts like the root's: outside, though a string prefix would say inside.
    fs.symlinkSync('../../root2/x', path.join(r, 'pub', 'sibling'));
    fs.symlinkSync('rel', path.join(r, 'pub', 'linked'));
    fs.symlinkSync('nowhere', path.join(r, 'pub', 'dangling'));
    fs.symlinkSync('loop-b', path.join(r, 'pub', 'loop-a'));
    fs.symlinkSync('loop-a', path.join(r, 'pub', 'loop-b'));
    // The root itself reached through a link: resolved once, paths below compare against the real one.
    fs.symlinkSync(r, path.join(dir, 'root-link'));
    root = await realRoot(path.join(dir, 'root-link'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('files inside, however reached, resolve to their real origin path', async () => {
    assert.deepEqual(await resolveOriginPath(root, '/pub/rel/x.iso'), { kind: 'file', real: '/pub/rel/x.iso', size: 3, mtimeMs: fs.statSync(path.join(root, 'pub/rel/x.iso')).mtimeMs });
    assert.equal((await resolveOriginPath(root, '/pub/latest.iso')).kind, 'file');
    assert.equal(((await resolveOriginPath(root, '/pub/chain.iso')) as { real: string }).real, '/pub/rel/x.iso');
    assert.equal(((await resolveOriginPath(root, '/pub/linked/x.iso')) as { real: string }).real, '/pub/rel/x.iso');
  });

  test('escapes, chains out, siblings, dangling links, loops and non-files are refused', async () => {
    assert.deepEqual(await resolveOriginPath(root, '/pub/escape'), { kind: 'outside', target: path.join(dir, 'secret') });
    assert.equal((await resolveOriginPath(root, '/pub/chain-escape')).kind, 'outside');
    assert.equal((await resolveOriginPath(root, '/pub/sibling')).kind, 'outside');
    assert.equal((await resolveOriginPath(root, '/pub/dangling')).kind, 'missing');
    assert.equal((await resolveOriginPath(root, '/pub/nothing')).kind, 'missing');
    assert.equal((await resolveOriginPath(root, '/pub/rel/x.iso/y')).kind, 'missing');
    assert.equal((await resolveOriginPath(root, '/pub/loop-a')).kind, 'loop');
    assert.deepEqual(await resolveOriginPath(root, '/pub/rel/'), { kind: 'dir', real: '/pub/rel', linked: false });
    assert.deepEqual(await resolveOriginPath(root, '/pub/linked'), { kind: 'dir', real: '/pub/rel', linked: true });
  });

  test('the sidecar gate: kinds and deliverable paths by the rule, cached briefly and boundedly', async () => {
    let now = 0;
    const gate = new OriginGate(path.join(dir, 'root-link'), { ttlMs: 1000, capacity: 2, now: () => now });
    assert.equal(await gate.kind('/pub/latest.iso'), 'file');
    assert.equal(await gate.deliverable('/pub/latest.iso'), '/pub/rel/x.iso');
    assert.equal(await gate.kind('/pub/escape'), 'none');
    assert.equal(await gate.deliverable('/pub/escape'), null);
    assert.equal(await gate.kind('/pub/rel'), 'dir');
    // A linked directory is not offered for listing (nginx lists none), its files are delivered by real path.
    assert.equal(await gate.kind('/pub/linked'), 'none');
    assert.equal(await gate.deliverable('/pub/linked/x.iso'), '/pub/rel/x.iso');
    const before = gate.resolved;
    await gate.deliverable('/pub/linked/x.iso');
    assert.equal(gate.resolved, before, 'a repeated path within the TTL is not resolved again');
    now += 1000;
    await gate.deliverable('/pub/linked/x.iso');
    assert.equal(gate.resolved, before + 1, 'after the TTL it is');
    // Capacity 2: an old path has been dropped and is resolved again.
    const n = gate.resolved;
    await gate.kind('/pub/latest.iso');
    assert.equal(gate.resolved, n + 1);
  });

  test('an unreadable root delivers nothing', async () => {
    const gate = new OriginGate(path.join(dir, 'no-such-root'));
    assert.equal(await gate.deliverable('/pub/rel/x.iso'), null);
    assert.equal(await gate.kind('/pub/rel'), 'none');
  });
});

describe('decide() checks every local answer with the rule', () => {
  const tiny: FileRow = { id: 1, path: '/pub/tiny.txt', size: 10, mtime: 1.7e9, sha256: null, sha1: null, md5: null, mirrors: [] };
  const deps = (localPath: DecideDeps['localPath'], over: Partial<DecideDeps> = {}): DecideDeps => ({
    fileRow: async (p) => (p === tiny.path ? tiny : null),
    mirror: () => undefined,
    peers: () => new Map(),
    // Local answers are decided before any GeoIP lookup.
    geo: {} as GeoIp,
    originKind: async (p) => (p === '/pub/new.txt' ? 'file' : 'none'),
    localPath,
    selection: { distanceRange: 1.5 },
    delivery: { minSize: 4096, excludePaths: [], excludeNetworks: [], excludeUserAgents: [], overridesOnRedirect: false },
    random: () => 0.5,
    ...over,
  });
  const req = (p: string): DecideRequest => ({ path: p, query: '', clientIp: '192.0.2.1', scheme: 'http', userAgent: 'curl', range: '', accept: '' });

  test('a file row whose path now leads outside is not found; a link inside is served as its target', async () => {
    assert.deepEqual(await decide(req('/pub/tiny.txt'), deps(async () => null)), { t: 'notfound' });
    const d = await decide(req('/pub/tiny.txt'), deps(async () => '/pub/real/tiny.txt'));
    assert.deepEqual(d, { t: 'local', why: 'smaller than 4096 bytes', p: '/pub/real/tiny.txt' });
    assert.equal(httpAnswer(d, '/pub/tiny.txt').headers['X-Ml-Local'], '/pub/real/tiny.txt');
    assert.equal(httpAnswer(d, '/pub/tiny.txt', 'proxy').headers['X-Accel-Redirect'], '/_mirrorlane/origin/pub/real/tiny.txt');
    const same = await decide(req('/pub/tiny.txt'), deps(async (p) => p));
    assert.equal(httpAnswer(same, '/pub/tiny.txt').headers['X-Ml-Local'], '/pub/tiny.txt');
    assert.equal(httpAnswer(same, '/pub/tiny.txt', 'proxy').headers['X-Accel-Redirect'], '/_mirrorlane/origin/pub/tiny.txt');
  });

  test('paths not in the table, and the database-down answer, pass the rule too', async () => {
    assert.deepEqual(await decide(req('/pub/new.txt'), deps(async () => null)), { t: 'notfound' });
    const down = deps(async () => null, {
      fileRow: async () => {
        throw new Error('database down');
      },
    });
    assert.deepEqual(await decide(req('/pub/escape'), down), { t: 'notfound' });
  });
});

test('every nginx location that reads the origin follows no symlink below the root', () => {
  const c = defaultConfig('/srv/ml/var');
  c.origin.root = '/srv/www/pub';
  const { server } = renderNginxSnippets(c, '/opt/ml/build/njs/mirrorlane.js');
  // Each location block with an alias (local delivery, directory listings) carries the directive.
  const blocks = server.split(/\n\s*location /).filter((b) => /\balias /.test(b));
  assert.equal(blocks.length, 2);
  for (const b of blocks) assert.match(b, /alias \/srv\/www\/pub\/[^;]*;\n\s*disable_symlinks on from=\/srv\/www\/pub;/);
  // njs's fallback is told the root, to resolve links itself.
  assert.match(server, /set \$mirrorlane_root \/srv\/www\/pub;/);
});
