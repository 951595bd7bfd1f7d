// Mirror scans against real peers on loopback: rsync daemons, vsftpd (one of them with a broken clock zone), nginx
// autoindex in json, xml and html, and a throw-away PostgreSQL whose origin rows the test inserts. Mirror trees are
// built on disk with explicit mtimes. A failing test carries the tails of the servers' logs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import type pg from 'pg';
import { defaultConfig } from '../../core/config.ts';
import { upsertFile } from '../../core/db/files.ts';
import { migrate } from '../../core/db/migrate.ts';
import { insertMirror, mirrorByIdentifier, updateMirror, type MirrorInput } from '../../core/db/mirrors.ts';
import { createPool } from '../../core/db/pool.ts';
import { crawlHttpIndex } from '../../core/scan/http-crawl.ts';
import { listRsync } from '../../core/scan/rsync.ts';
import { scanMirror, type ScanMirrorOptions, type ScanOutcome } from '../../core/scan/scan-mirror.ts';
import { startStaticNginx, type RunningNginx } from '../../runtime/nginx.ts';
import { freePort } from '../../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { startRsyncDaemon, type RsyncDaemon } from '../helpers/rsync-daemon.ts';
import { startVsftpd, type Vsftpd } from '../helpers/vsftpd.ts';
import { runCaptured } from '../helpers/cli-run.ts';
import { itWithLogs } from '../helpers/logs.ts';

const NOW = Math.floor(Date.now() / 1000);
/** Recent enough for FTP's "Nov 20 05:08" form, with odd seconds so a minute-precise listing is not enough. */
const RECENT = NOW - 10 * 86400 - 17;
/** Old enough for FTP's "Jun 07 2023" form. */
const OLD = Date.parse('2023-06-07T08:09:10Z') / 1000;
const BIG = 3_000_000_000;

interface OriginDef {
  path: string;
  size: number;
  mtime: number;
}

const ORIGIN: OriginDef[] = [
  { path: '/pub/a.txt', size: 6, mtime: OLD },
  { path: '/pub/b c.txt', size: 11, mtime: RECENT },
  { path: '/pub/sub/deep.bin', size: 100, mtime: RECENT - 3600 },
  { path: '/pub/sub dir/w&e é.txt', size: 3, mtime: RECENT - 7200 },
  { path: '/pub/iso/x.iso', size: 50, mtime: RECENT - 100 },
  { path: '/pub/iso/y.iso', size: 60, mtime: RECENT - 200 },
  { path: '/repo/repodata.xml', size: 20, mtime: RECENT - 300 },
  // Sparse on disk; only its size and the bytes around 2^31 are ever read.
  { path: '/pub/big.iso', size: BIG, mtime: RECENT - 400 },
];
const ALL = ORIGIN.map((f) => f.path).sort();

const SCAN: ScanMirrorOptions['scan'] = { timeoutS: 30, outdatedAllowedMinutes: { '/repo/': 60 }, tzDetection: true, verifyLargeFiles: true };

let cluster: RunningPostgres;
let pool: pg.Pool;
let dir: string;
let nginx: RunningNginx;
const nginxUrl: Record<string, string> = {};
const daemons: RsyncDaemon[] = [];
const ftps: Vsftpd[] = [];
let rsyncFull: RsyncDaemon;
let rsyncAuth: RsyncDaemon;
let rsyncSub: RsyncDaemon;
let ftpPartial: Vsftpd;
let ftpTz: Vsftpd;
let ftpDown: Vsftpd;
let env: NodeJS.ProcessEnv;
const cli = (...args: string[]) => runCaptured(args, env);

function writeFile(root: string, rel: string, size: number, mtime: number): void {
  const full = path.join(root, rel);
  fs.mkdirSync(path.dirname(full), { recursive: true, mode: 0o755 });
  if (size > 1 << 20) {
    fs.writeFileSync(full, '');
    fs.truncateSync(full, size);
  } else {
    fs.writeFileSync(full, Buffer.alloc(size, 'x'));
  }
  fs.chmodSync(full, 0o644);
  fs.utimesSync(full, mtime, mtime);
}

/** A tree with the given files; every directory world-readable (nginx workers and the rsync daemon run as nobody). */
function writeTree(name: string, files: OriginDef[]): string {
  const root = path.join(dir, name);
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  for (const f of files) writeFile(root, f.path, f.size, f.mtime);
  for (const d of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (d.isDirectory()) fs.chmodSync(path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name), 0o755);
  }
  fs.chmodSync(root, 0o755);
  return root;
}

