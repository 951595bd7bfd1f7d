// A streaming hot-standby replica of a temp cluster (runtime/postgres.ts): `pg_basebackup -R -X stream` as the
// postgres user, then started on its own port. Same folder layout as the primary (DIR/data, DIR/postgres.log), so
// pgCtl(replica, 'stop' | 'start') works on it too.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { debianPgBin, tempClusterOptions, type RunningPostgres } from '../../runtime/postgres.ts';
import { freePort } from '../../runtime/ports.ts';

const asPostgres = (cmd: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];

export async function startReplica(primary: RunningPostgres): Promise<RunningPostgres> {
  const bin = debianPgBin()!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-pg-replica-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
  const [bb, bbArgs] = asPostgres(path.join(bin, 'pg_basebackup'), ['-D', data, '-R', '-X', 'stream', '-d', primary.url]);
  execFileSync(bb, bbArgs, { stdio: 'pipe' });
  const port = await freePort();
  // The same options as the primary, so that pgCtl restarts it alike.
  const opts = tempClusterOptions(port, dir);
  const [ctl, ctlArgs] = asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-o', opts, 'start']);
  execFileSync(ctl, ctlArgs, { stdio: 'pipe' });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    logFile,
    async stop() {
      const [c, a] = asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      try {
        execFileSync(c, a, { stdio: 'pipe' });
      } catch {
        /* already stopped */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
