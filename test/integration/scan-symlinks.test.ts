// Mirror-side symlinks over rsync and FTP (real rsync daemon, real vsftpd): a link to a file counts as that file,
// as it does over HTTP (nginx follows it); a link to a directory, a loop (`again -> .`) and a broken link are
// left out, and the scan still ends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { listMirrors } from '../../core/db/mirrors.ts';
import { migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { scanMirror } from '../../core/scan/scan-mirror.ts';
import { startTempCluster, type RunningPostgres } from '../../runtime/postgres.ts';
import { startRsyncDaemon, type RsyncDaemon } from '../helpers/rsync-daemon.ts';
import { startVsftpd, type Vsftpd } from '../helpers/vsftpd.ts';

let cluster: RunningPostgres;
let pool: pg.Pool;
let rsyncd: RsyncDaemon;
let ftpd: Vsftpd;
let dir: string;
const MTIME = 1767225600;

async function held(identifier: string, column: string, url: string): Promise<string[]> {
  await pool.query(`INSERT INTO mirror (identifier, ${column}) VALUES ($1, $2)`, [identifier, url]);
  const mirror = (await listMirrors(pool)).find((m) => m.identifier === identifier)!;
  const out = await scanMirror(pool, mirror, { scan: { timeoutS: 60, outdatedAllowedMinutes: {}, tzDetection: false, verifyLargeFiles: false } });
  assert.equal(out.ok, true, out.error);
  const { rows } = await pool.query('SELECT path FROM file WHERE mirrors @> ARRAY[$1::smallint] ORDER BY path', [mirror.id]);
  return rows.map((r) => r.path);
}

describe('mirror-side symlinks', { timeout: 120_000 }, () => {
  before(async () => {
    cluster = await startTempCluster();
    pool = createPool(cluster.url);
    await migrate(pool);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-links-'));
    fs.chmodSync(dir, 0o755);
    const pub = path.join(dir, 'pub');
    fs.mkdirSync(path.join(pub, 'd'), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(pub, 'real.iso'), 'x'.repeat(1234), { mode: 0o644 });
    fs.utimesSync(path.join(pub, 'real.iso'), MTIME, MTIME);
    fs.symlinkSync('real.iso', path.join(pub, 'link.iso'));
    fs.symlinkSync('../real.iso', path.join(pub, 'd', 'deep-link.iso'));
    fs.symlinkSync('.', path.join(pub, 'again'));
    fs.symlinkSync('nowhere', path.join(pub, 'broken.iso'));
    // The origin publishes both names (its tree has the same links) and a file the loop would invent.
    await pool.query(
      `INSERT INTO file (path, size, mtime) VALUES ('/pub/real.iso', 1234, $1), ('/pub/link.iso', 1234, $1),
         ('/pub/d/deep-link.iso', 1234, $1), ('/pub/again/real.iso', 1234, $1), ('/pub/broken.iso', 1234, $1)`,
      [MTIME],
    );
    rsyncd = await startRsyncDaemon({ root: dir });
    ftpd = await startVsftpd({ root: dir });
  });
  after(async () => {
    await rsyncd?.stop();
    await ftpd?.stop();
    await pool?.end();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const WANT = ['/pub/d/deep-link.iso', '/pub/link.iso', '/pub/real.iso'];

  test('rsync: links to files count, directory links and broken links do not', async () => {
    assert.deepEqual(await held('links-rsync', 'rsync_url', rsyncd.url), WANT);
  });

  test('FTP: links to files count, directory links and broken links do not', async () => {
    assert.deepEqual(await held('links-ftp', 'ftp_url', ftpd.url), WANT);
  });
});
