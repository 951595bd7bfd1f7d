// The nginx side of Mirrorlane, on every download: validate the path, ask the sidecar with ONE subrequest, turn its
// answer into the client's response. The sidecar answers in the form cheapest to copy (sidecar/http-answer.ts):
// the client's status and headers as they are, so a redirect is a status check and a header copy, no JSON parse.
// When the sidecar is down, too slow or answers garbage, the same handler falls back at once: a fallback mirror
// or the origin, never a 5xx.
// Written in the subset njs 0.7.9 runs (see docs/CONVENTIONS.md); eslint enforces it. Module state does not
// survive between requests, so nothing is cached here.
import contract from './contract';
import pickFallback from './fallback-pick';
import originRule from './origin-rule';
import pathRule from './path-rule';
import urlPath from './url-path';


// Header lines of the sidecar's answer that are about that answer, not the client's: never copied. Node sends
// the names as the sidecar writes them, so exact names suffice (no lower-casing per header).
const NOT_COPIED: { [name: string]: boolean } = {
  'Content-Length': true,
  'Content-Type': true,
  Connection: true,
  'Keep-Alive': true,
  'Transfer-Encoding': true,
  Date: true,
  Location: true,
  // contract.LOCAL_MARK
  'X-Ml-Local': true,
};

/** A redirect target must be an absolute http(s) URL with nothing that could split a header. */
function safeUrl(url: string | undefined): boolean {
  if (typeof url !== 'string' || url.length > 8192) return false;
  if (url.indexOf('http://') !== 0 && url.indexOf('https://') !== 0) return false;
  // eslint-disable-next-line no-control-regex
  return !/[\x00-\x20\x7f]/.test(url);
}

/**
 * When the sidecar cannot say what may be served: only what the origin rule allows (njs/origin-rule.ts), by its
 * real path, since nginx follows no symlink below the root; the rest is not there.
 */
function deliverLocally(r: NginxHTTPRequest, relPath: string): void {
  const target = originRule.resolve(r.variables.mirrorlane_root || '', relPath);
  if (target.kind === 'file') {
    // Encoded: internalRedirect decodes %XX (since njs 0.7.4), which would change a name with a literal "%".
    r.internalRedirect(contract.ORIGIN_LOCATION + urlPath.encodePath(target.real));
  } else if (target.kind === 'dir') {
    // As the sidecar does: a directory is listed under its name with the slash.
    r.return(301, urlPath.encodePath(r.uri) + '/');
  } else {
    refuse(r, 404, 'Not found\n');
  }
}

function fallback(r: NginxHTTPRequest, relPath: string, why: string): void {
  const v = r.variables;
  const base = pickFallback.pick(v.mirrorlane_fallback || '', v.mirrorlane_country || '', v.mirrorlane_continent || '');
  if (base) {
    const url = base.replace(/\/+$/, '') + urlPath.encodePath(relPath);
    if (safeUrl(url)) {
      r.warn('mirrorlane: ' + why + '; redirecting ' + relPath + ' to fallback ' + base);
      r.headersOut['X-Mirrorlane-Fallback'] = why;
      r.return(302, url);
      return;
    }
  }
  r.warn('mirrorlane: ' + why + '; delivering ' + relPath + ' locally');
  deliverLocally(r, relPath);
}

function refuse(r: NginxHTTPRequest, status: number, message: string): void {
  r.headersOut['Content-Type'] = contract.TEXT_TYPE;
  r.return(status, message);
}

/**
 * Copy the sidecar's header lines to the client's answer, in order; several lines of one name (Link) stay
 * separate lines (aria2 reads one link per line). rawHeadersOut keeps them apart where headersOut would not.
 */
