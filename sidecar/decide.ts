// One download, decided: file row → candidate mirrors → selection → what nginx should answer.
// All I/O comes in through DecideDeps, so the decision logic is tested without servers.
//
// Besides the redirect, the same selection is rendered as: Metalink v4/3.0, the file page (?mirrorlist), JSON, the hash
// lines and apt's mirror list. A format is asked for by query argument (?meta4), by suffix when the full path is
// no file (/x.iso.meta4), or by Accept (metalink types on the plain URL, as aria2 sends them).
import type { Config } from '../core/config.ts';
import { continentOf } from '../core/continents.ts';
import type { GeoIp } from '../core/geoip.ts';
import { localDeliveryReason, type LocalDeliveryRules } from '../core/local-delivery.ts';
import type { Mismatch } from '../core/db/file-extras.ts';
import { originPathProblem } from '../core/paths.ts';
import type { Pieces } from '../core/scan/pieces.ts';
import { selectMirrors, type Selection, type SelectionOptions } from '../core/selection.ts';
import { appendStamp, signStamp } from '../core/stamp.ts';
import type { ClientLocation, FileRow, Mirror } from '../core/types.ts';
import { encodePath } from '../core/urls.ts';
import contract from '../njs/contract.ts';
import { btAnswer, torrentLinks, type BtContext } from './bt-answer.ts';
import { attachment } from './content-disposition.ts';
import { withMismatches } from './mismatches.ts';
import { zsyncBody } from './zsync-answer.ts';
import { redirectHeaders, type HeaderMap } from './link-headers.ts';
import { hasOverrides, parseQuery, splitFormatSuffix, withSuffixFormat, type ClientOverrides, type RequestQuery } from './query.ts';
import { renderAptList } from './render-apt.ts';
import { renderHashLine } from './render-hashes.ts';
import { renderJsonAnswer } from './render-json.ts';
import { META4_TYPE, METALINK3_TYPE, baseName, renderMeta4, renderMetalink3 } from './render-metalink.ts';
import { renderFilePageHtml } from './render-file-page.ts';

/**
 * The decision for one request, in short keys. sidecar/http-answer.ts turns it into the answer to njs's subrequest
 * (or to nginx's proxy_pass); sidecar/stats.ts counts it.
 */
export type Decision =
  /** m: the chosen mirror's id (for the statistics; it is not sent). */
  | { t: 'redirect'; url: string; m: number; h: HeaderMap }
  /**
   * m: the mirror this host is (self-serving mode); h: headers for the local answer; p: the origin path of the
   * real file nginx serves (symlinks resolved, see DecideDeps.localPath), when it differs from the request's.
   */
  | { t: 'local'; why: string; m?: number; h?: HeaderMap; p?: string }
  /** url: where the directory lives, with the trailing slash and the client's query. */
  | { t: 'dir'; url: string }
  | { t: 'notfound' }
  | { t: 'body'; status: number; type: string; body: string; h?: HeaderMap }
  /** A body that is no text (a .torrent). */
  | { t: 'bytes'; status: number; type: string; body: Buffer; h?: HeaderMap };

export interface DecideRequest {
  path: string;
  /** The client's raw query string, without "?". */
  query: string;
  clientIp: string;
  scheme: string;
  userAgent: string;
  range: string;
  accept: string;
  /** The client's Host header ("dl.example.org", "127.0.0.1:8080"): for this redirector's own URLs. */
  host?: string;
}

export type OriginKind = 'file' | 'dir' | 'none';

/** The formats settings decide() reads (config formats; the sidecar fills what a test leaves out, see formats()). */
export type FormatOptions = Omit<Config['formats'], 'zsyncMinSize'>;

