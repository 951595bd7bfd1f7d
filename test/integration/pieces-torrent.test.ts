// Piece hashes and BitTorrent on the real stack (nginx + njs, sidecar, PostgreSQL, three mirrors on 127.0.0.2-4):
// the origin scan computes the pieces, the Metalink carries them, the .torrent names the mirrors as web seeds, and
// aria2c survives a mirror that serves a corrupt copy of the same size, through either.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import bencode from 'bencode';
import { XMLParser } from 'fast-xml-parser';
import { scanOrigin } from '../../core/scan/origin-scan.ts';
import { piecesOf as piecesOfBuffer } from '../../core/scan/pieces.ts';
import { deterministicBytes } from '../../runtime/demo.ts';
import { request } from '../helpers/http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';
import { waitFor } from '../helpers/wait.ts';

let stack: TestStack;
const S = () => stack;
const BIG = '/pub/pieces/big.bin';
/** Held by demo-de and demo-jp only (good copies): the zsync test. */
const ZFILE = '/pub/pieces/z.bin';
const ZCONTENT = deterministicBytes('zsync new', 2 * 1024 * 1024 + 777);
const PIECE = 256 * 1024;
const SIZE = 6 * 1024 * 1024 + 12345;
const PIECES = Math.ceil(SIZE / PIECE);
const CONTENT = deterministicBytes('pieces big', SIZE);
/** demo-us serves a copy of the same size whose bytes differ in every piece. */
const CORRUPT_ON = 'demo-us';
const FROM_US = '198.51.100.10';
const TRACKER = 'http://127.0.16.1:6969/announce';
const TIMEOUT = { timeout: 90_000 };
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

