// What runs by itself beside the sidecars: probe rounds every probe.intervalS and, when scan.intervalS is set,
// scans of the origin and of every mirror. One scheduler per database, however many sidecar processes and hosts
// run: each `serve` process starts one, and only the one holding a PostgreSQL advisory lock works; when its
// process goes, the lock goes with its session and another takes over at its next try.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { PROJECT_ROOT, type Config } from '../core/config.ts';
import { changeText } from '../core/probe/state.ts';
import { CandidateCache, CANDIDATE_TTL_MS, probeRound } from '../core/probe/run.ts';
import { cliEntry } from './sidecar-process.ts';

/** pg_try_advisory_lock key: "mlsched" read as bytes, so other users of advisory locks do not collide. */
export const SCHEDULER_LOCK_KEY = 0x6d6c7363686564n;
const RETRY_MS = 5_000;
const STOP_WAIT_MS = 2_000;

export interface Scheduler {
  /** Whether this process holds the lock and runs the rounds. */
  readonly active: boolean;
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  log: (m: string) => void;
  /** The config file handed to the scan commands (the operator's, so they see what serve sees). */
  configFile: string | null;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Run `mirrorlane ARGS…` to its end; its output goes to our log, one line each. */
function runCli(args: string[], configFile: string | null, log: (m: string) => void, signal: AbortSignal): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliEntry(), ...(configFile ? ['--config', configFile] : []), ...args], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onAbort = () => child.kill('SIGTERM');
    signal.addEventListener('abort', onAbort, { once: true });
    let tail = '';
    const each = (d: Buffer) => {
      tail += d.toString();
      const lines = tail.split('\n');
      tail = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) log(`${args.slice(0, 2).join(' ')}: ${l}`);
    };
    child.stdout.on('data', each);
    child.stderr.on('data', each);
    child.once('error', (e) => log(`${args[0]}: ${e.message}`));
    child.once('close', (code) => {
      signal.removeEventListener('abort', onAbort);
      resolve(code);
    });
  });
}

export function startScheduler(config: Config, databaseUrl: string, opts: SchedulerOptions): Scheduler {
  const ac = new AbortController();
  const { log } = opts;
  let client: pg.Client | null = null;
  let active = false;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: 'mirrorlane scheduler' });
  pool.on('error', () => {});

  /** Take the lock on a session of its own; false when another process holds it or the database is away. */
  const acquire = async (): Promise<boolean> => {
    const c = new pg.Client({ connectionString: databaseUrl, application_name: 'mirrorlane scheduler lock', connectionTimeoutMillis: 5000 });
    c.on('error', () => {});
    try {
      await c.connect();
      const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [SCHEDULER_LOCK_KEY.toString()]);
      if (!r.rows[0].ok) {
        await c.end();
        return false;
      }
      client = c;
      // The session may end under us (database restarted): then the lock is gone and we must try again.
      c.once('end', () => {
        if (client === c) client = null;
      });
      return true;
    } catch {
      await c.end().catch(() => {});
      return false;
    }
  };

  const probeLoop = async () => {
    const candidates = new CandidateCache(CANDIDATE_TTL_MS);
    while (!ac.signal.aborted && client) {
      const started = Date.now();
      try {
        const report = await probeRound(pool, config, { candidates, signal: ac.signal });
        for (const r of report.results) if (r.changed) log(`probe: ${r.identifier} ${changeText(r.before, r.after)}`);
      } catch (e) {
        if (!ac.signal.aborted) log(`probe round failed: ${(e as Error).message}`);
      }
      await sleep(Math.max(0, config.probe.intervalS * 1000 - (Date.now() - started)), ac.signal);
    }
  };

  const scanLoop = async () => {
    const every = config.scan.intervalS;
    if (!every) return;
    while (!ac.signal.aborted && client) {
      const started = Date.now();
      if (config.origin.root) await runCli(['origin', 'scan'], opts.configFile, log, ac.signal);
      if (!ac.signal.aborted) await runCli(['scan', '--all', '--jobs', String(config.scan.jobs)], opts.configFile, log, ac.signal);
      await sleep(Math.max(0, every * 1000 - (Date.now() - started)), ac.signal);
    }
  };

  const main = async () => {
    while (!ac.signal.aborted) {
      if (await acquire()) {
        active = true;
        log(`scheduler: probing every ${config.probe.intervalS} s${config.scan.intervalS ? `, scanning every ${config.scan.intervalS} s` : ''} (this process holds the lock)`);
        await Promise.all([probeLoop(), scanLoop()]);
        active = false;
        if (!ac.signal.aborted) log('scheduler: lost its database session; trying again');
      }
      await sleep(RETRY_MS, ac.signal);
    }
  };
  const done = main().finally(async () => {
    // Also a lock taken while stop() was under way.
    const c: pg.Client | null = client;
    client = null;
    await c?.end().catch(() => {});
  });

  return {
    get active() {
      return active;
    },
    async stop() {
      ac.abort();
      // A probe cut by the abort may never settle: the process must stop all the same.
      const giveUp = new Promise<void>((r) => setTimeout(r, STOP_WAIT_MS).unref());
      await Promise.race([done.catch(() => {}), giveUp]);
      const c: pg.Client | null = client;
      client = null;
      await Promise.race([c?.end().catch(() => {}), giveUp]);
      await Promise.race([pool.end().catch(() => {}), giveUp]);
    },
  };
}
