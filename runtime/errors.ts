// One line for a failure of start, stop or test: what is wrong and what to do. The stack trace only with
// --debug or MIRRORLANE_DEBUG=1.
import path from 'node:path';

export function debugWanted(argv: string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--debug') || ((env.MIRRORLANE_DEBUG ?? '') !== '' && env.MIRRORLANE_DEBUG !== '0');
}

/** The message for an error, with the file system's errors said in words. */
export function oneLine(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const where = err.path ? ` ${err.path}` : '';
  switch (err.code) {
    case 'ENOSPC':
      return `no space left on the device of${where || ' the state folder'}: free some space (df -h) and start again`;
    case 'EDQUOT':
      return `disk quota exceeded writing${where}: free some space and start again`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on${where}: run as a user that may read and write it, or set varDir in the config to a folder of yours`;
    case 'EROFS':
      return `read-only file system at${where}: set varDir in the config to a writable folder`;
    case 'ENOENT':
      if (err.syscall === 'spawn') return `program not found: ${path.basename(err.path ?? '')}: install it (see README, Quick start)`;
      break;
  }
  const msg = err?.message ?? String(e);
  return msg.split('\n')[0];
}

/** Print the one line (and the stack when asked for), then exit non-zero. */
export function fail(prefix: string, e: unknown, debug = debugWanted()): never {
  console.error(`${prefix}: ${oneLine(e)}`);
  if (debug && (e as Error)?.stack) console.error((e as Error).stack);
  process.exit(1);
}
