// The demo that `npm start` runs without a config file: a small origin tree and three mirrors served by the
// same nginx on 127.0.0.2, 127.0.0.3 and 127.0.0.4, registered and holding their files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { upsertFile } from '../core/db/files.ts';
import { insertMirror, mirrorByIdentifier, updateMirror } from '../core/db/mirrors.ts';
import { describeOriginFile } from '../core/origin-file.ts';

export interface DemoMirror {
  identifier: string;
  host: string;
  country: string;
  continent: string;
  lat: number;
  lng: number;
  operatorName: string;
  /** Origin files this mirror does not carry (a partial mirror). */
  lacks: string[];
}

export const DEMO_MIRRORS: DemoMirror[] = [
  { identifier: 'demo-de', host: '127.0.0.2', country: 'DE', continent: 'EU', lat: 50.11, lng: 8.68, operatorName: 'Demo mirror Frankfurt', lacks: [] },
  { identifier: 'demo-us', host: '127.0.0.3', country: 'US', continent: 'NA', lat: 40.71, lng: -74.0, operatorName: 'Demo mirror New York', lacks: [] },
  { identifier: 'demo-jp', host: '127.0.0.4', country: 'JP', continent: 'AS', lat: 34.69, lng: 135.5, operatorName: 'Demo mirror Osaka', lacks: ['/pub/mirrorlane-demo-1.0.iso'] },
];

/** path → size; contents are deterministic so a rerun leaves the tree as it was. */
export const DEMO_FILES: Record<string, number> = {
  '/pub/README.txt': 600,
  '/pub/mirrorlane-demo-1.0.tar.gz': 200 * 1024,
  '/pub/mirrorlane-demo-1.0.iso': 2 * 1024 * 1024,
  '/pub/origin-only.txt': 300,
};
const ORIGIN_ONLY = new Set(['/pub/origin-only.txt']);

/** Bytes that depend only on the seed: reruns and tests get the same content. */
export function deterministicBytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = crypto.createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = crypto.createHash('sha256').update(block).digest();
  }
  return out;
}

export interface DemoTree {
  origin: string;
  mirrorRoots: Map<string, string>;
}

/** Write the origin tree and the mirrors' copies (hard links) under dir; existing files are kept. */
export function writeDemoTree(dir: string): DemoTree {
  const origin = path.join(dir, 'origin');
  for (const [rel, size] of Object.entries(DEMO_FILES)) {
    const file = path.join(origin, rel);
    if (fs.existsSync(file)) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    const body = rel.endsWith('.txt') ? Buffer.from(`Mirrorlane demo file ${rel}\n`.padEnd(size, '.')) : deterministicBytes(rel, size);
    fs.writeFileSync(file, body, { mode: 0o644 });
  }
  const mirrorRoots = new Map<string, string>();
  for (const m of DEMO_MIRRORS) {
    const root = path.join(dir, 'mirrors', m.identifier);
    mirrorRoots.set(m.identifier, root);
    for (const rel of Object.keys(DEMO_FILES)) {
      if (ORIGIN_ONLY.has(rel) || m.lacks.includes(rel)) continue;
      const copy = path.join(root, rel);
      if (fs.existsSync(copy)) continue;
      fs.mkdirSync(path.dirname(copy), { recursive: true, mode: 0o755 });
      fs.linkSync(path.join(origin, rel), copy);
    }
  }
  return { origin, mirrorRoots };
}

/** Register the demo mirrors (enabled, at the given port) and the demo files with their holders. */
export async function seedDemo(pool: pg.Pool, origin: string, port: number): Promise<void> {
  const ids = new Map<string, number>();
  for (const m of DEMO_MIRRORS) {
    const fields = {
      httpUrl: `http://${m.host}:${port}/`,
      country: m.country,
      continent: m.continent,
      lat: m.lat,
      lng: m.lng,
      operatorName: m.operatorName,
      publicNotes: 'Demo mirror run by `npm start`',
    };
    const existing = await mirrorByIdentifier(pool, m.identifier);
    const row = existing ? await updateMirror(pool, existing.id, fields) : await insertMirror(pool, { identifier: m.identifier, enabled: true, ...fields });
    ids.set(m.identifier, row!.id);
  }
  for (const rel of Object.keys(DEMO_FILES)) {
    const info = await describeOriginFile(origin, rel);
    const holders = ORIGIN_ONLY.has(rel) ? [] : DEMO_MIRRORS.filter((m) => !m.lacks.includes(rel)).map((m) => ids.get(m.identifier)!);
    await upsertFile(pool, { path: rel, ...info }, holders);
  }
}
