// Listing a mirror over HTTP(S) by crawling its directory indexes with fetch (Node's undici).
//
// Staying on the mirror: only links to a direct child of the page's directory are followed or taken as files
// (same scheme, host and port; "../", "/", other hosts, query-string sort links and anything deeper or elsewhere
// are ignored), so the crawl can neither leave the base URL nor meet a directory twice. A directory whose request
// is redirected off the base URL is an error.
//
// Bounded: `concurrency` pages in flight, a timeout per request, a size cap per page, at most `maxDepth` levels
// (deeper directories are skipped: symlink loops) and at most `maxFiles` files and `maxDirectories` pages; going
// over a bound is an error, never a truncated listing. So is any failed page, except a 404 of a subdirectory
// (removed while we crawled: the mirror does not have it).
//
// HTML indexes are coarse: refine.ts sends a HEAD for every entry that may be a current copy and takes the exact
// Content-Length and Last-Modified from it. JSON and XML indexes are exact and need none.
import type { OutdatedRule } from '../file-currency.ts';
import { parseIndexPage, type IndexFormat } from './http-index.ts';
import { refineListing, type ExactValues, type OriginLookup, type RoughFile } from './refine.ts';
import type { ListedFile } from './types.ts';

export class HttpListError extends Error {}

export interface HttpCrawlOptions {
  /** Origin path of the directory to crawl ("/pub/iso"); "" or undefined for everything. */
  subtree?: string;
  requestTimeoutMs: number;
  signal?: AbortSignal;
  concurrency?: number;
  maxFiles?: number;
  maxDirectories?: number;
  maxDepth?: number;
  maxPageBytes?: number;
  userAgent?: string;
}

export interface HttpCrawl {
  files: RoughFile[];
  /** Origin path → absolute URL the file was found at. */
  urls: Map<string, string>;
  directories: number;
  /** Directories not crawled: deeper than maxDepth, or gone (404) by the time we asked. */
  skippedDirectories: number;
  formats: Set<IndexFormat>;
}

interface Dir {
  url: URL;
  /** Origin path segments (decoded). */
  segments: string[];
}

const USER_AGENT = 'Mirrorlane-scan/0.1';

/** The directory URL as a URL object with a trailing slash. */
function dirUrl(base: string, segments: string[]): URL {
  const u = new URL(base);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  u.search = '';
  u.hash = '';
  for (const s of segments) u.pathname += `${encodeURIComponent(s)}/`;
  return u;
}

/**
 * The name of the direct child of `dir` that `href` points to, with whether it is a directory; null for anything
 * else (parent, self, other hosts, deeper paths, queries, names that decode to "/" or NUL).
 */
export function childOf(dir: URL, href: string): { name: string; dir: boolean } | null {
  let u: URL;
  try {
    u = new URL(href, dir);
  } catch {
    return null;
  }
  if (u.origin !== dir.origin || u.protocol !== dir.protocol || u.search || u.username || u.password) return null;
  if (!u.pathname.startsWith(dir.pathname)) return null;
  let rest = u.pathname.slice(dir.pathname.length);
  const isDir = rest.endsWith('/');
  if (isDir) rest = rest.slice(0, -1);
  if (rest === '' || rest.includes('/')) return null;
  let name: string;
  try {
    name = decodeURIComponent(rest);
  } catch {
    return null;
  }
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return null;
  return { name, dir: isDir };
}

