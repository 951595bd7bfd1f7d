// Running wrk with bench/wrk/paths.lua and reading its report.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WRK_BIN = '/usr/bin/wrk';
const LUA = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'wrk', 'paths.lua');

export interface WrkLoad {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Prepended to every file path ("" or "/bench-302"). */
  base: string;
  first: number;
  count: number;
  query: string;
  mode: 'random' | 'seq';
  clients: string[];
  threads: number;
  connections: number;
  seconds: number;
}

export interface WrkResult {
  requests: number;
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  /** Answers that were neither 2xx nor 3xx. */
  bad: number;
  /** connect/read/write/timeout errors. */
  socketErrors: number;
  raw: string;
}

function ms(value: string, unit: string): number {
  const v = Number(value);
  switch (unit) {
    case 'us':
      return v / 1000;
    case 'ms':
      return v;
    case 's':
      return v * 1000;
    case 'm':
      return v * 60_000;
    default:
      throw new Error(`wrk: unknown time unit ${unit}`);
  }
}

export function parseWrk(out: string): WrkResult {
  const pct = (p: number): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`wrk printed no ${p}% latency:\n${out}`);
    return ms(m[1], m[2]);
  };
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const total = /^\s*(\d+) requests in/m.exec(out);
  if (!rps || !total) throw new Error(`cannot read wrk's report:\n${out}`);
  const bad = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(total[1]),
    rps: Number(rps[1]),
    p50: pct(50),
    p75: pct(75),
    p90: pct(90),
    p99: pct(99),
    bad: bad ? Number(bad[1]) : 0,
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    raw: out,
  };
}

export function runWrk(load: WrkLoad): Promise<WrkResult> {
  const args = [
    `-t${load.threads}`,
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    '--latency',
    '--timeout', '5s',
    '-s', LUA,
    load.url,
    '--',
    load.base,
    String(load.first),
    String(load.count),
    load.query,
    load.mode,
    load.clients.join(','),
    String(load.threads),
  ];
  return new Promise((resolve, reject) => {
    execFile(WRK_BIN, args, { timeout: (load.seconds + 30) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`wrk failed: ${err.message}\n${stderr}`));
      else {
        try {
          resolve(parseWrk(stdout));
        } catch (e) {
          reject(e);
        }
      }
    });
  });
}
