// A real vsftpd for scanner tests, run unprivileged: 127.0.0.1 on a free port, passive ports from
// a free range, anonymous read-only access to `root`. Anonymous sessions do not read as root even when vsftpd runs
// as root: the tree must be world-readable, and a directory that is not gives vsftpd's "226 Transfer done (but
// failed to open directory)" with an empty listing.
//
// `tz` makes a timezone-broken server: use_localtime=YES with TZ set for the vsftpd process. Measured here: LIST
// and MDTM then both report local time as if it were UTC ("TZ=Etc/GMT-2" → every time 2 h ahead; "UTC-05:30" →
// 5 h 30 ahead), the behaviour of a misconfigured mirror the scanner must detect.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitForPort } from '../../runtime/nginx.ts';
import { freePort, portInUse } from '../../runtime/ports.ts';

export const VSFTPD_BIN = '/usr/sbin/vsftpd';

export interface Vsftpd {
  port: number;
  /** ftp://127.0.0.1:PORT/ */
  url: string;
  stop(): Promise<void>;
  output(): string;
}

export interface VsftpdOptions {
  /** The anonymous root. Without chroot, URLs are relative to it (RFC 1738 paths). */
  root: string;
  /** A POSIX TZ value for a server that reports local time (use_localtime=YES). */
  tz?: string;
  /** Passive ports to use. */
  pasvPorts?: number;
}

/** `count` consecutive free ports between 10000 and 30000, below Linux's ephemeral range (32768 and up). */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = 10000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (let p = start; p < start + count && ok; p++) ok = !(await portInUse(p));
    if (ok) return start;
  }
  throw new Error('no free passive port range found');
}

export async function startVsftpd(opts: VsftpdOptions): Promise<Vsftpd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-vsftpd-'));
  const port = await freePort();
  const pasvCount = opts.pasvPorts ?? 16;
  const pasvMin = await freeRange(pasvCount);
  const conf = path.join(dir, 'vsftpd.conf');
  fs.writeFileSync(
    conf,
    [
      'listen=YES',
      'listen_ipv6=NO',
      'listen_address=127.0.0.1',
      `listen_port=${port}`,
      'background=NO',
      'run_as_launching_user=YES',
      'anonymous_enable=YES',
      'local_enable=NO',
      'no_anon_password=YES',
      `anon_root=${opts.root}`,
      'write_enable=NO',
      'pasv_enable=YES',
      'pasv_address=127.0.0.1',
      `pasv_min_port=${pasvMin}`,
      `pasv_max_port=${pasvMin + pasvCount - 1}`,
      'seccomp_sandbox=NO',
      'isolate=NO',
      'isolate_network=NO',
      'xferlog_enable=NO',
      `use_localtime=${opts.tz ? 'YES' : 'NO'}`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (opts.tz) env.TZ = opts.tz;
  const child: ChildProcess = spawn(VSFTPD_BIN, [conf], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: vsftpd forks per session, and stop() must end those too (a server going down).
    detached: true,
  });
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort('127.0.0.1', port, 10_000),
      exited.then(() => {
        throw new Error(`vsftpd exited: ${out.trim()}`);
      }),
    ]);
  } catch (e) {
    killGroup('SIGKILL');
    process.removeListener('exit', onExit);
    throw e;
  }
  return {
    port,
    url: `ftp://127.0.0.1:${port}/`,
    output: () => out,
    async stop() {
      // The whole group, sessions included, whether or not the parent is still there.
      killGroup('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await exited;
      process.removeListener('exit', onExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
