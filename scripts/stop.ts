// `npm stop [-- --config FILE]`: stop the `npm start` of that config (the demo without one): SIGTERM to the
// process named in its state folder's mirrorlane.pid, which stops its nginx, sidecars and embedded PostgreSQL
// in that order, then wait for it to be gone.
import { loadConfig } from '../core/config.ts';
import { fail } from '../runtime/errors.ts';
import { instancePidFile, runningPid } from '../runtime/instance-lock.ts';

function argValue(flag: string): string | null {
  const i = process.argv.indexOf(flag);
  return i > 0 ? (process.argv[i + 1] ?? null) : null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Sidecars drain for up to 5 s and PostgreSQL may take a few more to stop: wait long enough for both. */
const STOP_WAIT_MS = 30_000;

async function main(): Promise<number> {
  const config = loadConfig(argValue('--config'));
  const what = config.configPath ?? 'the demo';
  const pidFile = instancePidFile(config.varDir);
  const pid = runningPid(pidFile);
  if (pid === null) {
    console.log(`mirrorlane: not running for ${what} (no live process in ${pidFile})`);
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline) {
    if (runningPid(pidFile) !== pid) {
      console.log(`mirrorlane: stopped ${what} (pid ${pid})`);
      return 0;
    }
    await sleep(100);
  }
  console.error(`mirrorlane: process ${pid} (${what}) did not stop within ${STOP_WAIT_MS / 1000} s; see its logs, or kill it with: kill -9 ${pid}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (e) => fail('mirrorlane', e),
);
