// MirrorBrain's `server` table → Mirrorlane mirrors. Every column is either mapped or named as dropped, with why.
// Pure: rows come from server-table.ts.
import type { Value } from '../export/schema.ts';
import type { RawRow } from './server-table.ts';
import { countryList, fillContinent, parseBool, parseNumber, rowError, type PeerMirror } from './peer-rows.ts';

/** Columns with nothing to map them to, and why (shown in the import's report). */
const DROPPED: Record<string, string> = {
  id: 'ids are Mirrorlane\'s own (mirrors are matched by identifier)',
  scan_fpm: 'no such setting (the scanner decides per protocol)',
  last_scan: 'scan bookkeeping is written by Mirrorlane\'s own scans',
};

const MAPPED = new Set([
  'identifier', 'baseurl', 'baseurl_ftp', 'baseurl_rsync', 'enabled', 'status_baseurl', 'region', 'country', 'asn',
  'prefix', 'ipv6_only', 'score', 'comment', 'operator_name', 'operator_url', 'public_notes', 'admin', 'admin_email',
  'lat', 'lng', 'country_only', 'region_only', 'as_only', 'prefix_only', 'other_countries', 'file_maxsize',
]);

/** '' and the text "None" (what mb export writes for Python's None) are no value. */
const text = (v: string | null | undefined) => (v === null || v === undefined || v === 'None' ? '' : v.trim());

export function mapServerRow(raw: RawRow): PeerMirror {
  const r = raw.values;
  const values: Record<string, Value> = { identifier: text(r.identifier) };
  const p = { where: raw.where, values };
  if (!values.identifier) throw rowError(p, 'identifier is empty');
  const dropped: string[] = [];
  for (const col of Object.keys(r)) {
    if (MAPPED.has(col)) continue;
    dropped.push(`${col}: ${DROPPED[col] ?? 'not a column Mirrorlane knows'}`);
  }

  const base = text(r.baseurl);
  if (base) {
    if (/^https:/i.test(base)) values.https_url = base;
    else values.http_url = base;
  }
  if (text(r.baseurl_ftp)) values.ftp_url = text(r.baseurl_ftp);
  if (text(r.baseurl_rsync)) values.rsync_url = text(r.baseurl_rsync);

  const bool = (col: string, to: string) => {
    const b = parseBool(p, col, r[col]);
    if (b !== undefined) values[to] = b;
  };
  bool('enabled', 'enabled');
  bool('country_only', 'country_only');
  bool('region_only', 'continent_only');
  bool('as_only', 'as_only');
  bool('prefix_only', 'prefix_only');
  // status_baseurl is MirrorBrain's last probe result: a starting health until our own probe runs.
  const status = parseBool(p, 'status_baseurl', r.status_baseurl);
  if (status !== undefined) {
    values.health = status ? 'up' : 'down';
    values.health_reason = status ? '' : 'down in MirrorBrain (status_baseurl) when imported';
  }
  if (parseBool(p, 'ipv6_only', r.ipv6_only) === true) {
    values.ipv6 = true;
    values.ipv4 = false;
  }

  if (r.country !== undefined) values.country = text(r.country).toUpperCase();
  if (r.region !== undefined) values.continent = text(r.region).toUpperCase();
  fillContinent(values);
  if (r.other_countries !== undefined) values.other_countries = countryList(r.other_countries);

  const asn = parseNumber(p, 'asn', r.asn, true);
  // MirrorBrain writes 0 for "AS not known".
  if (asn !== undefined) values.asn = asn === 0 ? null : asn;
  if (r.prefix !== undefined) values.prefixes = text(r.prefix) ? text(r.prefix).split(/[\s,]+/) : [];
  const score = parseNumber(p, 'score', r.score, true);
  if (score !== undefined && score !== null) values.score = score;
  const lat = parseNumber(p, 'lat', r.lat, false);
  const lng = parseNumber(p, 'lng', r.lng, false);
  if (lat !== undefined) values.lat = lat;
  if (lng !== undefined) values.lng = lng;
  // 0 is MirrorBrain's "no limit".
  const max = parseNumber(p, 'file_maxsize', r.file_maxsize, true);
  if (max !== undefined) values.file_max_size = max === 0 ? null : max;

  for (const [col, to] of [['operator_name', 'operator_name'], ['operator_url', 'operator_url'], ['public_notes', 'public_notes'], ['admin', 'admin_name'], ['admin_email', 'admin_email']]) {
    if (r[col] !== undefined) values[to] = text(r[col]);
  }
  const comment = text(r.comment);
  return { where: raw.where, values, notes: comment ? [comment] : [], dropped };
}
