// What a snapshot (export / import) holds: every column of mirror, mirror_note and as_peer, named as in the
// database, in table order. One table of fields drives every format, the validation and the SQL, so a field cannot
// be exported in one format and forgotten in another. Pure.
//
// Left out on purpose: mirror.id, mirror_note.id and the mirror_id columns. Identifiers are the keys (notes and
// peers name their mirror by identifier); ids are the database's and may differ after an import. File holdings
// (file.mirrors) are not part of a snapshot: they are scan results, millions of rows, and keyed by id.
import { parseCidr } from '../cli-parse.ts';
import { countryListProblem, countryProblem, identifierProblem } from '../validate.ts';

export type TableName = 'mirror' | 'note' | 'peer';

/**
 * text: string; text?: string or null; int/int?: integer; float?: number or null; bool: boolean;
 * list: array of strings; time/time?: timestamp, written as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (microseconds, UTC).
 */
export type Kind = 'text' | 'text?' | 'int' | 'int?' | 'float?' | 'bool' | 'list' | 'time' | 'time?';

export type Value = string | number | boolean | null | string[];
export type Row = Record<string, Value>;

export interface Snapshot {
  mirrors: Row[];
  notes: Row[];
  peers: Row[];
}

export interface Field {
  name: string;
  kind: Kind;
  /** Column type, for casts in generated SQL. */
  sqlType: string;
  /** Extra rule beyond the kind: returns what the value must be, or null when it is fine. */
  check?: (v: any) => string | null;
  /** The value when an export made before the field existed lacks it; without it the field is required. */
  absent?: Value;
}

export const FORMAT_NAME = 'mirrorlane-export';
export const FORMAT_VERSION = 1;

const INT4 = [-2147483648, 2147483647] as const;

function intIn(min: number, max: number): (v: number) => string | null {
  return (v) => (v >= min && v <= max ? null : `an integer ${min}..${max}`);
}
function floatIn(min: number, max: number): (v: number) => string | null {
  return (v) => (v >= min && v <= max ? null : `a number ${min}..${max}`);
}
function oneOf(values: string[]): (v: string) => string | null {
  return (v) => (values.includes(v) ? null : `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
}

const IDENTIFIER = identifierProblem;
const COUNTRY_LIST = countryListProblem;

/** A base URL of one scheme with a host; http and https may not carry credentials (they would reach every client). */
function baseUrl(scheme: string): (v: string) => string | null {
  return (v) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return `an absolute ${scheme}:// URL`;
    }
    if (u.protocol !== `${scheme}:` || !u.host) return `an absolute ${scheme}:// URL with a host`;
    if ((scheme === 'http' || scheme === 'https') && (u.username || u.password)) return `a ${scheme}:// URL without user name or password`;
    return null;
  };
}

function cidrList(v: string[]): string | null {
  for (const c of v) {
    try {
      parseCidr('prefixes', c);
    } catch {
      return `a list of networks in CIDR notation without host bits (e.g. 192.0.2.0/24), not '${c}'`;
    }
  }
  return null;
}

const TIME_SQL = 'timestamptz';