const mirrorRoot = (identifier: string) => path.join(stack.dir, 'demo', 'mirrors', identifier);
function put(root: string, rel: string, content: Buffer): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, content, { mode: 0o644 });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/_proxy$/i.test(k)) delete env[k];
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 80_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}${stderr}` });
    });
  });
}

const aria2 = (dir: string, url: string, extra: string[]) =>
  run('aria2c', ['--no-conf', `--dir=${dir}`, '--connect-timeout=5', '--timeout=10', '--summary-interval=0', '--file-allocation=none',
    '--allow-overwrite=true', '--auto-file-renaming=false', '--enable-color=false', `--header=X-Forwarded-For: ${FROM_US}`, ...extra, url]);
const workDir = (name: string) => fs.mkdtempSync(path.join(stack.dir, `aria2-${name}-`));

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, isArray: (n) => ['hash', 'url', 'metaurl'].includes(n) });

describe('piece hashes and torrents', () => {
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.formats.torrentMinSize = 1024 * 1024;
        c.formats.trackers = [TRACKER];
      },
    });
    put(stack.config.origin.root, BIG, CONTENT);
    const corrupt = Buffer.from(CONTENT);
    for (let i = 0; i < corrupt.length; i += 4096) corrupt[i] ^= 0xff;
    put(mirrorRoot('demo-de'), BIG, CONTENT);
    put(mirrorRoot('demo-jp'), BIG, CONTENT);
    put(mirrorRoot(CORRUPT_ON), BIG, corrupt);
    put(stack.config.origin.root, ZFILE, ZCONTENT);
    put(mirrorRoot('demo-de'), ZFILE, ZCONTENT);
    put(mirrorRoot('demo-jp'), ZFILE, ZCONTENT);
    // The real origin scan computes the pieces; the three mirrors are then said to hold the file.
    await scanOrigin(stack.pool, { root: stack.config.origin.root, zsyncMinSize: 1024 * 1024 });
    await stack.pool.query(`UPDATE file SET mirrors = (SELECT array_agg(id ORDER BY id)::smallint[] FROM mirror) WHERE path = $1`, [BIG]);
    await stack.pool.query(
      `UPDATE file SET mirrors = (SELECT array_agg(id ORDER BY id)::smallint[] FROM mirror WHERE identifier IN ('demo-de', 'demo-jp')) WHERE path = $1`,
      [ZFILE],
    );
    await waitFor(async () => (await request(`${stack.base}${BIG}?json`, { headers: { 'X-Forwarded-For': FROM_US } })).body.includes('demo-jp'), 'mirrors visible');
  });
  after(async () => {
    await stack?.stop();
  });

  test('the origin scan stores SHA-256 and SHA-1 pieces of 256 KiB', withLogs(S, async () => {
    const { rows } = await stack.pool.query(
      `SELECT p.piece_size, p.sha256, p.sha1 FROM file_pieces p JOIN file f ON f.id = p.file_id WHERE f.path = $1`, [BIG]);
    assert.equal(rows.length, 1);
    const want = piecesOfBuffer(CONTENT, PIECE);
    assert.equal(rows[0].piece_size, PIECE);
    assert.equal(rows[0].sha256.length, PIECES * 32);
    assert.deepEqual(rows[0].sha256, want.sha256);
    assert.deepEqual(rows[0].sha1, want.sha1);
    // A second scan reads nothing again: the pieces are there.
    const again = await scanOrigin(stack.pool, { root: stack.config.origin.root });
    assert.equal(again.hashed, 0);
  }));

  test('Metalink v4 and 3.0 carry the pieces', withLogs(S, async () => {
    const v4 = parser.parse((await request(`${stack.base}${BIG}.meta4`)).body).metalink.file;
    assert.equal(v4.pieces['@_type'], 'sha-256');
    assert.equal(v4.pieces['@_length'], String(PIECE));
    assert.equal(v4.pieces.hash.length, PIECES);
    assert.equal(v4.pieces.hash[0], sha256(CONTENT.subarray(0, PIECE)));
    // formats.metalinkTorrent is off: aria2 would turn the download into a BitTorrent one that seeds forever.
    assert.equal(v4.metaurl, undefined);
    const v3 = parser.parse((await request(`${stack.base}${BIG}.metalink`)).body).metalink.files.file.verification;
    assert.equal(v3.pieces['@_type'], 'sha1');
    assert.equal(v3.pieces.hash.length, PIECES);
    const last = PIECES - 1;
    assert.equal(v3.pieces.hash[last]['@_piece'], String(last));
    assert.equal(v3.pieces.hash[last]['#text'], crypto.createHash('sha1').update(CONTENT.subarray(last * PIECE)).digest('hex'));
  }));

  test('.torrent: the file, mirrors as web seeds best first, trackers; .btih, .magnet and the mirror list agree', withLogs(S, async () => {
    const r = await request(`${stack.base}${BIG}.torrent`, { headers: { 'X-Forwarded-For': FROM_US } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-bittorrent');
    const t = bencode.decode(r.bytes);
    const text = (v: Uint8Array) => Buffer.from(v).toString('utf8');
    assert.equal(text(t.announce), TRACKER);
    assert.equal(text(t.info.name), 'big.bin');
    assert.equal(t.info.length, SIZE);
    assert.equal(t.info['piece length'], PIECE);
    assert.deepEqual(Buffer.from(t.info.pieces), piecesOfBuffer(CONTENT, PIECE).sha1);
    const seeds = t['url-list'].map(text);
    const host = (ip: string) => `http://${ip}:${stack.mirrorPort}${BIG}`;
    // A US client: its own country's mirror first, the origin last.
    assert.equal(seeds[0], host('127.0.0.3'));
    assert.deepEqual([...seeds.slice(1, 3)].sort(), [host('127.0.0.2'), host('127.0.0.4')]);
    assert.equal(seeds[3], `${stack.base}${BIG}`);
    const btih = crypto.createHash('sha1').update(bencode.encode(t.info)).digest('hex');
    assert.equal((await request(`${stack.base}${BIG}.btih`)).body, `${btih}  big.bin\n`);
    const us = { headers: { 'X-Forwarded-For': FROM_US } };
    const magnet = (await request(`${stack.base}${BIG}?magnet`, us)).body.trim();
    assert.equal(magnet, (await request(`${stack.base}${BIG}.magnet`, us)).body.trim());
    assert.match(magnet, new RegExp(`^magnet:\\?xt=urn:btih:${btih}&dn=big\\.bin&xl=${SIZE}&tr=${encodeURIComponent(TRACKER)}&ws=`));
    const page = (await request(`${stack.base}${BIG}?mirrorlist`)).body;
    assert.ok(page.includes(`xt=urn:btih:${btih}`), 'magnet link on the mirror list');
    // A file below formats.torrentMinSize has none.
    const small = await request(`${stack.base}/pub/README.txt.torrent`);
    assert.equal(small.status, 404);
    assert.match(small.body, /smaller than 1048576 bytes/);
  }));

  test('aria2c on the .meta4 with a corrupt mirror of the same size completes with the right SHA-256', TIMEOUT, withLogs(S, async () => {
    const dir = workDir('meta4');
    const log = path.join(dir, 'aria2.log');
    const r = await aria2(dir, `${stack.base}${BIG}.meta4`, ['--follow-metalink=mem', '--follow-torrent=false', '--split=4', '--min-split-size=1M', '--max-tries=5', `--log=${log}`, '--log-level=info']);
    assert.equal(r.code, 0, r.out);
    assert.equal(sha256(fs.readFileSync(path.join(dir, 'big.bin'))), sha256(CONTENT));
    const text = fs.readFileSync(log, 'latin1');
    // The corrupt mirror was asked (priority 1 for a US client) and its pieces were thrown away.
    assert.match(text, new RegExp(`Host: 127\\.0\\.0\\.3:${stack.mirrorPort}`));
    assert.match(text, /Chunk checksum validation failed/);
  }));

  test('aria2c on the .torrent downloads from the web seeds (no peers) and survives the corrupt one', TIMEOUT, withLogs(S, async () => {
    const dir = workDir('torrent');
    const log = path.join(dir, 'aria2.log');
    const r = await aria2(dir, `${stack.base}${BIG}.torrent`, [
      '--follow-torrent=mem', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
      '--seed-time=0', '--bt-tracker-connect-timeout=2', '--bt-tracker-timeout=2', '--max-tries=5', '--split=4', '--min-split-size=1M',
      `--log=${log}`, '--log-level=info',
    ]);
    assert.equal(r.code, 0, r.out);
    assert.equal(sha256(fs.readFileSync(path.join(dir, 'big.bin'))), sha256(CONTENT));
    const text = fs.readFileSync(log, 'latin1');
    assert.match(text, new RegExp(`Host: 127\\.0\\.0\\.3:${stack.mirrorPort}`));
    assert.match(text, /Chunk checksum validation failed/, 'a piece from the corrupt web seed was thrown away');
  }));

  test('.zsync: made by the origin scan, the mirrors as URLs; a real zsync client updates an old copy from a mirror', TIMEOUT, withLogs(S, async () => {
    const control = await request(`${stack.base}${ZFILE}.zsync`, { headers: { 'X-Forwarded-For': FROM_US } });
    assert.equal(control.status, 200);
    assert.equal(control.headers['content-type'], 'application/x-zsync');
    const header = control.bytes.subarray(0, control.bytes.indexOf('\n\n')).toString('utf8');
    assert.match(header, new RegExp(`^Length: ${ZCONTENT.length}$`, 'm'));
    const urls = [...header.matchAll(/^URL: (.*)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(urls, [`http://127.0.0.2:${stack.mirrorPort}${ZFILE}`, `http://127.0.0.4:${stack.mirrorPort}${ZFILE}`]);
    // Below formats.zsyncMinSize: none.
    assert.equal((await request(`${stack.base}/pub/README.txt.zsync`)).status, 404);

    // The old copy: the new content with a stretch in the middle rewritten and a tail missing.
    const dir = workDir('zsync');
    const old = Buffer.from(ZCONTENT.subarray(0, ZCONTENT.length - 100_000));
    deterministicBytes('zsync old', 300_000).copy(old, 700_000);
    fs.writeFileSync(path.join(dir, 'old.bin'), old);
    const out = path.join(dir, 'z.bin');
    const r = await run('zsync', ['-q', '-i', path.join(dir, 'old.bin'), '-o', out, `${stack.base}${ZFILE}.zsync`]);
    assert.equal(r.code, 0, r.out);
    assert.equal(sha256(fs.readFileSync(out)), sha256(ZCONTENT));
    // The mirrors were asked for byte ranges (206) of what the old copy lacked, far less than the whole file.
    const ranges = fs.readFileSync(stack.redirector.nginx.accessLog, 'utf8').split('\n')
      .filter((l) => l.includes('"GET /pub/pieces/z.bin HTTP/1.1"'));
    assert.ok(ranges.length > 0, 'zsync fetched from the mirrors');
    for (const l of ranges) assert.match(l, /" 206 \d+ /, l);
    const fetched = ranges.reduce((n, l) => n + Number(/" 206 (\d+) /.exec(l)![1]), 0);
    assert.ok(fetched < ZCONTENT.length / 2, `fetched ${fetched} of ${ZCONTENT.length} bytes`);
  }));
});
