// The origin scan against a real throw-away PostgreSQL and a real directory tree: new, unchanged, changed and
// removed files, subtrees, symlink rules, hashes, odd file names, and the `mirrorlane origin scan` command.
// A failing test carries the tail of the PostgreSQL log.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { OriginScanError, scanOrigin, type OriginScanOptions } from '../../core/scan/origin-scan.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { itWithLogs, tailFile } from '../helpers/logs.ts';
import { runCaptured } from '../helpers/cli-run.ts';

const T = 1_700_000_000;
let cluster: RunningPostgres;
let pool: pg.Pool;
let tmp: string;
/** The origin root of the current test; `outside` is a sibling directory that is not published. */
let root: string;
let outside: string;
let mirrorId: number;
let warnings: string[];


/** `it` whose failures show the PostgreSQL log and the scan's warnings. */
function test(name: string, fn: () => Promise<void>, opts: { skip?: string | false } = {}): void {
  itWithLogs(name, fn, () => `--- scan warnings ---\n${warnings.join('\n')}\n--- PostgreSQL log (${cluster.logFile}) ---\n${tailFile(cluster.logFile)}`, opts);
}

/** Write an origin file with a fixed mtime (unix seconds). */
function put(rel: string, content: string | Buffer, mtime = T): string {
  const abs = path.join(root, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, content);
  fs.utimesSync(abs, mtime, mtime);
  return abs;
}