export const MIRROR_FIELDS: readonly Field[] = [
  { name: 'identifier', kind: 'text', sqlType: 'text', check: IDENTIFIER },
  { name: 'http_url', kind: 'text?', sqlType: 'text', check: baseUrl('http') },
  { name: 'https_url', kind: 'text?', sqlType: 'text', check: baseUrl('https') },
  { name: 'ftp_url', kind: 'text?', sqlType: 'text', check: baseUrl('ftp') },
  { name: 'rsync_url', kind: 'text?', sqlType: 'text', check: baseUrl('rsync') },
  { name: 'operator_name', kind: 'text', sqlType: 'text' },
  { name: 'operator_url', kind: 'text', sqlType: 'text' },
  { name: 'admin_name', kind: 'text', sqlType: 'text' },
  { name: 'admin_email', kind: 'text', sqlType: 'text' },
  { name: 'public_notes', kind: 'text', sqlType: 'text' },
  { name: 'country', kind: 'text', sqlType: 'text', check: (v: string) => countryProblem(v, { wildcard: true, empty: true }) },
  { name: 'continent', kind: 'text', sqlType: 'text', check: oneOf(['', 'AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']) },
  { name: 'other_countries', kind: 'list', sqlType: 'text[]', check: COUNTRY_LIST },
  { name: 'lat', kind: 'float?', sqlType: 'double precision', check: floatIn(-90, 90) },
  { name: 'lng', kind: 'float?', sqlType: 'double precision', check: floatIn(-180, 180) },
  { name: 'asn', kind: 'int?', sqlType: 'bigint', check: intIn(0, 4294967295) },
  { name: 'prefixes', kind: 'list', sqlType: 'cidr[]', check: cidrList },
  { name: 'ipv4', kind: 'bool', sqlType: 'boolean' },
  { name: 'ipv6', kind: 'bool', sqlType: 'boolean' },
  { name: 'score', kind: 'int', sqlType: 'integer', check: intIn(0, 10000) },
  { name: 'enabled', kind: 'bool', sqlType: 'boolean' },
  { name: 'health', kind: 'text', sqlType: 'text', check: oneOf(['unknown', 'up', 'down']) },
  { name: 'health_reason', kind: 'text', sqlType: 'text' },
  { name: 'health_since', kind: 'time?', sqlType: TIME_SQL },
  { name: 'file_max_size', kind: 'int?', sqlType: 'bigint', check: intIn(0, Number.MAX_SAFE_INTEGER) },
  { name: 'country_only', kind: 'bool', sqlType: 'boolean' },
  { name: 'continent_only', kind: 'bool', sqlType: 'boolean' },
  { name: 'as_only', kind: 'bool', sqlType: 'boolean' },
  { name: 'prefix_only', kind: 'bool', sqlType: 'boolean' },
  { name: 'excluded_countries', kind: 'list', sqlType: 'text[]', check: COUNTRY_LIST },
  { name: 'accepts_ranges', kind: 'bool', sqlType: 'boolean' },
  { name: 'created_at', kind: 'time', sqlType: TIME_SQL },
  { name: 'updated_at', kind: 'time', sqlType: TIME_SQL },
  { name: 'scan_at', kind: 'time?', sqlType: TIME_SQL },
  { name: 'scan_protocol', kind: 'text', sqlType: 'text' },
  { name: 'scan_duration_ms', kind: 'int?', sqlType: 'integer', check: intIn(...INT4) },
  { name: 'scan_files_found', kind: 'int?', sqlType: 'integer', check: intIn(...INT4) },
  { name: 'scan_files_held', kind: 'int?', sqlType: 'integer', check: intIn(...INT4) },
  { name: 'scan_files_added', kind: 'int?', sqlType: 'integer', check: intIn(...INT4) },
  { name: 'scan_files_removed', kind: 'int?', sqlType: 'integer', check: intIn(...INT4) },
  { name: 'scan_error', kind: 'text', sqlType: 'text' },
  { name: 'tz_offset_ms', kind: 'int', sqlType: 'integer', check: intIn(...INT4) },
  { name: 'probe_at', kind: 'time?', sqlType: TIME_SQL },
  { name: 'probe_successes', kind: 'int', sqlType: 'integer', check: intIn(...INT4) },
  { name: 'probe_failures', kind: 'int', sqlType: 'integer', check: intIn(...INT4) },
  // sql/006: the probe's capability checks and the operator's pins.
  { name: 'caps_at', kind: 'time?', sqlType: TIME_SQL, absent: null },
  { name: 'ipv6_pinned', kind: 'bool', sqlType: 'boolean', absent: false },
  { name: 'https_pinned', kind: 'bool', sqlType: 'boolean', absent: false },
];

/** mirror_note without its id; `mirror` is the identifier of the mirror it belongs to. */
export const NOTE_FIELDS: readonly Field[] = [
  { name: 'mirror', kind: 'text', sqlType: 'text', check: IDENTIFIER },
  { name: 'created_at', kind: 'time', sqlType: TIME_SQL },
  { name: 'author', kind: 'text', sqlType: 'text' },
  { name: 'body', kind: 'text', sqlType: 'text', check: (v: string) => (v === '' ? 'a non-empty text' : null) },
];

/** as_peer; `mirror` is the identifier of the preferred mirror. */
export const PEER_FIELDS: readonly Field[] = [
  { name: 'client_asn', kind: 'int', sqlType: 'bigint', check: intIn(1, 4294967295) },
  { name: 'mirror', kind: 'text', sqlType: 'text', check: IDENTIFIER },
  { name: 'created_at', kind: 'time', sqlType: TIME_SQL },
];

export const TABLE_FIELDS: Readonly<Record<TableName, readonly Field[]>> = { mirror: MIRROR_FIELDS, note: NOTE_FIELDS, peer: PEER_FIELDS };

/** Snapshot key of each table, in the order tables are written. */
export const TABLE_KEYS: readonly [TableName, keyof Snapshot][] = [
  ['mirror', 'mirrors'],
  ['note', 'notes'],
  ['peer', 'peers'],
];

/** How a timestamp is written: what PostgreSQL's to_char(... 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') gives in UTC. */
export const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

/** Order rows so that the same data always gives the same bytes: mirrors by identifier, notes by mirror and
 *  time (ties keep their order), peers by client AS and mirror. Code-unit order, not locale order. */
export function sortSnapshot(s: Snapshot): Snapshot {
  const cmp = (a: Value, b: Value) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0);
  return {
    mirrors: [...s.mirrors].sort((a, b) => cmp(a.identifier, b.identifier)),
    notes: [...s.notes].sort((a, b) => cmp(a.mirror, b.mirror) || cmp(a.created_at, b.created_at)),
    peers: [...s.peers].sort((a, b) => (a.client_asn as number) - (b.client_asn as number) || cmp(a.mirror, b.mirror)),
  };
}
