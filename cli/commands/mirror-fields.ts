// The per-field flags shared by `mirror add` and `mirror edit`, and their translation into a validated patch.
// One table drives both the help text and the parsing, so a field cannot be settable in one and not the other.
import type { Command } from 'commander';
import {
  hasControlChars,
  parseAsn,
  parseBaseUrl,
  parseCidrList,
  parseContinent,
  parseCountry,
  parseCountryList,
  parseInteger,
  parseLatitude,
  parseLongitude,
  parseSize,
  ValueError,
} from '../../core/cli-parse.ts';
import { continentOf } from '../../core/continents.ts';
import type { MirrorFields, MirrorPatch } from '../../core/db/mirrors.ts';

type Key = keyof MirrorPatch;

interface FieldSpec {
  key: Key;
  /** Long flag without dashes, also the commander option name. */
  flag: string;
  arg?: string;
  help: string;
  parse?: (flag: string, v: string) => unknown;
  /** `mirror edit` accepts --no-FLAG to set this value (null or empty list). */
  clearTo?: null | [];
}

function text(flag: string, v: string): string {
  if (hasControlChars(v, '\t\n')) throw new ValueError(`${flag} may not contain control characters`);
  return v.trim();
}

function line(flag: string, v: string): string {
  if (v.includes('\n')) throw new ValueError(`${flag} must be one line`);
  return text(flag, v);
}

function webUrl(flag: string, v: string): string {
  const s = line(flag, v);
  if (s === '') return '';
  let u: URL | null = null;
  try {
    u = new URL(s);
  } catch {
    /* reported below */
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    throw new ValueError(`${flag} must be an absolute http:// or https:// URL, got '${v}'`);
  }
  return s;
}

function email(flag: string, v: string): string {
  const s = line(flag, v);
  if (s !== '' && !/^[^\s@]+@[^\s@]+$/.test(s)) throw new ValueError(`${flag} must be an e-mail address, got '${v}'`);
  return s;
}

const countries = (flag: string, v: string) => parseCountryList(flag, v);

const FIELDS: FieldSpec[] = [
  { key: 'httpUrl', flag: 'http', arg: 'url', help: 'http:// base URL', parse: (f, v) => parseBaseUrl(f, 'http', v), clearTo: null },
  { key: 'httpsUrl', flag: 'https', arg: 'url', help: 'https:// base URL', parse: (f, v) => parseBaseUrl(f, 'https', v), clearTo: null },
  { key: 'ftpUrl', flag: 'ftp', arg: 'url', help: 'ftp:// base URL (may hold credentials)', parse: (f, v) => parseBaseUrl(f, 'ftp', v), clearTo: null },
  { key: 'rsyncUrl', flag: 'rsync', arg: 'url', help: 'rsync:// base URL (may hold credentials)', parse: (f, v) => parseBaseUrl(f, 'rsync', v), clearTo: null },
  { key: 'country', flag: 'country', arg: 'cc', help: 'country code, any case; ** serves every country', parse: (f, v) => parseCountry(f, v, { wildcard: true }) },
  { key: 'continent', flag: 'continent', arg: 'cc', help: 'continent code (AF AN AS EU NA OC SA); default: from the country', parse: parseContinent },
  { key: 'otherCountries', flag: 'other-countries', arg: 'cc,cc', help: 'further countries it serves', parse: countries, clearTo: [] },
  { key: 'lat', flag: 'lat', arg: 'deg', help: 'latitude -90..90', parse: parseLatitude },
  { key: 'lng', flag: 'lng', arg: 'deg', help: 'longitude -180..180', parse: parseLongitude },
  { key: 'asn', flag: 'asn', arg: 'n', help: 'AS number (64510 or AS64510)', parse: parseAsn, clearTo: null },
  { key: 'prefixes', flag: 'prefix', arg: 'cidr,...', help: 'networks of the mirror (IPv4 and IPv6)', parse: parseCidrList, clearTo: [] },
  { key: 'score', flag: 'score', arg: 'n', help: 'weight 0..10000 (0: out of rotation; default 100)', parse: (f, v) => parseInteger(f, v, 0, 10000) },
  { key: 'fileMaxSize', flag: 'max-size', arg: 'bytes', help: 'largest file it gets (4294967296, 4G)', parse: parseSize, clearTo: null },
  { key: 'excludedCountries', flag: 'exclude-countries', arg: 'cc,cc', help: 'countries never sent there', parse: countries, clearTo: [] },
  { key: 'operatorName', flag: 'operator-name', arg: 'text', help: 'operator shown on the mirror list', parse: line },
  { key: 'operatorUrl', flag: 'operator-url', arg: 'url', help: "operator's web site", parse: webUrl },
  { key: 'adminName', flag: 'admin-name', arg: 'text', help: 'admin contact (never public)', parse: line },
  { key: 'adminEmail', flag: 'admin-email', arg: 'addr', help: 'admin e-mail (never public)', parse: email },
  { key: 'publicNotes', flag: 'public-notes', arg: 'text', help: 'notes shown on the mirror list', parse: text },
  { key: 'ipv4', flag: 'ipv4', help: 'reachable over IPv4 (default; --no-ipv4: not)' },
  { key: 'ipv6', flag: 'ipv6', help: 'reachable over IPv6 (--no-ipv6: not; default not)' },
  { key: 'countryOnly', flag: 'country-only', help: 'serve only clients of its countries' },
  { key: 'continentOnly', flag: 'continent-only', help: 'serve only clients of its continent' },
  { key: 'asOnly', flag: 'as-only', help: 'serve only clients of its AS' },
  { key: 'prefixOnly', flag: 'prefix-only', help: 'serve only clients of its prefixes' },
  { key: 'acceptsRanges', flag: 'accepts-ranges', help: 'answers Range requests (default; --no-accepts-ranges: not)' },
  { key: 'ipv6Pinned', flag: 'pin-ipv6', help: 'the probe never changes --ipv6 (set by --ipv6/--no-ipv6; --no-pin-ipv6: it may again)' },
  { key: 'httpsPinned', flag: 'pin-https', help: 'the probe never fills in --https (set by --https/--no-https; --no-pin-https: it may again)' },
];

