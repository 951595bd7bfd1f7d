// The client-facing formats on the real stack (nginx + njs, sidecar, PostgreSQL, three mirrors on 127.0.0.2-4),
// checked against their specs and used by real clients: aria2c (Metalink v4, RFC 6249 Link/Digest) and apt's
// mirror method (apt-get update and download through a mirror list).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { request } from '../helpers/http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';
import { waitFor } from '../helpers/wait.ts';
import { deterministicBytes } from '../../runtime/demo.ts';

let stack: TestStack;
const S = () => stack;
const ISO = '/pub/mirrorlane-demo-1.0.iso';
/** On demo-de and demo-us only, NOT in the origin tree: whatever a client gets, a mirror served it. */
const BIN = '/pub/formats/only-on-mirrors.bin';
/** The file table describes bytes the mirrors do not have (same size): a client that verifies must fail. */
const TAMPERED = '/pub/formats/tampered.bin';
/** A real file in the origin whose name ends in a format suffix. */
const REAL_SUFFIX = '/pub/formats/notes.txt.sha256';
const SIZE = 300 * 1024;
const HOLDERS = ['demo-de', 'demo-us'];
const FROM_DE = '192.0.2.10';
const FROM_US = '198.51.100.10';
const FROM_JP = '203.0.113.10';
const TIMEOUT = { timeout: 60_000 };

const bytes = deterministicBytes;
const hash = (alg: string, b: Buffer, enc: 'hex' | 'base64' = 'hex') => crypto.createHash(alg).update(b).digest(enc);
const BIN_CONTENT = bytes('bin', SIZE);

function mirrorHost(identifier: string): string {
  const host = { 'demo-de': '127.0.0.2', 'demo-us': '127.0.0.3', 'demo-jp': '127.0.0.4' }[identifier];
  return `http://${host}:${stack.mirrorPort}`;
}
const mirrorRoot = (identifier: string) => path.join(stack.dir, 'demo', 'mirrors', identifier);

function put(root: string, rel: string, content: Buffer | string): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, content, { mode: 0o644 });
}

async function addRow(rel: string, content: Buffer, holders: string[], hashes: ('sha256' | 'sha1' | 'md5')[] = ['sha256', 'sha1', 'md5']): Promise<void> {
  const h = (alg: 'sha256' | 'sha1' | 'md5') => (hashes.includes(alg) ? hash(alg, content) : null);
  await stack.pool.query(
    `INSERT INTO file (path, size, mtime, sha256, sha1, md5, mirrors)
     VALUES ($1, $2, $3, decode($4, 'hex'), decode($5, 'hex'), decode($6, 'hex'),
             (SELECT array_agg(id ORDER BY id)::smallint[] FROM mirror WHERE identifier = ANY($7)))`,
    [rel, content.length, 1767225600, h('sha256'), h('sha1'), h('md5'), holders],
  );
}

/** A download as a client at `ip` behind the trusted proxy 127.0.0.1. */
function from(ip: string, p: string, opts: { method?: string; headers?: Record<string, string> } = {}) {
  return request(stack.base + p, { method: opts.method ?? 'GET', headers: { 'X-Forwarded-For': ip, ...opts.headers } });
}

interface Run {
  code: number | null;
  out: string;
}

/** A client program, without any proxy from the environment. */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  for (const k of Object.keys(env)) if (/_proxy$/i.test(k)) delete env[k];
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env, timeout: 50_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ['file', 'url', 'hash'].includes(name),
});
type Node = Record<string, any>;

