// What the importers from MirrorBrain and Mirrorbits share: a peer's mirror mapped to some of Mirrorlane's mirror
// fields, completed with the defaults of a new mirror, and checked by the export/import validation
// (core/export/validate.ts) before anything is written. Pure.
import { continentOf } from '../continents.ts';
import { validateRows, SnapshotError, show, type ParsedRow } from '../export/validate.ts';
import type { Snapshot, Value } from '../export/schema.ts';

export interface PeerMirror {
  /** "line 7", "MIRROR_3": where the row was in the input. */
  where: string;
  /** Mirrorlane column names (as in core/export/schema.ts) → value. */
  values: Record<string, Value>;
  /** Comments become notes. */
  notes: string[];
  /** "scan_fpm: no such setting", one per peer field not carried over. */
  dropped: string[];
}

/** A new mirror's values for every field the peer does not give (as `mirror add` would). */
export function newMirrorDefaults(now: string): Record<string, Value> {
  return {
    http_url: null, https_url: null, ftp_url: null, rsync_url: null,
    operator_name: '', operator_url: '', admin_name: '', admin_email: '', public_notes: '',
    country: '', continent: '', other_countries: [], lat: null, lng: null, asn: null, prefixes: [],
    ipv4: true, ipv6: false, score: 100, enabled: false,
    health: 'unknown', health_reason: '', health_since: null, file_max_size: null,
    country_only: false, continent_only: false, as_only: false, prefix_only: false, excluded_countries: [],
    accepts_ranges: true, created_at: now, updated_at: now,
    scan_at: null, scan_protocol: '', scan_duration_ms: null, scan_files_found: null, scan_files_held: null,
    scan_files_added: null, scan_files_removed: null, scan_error: '', tz_offset_ms: 0,
    probe_at: null, probe_successes: 0, probe_failures: 0, caps_at: null, ipv6_pinned: false, https_pinned: false,
  };
}

/** Thrown with where/identifier so the message names the row. */
export function rowError(p: { where: string; values: Record<string, Value> }, message: string): SnapshotError {
  const id = typeof p.values.identifier === 'string' ? ` (mirror '${p.values.identifier}')` : '';
  return new SnapshotError(`${p.where}${id}: ${message}`);
}

export function parseBool(p: { where: string; values: Record<string, Value> }, field: string, v: string | null | undefined): boolean | undefined {
  if (v === null || v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (['t', 'true', '1', 'y', 'yes', 'on'].includes(s)) return true;
  if (['f', 'false', '0', 'n', 'no', 'off', ''].includes(s)) return false;
  throw rowError(p, `${field} must be true or false, got ${show(v)}`);
}

export function parseNumber(p: { where: string; values: Record<string, Value> }, field: string, v: string | null | undefined, integer: boolean): number | null | undefined {
  if (v === null || v === undefined) return undefined;
  const s = v.trim();
  if (s === '' || s === 'None') return null;
  const n = Number(s);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw rowError(p, `${field} must be ${integer ? 'an integer' : 'a number'}, got ${show(v)}`);
  return n;
}

/** Country codes in any case, separated by commas or spaces → upper-case list. */
export function countryList(v: string | null | undefined): string[] {
  return (v ?? '').split(/[\s,;]+/).filter(Boolean).map((c) => c.toUpperCase());
}

/** The continent of a country when the peer gave none. */
export function fillContinent(values: Record<string, Value>): void {
  if ((values.continent ?? '') === '' && typeof values.country === 'string' && /^[A-Z]{2}$/.test(values.country)) {
    values.continent = continentOf(values.country) ?? '';
  }
}

/** Complete, validate (every row, before anything is written) and return the snapshot to write. */
export function toSnapshot(mirrors: PeerMirror[], noteAuthor: string, now = new Date().toISOString()): Snapshot {
  const rows: ParsedRow[] = [];
  for (const m of mirrors) {
    rows.push({ table: 'mirror', where: m.where, values: { ...newMirrorDefaults(now), ...m.values } });
    for (const body of m.notes) rows.push({ table: 'note', where: m.where, values: { mirror: m.values.identifier, created_at: now, author: noteAuthor, body } });
  }
  return validateRows(rows);
}
