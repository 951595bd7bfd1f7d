// Cost of the origin rule in the sidecar (sidecar/origin-gate.ts): `npx tsx bench/origin-gate.ts`. A temporary
// tree with plain files, inside links and escaping links; prints checks per second and µs per check for
// (a) distinct random missing paths (every check a realpath), (b) the same paths again within the TTL (cached),
// (c) a symlink chain inside the root, uncached. Figures vary by machine; tests never assert on them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OriginGate } from '../sidecar/origin-gate.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-bench-gate-'));
const root = path.join(dir, 'root');
fs.mkdirSync(path.join(root, 'pub', 'releases'), { recursive: true });
for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(root, 'pub', 'releases', `f${i}.iso`), 'x');
fs.writeFileSync(path.join(dir, 'secret'), 'secret');
for (let i = 0; i < 100; i++) {
  fs.symlinkSync(`releases/f${i}.iso`, path.join(root, 'pub', `latest${i}.iso`));
  fs.symlinkSync(`latest${i}.iso`, path.join(root, 'pub', `chain${i}.iso`));
  fs.symlinkSync('../../secret', path.join(root, 'pub', `escape${i}`));
}

async function run(label: string, gate: OriginGate, paths: string[]): Promise<void> {
  const t0 = performance.now();
  // 64 at a time, as concurrent requests would ask.
  for (let i = 0; i < paths.length; i += 64) await Promise.all(paths.slice(i, i + 64).map((p) => gate.deliverable(p)));
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(52)} ${String(Math.round(paths.length / (ms / 1000))).padStart(8)} checks/s  ${((ms * 1000) / paths.length).toFixed(1).padStart(6)} µs each  (${gate.resolved} resolved)`);
}

const N = 50_000;
const missing = Array.from({ length: N }, (_, i) => `/pub/releases/missing-${i}-${Math.random().toString(36).slice(2)}.iso`);
const gate = new OriginGate(root, { ttlMs: 60_000, capacity: N });
await run('distinct missing paths (each one resolved)', gate, missing);
await run('the same paths again within the TTL (cached)', gate, missing);
await run('escaping links, 100 paths x 500 (cached after the first)', new OriginGate(root), Array.from({ length: N }, (_, i) => `/pub/escape${i % 100}`));
await run('link chains inside the root, uncached (TTL 0)', new OriginGate(root, { ttlMs: 0 }), Array.from({ length: 10_000 }, (_, i) => `/pub/chain${i % 100}.iso`));
await run('plain files inside the root, uncached (TTL 0)', new OriginGate(root, { ttlMs: 0 }), Array.from({ length: 10_000 }, (_, i) => `/pub/releases/f${i % 1000}.iso`));
fs.rmSync(dir, { recursive: true, force: true });