export interface DecideDeps {
  /** Cached file row; throws when the database cannot answer. */
  fileRow(path: string): Promise<FileRow | null>;
  /**
   * fileRow for several paths in one round (one query for the misses), one promise per path; without it, fileRow
   * for each at once. Asked for a path with a format suffix ("x.iso.meta4"): the path and the file it names.
   */
  fileRows?(paths: string[]): Promise<FileRow | null>[];
  mirror(id: number): Mirror | undefined;
  peers(): ReadonlyMap<number, readonly number[]>;
  geo: GeoIp;
  /** What the origin tree has at a path the file table does not know, by the origin rule (core/origin-rule.ts). */
  originKind(path: string): Promise<OriginKind>;
  /**
   * The origin path of the real file that local delivery of `path` serves, or null when the origin rule refuses
   * it (outside the root, not a regular file, gone): every local answer is checked with it. Without it the path
   * is delivered as asked and only nginx's `disable_symlinks` guards it.
   */
  localPath?(path: string): Promise<string | null>;
  selection: SelectionOptions;
  delivery: LocalDeliveryRules & { overridesOnRedirect: boolean };
  random: () => number;
  /** URL path the origin tree is published under (config origin.urlPrefix); default "/". */
  urlPrefix?: string;
  /** Defaults: 5 Link headers, no apt lists, no stamps. */
  formats?: Partial<FormatOptions>;
  /** Origin paths of the Release files of an apt subtree (see apt-lists.ts). */
  aptReleaseFiles?(subtree: string): Promise<string[]>;
  /** Unix milliseconds, for stamps; default Date.now. */
  now?: () => number;
  /** Identifier of the mirror entry that is this host (self-serving mode): when chosen, serve locally. */
  selfMirror?: string;
  /** "https://download.example.org": the redirector's own links (Metalink, describedby) use it, not the Host header. */
  publicUrl?: string;
  /** The file's piece hashes (Metalink, torrents), fetched only for those answers; none known without it. */
  pieces?(row: FileRow): Promise<Pieces | null>;
  /** Mirrors whose copy the last scan found wrong (JSON, file page); none without it. */
  mismatches?(row: FileRow): Promise<Mismatch[]>;
  /** The file's zsync control file without URL lines (made by the origin scan); null when there is none. */
  zsync?(row: FileRow): Promise<Buffer | null>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = contract.TEXT_TYPE;
const HTML_TYPE = 'text/html; charset=utf-8';
/** The file page runs no script and loads nothing: say so, so that an escaping slip could not run one either. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
};

function jsonBody(status: number, value: unknown): Decision {
  return { t: 'body', status, type: JSON_TYPE, body: JSON.stringify(value) };
}

function textBody(status: number, body: string): Decision {
  return { t: 'body', status, type: TEXT_TYPE, body };
}

function formats(deps: DecideDeps): FormatOptions {
  const f = deps.formats ?? {};
  return {
    linkHeaders: f.linkHeaders ?? 5,
    aptLists: f.aptLists ?? {},
    stampSecret: f.stampSecret ?? '',
    torrentMinSize: f.torrentMinSize ?? 4 * 1024 * 1024,
    trackers: f.trackers ?? [],
    metalinkTorrent: f.metalinkTorrent ?? false,
  };
}

/** Where the client is, after ?ip=, ?country= and ?as= (when they are honoured). */
function locate(geo: GeoIp, ip: string, o: ClientOverrides | null): ClientLocation {
  const found = geo.lookup(o?.ip ?? ip);
  const client = { ...found };
  if (o?.country && o.country !== found.country) {
    // Another country: the looked-up coordinates would be wrong there, and we know no better ones.
    client.country = o.country;
    client.continent = continentOf(o.country);
    client.lat = null;
    client.lng = null;
  }
  if (o && o.asn !== null) client.asn = o.asn;
  return client;
}

/** A Host header we are willing to put into URLs: a name or address with an optional port, nothing else. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** This redirector's URL of an origin path, or null when the request's host is unknown or odd. */
function ownUrl(req: DecideRequest, deps: DecideDeps, path: string): string | null {
  const prefix = (deps.urlPrefix ?? '/').replace(/\/+$/, '');
  // A configured public URL wins: the client's Host header must not decide what a shared cache stores.
  if (deps.publicUrl) return `${deps.publicUrl.replace(/\/+$/, '')}${prefix}${encodePath(path)}`;
  const host = req.host ?? '';
  if (!HOST.test(host)) return null;
  return `${req.scheme === 'https' ? 'https' : 'http'}://${host.toLowerCase()}${prefix}${encodePath(path)}`;
}

/**
 * A directory named without its trailing slash: this redirector's URL of it with the slash (absolute when the
 * host is known, as nginx writes its own redirects), the client's query kept with anything that may not stand in
 * a header line escaped.
 */
function directoryUrl(req: DecideRequest, deps: DecideDeps): string {
  const base = ownUrl(req, deps, req.path) ?? encodePath((deps.urlPrefix ?? '/').replace(/\/+$/, '') + req.path);
  const q = req.query.replace(/[^\x21-\x7e]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase());
  return `${base}/${q ? '?' + q : ''}`;
}

/** The selection with every mirror URL stamped (one stamp per request: it signs the path, not the mirror). */
function stamped(s: Selection, path: string, secret: string, nowMs: number): Selection {
  if (secret === '') return s;
  const stamp = signStamp(secret, Math.floor(nowMs / 1000), path);
  const ranked = s.ranked.map((r) => ({ ...r, url: appendStamp(r.url, stamp) }));
  return { chosen: ranked.length > 0 ? ranked[0] : null, ranked, excluded: s.excluded };
}

/** The rows of several paths in one round where the deps can (DecideDeps.fileRows). */
function lookupTogether(deps: DecideDeps, paths: string[]): Promise<FileRow | null>[] {
  return deps.fileRows ? deps.fileRows(paths) : paths.map((p) => deps.fileRow(p));
}

/** Filled in by decide(): the file row the answer is about (statistics count its id and size). */
export interface DecisionTrace {
  row: FileRow | null;
}

export async function decide(req: DecideRequest, deps: DecideDeps, trace?: DecisionTrace): Promise<Decision> {
  const d = await decideFor(req, deps, trace);
  if (d.t !== 'local' || !deps.localPath) return d;
  // Whatever made the answer local (no row, delivery rules, no mirror, database down, self-serving), the origin
  // serves only what its rule allows: the rest does not exist as far as any client can tell.
  const real = await deps.localPath(req.path);
  if (real === null) return { t: 'notfound' };
  return real === req.path ? d : { ...d, p: real };
}

async function decideFor(req: DecideRequest, deps: DecideDeps, trace?: DecisionTrace): Promise<Decision> {
  const problem = originPathProblem(req.path);
  if (problem) return textBody(400, `Bad request: ${problem}\n`);
  const fmt = formats(deps);
  // An apt list is no file: recognise it before the file table is asked.
  if (Object.hasOwn(fmt.aptLists, req.path)) return aptList(req, deps, fmt.aptLists[req.path]);
  // A ranged request wants bytes of the file: aria2 sends its Metalink Accept on those too, and must get the file.
  let q = parseQuery(req.query, req.range === '' ? req.accept : '');

  // A path with a format suffix ("x.iso.meta4") may name a format of another file: both rows are asked in one
  // round, and the path itself still wins when it is a file or directory.
  const virtual = splitFormatSuffix(req.path);
  const rows = virtual ? lookupTogether(deps, [req.path, virtual.path]) : [deps.fileRow(req.path)];
  const results = await Promise.allSettled(rows);
  let row: FileRow | null;
  const own = results[0];
  // Without the file table we cannot know who holds the file: the origin serves it.
  if (own.status === 'rejected') return { t: 'local', why: 'database unavailable' };
  row = own.value;
  if (trace) trace.row = row;
  if (!row) {
    const kind = await deps.originKind(req.path);
    if (kind === 'dir') return { t: 'dir', url: directoryUrl(req, deps) };
    if (kind === 'file') return { t: 'local', why: 'not in the file table yet' };
    // No such file: maybe a format of one.
    if (virtual) {
      const named = results[1];
      if (named.status === 'rejected') return { t: 'local', why: 'database unavailable' };
      row = named.value;
      if (trace) trace.row = row;
      if (row) q = withSuffixFormat(q, virtual.format);
    }
    if (!row) return q.format === 'json' ? jsonBody(404, { error: 'not found', path: req.path }) : { t: 'notfound' };
  }

  if (q.format === 'sha256' || q.format === 'sha1' || q.format === 'md5') {
    const line = renderHashLine(row, q.format);
    return line === null ? textBody(404, `No ${q.format.toUpperCase()} known for ${baseName(row.path)}\n`) : textBody(200, line);
  }

  const local = localDeliveryReason({ path: row.path, size: row.size, clientIp: req.clientIp, userAgent: req.userAgent }, deps.delivery);
  if (local !== null && q.format === 'redirect') return { t: 'local', why: local };

  const holders: Mirror[] = [];
  for (const id of row.mirrors) {
    const m = deps.mirror(id);
    if (m) holders.push(m);
  }
  const honourOverrides = q.format !== 'redirect' || deps.delivery.overridesOnRedirect;
  const client = locate(deps.geo, req.clientIp, honourOverrides ? q.overrides : null);
  const selection = stamped(
    selectMirrors({
      path: row.path,
      size: row.size,
      holders,
      client,
      scheme: req.scheme === 'https' || q.https ? 'https' : 'http',
      range: req.range !== '',
      peers: deps.peers(),
      avoidCountries: q.avoid,
      options: deps.selection,
      random: deps.random,
    }),
    row.path,
    fmt.stampSecret,
    (deps.now ?? Date.now)(),
  );

  if (q.format === 'redirect') return redirect(req, deps, row, selection, holders, fmt);
  return rendered(req, deps, q, fmt, { row, client, selection, holders, local, overridden: honourOverrides && hasOverrides(q.overrides) });
}

function redirect(req: DecideRequest, deps: DecideDeps, row: FileRow, selection: Selection, holders: Mirror[], fmt: FormatOptions): Decision {
  const chosen = selection.chosen;
  if (!chosen) return { t: 'local', why: holders.length ? 'no usable mirror' : 'no mirror holds the file' };
  const own = ownUrl(req, deps, row.path);
  const h: HeaderMap = {
    'X-Mirrorlane-Mirror': chosen.mirror.identifier,
    'X-Mirrorlane-Tier': chosen.tier,
    ...redirectHeaders({
      file: row,
      duplicates: selection.ranked.slice(1, 1 + fmt.linkHeaders).map((r) => ({ url: r.url, country: r.mirror.country })),
      metalinkUrl: own === null ? null : `${own}.meta4`,
    }),
  };
  if (deps.selfMirror && chosen.mirror.identifier === deps.selfMirror) {
    // This host is the chosen mirror: serve the file here, naming where it lives (Debian's redirector does so).
    h['Content-Location'] = chosen.url;
    return { t: 'local', why: 'self-serving mirror', m: chosen.mirror.id, h };
  }
  return { t: 'redirect', url: chosen.url, m: chosen.mirror.id, h };
}

interface Selected {
  row: FileRow;
  client: ClientLocation;
  selection: Selection;
  holders: Mirror[];
  local: string | null;
  overridden: boolean;
}

/** Pieces and mismatches are extras: an answer without them beats no answer when the database stumbles. */
async function extra<T>(fn: (() => Promise<T>) | undefined, none: T): Promise<T> {
  try {
    return fn ? await fn() : none;
  } catch {
    return none;
  }
}

/**
 * The non-redirect answers built from one selection: JSON, Metalink v4 and 3.0, torrents, the file page.
 * The extras beside the file row are read here, for these answers only.
 */
async function rendered(req: DecideRequest, deps: DecideDeps, q: RequestQuery, fmt: FormatOptions, s: Selected): Promise<Decision> {
  const { row } = s;
  const notShown = s.holders.length - s.selection.ranked.length - s.selection.excluded.length;
  if (q.format === 'zsync') return zsyncAnswer(deps, row, s.selection, ownUrl(req, deps, row.path));
  const wantsPieces = q.format !== 'json';
  const pieces = wantsPieces ? await extra(deps.pieces && (() => deps.pieces!(row)), null) : null;
  const own = ownUrl(req, deps, row.path);
  const bt: BtContext = {
    row,
    pieces,
    mirrorUrls: s.selection.ranked.map((r) => r.url),
    ownUrl: own,
    settings: { minSize: fmt.torrentMinSize, trackers: fmt.trackers },
  };
  if (q.format === 'torrent' || q.format === 'magnet' || q.format === 'btih') {
    const a = btAnswer(q.format, bt);
    if (typeof a.body === 'string') return { t: 'body', status: a.status, type: a.type, body: a.body };
    return { t: 'bytes', status: a.status, type: a.type, body: a.body, h: { 'Content-Disposition': attachment(a.disposition ?? 'file.torrent') } };
  }
  const shown = q.format === 'json' || q.format === 'mirrorlist';
  const mismatches = shown ? await extra(deps.mismatches && (() => deps.mismatches!(row)), []) : [];
  const selection = withMismatches(s.selection, mismatches, deps.mirror);
  if (q.format === 'json') {
    const body = renderJsonAnswer({
      file: row,
      client: s.client,
      overridden: s.overridden,
      selection,
      localDelivery: s.local,
      attribution: deps.geo.attribution,
    });
    return { t: 'body', status: 200, type: JSON_TYPE, body };
  }
  if (q.format === 'meta4' || q.format === 'metalink') {
    const v4 = q.format === 'meta4';
    const input = {
      file: row,
      sources: selection.ranked.map((r) => ({ url: r.url, country: r.mirror.country })),
      originUrl: own,
      selfUrl: own === null ? null : `${own}${v4 ? '.meta4' : '.metalink'}`,
      pieces,
      torrent: fmt.metalinkTorrent ? torrentLinks(bt) : null,
    };
    const name = `${baseName(row.path)}${v4 ? '.meta4' : '.metalink'}`;
    return {
      t: 'body',
      status: 200,
      type: v4 ? META4_TYPE : METALINK3_TYPE,
      body: v4 ? renderMeta4(input) : renderMetalink3(input),
      // Saved under its own name, not the file's, when a browser asks for "x.iso?meta4".
      h: { 'Content-Disposition': attachment(name) },
    };
  }
  const body = renderFilePageHtml({
    file: row,
    client: s.client,
    overridden: s.overridden,
    selection,
    localDelivery: s.local,
    notShown,
    attribution: deps.geo.attribution,
    magnet: torrentLinks(bt)?.magnet ?? null,
    urlPrefix: deps.urlPrefix,
  });
  return { t: 'body', status: 200, type: HTML_TYPE, body, h: PAGE_HEADERS };
}

async function zsyncAnswer(deps: DecideDeps, row: FileRow, selection: Selection, own: string | null): Promise<Decision> {
  const a = zsyncBody(row, await extra(deps.zsync && (() => deps.zsync!(row)), null), selection.ranked.map((r) => r.url), own);
  return typeof a.body === 'string' ? textBody(a.status, a.body) : { t: 'bytes', status: 200, type: a.type, body: a.body, h: { 'Content-Disposition': attachment(`${baseName(row.path)}.zsync`) } };
}

/**
 * apt's mirror list for a subtree: the mirrors holding one of its Release files, best first for this client, then
 * this redirector itself (it carries the whole tree) as the last resort. Overrides count, as on any mirror list.
 */
async function aptList(req: DecideRequest, deps: DecideDeps, subtree: string): Promise<Decision> {
  const files = deps.aptReleaseFiles ? await deps.aptReleaseFiles(subtree) : [];
  // All at once: the cache misses among them go to PostgreSQL together (file-row-batcher.ts), not one by one.
  const rows = await Promise.all(
    files.map((f) =>
      deps.fileRow(f).catch(() => null), // without the file table the list still names the origin
    ),
  );
  const ids = new Set<number>();
  for (const row of rows) for (const id of row?.mirrors ?? []) ids.add(id);
  const holders: Mirror[] = [];
  for (const id of ids) {
    const m = deps.mirror(id);
    if (m) holders.push(m);
  }
  const q = parseQuery(req.query);
  const selection = selectMirrors({
    path: subtree,
    size: 0,
    holders,
    client: locate(deps.geo, req.clientIp, q.overrides),
    scheme: req.scheme === 'https' || q.https ? 'https' : 'http',
    peers: deps.peers(),
    avoidCountries: q.avoid,
    options: deps.selection,
    random: deps.random,
  });
  const urls = selection.ranked.map((r) => r.url);
  const own = ownUrl(req, deps, subtree);
  if (own !== null) urls.push(own);
  if (urls.length === 0) return textBody(404, `No mirror carries ${subtree}\n`);
  return textBody(200, renderAptList(urls));
}
