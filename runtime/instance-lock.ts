// One `npm start` per state folder: varDir/run/mirrorlane.pid is created exclusively and names the running
// process. A second start on the same setup refuses and leaves the file (and the first instance) alone; a file
// whose process is gone (killed outright) is taken over.
import fs from 'node:fs';
import path from 'node:path';

export class AlreadyRunningError extends Error {
  constructor(
    readonly pid: number,
    readonly pidFile: string,
  ) {
    super(`already running (pid ${pid}, ${pidFile})`);
  }
}

export function instancePidFile(varDir: string): string {
  return path.join(varDir, 'run', 'mirrorlane.pid');
}

/** The pid in the file when that process runs, else null. */
export function runningPid(pidFile: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

/** Take the lock for this process; throws AlreadyRunningError when another live process holds it. */
export function acquireInstanceLock(pidFile: string, pid = process.pid): { release(): void } {
  fs.mkdirSync(path.dirname(pidFile), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(pidFile, `${pid}\n`, { flag: 'wx', mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const other = runningPid(pidFile);
      if (other !== null && other !== pid) throw new AlreadyRunningError(other, pidFile);
      fs.rmSync(pidFile, { force: true });
    }
  }
  return {
    release() {
      // Only our own: never the file of an instance that took over after us.
      if (runningPidText(pidFile) === String(pid)) fs.rmSync(pidFile, { force: true });
    },
  };
}

function runningPidText(pidFile: string): string {
  try {
    return fs.readFileSync(pidFile, 'utf8').trim();
  } catch {
    return '';
  }
}