/** The RFC 5854 rules for one document; returns its file element. */
function checkMeta4(xml: string): Node {
  const doc = parser.parse(xml);
  assert.deepEqual(Object.keys(doc).filter((k) => k !== '?xml'), ['metalink']);
  const root = doc.metalink;
  assert.equal(root['@_xmlns'], 'urn:ietf:params:xml:ns:metalink');
  assert.equal(root.file.length, 1, 'exactly one file');
  assert.match(root.published, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const f = root.file[0];
  assert.ok(!f['@_name'].includes('/'), 'relative name without directories');
  assert.match(f.size, /^\d+$/);
  assert.equal(f.hash.filter((h: Node) => h['@_type'] === 'sha-256').length, 1);
  assert.deepEqual(f.url.map((u: Node) => u['@_priority']), f.url.map((_: Node, i: number) => String(i + 1)));
  for (const u of f.url) if (u['@_location'] !== undefined) assert.match(u['@_location'], /^[a-z]{2}$/);
  return root;
}


/** A minimal apt repository (one suite, one architecture-independent package) under each root's debian/. */
async function writeAptRepo(roots: string[]): Promise<{ release: Buffer; deb: Buffer }> {
  const pkgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-deb-'));
  try {
    const control = 'Package: hello-ml\nVersion: 1.0\nArchitecture: all\nMaintainer: Mirrorlane tests <tests@example.invalid>\nDescription: tiny package for the apt mirror-method test\n';
    put(pkgDir, 'DEBIAN/control', control);
    put(pkgDir, 'usr/share/doc/hello-ml/README', 'hello\n');
    const debPath = path.join(pkgDir, 'hello-ml.deb');
    const built = await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', pkgDir, debPath]);
    assert.equal(built.code, 0, built.out);
    const deb = fs.readFileSync(debPath);
    const debRel = 'pool/main/h/hello-ml/hello-ml_1.0_all.deb';
    const packages = Buffer.from(`${control}Filename: ${debRel}\nSize: ${deb.length}\nSHA256: ${hash('sha256', deb)}\n\n`);
    const release = Buffer.from(
      'Suite: stable\nCodename: stable\nDate: Thu, 01 Jan 2026 00:00:00 UTC\nArchitectures: amd64 all\nComponents: main\n' +
        `SHA256:\n ${hash('sha256', packages)} ${packages.length} main/binary-all/Packages\n`,
    );
    for (const root of roots) {
      put(root, `debian/${debRel}`, deb);
      put(root, 'debian/dists/stable/main/binary-all/Packages', packages);
      put(root, 'debian/dists/stable/Release', release);
    }
    return { release, deb };
  } finally {
    fs.rmSync(pkgDir, { recursive: true, force: true });
  }
}

describe('client-facing formats on real nginx, sidecar and PostgreSQL', () => {
  let aptRepo: { release: Buffer; deb: Buffer };

  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.formats.aptLists = { '/debian.list': '/debian/' };
      },
    });
    const tampered = bytes('the real one', SIZE);
    for (const m of HOLDERS) {
      put(mirrorRoot(m), BIN, BIN_CONTENT);
      put(mirrorRoot(m), TAMPERED, bytes(`tampered on ${m}`, SIZE));
    }
    put(stack.config.origin.root, REAL_SUFFIX, 'a real file, not a hash\n');
    await addRow(BIN, BIN_CONTENT, HOLDERS);
    await addRow(TAMPERED, tampered, HOLDERS, ['sha256']);
    // The repository in the origin and on the two holders; demo-jp does not carry /debian/.
    aptRepo = await writeAptRepo([stack.config.origin.root, ...HOLDERS.map(mirrorRoot)]);
    await addRow('/debian/dists/stable/Release', aptRepo.release, HOLDERS, ['sha256']);
    // The sidecar's file cache is cleared by the table's NOTIFY.
    await waitFor(async () => (await from(FROM_DE, BIN, { method: 'HEAD' })).status === 302, 'new file rows visible');
  });
  after(async () => {
    await stack?.stop();
  });

  test('redirect: Link duplicates and describedby, Digest and Repr-Digest; HEAD carries the same', withLogs(S, async () => {
    const get = await from(FROM_DE, BIN);
    assert.equal(get.status, 302);
    assert.equal(get.headers.location, mirrorHost('demo-de') + BIN);
    assert.equal(
      get.headers.link,
      `<${mirrorHost('demo-us')}${BIN}>; rel=duplicate; pri=1; geo=us, ` +
        `<${stack.base}${BIN}.meta4>; rel=describedby; type="application/metalink4+xml"`,
    );
    // One header line per link: aria2 reads only the first link of a line.
    assert.equal(get.rawHeaders.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'link').length, 2);
    assert.equal(get.headers.digest, `SHA-256=${hash('sha256', BIN_CONTENT, 'base64')}, SHA=${hash('sha1', BIN_CONTENT, 'base64')}, MD5=${hash('md5', BIN_CONTENT, 'base64')}`);
    assert.equal(get.headers['repr-digest'], `sha-256=:${hash('sha256', BIN_CONTENT, 'base64')}:`);
    const head = await from(FROM_DE, BIN, { method: 'HEAD' });
    assert.equal(head.status, 302);
    for (const h of ['location', 'link', 'digest', 'repr-digest']) assert.equal(head.headers[h], get.headers[h], h);
    // The describedby link works.
    const meta = await request(`${stack.base}${BIN}.meta4`);
    assert.equal(meta.status, 200);
    assert.equal(meta.headers['content-type'], 'application/metalink4+xml');
  }));

  test('Metalink v4 by suffix, by ?meta4 and by Accept: one RFC 5854 document, mirrors ranked, origin last', withLogs(S, async () => {
    const bySuffix = await from(FROM_DE, `${BIN}.meta4`);
    const byQuery = await from(FROM_DE, `${BIN}?meta4`);
    const byAccept = await from(FROM_DE, BIN, { headers: { Accept: '*/*,application/metalink4+xml,application/metalink+xml' } });
    for (const r of [bySuffix, byQuery, byAccept]) {
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/metalink4+xml');
      assert.equal(r.body, bySuffix.body);
    }
    const root = checkMeta4(bySuffix.body);
    assert.deepEqual(root.origin, { '#text': `${stack.base}${BIN}.meta4`, '@_dynamic': 'true' });
    const f = root.file[0];
    assert.equal(f['@_name'], 'only-on-mirrors.bin');
    assert.equal(f.size, String(SIZE));
    assert.deepEqual(
      f.hash.map((h: Node) => [h['@_type'], h['#text']]),
      [['sha-256', hash('sha256', BIN_CONTENT)], ['sha-1', hash('sha1', BIN_CONTENT)], ['md5', hash('md5', BIN_CONTENT)]],
    );
    assert.deepEqual(
      f.url.map((u: Node) => [u['@_location'], u['#text']]),
      [['de', mirrorHost('demo-de') + BIN], ['us', mirrorHost('demo-us') + BIN], [undefined, stack.base + BIN]],
    );
    // A real file whose name ends in a suffix is that file.
    const real = await from(FROM_DE, REAL_SUFFIX);
    assert.equal(real.status, 200);
    assert.equal(real.body, 'a real file, not a hash\n');
  }));

  test('Metalink 3.0 (.metalink, ?metalink, Accept): version, namespace, verification, preference 100 down', withLogs(S, async () => {
    const r = await from(FROM_US, `${BIN}.metalink`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/metalink+xml');
    assert.equal((await from(FROM_US, `${BIN}?metalink`)).body, r.body);
    assert.equal((await from(FROM_US, BIN, { headers: { Accept: 'application/metalink+xml' } })).body, r.body);
    const root = parser.parse(r.body).metalink;
    assert.equal(root['@_version'], '3.0');
    assert.equal(root['@_xmlns'], 'http://www.metalinker.org/');
    assert.equal(root['@_type'], 'dynamic');
    assert.equal(root['@_origin'], `${stack.base}${BIN}.metalink`);
    assert.equal(Date.parse(root['@_pubdate']), 1767225600 * 1000);
    assert.equal(root.files.file.length, 1);
    const f = root.files.file[0];
    assert.equal(f['@_name'], 'only-on-mirrors.bin');
    assert.equal(f.verification.hash.find((h: Node) => h['@_type'] === 'sha256')['#text'], hash('sha256', BIN_CONTENT));
    assert.deepEqual(
      f.resources.url.map((u: Node) => [u['@_type'], u['@_location'], u['@_preference'], u['#text']]),
      [
        ['http', 'us', '100', mirrorHost('demo-us') + BIN],
        ['http', 'de', '99', mirrorHost('demo-de') + BIN],
        ['http', undefined, '98', stack.base + BIN],
      ],
    );
  }));

  test('hashes: .sha256 .sha1 .md5 and ?sha256 as sha256sum prints them; 404 for an unknown hash', withLogs(S, async () => {
    for (const alg of ['sha256', 'sha1', 'md5']) {
      const line = `${hash(alg, BIN_CONTENT)}  only-on-mirrors.bin\n`;
      for (const p of [`${BIN}.${alg}`, `${BIN}?${alg}`]) {
        const r = await from(FROM_DE, p);
        assert.equal(r.status, 200, p);
        assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
        assert.equal(r.body, line, p);
      }
    }
    // The demo files carry a SHA-256 only.
    assert.equal((await from(FROM_DE, `${ISO}.md5`)).status, 404);
    assert.equal((await from(FROM_DE, `${ISO}?sha1`)).status, 404);
    assert.equal((await from(FROM_DE, `/pub/no-such.iso.sha256`)).status, 404);
  }));

  test('mirror list: tiers, excluded mirrors with reasons, every value escaped, nothing private', withLogs(S, async () => {
    const evil = '<script>alert(1)</script>';
    // One statement per change: the sidecar reloads the mirror table on each NOTIFY, and two reloads in flight
    // may finish out of order (seen here once), leaving the older state in place.
    await stack.pool.query(
      `UPDATE mirror SET
         operator_name = CASE identifier WHEN 'demo-us' THEN $1 ELSE operator_name END,
         admin_email = CASE identifier WHEN 'demo-us' THEN 'secret-admin@example.org' ELSE admin_email END,
         public_notes = CASE identifier WHEN 'demo-us' THEN 'private note' ELSE public_notes END,
         enabled = identifier <> 'demo-de'
       WHERE identifier IN ('demo-us', 'demo-de')`,
      [evil],
    );
    try {
      await waitFor(async () => JSON.parse((await from(FROM_JP, `${ISO}?json`)).body).excluded.length === 1, 'mirror changes loaded');
      const r = await from(FROM_JP, `${ISO}?mirrorlist`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
      assert.doesNotMatch(r.body, /<script/i);
      assert.match(r.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      assert.doesNotMatch(r.body, /secret-admin|private note/);
      assert.match(r.body, /<h1>mirrorlane-demo-1\.0\.iso<\/h1>/);
      assert.match(r.body, /Japan \(JP\)/, 'the client as the redirector sees it');
      assert.match(r.body, /<h3>Elsewhere <small>\(1\)<\/small><\/h3>/);
      assert.match(r.body, new RegExp(`href="${mirrorHost('demo-us')}${ISO}"`));
      assert.match(r.body, /demo-de<\/small><\/td><td>disabled<\/td>/);
      assert.match(r.body, /href="\.\/mirrorlane-demo-1\.0\.iso\.meta4"/);
      assert.match(r.body, /<code>[0-9a-f]{64}<\/code>/);
      // The suffix form is the same page.
      assert.equal((await from(FROM_JP, `${ISO}.mirrorlist`)).body, r.body);
    } finally {
      await stack.pool.query(
        `UPDATE mirror SET enabled = true,
           operator_name = CASE identifier WHEN 'demo-us' THEN 'Demo mirror New York' ELSE operator_name END,
           admin_email = '', public_notes = ''
         WHERE identifier IN ('demo-us', 'demo-de')`,
      );
    }
    await waitFor(async () => (await from(FROM_DE, BIN, { method: 'HEAD' })).headers['x-mirrorlane-mirror'] === 'demo-de', 'demo-de back');
    // ?mirrorlist&json is the JSON answer (a DE client: one country mirror, so no random pick in between).
    const a = JSON.parse((await from(FROM_DE, `${BIN}?mirrorlist&json`)).body);
    const b = JSON.parse((await from(FROM_DE, `${BIN}?json`)).body);
    assert.deepEqual(a, b);
    assert.deepEqual(a.mirrors.map((m: { identifier: string }) => m.identifier), ['demo-de', 'demo-us']);
  }));

  describe('aria2c', () => {
    const aria2 = (dir: string, url: string, extra: string[]) =>
      run('aria2c', ['--no-conf', `--dir=${dir}`, '--max-tries=1', '--connect-timeout=5', '--timeout=10', '--summary-interval=0',
        '--file-allocation=none', '--allow-overwrite=true', '--auto-file-renaming=false', '--enable-color=false', ...extra, url]);
    const workDir = (name: string) => fs.mkdtempSync(path.join(stack.dir, `aria2-${name}-`));

    test('downloads through the .meta4 from the mirrors and verifies the SHA-256', TIMEOUT, withLogs(S, async () => {
      const dir = workDir('meta4');
      const log = path.join(dir, 'aria2.log');
      const r = await aria2(dir, `${stack.base}${BIN}.meta4`, ['--follow-metalink=mem', `--header=X-Forwarded-For: ${FROM_DE}`, `--log=${log}`, '--log-level=info']);
      assert.equal(r.code, 0, r.out);
      assert.equal(hash('sha256', fs.readFileSync(path.join(dir, 'only-on-mirrors.bin'))), hash('sha256', BIN_CONTENT));
      const text = fs.readFileSync(log, 'latin1');
      assert.match(text, /Verification finished successfully/);
      // The file is not in the origin: the bytes came from demo-de, the Metalink's priority 1.
      assert.match(text, new RegExp(`Host: 127\\.0\\.0\\.2:${stack.mirrorPort}`));
    }));

    test('downloads through a plain redirect and checks the Digest header', TIMEOUT, withLogs(S, async () => {
      const dir = workDir('redirect');
      const log = path.join(dir, 'aria2.log');
      // aria2 asks for Metalink in Accept on every request; without that it gets the 302 with Link and Digest.
      const r = await aria2(dir, `${stack.base}${BIN}`, ['--header=Accept: */*', `--header=X-Forwarded-For: ${FROM_US}`, `--log=${log}`, '--log-level=debug']);
      assert.equal(r.code, 0, r.out);
      assert.equal(hash('sha256', fs.readFileSync(path.join(dir, 'only-on-mirrors.bin'))), hash('sha256', BIN_CONTENT));
      const text = fs.readFileSync(log, 'latin1');
      assert.match(text, /HTTP\/1\.1 302/);
      assert.match(text, /Setting digest: type=sha-256/, 'aria2 took the digest from the redirect');
      assert.match(text, /Verification finished successfully/);
      assert.match(text, new RegExp(`Host: 127\\.0\\.0\\.3:${stack.mirrorPort}`));
    }));

    test('without options on the plain URL, aria2 negotiates the Metalink (Accept) and downloads through it', TIMEOUT, withLogs(S, async () => {
      const dir = workDir('plain');
      const r = await aria2(dir, `${stack.base}${BIN}`, [`--header=X-Forwarded-For: ${FROM_DE}`]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /Verification finished successfully/);
      assert.equal(hash('sha256', fs.readFileSync(path.join(dir, 'only-on-mirrors.bin'))), hash('sha256', BIN_CONTENT));
      // The Metalink is saved under its own name (Content-Disposition), not over the file it describes.
      assert.ok(fs.existsSync(path.join(dir, 'only-on-mirrors.bin.meta4')));
    }));

    test('a mirror copy that does not match the digest fails, through the redirect and the .meta4', TIMEOUT, withLogs(S, async () => {
      const viaRedirect = await aria2(workDir('bad-redirect'), `${stack.base}${TAMPERED}`, ['--header=Accept: */*', `--header=X-Forwarded-For: ${FROM_DE}`]);
      assert.equal(viaRedirect.code, 32, `aria2 exit code 32 is "checksum validation failed"\n${viaRedirect.out}`);
      assert.match(viaRedirect.out, /Checksum error detected/);
      const viaMeta4 = await aria2(workDir('bad-meta4'), `${stack.base}${TAMPERED}.meta4`, ['--follow-metalink=mem', `--header=X-Forwarded-For: ${FROM_DE}`]);
      assert.equal(viaMeta4.code, 32, viaMeta4.out);
      // Control: the same copy fetched without our digest is accepted, so the failure above is the digest's doing.
      const direct = await aria2(workDir('bad-direct'), mirrorHost('demo-de') + TAMPERED, []);
      assert.equal(direct.code, 0, direct.out);
    }));
  });

  describe('apt mirror method', () => {
    test('the list: mirror base URLs that carry /debian/, best first, the origin last', withLogs(S, async () => {
      const de = await from(FROM_DE, '/debian.list');
      assert.equal(de.status, 200);
      assert.equal(de.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(
        de.body,
        `${mirrorHost('demo-de')}/debian/\tpriority:1\n${mirrorHost('demo-us')}/debian/\tpriority:2\n${stack.base}/debian/\tpriority:3\n`,
      );
      const us = await from(FROM_US, '/debian.list');
      assert.equal(us.body.split('\n')[0], `${mirrorHost('demo-us')}/debian/\tpriority:1`);
      assert.doesNotMatch(us.body, /127\.0\.0\.4/, 'demo-jp does not carry /debian/');
    }));

    test('apt-get update and download resolve the list and fetch from a mirror', TIMEOUT, withLogs(S, async () => {
      const root = fs.mkdtempSync(path.join(stack.dir, 'apt-'));
      fs.chmodSync(root, 0o755);
      for (const d of ['etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'etc/apt/sources.list.d', 'etc/apt/trusted.gpg.d', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/lib/dpkg', 'dl']) {
        fs.mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
      }
      fs.writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
      // Unsigned test repository: trusted=yes.
      fs.writeFileSync(path.join(root, 'etc/apt/sources.list'), `deb [trusted=yes] mirror+${stack.base}/debian.list stable main\n`);
      // A private apt: this file replaces the host's apt.conf and apt.conf.d, so nothing of the host's setup counts.
      const conf = path.join(root, 'apt.conf');
      fs.writeFileSync(
        conf,
        [
          `Dir "${root}/";`,
          `Dir::Etc::main "${conf}";`,
          `Dir::Etc::parts "${root}/etc/apt/apt.conf.d";`,
          `Dir::State::status "${root}/var/lib/dpkg/status";`,
          'Dir::Bin::Methods "/usr/lib/apt/methods";',
          'Debug::NoLocking "true";',
          `APT::Sandbox::User "${os.userInfo().username}";`,
          'APT::Architecture "amd64";',
          'APT::Architectures { "amd64"; };',
          'Acquire::Languages "none";',
          'Acquire::Retries "0";',
          'Acquire::http::Proxy "DIRECT";',
          '',
        ].join('\n'),
      );
      const env = { APT_CONFIG: conf };
      const update = await run('apt-get', ['update'], { env });
      assert.equal(update.code, 0, update.out);
      assert.match(update.out, new RegExp(`Get:\\d+ ${stack.base}/debian.list Mirrorlist`));
      assert.match(update.out, new RegExp(`Get:\\d+ http://127\\.0\\.0\\.[23]:${stack.mirrorPort}/debian stable Release`), update.out);
      assert.ok(fs.readdirSync(path.join(root, 'var/lib/apt/lists')).some((f) => f.includes('Packages')), 'Packages index stored');
      const download = await run('apt-get', ['download', 'hello-ml'], { cwd: path.join(root, 'dl'), env });
      assert.equal(download.code, 0, download.out);
      // priority:1 is a mirror, so apt takes the package from there too, not from the origin.
      assert.match(download.out, new RegExp(`Get:\\d+ http://127\\.0\\.0\\.[23]:${stack.mirrorPort}/debian stable/main all hello-ml all 1\\.0`), download.out);
      assert.equal(hash('sha256', fs.readFileSync(path.join(root, 'dl', 'hello-ml_1.0_all.deb'))), hash('sha256', aptRepo.deb));
    }));
  });
});