/** commander's attribute name of a long flag ("max-size" → "maxSize"). */
function attr(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Declare the field flags on `cmd`. In edit mode every clearable field also gets --no-FLAG. */
export function addFieldOptions(cmd: Command, mode: 'add' | 'edit'): Command {
  for (const f of FIELDS) {
    if (f.arg) {
      cmd.option(`--${f.flag} <${f.arg}>`, f.help);
      if (mode === 'edit' && f.clearTo !== undefined) {
        cmd.option(`--no-${f.flag}`, f.clearTo === null ? `clear --${f.flag}` : `empty the --${f.flag} list`);
      }
    } else {
      cmd.option(`--${f.flag}`, f.help);
      cmd.option(`--no-${f.flag}`, `not --${f.flag}`);
    }
  }
  if (mode === 'edit') cmd.option('--no-coordinates', 'clear --lat and --lng');
  return cmd;
}

/**
 * The fields the user gave, validated. Values are looked up only where commander says they came from the
 * command line, so defaults of negatable flags never count as edits.
 */
export function fieldsFromOptions(cmd: Command): MirrorPatch {
  const opts = cmd.opts();
  const patch: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const name = attr(f.flag);
    if (cmd.getOptionValueSource(name) !== 'cli') continue;
    const v = opts[name] as unknown;
    if (typeof v === 'boolean') {
      if (f.arg) {
        // Only --no-FLAG yields a boolean for a valued option.
        patch[f.key] = f.clearTo === undefined ? undefined : f.clearTo === null ? null : [];
      } else {
        patch[f.key] = v;
      }
    } else if (typeof v === 'string') {
      patch[f.key] = f.parse ? f.parse(`--${f.flag}`, v) : v;
    }
  }
  // A capability the operator states is pinned: the probe's detection must not undo it (--no-pin-* releases it).
  if (patch.ipv6 !== undefined && patch.ipv6Pinned === undefined) patch.ipv6Pinned = true;
  if (patch.httpsUrl !== undefined && patch.httpsPinned === undefined) patch.httpsPinned = true;
  if (cmd.getOptionValueSource('coordinates') === 'cli' && opts.coordinates === false) {
    patch.lat = null;
    patch.lng = null;
  }
  return patch as MirrorPatch;
}

/** Constraints across fields, checked on the mirror as it will be after the change. */
export function checkMirrorShape(m: Pick<MirrorFields, 'httpUrl' | 'httpsUrl' | 'ftpUrl' | 'rsyncUrl' | 'lat' | 'lng' | 'ipv4' | 'ipv6'>, mode: 'add' | 'edit'): void {
  if (!m.httpUrl && !m.httpsUrl && !m.ftpUrl && !m.rsyncUrl) {
    throw new ValueError(
      mode === 'add'
        ? 'a mirror needs at least one URL: give --http, --https, --ftp or --rsync'
        : 'refusing to remove the last URL of the mirror: set another one in the same command (--http, --https, --ftp, --rsync)',
    );
  }
  if ((m.lat === null) !== (m.lng === null)) {
    throw new ValueError('--lat and --lng go together: give both (or --no-coordinates to clear both)');
  }
  if (!m.ipv4 && !m.ipv6) throw new ValueError('a mirror must be reachable over IPv4 or IPv6: not both --no-ipv4 and --no-ipv6');
}

/** Continent of a country code, or null for "**" and unknown codes. */
export function continentFor(country: string): string | null {
  return country && country !== '**' ? (continentOf(country) ?? null) : null;
}

/** Field labels for messages and `mirror show`, in display order. */
export const FIELD_LABELS: [Key, string][] = FIELDS.map((f) => [f.key, f.flag]);