function link(rel: string, target: string): void {
  const abs = path.join(root, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.symlinkSync(target, abs);
}

const sha = (algo: string, data: string | Buffer) => crypto.createHash(algo).update(data).digest('hex');

function scan(opts: Partial<OriginScanOptions> = {}) {
  return scanOrigin(pool, { root, onWarning: (w) => warnings.push(w), ...opts });
}

interface Row {
  path: string;
  size: number;
  mtime: number;
  sha256: string | null;
  sha1: string | null;
  md5: string | null;
  mirrors: number[];
}

async function rows(): Promise<Record<string, Row>> {
  const { rows: rs } = await pool.query(
    `SELECT path, size, mtime, encode(sha256, 'hex') AS sha256, encode(sha1, 'hex') AS sha1, encode(md5, 'hex') AS md5, mirrors
     FROM file ORDER BY path`,
  );
  return Object.fromEntries(rs.map((r) => [r.path, r]));
}

const paths = async () => Object.keys(await rows());

before(async () => {
  cluster = await startTempCluster();
  pool = createPool(cluster.url, 4);
  await migrate(pool);
  const { rows: m } = await pool.query(`INSERT INTO mirror (identifier, http_url) VALUES ('m', 'http://m.example/') RETURNING id`);
  mirrorId = m[0].id;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-origin-scan-'));
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
beforeEach(async () => {
  await pool.query('DELETE FROM file');
  n++;
  root = path.join(tmp, `origin-${n}`);
  outside = path.join(tmp, `outside-${n}`);
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  warnings = [];
});

describe('scanOrigin', () => {
  test('new files get rows with size, mtime and SHA-256', async () => {
    put('a.txt', 'alpha');
    put('pub/b.iso', 'bravo!', T + 10);
    put('pub/deep/er/c.tar', '');
    const big = crypto.randomBytes(3 * 1024 * 1024 + 17); // more than one read buffer
    put('pub/big.bin', big);
    const r = await scan();
    assert.deepEqual(
      { ...r, ms: 0 },
      { files: 4, added: 4, changed: 0, removed: 0, hashed: 4, bytesHashed: 5 + 6 + big.length, skipped: 0, warnings: 0, ms: 0 },
    );
    const got = await rows();
    assert.deepEqual(Object.keys(got), ['/a.txt', '/pub/b.iso', '/pub/big.bin', '/pub/deep/er/c.tar']);
    assert.deepEqual(got['/pub/b.iso'], { path: '/pub/b.iso', size: 6, mtime: T + 10, sha256: sha('sha256', 'bravo!'), sha1: null, md5: null, mirrors: [] });
    assert.equal(got['/pub/big.bin'].sha256, sha('sha256', big));
    assert.equal(got['/pub/deep/er/c.tar'].sha256, sha('sha256', ''));
  });

  test('unchanged files are not read again', async () => {
    put('same.txt', 'original');
    put('other.txt', 'x');
    await scan();
    // Same size and mtime, other bytes: the scan trusts size and mtime and does not re-hash.
    put('same.txt', 'ORIGINAL');
    const r = await scan();
    assert.deepEqual([r.files, r.hashed, r.added, r.changed, r.removed], [2, 0, 0, 0, 0]);
    assert.equal((await rows())['/same.txt'].sha256, sha('sha256', 'original'));
  });

  test('changed files are re-hashed; new content resets the mirrors, a mere touch keeps them', async () => {
    put('grown.iso', 'v1');
    put('touched.iso', 'same bytes');
    put('kept.iso', 'kept');
    await scan();
    await pool.query('UPDATE file SET mirrors = ARRAY[$1::smallint]', [mirrorId]);

    put('grown.iso', 'v2, longer', T + 100);
    put('touched.iso', 'same bytes', T + 100);
    const r = await scan();
    assert.deepEqual([r.files, r.hashed, r.added, r.changed, r.removed], [3, 2, 0, 2, 0]);
    const got = await rows();
    assert.deepEqual(got['/grown.iso'], { path: '/grown.iso', size: 10, mtime: T + 100, sha256: sha('sha256', 'v2, longer'), sha1: null, md5: null, mirrors: [] });
    assert.deepEqual([got['/touched.iso'].mtime, got['/touched.iso'].mirrors], [T + 100, [mirrorId]]);
    assert.deepEqual(got['/kept.iso'].mirrors, [mirrorId]);

    // Same size, new content and mtime: the hash tells, and the mirrors go.
    put('kept.iso', 'KEPT', T + 200);
    const r2 = await scan();
    assert.deepEqual([r2.hashed, r2.changed], [1, 1]);
    assert.deepEqual([(await rows())['/kept.iso'].sha256, (await rows())['/kept.iso'].mirrors], [sha('sha256', 'KEPT'), []]);
  });

  test('rows of removed files are deleted', async () => {
    put('stay.txt', '1');
    put('go.txt', '2');
    put('dir/go-too.txt', '3');
    await scan();
    fs.rmSync(path.join(root, 'go.txt'));
    fs.rmSync(path.join(root, 'dir'), { recursive: true });
    const r = await scan();
    assert.deepEqual([r.files, r.removed, r.hashed], [1, 2, 0]);
    assert.deepEqual(await paths(), ['/stay.txt']);
  });

  test('a subtree scan leaves the rest of the tree alone', async () => {
    put('pub/isos/a.iso', 'a');
    put('pub/isos-old/b.iso', 'b');
    put('src/c.tar', 'c');
    await scan();
    fs.rmSync(path.join(root, 'pub/isos-old/b.iso'));
    fs.rmSync(path.join(root, 'src/c.tar'));
    put('src/new.tar', 'new');
    put('pub/isos/a.iso', 'changed a', T + 5);
    put('pub/isos/n.iso', 'n');

    const r = await scan({ subtree: 'pub/isos' });
    assert.deepEqual([r.files, r.added, r.changed, r.removed], [2, 1, 1, 0]);
    assert.deepEqual(await paths(), ['/pub/isos-old/b.iso', '/pub/isos/a.iso', '/pub/isos/n.iso', '/src/c.tar']);

    // A subtree that is gone altogether looks like an unmounted disk: refused, nothing changed...
    fs.rmSync(path.join(root, 'pub/isos'), { recursive: true });
    await assert.rejects(scan({ subtree: '/pub/isos/' }), /holds no file, but the file table has 2 under \/pub\/isos\/: is the disk mounted/);
    assert.deepEqual(await paths(), ['/pub/isos-old/b.iso', '/pub/isos/a.iso', '/pub/isos/n.iso', '/src/c.tar']);
    // ...unless asked: then its rows go, and only those.
    const r2 = await scan({ subtree: '/pub/isos/', allowEmpty: true });
    assert.deepEqual([r2.files, r2.removed], [0, 2]);
    assert.deepEqual(await paths(), ['/pub/isos-old/b.iso', '/src/c.tar']);
  });

  test('symlinks: files inside the root are published, directories not followed, escapes and broken links warned', async () => {
    put('real/file.bin', 'target content', T + 7);
    put('real/sub/x', 'x');
    fs.writeFileSync(path.join(outside, 'secret'), 'do not publish');
    link('latest.bin', 'real/file.bin'); // relative, inside
    link('abs.bin', path.join(root, 'real/file.bin')); // absolute, inside
    link('chain.bin', 'latest.bin'); // link to a link to a file
    link('real-dir', 'real'); // directory: not followed
    link('loop-dir', '.'); // would loop
    link('escape', path.join(outside, 'secret')); // leaves the root
    link('escape-rel', `../outside-${n}/secret`);
    link('dangling', 'no/such/file');
    link('self-a', 'self-b');
    link('self-b', 'self-a');
    execFileSync('mkfifo', [path.join(root, 'fifo')]);

    const r = await scan();
    assert.deepEqual(await paths(), ['/abs.bin', '/chain.bin', '/latest.bin', '/real/file.bin', '/real/sub/x']);
    const got = await rows();
    for (const p of ['/latest.bin', '/abs.bin', '/chain.bin']) {
      assert.deepEqual([got[p].size, got[p].mtime, got[p].sha256], [14, T + 7, sha('sha256', 'target content')], p);
    }
    // Skipped: 2 directory links, 2 escapes, 1 dangling, 2 loops, 1 FIFO; warned: escapes, dangling and loops.
    assert.deepEqual([r.files, r.skipped, r.warnings], [5, 8, 5]);
    assert.equal(warnings.length, 5);
    assert.ok(warnings.some((w) => w.startsWith('"/escape"') && w.includes('outside the origin root')), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.startsWith('"/dangling"') && w.includes('dangling')), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.startsWith('"/self-a"') && w.includes('loop')), warnings.join('\n'));
    assert.ok(!warnings.some((w) => w.includes('real-dir') || w.includes('fifo')));

    // A link retargeted outside the root since the last scan: its row goes.
    fs.rmSync(path.join(root, 'latest.bin'));
    link('latest.bin', path.join(outside, 'secret'));
    await scan();
    assert.ok(!(await paths()).includes('/latest.bin'));
  });

  test('a subtree reached through a symlinked directory is refused', async () => {
    put('real/a', 'a');
    link('alias', 'real');
    await assert.rejects(scan({ subtree: '/alias/' }), (e) => e instanceof OriginScanError && /not a directory of the origin tree/.test(e.message));
  });

  test('SHA-1 and MD5 when configured, filled in for files hashed before without them', async () => {
    put('a', 'alpha');
    put('b', 'bravo');
    await scan();
    assert.equal((await rows())['/a'].sha1, null);
    const r = await scan({ hashes: ['sha256', 'sha1', 'md5'] });
    assert.deepEqual([r.hashed, r.changed, r.added], [2, 0, 0]);
    const got = await rows();
    assert.deepEqual([got['/a'].sha256, got['/a'].sha1, got['/a'].md5], [sha('sha256', 'alpha'), sha('sha1', 'alpha'), sha('md5', 'alpha')]);
    assert.equal((await scan({ hashes: ['sha256', 'sha1', 'md5'] })).hashed, 0);
    // Not configured any more: kept while the content stays, dropped when it changes.
    put('b', 'BRAVO!', T + 1);
    await scan({ hashes: ['sha256'] });
    const after = await rows();
    assert.equal(after['/a'].md5, sha('md5', 'alpha'));
    assert.deepEqual([after['/b'].sha256, after['/b'].sha1, after['/b'].md5], [sha('sha256', 'BRAVO!'), null, null]);
  });

  test('file names with spaces, tabs, newlines, backslashes and unicode survive', async () => {
    const names = ['with space.txt', 'tab\there', 'new\nline', 'back\\slash', 'trailing\\', 'ünïcødé 文件 🚀', 'cr\rlf', '\\.', 'quote"\'s'];
    for (const [i, name] of names.entries()) put(`odd/${name}`, `content ${i}`);
    const r = await scan();
    assert.equal(r.added, names.length);
    const got = await rows();
    assert.deepEqual(Object.keys(got).sort(), names.map((x) => `/odd/${x}`).sort());
    for (const [i, name] of names.entries()) assert.equal(got[`/odd/${name}`].sha256, sha('sha256', `content ${i}`), name);
    // The second scan matches every one of them to its row: nothing hashed, added or removed.
    const again = await scan();
    assert.deepEqual([again.hashed, again.added, again.removed], [0, 0, 0]);
  });

  test('a name that is not UTF-8 is skipped with a warning', async () => {
    put('fine', 'ok');
    fs.writeFileSync(Buffer.concat([Buffer.from(root + '/caf'), Buffer.from([0xe9])]), 'latin-1 name');
    const r = await scan();
    assert.deepEqual(await paths(), ['/fine']);
    assert.deepEqual([r.skipped, r.warnings], [1, 1]);
    assert.match(warnings[0], /not valid UTF-8/);
  });

  test('many files in one directory', async () => {
    for (let i = 0; i < 1000; i++) put(`many/f${i}`, String(i));
    const r = await scan({ hashJobs: 3 });
    assert.deepEqual([r.files, r.added, r.hashed], [1000, 1000, 1000]);
    assert.equal(Number((await pool.query(`SELECT count(*) FROM file WHERE sha256 = sha256(convert_to(substr(path, 8), 'UTF8'))`)).rows[0].count), 1000);
  });

  test(
    'an unreadable directory is reported and its rows are kept',
    async () => {
      put('open/a', 'a');
      put('closed/b', 'b');
      await scan();
      fs.chmodSync(path.join(root, 'closed'), 0);
      try {
        const r = await scan();
        assert.deepEqual([r.removed, r.warnings], [0, 1]);
        assert.deepEqual(await paths(), ['/closed/b', '/open/a']);
        assert.match(warnings[0], /"\/closed\/": directory not readable \(EACCES\)/);
      } finally {
        fs.chmodSync(path.join(root, 'closed'), 0o755);
      }
    },
    { skip: process.getuid?.() === 0 ? 'root reads every directory' : false },
  );

  test('a missing origin root says what to set', async () => {
    await assert.rejects(
      scanOrigin(pool, { root: path.join(tmp, 'no-such-root') }),
      (e) => e instanceof OriginScanError && /origin root .*no-such-root does not exist: set origin\.root/.test(e.message),
    );
  });
});

describe('mirrorlane origin scan', () => {
  async function cli(...args: string[]) {
    const config = path.join(tmp, `config-${n}.json`);
    fs.writeFileSync(config, JSON.stringify({ origin: { root }, scan: { originHashes: ['sha256', 'md5'] } }));
    return runCaptured(args, { ...process.env, DATABASE_URL: cluster.url, MIRRORLANE_CONFIG: config });
  }

  test('prints the counts, as text or JSON', async () => {
    put('pub/a.iso', 'aaaa');
    put('pub/b/c.iso', 'c');
    link('pub/escape', path.join(outside));
    fs.writeFileSync(path.join(outside, 'f'), 'f');
    link('pub/escape-file', path.join(outside, 'f'));
    const text = await cli('origin', 'scan');
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^2 files: 2 added, 0 changed, 0 removed; 2 hashed \(5 B\); 2 skipped \(2 with a warning\); \d+\.\d s\n$/);
    assert.match(text.err, /^warning: "\/pub\/escape-file": symlink to .*, outside the origin root: not published$/m);
    assert.equal((await rows())['/pub/a.iso'].md5, sha('md5', 'aaaa'));

    put('pub/b/c.iso', 'cc', T + 1);
    const json = await cli('origin', 'scan', '--dir', '/pub/b', '--json');
    assert.equal(json.code, 0, json.err);
    const parsed = JSON.parse(json.out);
    assert.deepEqual({ ...parsed, ms: 0 }, { files: 1, added: 0, changed: 1, removed: 0, hashed: 1, bytesHashed: 2, skipped: 0, warnings: 0, ms: 0 });
  });

  test('errors are one line', async () => {
    fs.rmSync(root, { recursive: true });
    const missing = await cli('origin', 'scan');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error: origin root .* does not exist: set origin\.root in the config file to the published tree\n$/);
    const bad = await cli('origin', 'scan', '--dir', '/pub/../etc');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^error: --dir: subtree '\/pub\/\.\.\/etc' may not contain '\.' or '\.\.'\n$/);
  });
});
