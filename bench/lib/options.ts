// The options of `npm run bench`, from flags or BENCH_* variables.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const USAGE =
  'usage: npm run bench -- [--files 1000000] [--duration SECONDS] [--rounds N] [--connections 64] [--threads 2]\n' +
  '                        [--workers 1|2|auto] [--sidecars N] [--mirrors 50] [--hot 500,5000] [--no-fill] [--profile]\n' +
  '                        [--no-floor] [--no-access-log-cost] [--njs FILE] [--keep]';

export interface Options {
  files: number[];
  seconds: number;
  rounds: number;
  connections: number;
  threads: number;
  workers: number | 'auto';
  mirrors: number;
  /** Hot set sizes: one warm redirect scenario each. */
  hot: number[];
  fill: boolean;
  profile: boolean;
  /** Keep the temp folder (logs, configs, profiles) for a look afterwards. */
  keep: boolean;
  /** Also measure nginx proxying straight to the sidecar's /health: the floor without njs and without a decision. */
  floor: boolean;
  /** Also measure the warm redirect with the access log off and unbuffered (nginx reloaded between). */
  accessLogCost: boolean;
  /** Another built njs handler to measure instead of build/njs/mirrorlane.js (to try a change). */
  njs: string | null;
  /** Sidecar processes (sidecar.processes): one Node process uses one core. */
  sidecars: number;
}

const list = (s: string) => s.split(',').map((x) => Number(x.replace(/_/g, '')));

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const o: Options = {
    files: list(env.BENCH_FILES ?? '1000000'),
    seconds: Number(env.BENCH_DURATION ?? 10),
    rounds: Number(env.BENCH_ROUNDS ?? 1),
    connections: Number(env.BENCH_CONNECTIONS ?? 64),
    threads: Number(env.BENCH_THREADS ?? 2),
    // 2 = 'auto' here: nginx gets both cores, as the default config gives it; the baseline gains most from it.
    workers: env.BENCH_WORKERS === 'auto' ? 'auto' : Number(env.BENCH_WORKERS ?? 2),
    mirrors: Number(env.BENCH_MIRRORS ?? 50),
    hot: list(env.BENCH_HOT ?? '500,5000'),
    fill: env.BENCH_FILL !== '0',
    profile: env.BENCH_PROFILE === '1',
    keep: false,
    floor: env.BENCH_FLOOR !== '0',
    accessLogCost: env.BENCH_ACCESS_LOG_COST !== '0',
    njs: env.BENCH_NJS ?? null,
    // The shipped default (sidecar.processes): one per core.
    sidecars: Number(env.BENCH_SIDECARS ?? Math.min(64, os.availableParallelism())),
  };
  const usage = (): never => {
    console.error(USAGE);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage();
      return v;
    };
    if (flag === '--files') o.files = list(value());
    else if (flag === '--duration') o.seconds = Number(value());
    else if (flag === '--rounds') o.rounds = Number(value());
    else if (flag === '--connections') o.connections = Number(value());
    else if (flag === '--threads') o.threads = Number(value());
    else if (flag === '--workers') {
      const v = value();
      o.workers = v === 'auto' ? 'auto' : Number(v);
    } else if (flag === '--mirrors') o.mirrors = Number(value());
    else if (flag === '--hot') o.hot = list(value());
    else if (flag === '--no-fill') o.fill = false;
    else if (flag === '--profile') o.profile = true;
    else if (flag === '--keep') o.keep = true;
    else if (flag === '--no-floor') o.floor = false;
    else if (flag === '--no-access-log-cost') o.accessLogCost = false;
    else if (flag === '--njs') o.njs = path.resolve(value());
    else if (flag === '--sidecars') o.sidecars = Number(value());
    else usage();
  }
  const positive = (n: number) => Number.isInteger(n) && n > 0;
  if (
    !o.files.length ||
    !o.files.every(positive) ||
    !positive(o.seconds) ||
    !positive(o.rounds) ||
    !positive(o.connections) ||
    !positive(o.threads) ||
    o.connections < o.threads ||
    !(o.workers === 'auto' || positive(o.workers)) ||
    !(positive(o.sidecars) && o.sidecars <= 64) ||
    !(positive(o.mirrors) && o.mirrors <= 1000) ||
    !o.hot.length ||
    !o.hot.every(positive) ||
    (o.njs !== null && !fs.existsSync(o.njs))
  ) {
    usage();
  }
  return o;
}
