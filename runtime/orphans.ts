// What an `npm start` that was killed outright (kill -9, out of memory) left running: its nginx and its sidecar
// processes run in process groups of their own and outlive it. The next start on the same state folder stops
// them first, so it finds its ports and sockets free. (The embedded PostgreSQL is handled in embedded-pg.ts.)
import fs from 'node:fs';
import path from 'node:path';
import { sidecarSockets, type Config } from '../core/config.ts';
import { sidecarPidFile } from '../sidecar/server.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pidIn(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The command line of a process, or '' when it is gone. */
function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function stopPid(pid: number, signal: NodeJS.Signals): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (let i = 0; i < 100 && commandLine(pid); i++) await sleep(100);
  if (commandLine(pid)) process.kill(pid, 'SIGKILL');
}

/** Stop the nginx and sidecars a previous start of this state folder left; says what it stopped. */
export async function reapOrphans(config: Config, nginxPrefix: string, log: (m: string) => void): Promise<void> {
  const found: { pid: number; what: string; signal: NodeJS.Signals }[] = [];
  const nginx = pidIn(path.join(nginxPrefix, 'nginx.pid'));
  // Only a process that is what the file says: a pid may have been reused since.
  if (nginx && commandLine(nginx).includes(nginxPrefix)) found.push({ pid: nginx, what: 'nginx', signal: 'SIGQUIT' });
  for (const socket of sidecarSockets(config)) {
    const pid = pidIn(sidecarPidFile(socket));
    if (pid && pid !== process.pid && / serve /.test(commandLine(pid) + ' ')) found.push({ pid, what: `sidecar on ${socket}`, signal: 'SIGTERM' });
  }
  for (const f of found) {
    log(`stopping the ${f.what} (pid ${f.pid}) left running by an earlier start`);
    await stopPid(f.pid, f.signal);
  }
}