async function readLimited(res: Response, max: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) throw new HttpListError(`${what}: page of ${declared} bytes is over the ${max} byte limit`);
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > max) throw new HttpListError(`${what}: page over the ${max} byte limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(e: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const r = signal.reason as Error | undefined;
    return r?.name === 'TimeoutError' ? 'timed out' : (r?.message ?? 'aborted');
  }
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return 'request timed out';
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}

/** Crawl the indexes under `baseUrl` (+ subtree). Throws on any failure or exceeded bound. */
export async function crawlHttpIndex(baseUrl: string, opts: HttpCrawlOptions): Promise<HttpCrawl> {
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const maxFiles = opts.maxFiles ?? 5_000_000;
  const maxDirectories = opts.maxDirectories ?? 500_000;
  const maxDepth = opts.maxDepth ?? 64;
  const maxPageBytes = opts.maxPageBytes ?? 64 << 20;
  const base = new URL(baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new HttpListError(`not an http(s) URL: ${baseUrl}`);
  const basePath = dirUrl(baseUrl, []).pathname;
  const subSegments = (opts.subtree ?? '').split('/').filter((s) => s !== '');
  // One failure stops every request in flight.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;

  const out: HttpCrawl = { files: [], urls: new Map(), directories: 0, skippedDirectories: 0, formats: new Set() };
  const seen = new Set<string>();

  const visit = async (d: Dir, push: (d: Dir) => void) => {
    const what = `${d.url.href}`;
    let res: Response;
    try {
      res = await fetch(d.url, {
        headers: { 'user-agent': opts.userAgent ?? USER_AGENT, accept: 'application/json, text/xml, text/html;q=0.9, */*;q=0.1' },
        redirect: 'follow',
        signal: AbortSignal.any([signal, AbortSignal.timeout(opts.requestTimeoutMs)]),
      });
    } catch (e) {
      throw new HttpListError(`${what}: ${describeFetchError(e, signal)}`);
    }
    const final = new URL(res.url || d.url.href);
    if (final.origin !== base.origin || !final.pathname.startsWith(basePath)) {
      await res.body?.cancel().catch(() => {});
      throw new HttpListError(`${what}: redirected off the mirror's base URL to ${final.href}`);
    }
    if (res.status === 404 && d.segments.length > subSegments.length) {
      await res.body?.cancel().catch(() => {});
      out.skippedDirectories++;
      return;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new HttpListError(`${what}: HTTP ${res.status} ${res.statusText}`.trim());
    }
    let body: string;
    try {
      body = await readLimited(res, maxPageBytes, what);
    } catch (e) {
      if (e instanceof HttpListError) throw e;
      throw new HttpListError(`${what}: ${describeFetchError(e, signal)}`);
    }
    let page: ReturnType<typeof parseIndexPage>;
    try {
      page = parseIndexPage(body, res.headers.get('content-type'));
    } catch (e) {
      throw new HttpListError(`${what}: ${(e as Error).message}`);
    }
    out.formats.add(page.format);
    out.directories++;
    // Links resolve against where the page really is (a redirect may have added the slash).
    const pageDir = new URL(final.href);
    if (!pageDir.pathname.endsWith('/')) pageDir.pathname += '/';
    pageDir.search = '';
    for (const e of page.entries) {
      const child = childOf(pageDir, e.href);
      if (!child) continue;
      const segments = [...d.segments, child.name];
      if (child.dir || e.dir) {
        if (segments.length > maxDepth) {
          out.skippedDirectories++;
          continue;
        }
        push({ url: dirUrl(baseUrl, segments), segments });
        continue;
      }
      const path = `/${segments.join('/')}`;
      if (out.urls.has(path)) continue;
      out.urls.set(path, new URL(e.href, pageDir).href);
      out.files.push({
        path,
        size: e.size ?? NaN,
        sizeSlack: e.size === null ? Infinity : e.sizeSlack,
        mtime: e.mtime ?? NaN,
        mtimeSpan: e.mtime === null ? Infinity : e.mtimeSpan,
      });
      if (out.files.length > maxFiles) throw new HttpListError(`more than ${maxFiles} files under ${baseUrl}: listing refused`);
    }
  };

  const queue: Dir[] = [];
  const push = (d: Dir) => {
    if (seen.has(d.url.pathname)) return;
    seen.add(d.url.pathname);
    if (seen.size > maxDirectories) throw new HttpListError(`more than ${maxDirectories} directories under ${baseUrl}: listing refused`);
    queue.push(d);
  };
  push({ url: dirUrl(baseUrl, subSegments), segments: subSegments });

  await new Promise<void>((resolve, reject) => {
    let active = 0;
    let failed = false;
    const pump = () => {
      if (failed) return;
      while (active < concurrency && queue.length) {
        const d = queue.shift()!;
        active++;
        visit(d, push).then(
          () => {
            active--;
            pump();
          },
          (e) => {
            if (failed) return;
            failed = true;
            stop.abort(e);
            reject(e);
          },
        );
      }
      if (!failed && active === 0 && queue.length === 0) resolve();
    };
    pump();
  });
  return out;
}

export interface HttpListOptions extends HttpCrawlOptions {
  origin: OriginLookup;
  rules: readonly OutdatedRule[];
}

export interface HttpListing {
  files: ListedFile[];
  directories: number;
  /** HEAD requests sent to learn exact values. */
  head: number;
  formats: IndexFormat[];
}

/**
 * HEAD of one file: exact size and mtime; null when the mirror does not serve it there (404, 410, a redirect,
 * 401/403). Server errors and network failures throw.
 */
export async function headFile(url: string, timeoutMs: number, signal?: AbortSignal, userAgent = USER_AGENT): Promise<ExactValues> {
  const sig = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { method: 'HEAD', redirect: 'manual', headers: { 'user-agent': userAgent }, signal: sig });
  } catch (e) {
    throw new HttpListError(`HEAD ${url}: ${describeFetchError(e, sig)}`);
  }
  await res.body?.cancel().catch(() => {});
  if ([301, 302, 303, 307, 308, 401, 403, 404, 410].includes(res.status)) return null;
  if (!res.ok) throw new HttpListError(`HEAD ${url}: HTTP ${res.status}`);
  const length = res.headers.get('content-length');
  const modified = res.headers.get('last-modified');
  const size = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  const mtime = modified ? Date.parse(modified) / 1000 : NaN;
  return { size, mtime: Number.isNaN(mtime) ? undefined : mtime };
}

/** Crawl, then make coarse entries exact where it matters (see refine.ts). Throws on any failure. */
export async function listHttp(baseUrl: string, opts: HttpListOptions): Promise<HttpListing> {
  const crawl = await crawlHttpIndex(baseUrl, opts);
  let head = 0;
  const refined = await refineListing(crawl.files, {
    origin: opts.origin,
    rules: opts.rules,
    concurrency: opts.concurrency ?? 4,
    signal: opts.signal,
    resolve: async (path) => {
      head++;
      return headFile(crawl.urls.get(path)!, opts.requestTimeoutMs, opts.signal, opts.userAgent);
    },
  });
  return { files: refined.files, directories: crawl.directories, head, formats: [...crawl.formats] };
}