function copyHeaders(r: NginxHTTPRequest, reply: NginxHTTPRequest): void {
  const raw = reply.rawHeadersOut;
  let links: string[] | null = null;
  for (let i = 0; i < raw.length; i++) {
    const name = raw[i][0] as string;
    if (NOT_COPIED[name]) continue;
    if (name === 'Link') {
      if (links === null) links = [];
      links.push(raw[i][1] as string);
    } else {
      r.headersOut[name] = raw[i][1] as string;
    }
  }
  // Through the index signature: the typings know Link as one string only, njs takes an array as several lines.
  const out: { [name: string]: NjsStringLike | NjsStringLike[] | undefined } = r.headersOut;
  if (links !== null) out['Link'] = links.length === 1 ? links[0] : links;
}

/** Why the sidecar's answer is no answer, from the subrequest's status (nginx's own 502/504 when it failed). */
function reason(status: number): string {
  if (status === 502 || !status) return 'sidecar unreachable or unreadable (502)';
  if (status === 504) return 'sidecar too slow (504)';
  return 'sidecar answered ' + status;
}

/** Turn the sidecar's answer into the client's. */
function answer(r: NginxHTTPRequest, relPath: string, reply: NginxHTTPRequest): void {
  const status = reply.status;
  if (status >= 500 || status < 200) {
    fallback(r, relPath, reason(status));
    return;
  }
  if (status >= 300 && status < 400) {
    // 302 to the chosen mirror (the hot path) or 301 to a directory's URL with its slash.
    const location = reply.headersOut['Location'] as string | undefined;
    if (!safeUrl(location)) {
      fallback(r, relPath, 'sidecar sent an unusable URL');
      return;
    }
    copyHeaders(r, reply);
    r.return(status, location as string);
    return;
  }
  copyHeaders(r, reply);
  const local = reply.headersOut[contract.LOCAL_MARK];
  if (local) {
    // The sidecar names the file, encoded, with the origin rule applied. Headers set before the internal
    // redirect stay on the answer (Content-Location, Link, Digest).
    r.internalRedirect(contract.ORIGIN_LOCATION + (local as string));
    return;
  }
  // A body: mirror list, JSON, Metalink, hashes, apt lists, 404, 400. nginx drops it for a HEAD.
  const type = reply.headersOut['Content-Type'];
  r.headersOut['Content-Type'] = typeof type === 'string' && type ? type : contract.TEXT_TYPE;
  const body = reply.responseBuffer;
  r.return(status, body ? body : '');
}

function handle(r: NginxHTTPRequest): void {
  if (r.method !== 'GET' && r.method !== 'HEAD') {
    r.headersOut['Allow'] = 'GET, HEAD';
    refuse(r, 405, 'Method not allowed: use GET or HEAD\n');
    return;
  }
  const prefix = r.variables.mirrorlane_prefix || '/';
  const uri = r.uri;
  const problem = pathRule.uriProblem(uri, prefix);
  if (problem) {
    refuse(r, 400, 'Bad request: ' + problem + '\n');
    return;
  }
  const relPath = '/' + uri.slice(prefix.length);
  // No arguments: the decide location forwards the client's own request target ($request_uri) and headers.
  r.subrequest(contract.DECIDE_LOCATION, function (reply: NginxHTTPRequest) {
    answer(r, relPath, reply);
  });
}

/**
 * nginx.mode "proxy" only: nginx proxied the download and the sidecar did not answer; nginx lands in the
 * @mirrorlane_fallback location (nginx/download-proxy.conf) and this answers anyway.
 */
function handleFallback(r: NginxHTTPRequest): void {
  if (r.method !== 'GET' && r.method !== 'HEAD') {
    r.headersOut['Allow'] = 'GET, HEAD';
    refuse(r, 405, 'Method not allowed: use GET or HEAD\n');
    return;
  }
  const prefix = r.variables.mirrorlane_prefix || '/';
  const problem = pathRule.uriProblem(r.uri, prefix);
  if (problem) {
    refuse(r, 400, 'Bad request: ' + problem + '\n');
    return;
  }
  // The status nginx got (or made) for the proxied request: "502", or "504, 502" after a second server.
  const last = (r.variables.upstream_status || '').split(/[,:] */).pop() || '';
  fallback(r, '/' + r.uri.slice(prefix.length), reason(Number(last)));
}

export default { handle: handle, fallback: handleFallback };
