// Reading a V8 .cpuprofile (node --cpu-prof): where the sidecar's CPU time went, by function (self and inclusive)
// and by area (our files, the pg driver, Node's http/net internals, garbage collection).
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../core/config.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Sampled CPU time in ms (idle excluded). */
  busyMs: number;
  /** Self time: [label, share of busy] best first. */
  selfByFunction: [string, number][];
  /** Inclusive time of our own functions (sidecar/, core/): [label, share of busy]. */
  inclusiveOwn: [string, number][];
  /** Self time by area: [area, share of busy]. */
  byArea: [string, number][];
}

function where(url: string): string {
  if (!url) return '';
  const file = url.startsWith('file://') ? url.slice(7) : url;
  return file.startsWith(PROJECT_ROOT) ? path.relative(PROJECT_ROOT, file) : file;
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const w = where(f.url);
  // Line numbers are left out: under tsx they are those of the transpiled module, not of the .ts file.
  return w ? `${f.functionName || '(anonymous)'} ${w}` : f.functionName || '(anonymous)';
}

function area(n: ProfileNode): string {
  const name = n.callFrame.functionName;
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(program)' || name === '(root)') return '(program): V8 and native code outside JS functions';
  const w = where(n.callFrame.url);
  // Native bindings have a name but no file: writev is the socket writes (and, on loopback TCP, the kernel's
  // delivery to the receiver), parse the HTTP parser.
  if (!w) return `native ${name || '(anonymous)'}()`;
  if (w.startsWith('node_modules/pg') || w.includes('/node_modules/pg')) return 'pg driver (node_modules/pg*)';
  if (w.includes('maxmind') || w.includes('mmdb-lib')) return 'maxmind reader';
  if (w.startsWith('node_modules/')) return `other packages (${w.split('/')[1]})`;
  if (w.startsWith('node:')) return `Node internals (${w.slice(5).replace(/^internal\//, '').split('/')[0]})`;
  return w; // our own file
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const msPerSample = (p.endTime - p.startTime) / 1000 / Math.max(1, p.samples.length);
  let busy = 0;
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const n of p.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (!h || n.callFrame.functionName === '(idle)') continue;
    busy += h;
    self.set(label(n), (self.get(label(n)) ?? 0) + h);
    areas.set(area(n), (areas.get(area(n)) ?? 0) + h);
  }
  // Inclusive: each sample counts once for every distinct own function on its stack.
  const inclusive = new Map<string, number>();
  const parentOf = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  for (const [id, h] of hits) {
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
      const n = byId.get(cur)!;
      const w = where(n.callFrame.url);
      if (!/^(sidecar|core)\//.test(w)) continue;
      const l = label(n);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + h);
    }
  }
  const sorted = (m: Map<string, number>, k: number): [string, number][] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k).map(([l, h]) => [l, h / Math.max(1, busy)]);
  return {
    busyMs: busy * msPerSample,
    selfByFunction: sorted(self, top),
    inclusiveOwn: sorted(inclusive, top),
    byArea: sorted(areas, top),
  };
}