const change = (path: string, over: Partial<OriginDef>) => ORIGIN.map((f) => (f.path === path ? { ...f, ...over } : f));

async function addMirror(input: MirrorInput): Promise<number> {
  return (await insertMirror(pool, input)).id;
}

async function held(identifier: string): Promise<string[]> {
  const { rows } = await pool.query(
    `SELECT f.path FROM file f JOIN mirror m ON f.mirrors @> ARRAY[m.id] WHERE m.identifier = $1 ORDER BY f.path`,
    [identifier],
  );
  return rows.map((r) => r.path as string);
}

async function scan(identifier: string, opts: Partial<ScanMirrorOptions> = {}): Promise<ScanOutcome> {
  const m = await mirrorByIdentifier(pool, identifier);
  assert.ok(m, identifier);
  return scanMirror(pool, m, { scan: SCAN, requestTimeoutMs: 10_000, ...opts });
}

function okOutcome(o: ScanOutcome): void {
  assert.equal(o.error, '', `scan of ${o.identifier} failed: ${o.error}`);
  assert.equal(o.ok, true);
}

function tail(text: string, lines = 25): string {
  return text.split('\n').slice(-lines).join('\n');
}

function logs(): string {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return '(none)';
    }
  };
  return [
    `--- nginx error log ---\n${tail(read(nginx?.errorLog ?? ''))}`,
    ...daemons.map((d) => `--- rsync daemon ${d.port} ---\n${tail(d.log())}`),
    ...ftps.map((f) => `--- vsftpd ${f.port} ---\n${tail(f.output())}`),
    `--- PostgreSQL ---\n${tail(read(cluster?.logFile ?? ''))}`,
  ].join('\n');
}

/** `it` with a time bound whose failures show the peers' logs. */
const test = (name: string, fn: () => Promise<void>) => itWithLogs(name, fn, logs, { timeout: 30_000 });


/**
 * A TCP relay in front of a real server that passes the server's first `limit` bytes and then cuts both
 * connections: a mirror going down in the middle of its listing, at a reproducible point.
 */
async function startCuttingRelay(targetPort: number, limit: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let passed = 0;
    client.pipe(upstream);
    upstream.on('data', (b: Buffer) => {
      const room = limit - passed;
      passed += b.length;
      if (room > b.length) {
        client.write(b);
        return;
      }
      upstream.destroy();
      client.end(b.subarray(0, Math.max(0, room)), () => client.destroy());
    });
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-scan-'));
  fs.chmodSync(dir, 0o755);
  cluster = await startTempCluster();
  pool = createPool(cluster.url, 8);
  await migrate(pool);
  for (const f of ORIGIN) await upsertFile(pool, { ...f, sha256: null }, []);

  const extras: OriginDef[] = [{ path: '/pub/extra-not-in-origin.txt', size: 5, mtime: RECENT }];
  const full = writeTree('full', [...ORIGIN, ...extras]);
  fs.symlinkSync('a.txt', path.join(full, 'pub', 'link.txt'));
  const partial = writeTree('partial', [
    ...ORIGIN.filter((f) => ['/pub/a.txt', '/pub/iso/x.iso', '/pub/sub/deep.bin'].includes(f.path)),
    { path: '/pub/b c.txt', size: 10, mtime: RECENT },
  ]);
  writeTree(
    'outdated',
    change('/pub/a.txt', { mtime: OLD - 3600 })
      .map((f) => (f.path === '/pub/b c.txt' ? { ...f, size: 12 } : f))
      .map((f) => (f.path === '/repo/repodata.xml' ? { ...f, mtime: f.mtime - 30 * 60 } : f))
      .map((f) => (f.path === '/pub/iso/y.iso' ? { ...f, mtime: f.mtime + 3600 } : f))
      .filter((f) => f.path !== '/pub/big.iso'),
  );
  writeTree('subtree', ORIGIN);
  writeTree('cut', Array.from({ length: 1500 }, (_, i) => ({ path: `/pub/many/d${i % 15}/f${i}.bin`, size: 1, mtime: RECENT })).concat(ORIGIN));
  writeTree('forbidden', ORIGIN.filter((f) => f.size < 1000));
  writeTree('ftpdown', ORIGIN.filter((f) => f.size < 1000));

  const formats = { 'full-json': ['full', 'json'], 'outdated-json': ['outdated', 'json'], 'outdated-xml': ['outdated', 'xml'], 'outdated-html': ['outdated', 'html'], 'forbidden-html': ['forbidden', 'html'] } as const;
  const servers = [];
  for (const [name, [tree, format]] of Object.entries(formats)) {
    const port = await freePort('127.0.0.5');
    nginxUrl[name] = `http://127.0.0.5:${port}/`;
    servers.push({ listen: `127.0.0.5:${port}`, root: path.join(dir, tree), autoindexFormat: format });
  }
  nginx = await startStaticNginx(path.join(dir, 'nginx'), servers);

  rsyncFull = await startRsyncDaemon({ root: full });
  rsyncAuth = await startRsyncDaemon({ root: full, auth: { user: 'alice', password: 's3cret:x' } });
  rsyncSub = await startRsyncDaemon({ root: path.join(dir, 'subtree') });
  daemons.push(rsyncFull, rsyncAuth, rsyncSub);
  ftpPartial = await startVsftpd({ root: partial });
  // A server 5 h 30 ahead: local time reported as UTC in LIST and MDTM.
  ftpTz = await startVsftpd({ root: full, tz: 'UTC-05:30' });
  ftpDown = await startVsftpd({ root: path.join(dir, 'ftpdown') });
  ftps.push(ftpPartial, ftpTz, ftpDown);

  const configFile = path.join(dir, 'mirrorlane.json');
  const config = defaultConfig(dir);
  fs.writeFileSync(configFile, JSON.stringify({ varDir: dir, origin: { root: full }, geoip: config.geoip, scan: { ...SCAN, jobs: 3 } }));
  env = { DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: configFile, PATH: process.env.PATH };
});

