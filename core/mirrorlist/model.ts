// The public mirror list as plain data, before any rendering: only what may be published (no admin name or
// e-mail, no admin notes, no credentials, no health internals), grouped by continent and country. Pure.
import { continentName, countryName } from '../continents.ts';
import type { Mirror } from '../types.ts';
import type { Coverage, OriginCoverage } from './subtrees.ts';
import { isLinkable, operatorLink, withoutCredentials } from './public-url.ts';

export interface PublicUrls {
  http: string | null;
  https: string | null;
  ftp: string | null;
  rsync: string | null;
}

export interface PublicMirror {
  identifier: string;
  /** Operator name, or the identifier when the operator has none. */
  name: string;
  /** http(s) only; null when absent or of another scheme. */
  operatorUrl: string | null;
  country: string;
  countryName: string;
  continent: string;
  continentName: string;
  /** Base URLs, without user name or password. */
  urls: PublicUrls;
  ipv4: boolean;
  ipv6: boolean;
  /** Which clients it serves when restricted ("only for clients in its own AS"), else null. */
  restriction: string | null;
  /** The admin's text meant for the mirror list (`--public-notes`). */
  publicNotes: string;
  enabled: boolean;
  content: Coverage;
}

export interface CountryGroup {
  country: string;
  name: string;
  mirrors: PublicMirror[];
}

export interface ContinentGroup {
  /** Continent code, "" for mirrors without one. */
  continent: string;
  name: string;
  countries: CountryGroup[];
}

export interface MirrorList {
  title: string;
  /** Every subtree of the origin, so a reader can tell what "full" means. */
  subtrees: string[];
  continents: ContinentGroup[];
  mirrorCount: number;
  countryCount: number;
}

const WORLDWIDE = 'Worldwide';
const UNKNOWN = 'Unknown location';
/** Groups without a real continent or country go last, in this order. */
const LAST = [WORLDWIDE, UNKNOWN, 'All countries', 'Unknown country'];

// eslint-disable-next-line no-control-regex -- control characters make a URL unusable and unsafe to print
const UNSAFE_URL = /[\x00-\x20\x7f]/;

function publicUrl(url: string | null): string | null {
  if (url === null || UNSAFE_URL.test(url)) return null;
  const clean = withoutCredentials(url);
  return isLinkable(clean) ? clean : null;
}

function restrictionOf(m: Mirror): string | null {
  if (m.prefixOnly) return 'only for clients in its own network';
  if (m.asOnly) return 'only for clients in its own AS';
  if (m.countryOnly) return m.otherCountries.length ? 'only for clients in its countries' : 'only for clients in its country';
  if (m.continentOnly) return 'only for clients on its continent';
  return null;
}

function countryLabel(cc: string): string {
  if (cc === '**') return 'All countries';
  if (cc === '') return 'Unknown country';
  return countryName(cc) ?? cc;
}

function continentLabel(m: Mirror): string {
  return continentName(m.continent) ?? (m.country === '**' ? WORLDWIDE : UNKNOWN);
}

export function publicMirror(m: Mirror, content: Coverage): PublicMirror {
  return {
    identifier: m.identifier,
    name: m.operatorName.trim() || m.identifier,
    operatorUrl: operatorLink(m.operatorUrl),
    country: m.country,
    countryName: countryLabel(m.country),
    continent: continentName(m.continent) ? m.continent : '',
    continentName: continentLabel(m),
    urls: { http: publicUrl(m.httpUrl), https: publicUrl(m.httpsUrl), ftp: publicUrl(m.ftpUrl), rsync: publicUrl(m.rsyncUrl) },
    ipv4: m.ipv4,
    ipv6: m.ipv6,
    restriction: restrictionOf(m),
    publicNotes: m.publicNotes,
    enabled: m.enabled,
    content,
  };
}

/** Named groups in alphabetical order, the catch-all groups after them. */
function byName(a: string, b: string): number {
  const la = LAST.indexOf(a);
  const lb = LAST.indexOf(b);
  if (la !== lb) return la - lb;
  return a.localeCompare(b, 'en');
}

/** Enabled mirrors (every mirror with `all`), grouped by continent, then country, then operator name. */
export function buildMirrorList(mirrors: Mirror[], coverage: OriginCoverage, opts: { all?: boolean; title?: string } = {}): MirrorList {
  const shown = mirrors.filter((m) => opts.all || m.enabled).map((m) => publicMirror(m, coverage.of(m.id)));
  const continents = new Map<string, Map<string, CountryGroup>>();
  const codes = new Map<string, string>();
  for (const p of shown) {
    codes.set(p.continentName, p.continent);
    const countries = continents.get(p.continentName) ?? new Map<string, CountryGroup>();
    continents.set(p.continentName, countries);
    const g = countries.get(p.country) ?? { country: p.country, name: p.countryName, mirrors: [] };
    countries.set(p.country, g);
    g.mirrors.push(p);
  }
  const groups: ContinentGroup[] = [...continents.keys()].sort(byName).map((name) => ({
    continent: codes.get(name) ?? '',
    name,
    countries: [...continents.get(name)!.values()]
      .sort((a, b) => byName(a.name, b.name) || (a.country < b.country ? -1 : 1))
      .map((g) => ({ ...g, mirrors: g.mirrors.sort((a, b) => a.name.localeCompare(b.name, 'en') || (a.identifier < b.identifier ? -1 : 1)) })),
  }));
  return {
    title: opts.title ?? 'Mirrors',
    subtrees: coverage.subtrees,
    continents: groups,
    mirrorCount: shown.length,
    countryCount: new Set(shown.filter((p) => /^[A-Z]{2}$/.test(p.country)).map((p) => p.country)).size,
  };
}

/** The IPv6 column: "yes", "no", or "only" for a mirror unreachable over IPv4. */
export function ipv6Text(m: Pick<PublicMirror, 'ipv4' | 'ipv6'>): string {
  return m.ipv6 ? (m.ipv4 ? 'yes' : 'only') : 'no';
}

/** The content column as words: "full", "none", or the subtrees carried. */
export function contentText(c: Coverage): string {
  if (c.kind === 'full') return 'full';
  if (c.kind === 'none') return 'none';
  return c.subtrees.join(', ');
}

export const PROTOCOL_LABELS: readonly [keyof PublicUrls, string][] = [
  ['http', 'HTTP'],
  ['https', 'HTTPS'],
  ['ftp', 'FTP'],
  ['rsync', 'rsync'],
];
