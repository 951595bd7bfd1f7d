// One download, decided: file row → candidate mirrors → selection → what nginx should answer.
// All I/O comes in through DecideDeps, so the decision logic is tested without servers.
import type { GeoIp } from '../core/geoip.ts';
import { originPathProblem } from '../core/paths.ts';
import { selectMirrors, type SelectionOptions } from '../core/selection.ts';
import type { FileRow, Mirror, Scheme } from '../core/types.ts';

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
}

export type OriginKind = 'file' | 'dir' | 'none';

export interface DecideDeps {
  /** Cached file row; throws when the database cannot answer. */
  fileRow(path: string): Promise<FileRow | null>;
  mirror(id: number): Mirror | undefined;
  geo: GeoIp;
  /** What the origin tree has at a path the file table does not know. */
  originKind(path: string): Promise<OriginKind>;
  selection: SelectionOptions;
  random: () => number;
}

export async function decide(req: DecideRequest, deps: DecideDeps): Promise<Decision> {
  const problem = originPathProblem(req.path);
  if (problem) return { t: 'body', status: 400, type: 'text/plain; charset=utf-8', body: `Bad request: ${problem}\n` };

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
    return { t: 'notfound' };
  }

  const holders: Mirror[] = [];
  for (const id of row.mirrors) {
    const m = deps.mirror(id);
    if (m) holders.push(m);
  }
  if (holders.length === 0) return { t: 'local', why: 'no mirror holds the file' };

  const params = new URLSearchParams(req.query);
  const scheme: Scheme = req.scheme === 'https' || params.get('https') === '1' ? 'https' : 'http';
  const selection = selectMirrors({
    path: row.path,
    size: row.size,
    holders,
    client: deps.geo.lookup(req.clientIp),
    scheme,
    range: req.range !== '',
    options: deps.selection,
    random: deps.random,
  });
  const chosen = selection.chosen;
  if (!chosen) return { t: 'local', why: 'no usable mirror' };
  return {
    t: 'redirect',
    url: chosen.url,
    h: { 'X-Mirrorlane-Mirror': chosen.mirror.identifier, 'X-Mirrorlane-Tier': chosen.tier },
  };
}
