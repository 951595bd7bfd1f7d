// Scans that never hang: for each protocol a server on loopback that sends part of a listing and then holds the
// connection open. The scan must end with a timeout error, and no process it started may be left behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { listMirrors } from '../../core/db/mirrors.ts';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { listRsync } from '../../core/scan/rsync.ts';
import { scanMirror } from '../../core/scan/scan-mirror.ts';
import { freePort } from '../../runtime/ports.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { startRsyncDaemon, type RsyncDaemon } from '../helpers/rsync-daemon.ts';

const HOST = '127.0.15.20';
let cluster: RunningPostgres;
let pool: pg.Pool;
let daemon: RsyncDaemon;
let dir: string;
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

/** A TCP server that runs `onConnection` and keeps every socket open until the test ends. */
async function holdingServer(onConnection: (s: net.Socket) => void): Promise<number> {
  const port = await freePort(HOST);
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(port, HOST, resolve));
  servers.push(server);
  return port;
}

/** Processes whose command line names this port: what a scan could leave behind. */
function processesFor(port: number): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-f', `${HOST}:${port}`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function scanVia(column: string, url: string): Promise<{ ok: boolean; error: string }> {
  const identifier = `stall-${column}-${servers.length}`;
  await pool.query(`INSERT INTO mirror (identifier, ${column}) VALUES ($1, $2)`, [identifier, url]);
  const mirror = (await listMirrors(pool)).find((m) => m.identifier === identifier)!;
  return scanMirror(pool, mirror, {
    scan: { timeoutS: 3, outdatedAllowedMinutes: {}, tzDetection: false, verifyLargeFiles: false },
    requestTimeoutMs: 60_000,
  });
}

describe('scans that never hang', { timeout: 120_000 }, () => {
  before(async () => {
    cluster = await startTempCluster();
    pool = createPool(cluster.url);
    await migrate(pool);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-stall-'));
    fs.chmodSync(dir, 0o755);
    // Enough files for a listing well over 60 kB.
    for (let d = 0; d < 30; d++) {
      const sub = path.join(dir, 'pub', `dir-${d}`);
      fs.mkdirSync(sub, { recursive: true, mode: 0o755 });
      for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(sub, `some-longish-file-name-${i}.tar.gz`), 'x');
    }
    daemon = await startRsyncDaemon({ root: dir });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    await daemon?.stop();
    await pool?.end();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Forwards the daemon's first 60 kB to the client, then nothing more, holding both connections. */
  const stallingProxy = () =>
    holdingServer((client) => {
      const upstream = net.connect(daemon.port, '127.0.0.1');
      sockets.push(upstream);
      upstream.on('error', () => {});
      let sent = 0;
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        const room = 60_000 - sent;
        if (room > 0) client.write(chunk.subarray(0, room));
        sent += chunk.length;
      });
    });

  test('rsync: 60 kB of listing, then silence: timed out, whole process group gone', async () => {
    const port = await stallingProxy();
    const out = await scanVia('rsync_url', `rsync://${HOST}:${port}/${daemon.module}/`);
    assert.equal(out.ok, false);
    assert.match(out.error, /timed out/);
    assert.deepEqual(processesFor(port), [], 'no rsync left behind');
  });

  test('rsync that forks a child holding the pipe (and never times out itself): the whole group is killed', async () => {
    // The failure seen in the field: killing only the process the scanner started left its forked child behind,
    // holding stdout open, so the listing never ended. This wrapper forks rsync (without its own I/O timeouts).
    const wrapper = path.join(dir, 'forking-rsync.sh');
    fs.writeFileSync(
      wrapper,
      '#!/bin/sh\nfor a; do shift; case "$a" in --timeout=*|--contimeout=*) ;; *) set -- "$@" "$a";; esac; done\nrsync "$@" &\nwait\n',
      { mode: 0o755 },
    );
    const port = await stallingProxy();
    const url = `rsync://${HOST}:${port}/${daemon.module}/`;
    let seen = 0;
    await assert.rejects(async () => {
      for await (const f of listRsync(url, { timeoutMs: 3000, rsyncBin: wrapper })) if (f) seen++;
    }, /timed out after 3 s/);
    assert.ok(seen > 0, 'part of the listing came through before the stall');
    assert.deepEqual(processesFor(port), [], 'no rsync left behind');
  });

  test('FTP: a greeting that never ends: timed out', async () => {
    const port = await holdingServer((s) => s.write('220-Welcome to a very slow server\r\n220-'));
    const out = await scanVia('ftp_url', `ftp://${HOST}:${port}/`);
    assert.equal(out.ok, false);
    assert.match(out.error, /timed out|aborted/);
  });

  test('FTP: logged in, LIST data connection sends part of a listing and holds: timed out', async () => {
    const port = await holdingServer((s) => {
      s.write('220 ready\r\n');
      let buf = '';
      s.on('data', async (d) => {
        buf += d.toString('latin1');
        let nl: number;
        while ((nl = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 2);
          const cmd = line.split(' ')[0].toUpperCase();
          if (cmd === 'USER') s.write('331 password\r\n');
          else if (cmd === 'PASS') s.write('230 in\r\n');
          else if (cmd === 'PWD') s.write('257 "/"\r\n');
          else if (cmd === 'EPSV' || cmd === 'PASV') {
            const dataPort = await holdingServer((data) => data.write('-rw-r--r--    1 0 0  1 Jan 02  2024 a.tar.gz\r\n-rw-r--r--'));
            if (cmd === 'EPSV') s.write(`229 Entering Extended Passive Mode (|||${dataPort}|)\r\n`);
            else s.write(`227 Entering Passive Mode (127,0,15,20,${dataPort >> 8},${dataPort & 255})\r\n`);
          } else if (cmd === 'LIST' || cmd === 'MLSD') s.write('150 here it comes\r\n');
          else s.write('200 ok\r\n');
        }
      });
    });
    const out = await scanVia('ftp_url', `ftp://${HOST}:${port}/`);
    assert.equal(out.ok, false);
    assert.match(out.error, /timed out|aborted/);
  });

  test('HTTP: an index page that stops half way: timed out', async () => {
    const port = await holdingServer((s) => {
      s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html><body><a href="a.iso">a.iso</a>'));
    });
    const out = await scanVia('http_url', `http://${HOST}:${port}/`);
    assert.equal(out.ok, false);
    assert.match(out.error, /timed out|aborted/);
  });
});
