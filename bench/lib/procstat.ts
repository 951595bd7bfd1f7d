// Where the CPU goes during a run: utime+stime of process groups from /proc (nginx, sidecar, PostgreSQL), the
// machine's busy time from /proc/stat (the rest is wrk and the kernel's share), and resident memory.
import fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** [ppid, utime+stime, cutime+cstime] in ticks, or null when the process is gone. */
function statOf(pid: number): [number, number, number] | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces; fields after it are plain.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  return [Number(f[1]), Number(f[11]) + Number(f[12]), Number(f[13]) + Number(f[14])];
}

function allPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** CPU seconds used so far by `root` and its live descendants, plus what its waited-for children used. */
export function treeCpuSeconds(root: number): number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  let waited = 0;
  for (const pid of allPids()) {
    const s = statOf(pid);
    if (!s) continue;
    ticks.set(pid, s[1]);
    if (pid === root) waited = s[2];
    const list = children.get(s[0]);
    if (list) list.push(pid);
    else children.set(s[0], [pid]);
  }
  let sum = waited;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    sum += ticks.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return sum / TICKS_PER_SECOND;
}

/** Busy CPU seconds of the whole machine (all cores, not idle or iowait). */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return busy / TICKS_PER_SECOND;
}

export interface CpuSample {
  at: number;
  machine: number;
  groups: Record<string, number>;
}

/** CPU seconds so far of each named group: a process tree, or several summed. */
export function sampleCpu(groups: Record<string, number | number[]>): CpuSample {
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) out[name] = (Array.isArray(pids) ? pids : [pids]).reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
  return { at: performance.now(), machine: machineBusySeconds(), groups: out };
}

/** CPU microseconds per request of each group between two samples, and "other" (wrk, kernel, the rest). */
export function cpuPerRequest(a: CpuSample, b: CpuSample, requests: number): Record<string, number> {
  const out: Record<string, number> = {};
  let known = 0;
  for (const name of Object.keys(a.groups)) {
    const d = b.groups[name] - a.groups[name];
    known += d;
    out[name] = (d / requests) * 1e6;
  }
  out.other = ((b.machine - a.machine - known) / requests) * 1e6;
  out.total = ((b.machine - a.machine) / requests) * 1e6;
  return out;
}

/** VmRSS and VmHWM (peak) of a process, in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}
