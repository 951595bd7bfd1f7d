// One mirror's health checks over the protocols clients are sent to (http, https): a HEAD of the base URL, a HEAD
// of a small file the file table says it holds, and a GET of the trace file. I/O only: it records what each
// request answered; what that means for the mirror's health is decided in state.ts.
//
// FTP is not probed: redirects only ever point at http and https URLs (core/urls.ts baseUrlFor), so an FTP
// outage does not hurt a client; the scanner reports a broken FTP listing in scan_error.
import http from 'node:http';
import https from 'node:https';
import { mirrorFileUrl } from '../urls.ts';
import type { Mirror } from '../types.ts';
import { judgeBase } from './state.ts';
import type { MirrorCheck, ProbeResponse, ProbeTarget, ProtocolCheck, Step } from './types.ts';

export interface CheckOptions {
  timeoutMs: number;
  userAgent: string;
  /** Follow redirects (up to MAX_REDIRECTS) instead of stopping at the first one. */
  followRedirects: boolean;
  signal?: AbortSignal;
  /** Trusted CA certificates for https (the system's plus probe.caFile); default: Node's. */
  ca?: string[];
  /** Connect over this IP family only (the IPv6 capability check). */
  family?: 4 | 6;
  /** Name lookup (dns.lookup's signature); tests map names to loopback addresses. */
  lookup?: http.RequestOptions['lookup'];
}

export const MAX_REDIRECTS = 5;
/** A trace file is one timestamp and a few lines of details: more is not read. */
const MAX_BODY = 4096;

const TLS_REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'TLS: certificate expired',
  CERT_NOT_YET_VALID: 'TLS: certificate not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: untrusted certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: untrusted certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: untrusted certificate',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate does not name the host',
};

const NET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'timeout',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
};

/** A short, stable reason for a failed request: it becomes health_reason, so no addresses or ports in it. */
export function describeRequestError(e: unknown): string {
  const err = e as { code?: string; name?: string; message?: string };
  const code = err?.code ?? '';
  if (err?.name === 'TimeoutError') return 'timeout';
  if (err?.name === 'AbortError') return 'aborted';
  if (NET_REASONS[code]) return NET_REASONS[code];
  if (TLS_REASONS[code]) return TLS_REASONS[code];
  if (/^ERR_SSL_|^ERR_TLS_|CERT/.test(code)) return `TLS: ${code}`;
  if (code.startsWith('HPE_')) return 'bad HTTP response';
  if (err?.message === 'socket hang up') return 'connection closed without an answer';
  return code || err?.message || String(e);
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * One request on a fresh connection (no keep-alive pool: the probe asks whether the mirror accepts connections
 * now). The timeout covers connecting, the answer's headers and, for GET, reading the body.
 */
export function request(url: string, method: 'HEAD' | 'GET', opts: CheckOptions): Promise<ProbeResponse> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: ProbeResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(a);
    };
    const fail = (e: unknown) => finish({ kind: 'error', error: describeRequestError(e), ms: ms() });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ kind: 'error', error: 'bad URL', ms: 0 });
      return;
    }
    const lib = target.protocol === 'https:' ? https : http;
    const req = lib.request(target, {
      method,
      agent: false,
      headers: { 'User-Agent': opts.userAgent, Accept: '*/*', Connection: 'close' },
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.family ? { family: opts.family } : {}),
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
    });
    const timer = setTimeout(() => fail(named('TimeoutError', 'timeout')), opts.timeoutMs);
    const onAbort = () => fail(named('AbortError', 'aborted'));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.on('response', (res) => {
      const length = Number(res.headers['content-length']);
      const location = res.headers.location ? resolveLocation(res.headers.location, url) : null;
      const answer = (body: string | null): ProbeResponse => ({
        kind: 'response',
        status: res.statusCode ?? 0,
        location,
        contentLength: res.headers['content-length'] !== undefined && Number.isSafeInteger(length) ? length : null,
        body,
        ms: ms(),
      });
      if (method === 'HEAD' || (res.statusCode ?? 0) >= 300) {
        res.resume();
        finish(answer(null));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        if (size >= MAX_BODY) finish(answer(Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8')));
      });
      res.on('end', () => finish(answer(Buffer.concat(chunks).toString('utf8'))));
      res.on('error', fail);
    });
    req.end();
  });
}

function resolveLocation(location: string, base: string): string {
  try {
    return new URL(location, base).href;
  } catch {
    return location;
  }
}

const isRedirect = (a: ProbeResponse) => a.kind === 'response' && a.status >= 300 && a.status < 400 && a.location !== null;

/** A request that follows redirects to http(s) URLs when allowed; otherwise stops at the redirect. */
export async function step(url: string, method: 'HEAD' | 'GET', opts: CheckOptions): Promise<Step> {
  const redirects: string[] = [];
  let answer = await request(url, method, opts);
  while (opts.followRedirects && isRedirect(answer) && redirects.length < MAX_REDIRECTS) {
    const next = (answer as { location: string }).location;
    if (!/^https?:/i.test(next)) break;
    redirects.push(next);
    answer = await request(next, method, opts);
  }
  return { url, answer, redirects };
}

/** Base URL with a trailing slash: without it a server answers with a redirect to the directory. */
function dirUrl(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}

/**
 * Check one mirror. Protocols are checked one after the other (a mirror is one server, usually: no need to hit it
 * twice at once). When the base URL fails nothing more is asked over that protocol: the verdict is made, and the
 * other requests would fail the same way and multiply the time a dead mirror costs.
 */
export async function checkMirror(
  mirror: Pick<Mirror, 'id' | 'identifier' | 'httpUrl' | 'httpsUrl'>,
  file: ProbeTarget | null,
  trace: { path: string; originS: number } | null,
  opts: CheckOptions,
): Promise<MirrorCheck> {
  const started = performance.now();
  const protocols: ProtocolCheck[] = [];
  let traceChecked = false;
  for (const [scheme, base] of [['http', mirror.httpUrl], ['https', mirror.httpsUrl]] as const) {
    if (!base) continue;
    const baseStep = await step(dirUrl(base), 'HEAD', opts);
    const check: ProtocolCheck = { scheme, base: baseStep, file: null, trace: null };
    protocols.push(check);
    if (judgeBase(baseStep)) continue;
    if (file) check.file = await step(mirrorFileUrl(base, file.path), 'HEAD', opts);
    // The trace is the same file behind every scheme: one reading is enough.
    if (trace && !traceChecked) {
      traceChecked = true;
      check.trace = await step(mirrorFileUrl(base, trace.path), 'GET', opts);
    }
  }
  return {
    mirrorId: mirror.id,
    identifier: mirror.identifier,
    protocols,
    file,
    trace: traceChecked ? trace : null,
    ms: Math.round(performance.now() - started),
  };
}