after(async () => {
  await pool?.end();
  await nginx?.stop();
  for (const d of daemons) await d.stop();
  for (const f of ftps) await f.stop();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('rsync', () => {
  test('a full mirror holds every origin file; a symlink to a file listed as that file (as over HTTP), extra files found but not held, 2 GiB file verified', async () => {
    await addMirror({ identifier: 'rsync-full', rsyncUrl: rsyncFull.url, httpUrl: nginxUrl['full-json'] });
    const o = await scan('rsync-full');
    okOutcome(o);
    assert.equal(o.protocol, 'rsync');
    // 10 found: the 8 origin files, the extra one, and pub/link.txt -> a.txt (no origin row: not held).
    assert.deepEqual(o.result && { found: o.result.found, held: o.result.held, added: o.result.added, removed: o.result.removed }, { found: 10, held: 8, added: 8, removed: 0 });
    assert.deepEqual(await held('rsync-full'), ALL);
    const { rows } = await pool.query(`SELECT scan_protocol, scan_files_found, scan_files_held, scan_error FROM mirror WHERE identifier = 'rsync-full'`);
    assert.deepEqual(rows[0], { scan_protocol: 'rsync', scan_files_found: 10, scan_files_held: 8, scan_error: '' });
    // A second scan changes nothing.
    const again = await scan('rsync-full');
    assert.deepEqual([again.result?.added, again.result?.removed, again.result?.held], [0, 0, 8]);
  });

  test('the password goes through RSYNC_PASSWORD; a wrong one is an error that does not show it', async () => {
    await addMirror({ identifier: 'rsync-auth', rsyncUrl: rsyncAuth.url });
    const o = await scan('rsync-auth');
    okOutcome(o);
    assert.equal(o.result?.held, 8);
    await addMirror({ identifier: 'rsync-badpw', rsyncUrl: rsyncAuth.url.replace('s3cret', 'wrong') });
    const bad = await scan('rsync-badpw');
    assert.equal(bad.ok, false);
    assert.match(bad.error, /rsync: .*auth failed|exit code 5/);
    assert.doesNotMatch(bad.error, /wrong|s3cret/);
    assert.deepEqual(await held('rsync-badpw'), []);
  });

  test('a file over 2 GiB the http URL cannot serve past 2^31 is not counted', async () => {
    // The http URL points at a tree without big.iso: the range request gets 404.
    await addMirror({ identifier: 'rsync-badlarge', rsyncUrl: rsyncFull.url, httpUrl: nginxUrl['outdated-json'] });
    const o = await scan('rsync-badlarge');
    okOutcome(o);
    assert.deepEqual(await held('rsync-badlarge'), ALL.filter((p) => p !== '/pub/big.iso'));
    assert.ok(o.warnings.some((w) => w.includes('/pub/big.iso')), o.warnings.join('\n'));
  });

  test('a mirror cut off in the middle of its listing keeps what it had', async () => {
    const cutRoot = path.join(dir, 'cut');
    const cutDaemon = await startRsyncDaemon({ root: cutRoot });
    daemons.push(cutDaemon);
    await addMirror({ identifier: 'rsync-cut', rsyncUrl: cutDaemon.url });
    okOutcome(await scan('rsync-cut'));
    assert.deepEqual(await held('rsync-cut'), ALL);

    const relay = await startCuttingRelay(cutDaemon.port, 20_000);
    try {
      const url = `rsync://127.0.0.1:${relay.port}/${cutDaemon.module}/`;
      // The listing really streams files before it breaks: the applier sees some, then the error.
      let streamed = 0;
      await assert.rejects(async () => {
        for await (const _ of listRsync(url, { timeoutMs: 10_000 })) streamed++;
      }, /exit code 12|exit code 10|connection unexpectedly closed/);
      assert.ok(streamed > 0, 'some files were listed before the cut');

      const m = await mirrorByIdentifier(pool, 'rsync-cut');
      await updateMirror(pool, m!.id, { rsyncUrl: url });
      const o = await scan('rsync-cut');
      assert.equal(o.ok, false);
      assert.match(o.error, /^rsync: /);
      assert.deepEqual(await held('rsync-cut'), ALL);
      const { rows } = await pool.query(`SELECT scan_files_held, scan_error FROM mirror WHERE identifier = 'rsync-cut'`);
      assert.equal(rows[0].scan_files_held, 8, 'the counts of the last good scan stay');
      assert.match(rows[0].scan_error, /rsync/);
    } finally {
      await relay.close();
    }
  });

  test('a server that accepts but never answers: the scan times out, files kept', async () => {
    await addMirror({ identifier: 'rsync-hang', rsyncUrl: rsyncFull.url });
    okOutcome(await scan('rsync-hang'));
    const silent = net.createServer(() => {});
    const sockets = new Set<net.Socket>();
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const m = await mirrorByIdentifier(pool, 'rsync-hang');
    try {
      await updateMirror(pool, m!.id, { rsyncUrl: `rsync://127.0.0.1:${(silent.address() as net.AddressInfo).port}/mirror/` });
      const started = Date.now();
      const o = await scan('rsync-hang', { scan: { ...SCAN, timeoutS: 2 } });
      assert.equal(o.ok, false);
      assert.match(o.error, /timed out/);
      assert.ok(Date.now() - started < 10_000);
      assert.deepEqual(await held('rsync-hang'), ALL);
    } finally {
      // Back to a working URL, so that `scan --all` below does not wait for it.
      await updateMirror(pool, m!.id, { rsyncUrl: rsyncFull.url });
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a subtree scan changes that subtree only', async () => {
    await addMirror({ identifier: 'rsync-sub', rsyncUrl: rsyncSub.url });
    okOutcome(await scan('rsync-sub'));
    assert.deepEqual(await held('rsync-sub'), ALL);
    const root = path.join(dir, 'subtree');
    fs.rmSync(path.join(root, 'pub', 'iso', 'y.iso'));
    fs.rmSync(path.join(root, 'pub', 'a.txt'));
    const o = await scan('rsync-sub', { subtree: '/pub/iso' });
    okOutcome(o);
    assert.deepEqual([o.result?.found, o.result?.held, o.result?.removed], [1, 1, 1]);
    assert.deepEqual(await held('rsync-sub'), ALL.filter((p) => p !== '/pub/iso/y.iso'));
    // The full scan then sees the rest.
    okOutcome(await scan('rsync-sub'));
    assert.deepEqual(await held('rsync-sub'), ALL.filter((p) => p !== '/pub/iso/y.iso' && p !== '/pub/a.txt'));
  });
});

describe('FTP', () => {
  test('a partial mirror holds what it has with the right size and time', async () => {
    await addMirror({ identifier: 'ftp-partial', ftpUrl: ftpPartial.url });
    const o = await scan('ftp-partial');
    okOutcome(o);
    assert.equal(o.protocol, 'ftp');
    assert.equal(o.tzOffsetMs, 0);
    assert.equal(o.result?.found, 4);
    assert.deepEqual(await held('ftp-partial'), ['/pub/a.txt', '/pub/iso/x.iso', '/pub/sub/deep.bin']);
  });

  test('a directory the server cannot open fails the scan (vsftpd says 226 with an empty listing)', async () => {
    const before = await held('ftp-partial');
    const sub = path.join(dir, 'partial', 'pub', 'iso');
    fs.chmodSync(sub, 0o000);
    try {
      const o = await scan('ftp-partial');
      assert.equal(o.ok, false, 'an unreadable directory is not an empty one');
      // As root vsftpd enters the folder and cannot list it; as its owner without root it cannot enter it at all.
      assert.match(o.error, /failed to open directory|550 Failed to change directory/);
      assert.deepEqual(await held('ftp-partial'), before);
    } finally {
      fs.chmodSync(sub, 0o755);
    }
  });

  test('a server reporting local time 5 h 30 ahead is detected and corrected', async () => {
    // No http URL: the 2 GiB file cannot be range-checked and counts on the listing's word.
    await addMirror({ identifier: 'ftp-tz', ftpUrl: ftpTz.url });
    const o = await scan('ftp-tz');
    okOutcome(o);
    assert.equal(o.tzOffsetMs, (5 * 60 + 30) * 60_000);
    assert.deepEqual(await held('ftp-tz'), ALL);
    const m = await mirrorByIdentifier(pool, 'ftp-tz');
    assert.equal(m!.tzOffsetMs, 19_800_000);
  });

  test('without timezone detection the same server holds nothing current', async () => {
    await addMirror({ identifier: 'ftp-tz-off', ftpUrl: ftpTz.url });
    const o = await scan('ftp-tz-off', { scan: { ...SCAN, tzDetection: false } });
    okOutcome(o);
    assert.deepEqual(await held('ftp-tz-off'), []);
  });

  test('a server that is down: error, previous files kept', async () => {
    await addMirror({ identifier: 'ftp-down', ftpUrl: ftpDown.url });
    okOutcome(await scan('ftp-down'));
    const before = await held('ftp-down');
    assert.equal(before.length, 7);
    await ftpDown.stop();
    const o = await scan('ftp-down');
    assert.equal(o.ok, false);
    assert.match(o.error, /^ftp: FTP 127\.0\.0\.1:\d+: cannot log in/);
    assert.deepEqual(await held('ftp-down'), before);
  });
});

describe('HTTP indexes', () => {
  const expectOutdated = ['/pub/iso/x.iso', '/pub/sub dir/w&e é.txt', '/pub/sub/deep.bin', '/repo/repodata.xml'];

  for (const format of ['json', 'xml', 'html']) {
    test(`nginx ${format}: an outdated mirror holds only its current copies`, async () => {
      const id = `http-${format}`;
      await addMirror({ identifier: id, httpUrl: nginxUrl[`outdated-${format}`] });
      const o = await scan(id);
      okOutcome(o);
      assert.equal(o.protocol, 'http');
      // 7 files: a.txt older, "b c.txt" of another size, y.iso newer, repodata.xml 30 min older (allowed: 60).
      assert.equal(o.result?.found, 7);
      assert.deepEqual(await held(id), expectOutdated);
    });
  }

  test('a subdirectory that cannot be listed fails the scan and keeps the previous files', async () => {
    await addMirror({ identifier: 'http-forbidden', httpUrl: nginxUrl['forbidden-html'] });
    okOutcome(await scan('http-forbidden'));
    const before = await held('http-forbidden');
    assert.equal(before.length, 7);
    const sub = path.join(dir, 'forbidden', 'pub', 'iso');
    fs.chmodSync(sub, 0o000);
    try {
      const o = await scan('http-forbidden');
      // As root, nginx's workers (nobody) get 403; as another user the same.
      assert.equal(o.ok, false, 'the scan must fail');
      assert.match(o.error, /HTTP 403/);
      assert.deepEqual(await held('http-forbidden'), before);
    } finally {
      fs.chmodSync(sub, 0o755);
    }
  });

  test('falls back from a dead rsync URL to the HTTP index, with a warning', async () => {
    const deadPort = await freePort();
    await addMirror({ identifier: 'fallback', rsyncUrl: `rsync://127.0.0.1:${deadPort}/mirror/`, httpUrl: nginxUrl['full-json'] });
    const o = await scan('fallback');
    okOutcome(o);
    assert.equal(o.protocol, 'http');
    assert.ok(o.warnings.some((w) => /^failed first: rsync: /.test(w)), o.warnings.join('\n'));
    assert.deepEqual(await held('fallback'), ALL);
  });

  test('the crawl is bounded: too many files is an error, too deep is skipped', async () => {
    await assert.rejects(crawlHttpIndex(nginxUrl['full-json'], { requestTimeoutMs: 5000, maxFiles: 3 }), /more than 3 files/);
    await assert.rejects(crawlHttpIndex(nginxUrl['full-json'], { requestTimeoutMs: 5000, maxDirectories: 2 }), /more than 2 directories/);
    const shallow = await crawlHttpIndex(nginxUrl['full-json'], { requestTimeoutMs: 5000, maxDepth: 1 });
    assert.deepEqual(shallow.files.map((f) => f.path).sort(), ['/pub/a.txt', '/pub/b c.txt', '/pub/big.iso', '/pub/extra-not-in-origin.txt', '/pub/link.txt', '/repo/repodata.xml']);
    assert.equal(shallow.skippedDirectories, 3);
    await assert.rejects(crawlHttpIndex(nginxUrl['full-json'], { requestTimeoutMs: 5000, subtree: '/no/such/dir' }), /HTTP 404/);
  });

  test('a subtree over HTTP', async () => {
    await addMirror({ identifier: 'http-sub', httpUrl: nginxUrl['outdated-json'] });
    const o = await scan('http-sub', { subtree: '/pub/sub dir/' });
    okOutcome(o);
    assert.equal(o.result?.found, 1);
    assert.deepEqual(await held('http-sub'), ['/pub/sub dir/w&e é.txt']);
  });
});

describe('mirrorlane scan', () => {
  test('scans named mirrors and prints a row each', async () => {
    const r = await cli('scan', 'http-json', 'ftp-partial');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /│ mirror +│ protocol │ found │ held │ added │ removed │ time +│ error │/);
    assert.match(r.out, /│ http-json +│ http +│ 7 +│ 4 +│ 0 +│ 0 +│/);
    assert.match(r.out, /│ ftp-partial +│ ftp +│ 4 +│ 3 +│ 0 +│ 0 +│/);
  });

  test('--json, --dir and the timezone note', async () => {
    const r = await cli('scan', '--json', 'ftp-tz', '--dir', 'pub/iso');
    assert.equal(r.code, 0, r.err);
    const [row] = JSON.parse(r.out);
    assert.deepEqual(
      { mirror: row.mirror, ok: row.ok, protocol: row.protocol, found: row.found, held: row.held, tz: row.tzOffsetMs, error: row.error },
      { mirror: 'ftp-tz', ok: true, protocol: 'ftp', found: 2, held: 2, tz: 19_800_000, error: '' },
    );
    const text = await cli('scan', 'ftp-tz');
    assert.match(text.out, /ftp-tz: FTP times are off by \+5:30 h/);
    // The result is kept on the mirror and shown by `mirror show`.
    const show = await cli('mirror', 'show', 'ftp-tz');
    assert.match(show.out, /last scan +\d{4}-\d\d-\d\d \d\d:\d\dZ over ftp in \d+\.\d s/);
    assert.match(show.out, /scan counts +found \d+, held \d+, added \d+, removed \d+/);
    assert.match(show.out, /timezone fix +330 min/);
  });

  test('--enable enables a mirror whose scan succeeded', async () => {
    const r = await cli('scan', '--enable', 'http-xml', 'ftp-down');
    assert.equal(r.code, 1);
    assert.match(r.out, /enabled mirror 'http-xml'/);
    assert.equal((await mirrorByIdentifier(pool, 'http-xml'))!.enabled, true);
    assert.equal((await mirrorByIdentifier(pool, 'ftp-down'))!.enabled, false);
  });

  test('failures: exit 1 and one line per failed mirror', async () => {
    const r = await cli('scan', '--all', '--jobs', '4');
    assert.equal(r.code, 1);
    const errors = r.err.split('\n').filter((l) => l.startsWith('error: '));
    assert.deepEqual(
      errors.map((l) => /^error: scan of '([^']+)' failed: /.exec(l)?.[1]).sort(),
      ['ftp-down', 'rsync-badpw', 'rsync-cut'],
      r.err,
    );
    assert.match((await cli('mirror', 'show', 'ftp-down')).out, /last scan +\d{4}-\d\d-\d\d \d\d:\d\dZ over \w+ failed: /);
    assert.match(r.out, /│ http-html +│ http +│ 7 +│ 4 +│/);
  });

  test('usage errors', async () => {
    for (const args of [['scan'], ['scan', '--all', 'http-json'], ['scan', '--all', '--enable'], ['scan', '--dir', '../etc', 'http-json'], ['scan', '--jobs', '0', 'http-json']]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    }
    const missing = await cli('scan', 'no-such-mirror');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /mirror 'no-such-mirror' not found/);
  });
});
