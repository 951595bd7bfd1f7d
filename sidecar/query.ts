// What a client asks for in the query string of a download URL: overrides of its location, mirrors to avoid,
// and the kind of answer. Pure; never throws on junk (a bad value is ignored, the download still works).
import { continentOf } from '../core/continents.ts';
import { isIp } from '../core/geoip-address.ts';
import { addressEnd } from '../core/ip.ts';

/**
 * redirect: the download itself. json: the JSON answer (also ?mirrorlist&json). meta4/metalink: Metalink v4 (RFC
 * 5854) / 3.0. mirrorlist: the file page (HTML). sha256/sha1/md5: one line as sha256sum prints it. torrent/magnet/btih:
 * the .torrent with the mirrors as web seeds, its magnet link, its info hash. zsync: the zsync control file.
 */
export type AnswerFormat =
  | 'redirect' | 'json' | 'meta4' | 'metalink' | 'mirrorlist' | 'sha256' | 'sha1' | 'md5' | 'torrent' | 'magnet' | 'btih' | 'zsync';

export interface ClientOverrides {
  country: string | null;
  asn: number | null;
  ip: string | null;
}

export interface RequestQuery {
  format: AnswerFormat;
  /** ?https=1: send to an https URL even though the request came over http. */
  https: boolean;
  /** ?avoid=cc,cc: leave out mirrors in these countries. */
  avoid: string[];
  overrides: ClientOverrides;
}

const COUNTRY = /^[A-Za-z]{2}$/;

/** Query arguments that name a format, in the order they win when several are given. */
const FORMAT_ARGS: readonly AnswerFormat[] = ['meta4', 'metalink', 'mirrorlist', 'sha256', 'sha1', 'md5', 'torrent', 'magnet', 'btih', 'zsync'];

/**
 * Suffixes that name a format of the file without them ("/pub/x.iso.meta4"). Only used when the full path is
 * no file of its own: a real "x.iso.sha256" published in the tree stays a file.
 */
const SUFFIXES: readonly [string, AnswerFormat][] = [
  ['.meta4', 'meta4'],
  ['.metalink', 'metalink'],
  ['.mirrorlist', 'mirrorlist'],
  ['.sha256', 'sha256'],
  ['.sha1', 'sha1'],
  ['.md5', 'md5'],
  ['.torrent', 'torrent'],
  ['.magnet', 'magnet'],
  ['.btih', 'btih'],
  ['.zsync', 'zsync'],
];

/** "/pub/x.iso.meta4" → { path: "/pub/x.iso", format: "meta4" }; null when no known suffix ends a file name. */
export function splitFormatSuffix(path: string): { path: string; format: AnswerFormat } | null {
  for (const [suffix, format] of SUFFIXES) {
    if (!path.endsWith(suffix)) continue;
    const rest = path.slice(0, -suffix.length);
    // Something must remain of the file name: "/pub/.md5" is a file called ".md5", not the hash of "/pub/".
    if (rest.endsWith('/') || rest === '') return null;
    return { path: rest, format };
  }
  return null;
}

/**
 * The Metalink version an Accept header asks for, as MirrorBrain negotiates: aria2 sends
 * "*\/*,application/metalink4+xml,application/metalink+xml" on every request. q=0 means "not this one".
 */
function negotiatedMetalink(accept: string): AnswerFormat | null {
  if (!accept.includes('metalink')) return null;
  let best: AnswerFormat | null = null;
  let bestQ = 0;
  for (const part of accept.slice(0, 2048).split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const format = type === 'application/metalink4+xml' ? 'meta4' : type === 'application/metalink+xml' ? 'metalink' : null;
    if (!format) continue;
    let q = 1;
    for (const p of params) if (p.startsWith('q=')) q = Number(p.slice(2));
    if (!(q > 0 && q <= 1)) continue;
    // Equal preference: the newer format.
    if (q > bestQ || (q === bestQ && format === 'meta4')) {
      best = format;
      bestQ = q;
    }
  }
  return best;
}

export function parseQuery(query: string, accept = ''): RequestQuery {
  const params = new URLSearchParams(query);
  const country = params.get('country');
  const as = params.get('as')?.replace(/^as/i, '') ?? null;
  const ip = params.get('ip');
  const avoid = (params.get('avoid') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => COUNTRY.test(c))
    .map((c) => c.toUpperCase());
  let format: AnswerFormat = 'redirect';
  // ?json wins over the others: "?mirrorlist&json" is the file page as JSON.
  if (params.has('json')) format = 'json';
  else format = FORMAT_ARGS.find((f) => params.has(f)) ?? (/^application\/json\b/.test(accept) ? 'json' : (negotiatedMetalink(accept) ?? 'redirect'));
  return {
    format,
    https: params.get('https') === '1',
    avoid,
    overrides: {
      country: country && COUNTRY.test(country) && continentOf(country.toUpperCase()) ? country.toUpperCase() : null,
      asn: as && /^\d{1,10}$/.test(as) && Number(as) <= 4294967295 ? Number(as) : null,
      // A zone id ("fe80::1%eth0") names an interface of the client's own host: meaningless here, and unchecked
      // text ("%<img>") that must not travel on as part of an address.
      ip: ip && ip.length <= 64 && isIp(ip) ? ip.slice(0, addressEnd(ip)) : null,
    },
  };
}

/** The format a path suffix names, combined with the query's: "x.iso.mirrorlist?json" is still JSON. */
export function withSuffixFormat(q: RequestQuery, suffixFormat: AnswerFormat): RequestQuery {
  return { ...q, format: q.format === 'json' && suffixFormat === 'mirrorlist' ? 'json' : suffixFormat };
}

export function hasOverrides(o: ClientOverrides): boolean {
  return o.country !== null || o.asn !== null || o.ip !== null;
}
