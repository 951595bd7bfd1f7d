// One download, decided: file row → candidate mirrors → selection → what nginx should answer.
// All I/O comes in through DecideDeps, so the decision logic is tested without servers.
import { continentOf } from '../core/continents.ts';
import type { GeoIp } from '../core/geoip.ts';
import { localDeliveryReason, type LocalDeliveryRules } from '../core/local-delivery.ts';
import { originPathProblem } from '../core/paths.ts';
import { selectMirrors, type SelectionOptions } from '../core/selection.ts';
import type { ClientLocation, FileRow, Mirror } from '../core/types.ts';
import { hasOverrides, parseQuery, type ClientOverrides } from './query.ts';
import { renderJsonAnswer } from './render-json.ts';

/** What the sidecar tells njs. Short keys: this is parsed on every download. */
export type Decision =
  | { t: 'redirect'; url: string; h: Record<string, string> }
  | { t: 'local'; why: string }
  | { t: 'dir' }
  | { t: 'notfound' }
  | { t: 'body'; status: number; type: string; body: string; h?: Record<string, string> };

export interface DecideRequest {
  path: string;
  /** The client's raw query string, without "?". */
  query: string;
  clientIp: string;
  scheme: string;
  userAgent: string;
  range: string;
  accept: string;
}

export type OriginKind = 'file' | 'dir' | 'none';

export interface DecideDeps {
  /** Cached file row; throws when the database cannot answer. */
  fileRow(path: string): Promise<FileRow | null>;
  mirror(id: number): Mirror | undefined;
  peers(): ReadonlyMap<number, readonly number[]>;
  geo: GeoIp;
  /** What the origin tree has at a path the file table does not know. */
  originKind(path: string): Promise<OriginKind>;
  selection: SelectionOptions;
  delivery: LocalDeliveryRules & { overridesOnRedirect: boolean };
  random: () => number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function jsonBody(status: number, value: unknown): Decision {
  return { t: 'body', status, type: JSON_TYPE, body: JSON.stringify(value) };
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

export async function decide(req: DecideRequest, deps: DecideDeps): Promise<Decision> {
  const problem = originPathProblem(req.path);
  if (problem) return { t: 'body', status: 400, type: 'text/plain; charset=utf-8', body: `Bad request: ${problem}\n` };
  const q = parseQuery(req.query, req.accept);

  let row: FileRow | null;
  try {
    row = await deps.fileRow(req.path);
  } catch {
    // Without the file table we cannot know who holds the file: the origin serves it.
    return { t: 'local', why: 'database unavailable' };
  }
  if (!row) {
    const kind = await deps.originKind(req.path);
    if (kind === 'dir') return { t: 'dir' };
    if (kind === 'file') return { t: 'local', why: 'not in the file table yet' };
    return q.format === 'json' ? jsonBody(404, { error: 'not found', path: req.path }) : { t: 'notfound' };
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
  const selection = selectMirrors({
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
  });

  if (q.format === 'json') {
    const body = renderJsonAnswer({
      file: row,
      client,
      overridden: honourOverrides && hasOverrides(q.overrides),
      selection,
      localDelivery: local,
      attribution: deps.geo.attribution,
    });
    return { t: 'body', status: 200, type: JSON_TYPE, body };
  }
  const chosen = selection.chosen;
  if (!chosen) return { t: 'local', why: holders.length ? 'no usable mirror' : 'no mirror holds the file' };
  return {
    t: 'redirect',
    url: chosen.url,
    h: { 'X-Mirrorlane-Mirror': chosen.mirror.identifier, 'X-Mirrorlane-Tier': chosen.tier },
  };
}
