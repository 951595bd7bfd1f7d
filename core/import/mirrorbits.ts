// Mirrorbits' mirrors, read from its Redis (the MIRRORS key and one MIRROR_<id> hash per mirror), → Mirrorlane
// mirrors. Every hash field is either mapped or named as dropped, with why. readMirrorbits is the I/O; the
// mapping is pure.
import { createClient } from 'redis';
import type { Value } from '../export/schema.ts';
import { countryList, fillContinent, parseBool, parseNumber, rowError, type PeerMirror } from './peer-rows.ts';

export interface MirrorbitsHash {
  /** "MIRROR_3": the Redis key. */
  key: string;
  fields: Record<string, string>;
}

export class RedisReadError extends Error {}

function redactRedis(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
}

/**
 * All mirror hashes. MIRRORS is a hash id → name in current Mirrorbits, a set of names in old versions; either
 * way each mirror is the hash MIRROR_<member>.
 */
export async function readMirrorbits(url: string): Promise<MirrorbitsHash[]> {
  const client = createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: false } });
  client.on('error', () => {}); // reported by the awaited command
  try {
    await client.connect();
  } catch (e) {
    throw new RedisReadError(`cannot connect to Redis at ${redactRedis(url)}: ${(e as Error).message || (e as { code?: string }).code}`);
  }
  try {
    const type = await client.type('MIRRORS');
    let members: string[];
    if (type === 'hash') members = Object.keys(await client.hGetAll('MIRRORS'));
    else if (type === 'set') members = await client.sMembers('MIRRORS');
    else throw new RedisReadError(`no Mirrorbits mirror list (key MIRRORS) in Redis at ${redactRedis(url)}: check the database number (redis://host:6379/N)`);
    const out: MirrorbitsHash[] = [];
    for (const m of members.sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b))) {
      const key = `MIRROR_${m}`;
      out.push({ key, fields: await client.hGetAll(key) });
    }
    return out;
  } finally {
    await client.close().catch(() => {});
  }
}

const DROPPED: Record<string, string> = {
  ID: 'ids are Mirrorlane\'s own (mirrors are matched by identifier)',
  sponsorLogo: 'no logos on Mirrorlane\'s pages',
  allowredirects: 'redirects from mirrors are judged for all mirrors at once (probe.refuseRedirects)',
  lastSync: 'scan bookkeeping is written by Mirrorlane\'s own scans',
  lastSuccessfulSync: 'scan bookkeeping is written by Mirrorlane\'s own scans',
  lastModTime: 'scan bookkeeping is written by Mirrorlane\'s own scans',
};

const MAPPED = new Set([
  'name', 'http', 'rsync', 'ftp', 'sponsorName', 'sponsorURL', 'adminName', 'adminEmail', 'customData', 'continentOnly',
  'countryOnly', 'asOnly', 'score', 'latitude', 'longitude', 'continentCode', 'countryCodes', 'excludedCountryCodes',
  'asnum', 'comment', 'enabled', 'up', 'excludeReason', 'stateSince',
]);

/** Mirrorbits' score is an adjustment around 0 (its default); ours is a weight around 100. */
export function scoreFromMirrorbits(s: number): number {
  return Math.min(10000, Math.max(0, 100 + s));
}

export function mapMirrorbitsHash(h: MirrorbitsHash): PeerMirror {
  const f = h.fields;
  // Current Mirrorbits keeps the name in "name" (the key has a number); old versions keyed by the name itself.
  const identifier = (f.name ?? f.ID ?? h.key.replace(/^MIRROR_/, '')).trim();
  const values: Record<string, Value> = { identifier };
  const p = { where: h.key, values };
  if (!identifier) throw rowError(p, 'the mirror has no name');
  const dropped = Object.keys(f)
    .filter((k) => !MAPPED.has(k) && !(k === 'ID' && f.name === undefined))
    .map((k) => `${k}: ${DROPPED[k] ?? 'not a field Mirrorlane knows'}`);

  const http = (f.http ?? '').trim();
  if (http) {
    // Mirrorbits has one HTTP URL, http:// or https://.
    if (/^https:/i.test(http)) values.https_url = http;
    else values.http_url = http;
  }
  if (f.rsync?.trim()) values.rsync_url = f.rsync.trim();
  if (f.ftp?.trim()) values.ftp_url = f.ftp.trim();
  if (f.sponsorName !== undefined) values.operator_name = f.sponsorName.trim();
  if (f.sponsorURL !== undefined) values.operator_url = f.sponsorURL.trim();
  if (f.adminName !== undefined) values.admin_name = f.adminName.trim();
  if (f.adminEmail !== undefined) values.admin_email = f.adminEmail.trim();

  for (const [from, to] of [['continentOnly', 'continent_only'], ['countryOnly', 'country_only'], ['asOnly', 'as_only'], ['enabled', 'enabled']]) {
    const b = parseBool(p, from, f[from]);
    if (b !== undefined) values[to] = b;
  }
  const up = parseBool(p, 'up', f.up);
  if (up !== undefined) {
    values.health = up ? 'up' : 'down';
    values.health_reason = up ? '' : (f.excludeReason ?? '').trim();
    const since = parseNumber(p, 'stateSince', f.stateSince, true);
    if (since) values.health_since = new Date(since * 1000).toISOString();
  }
  const score = parseNumber(p, 'score', f.score, true);
  if (typeof score === 'number') values.score = scoreFromMirrorbits(score);
  const lat = parseNumber(p, 'latitude', f.latitude, false);
  const lng = parseNumber(p, 'longitude', f.longitude, false);
  // 0,0 is Mirrorbits' "not set".
  if (typeof lat === 'number' && typeof lng === 'number' && !(lat === 0 && lng === 0)) {
    values.lat = lat;
    values.lng = lng;
  }
  // The first country code is the mirror's own, the rest it also serves.
  const countries = countryList(f.countryCodes);
  if (countries.length) {
    values.country = countries[0];
    values.other_countries = countries.slice(1);
  }
  if (f.continentCode?.trim()) values.continent = f.continentCode.trim().toUpperCase();
  fillContinent(values);
  if (f.excludedCountryCodes !== undefined) values.excluded_countries = countryList(f.excludedCountryCodes);
  const asn = parseNumber(p, 'asnum', f.asnum, true);
  if (asn !== undefined) values.asn = asn === 0 ? null : asn;

  const notes: string[] = [];
  if (f.comment?.trim()) notes.push(f.comment.trim());
  if (f.customData?.trim()) notes.push(`Mirrorbits customData: ${f.customData.trim()}`);
  return { where: h.key, values, notes, dropped };
}
