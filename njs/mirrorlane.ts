// The nginx side of Mirrorlane: validate the request, ask the sidecar once, turn its decision into the answer.
// Written in the subset njs 0.7.9 runs (see DESIGN.md, Conventions); eslint enforces it. Module state does not
// survive between requests, so nothing is cached here.

const MAX_PATH_BYTES = 1024;
const DECIDE_LOCATION = '/_mirrorlane/decide';
const ORIGIN_LOCATION = '/_mirrorlane/origin';
// What goes to the sidecar must fit Node's 16 KB limit on request line plus headers (beyond it Node answers 431
// and every such request would fall back). nginx alone allows 8 KB per header line and 32 KB in all.
const MAX_SIDECAR_ARGS = 6144;
const MAX_FORWARDED_HEADER_BYTES = 8192;
const FORWARDED_HEADERS = ['http_user_agent', 'http_range', 'http_accept', 'http_host'];

interface Decision {
  t: string; // redirect | local | dir | notfound | body
  url?: string;
  status?: number;
  type?: string;
  body?: string;
  h?: { [name: string]: string | string[] };
  why?: string;
}

/** Why a path must be refused with 400, or '' when it is fine. r.uri is already decoded and normalised by nginx. */
function pathProblem(uri: string, prefix: string): string {
  if (uri.length > MAX_PATH_BYTES) return 'path too long';
  if (uri.indexOf(prefix) !== 0) return 'path outside the published tree';
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'control character in path';
  }
  const segments = uri.split('/');
  for (let i = 0; i < segments.length; i++) {
    if (segments[i] === '..' || segments[i] === '.') return 'dot segment in path';
  }
  // internalRedirect splits at '?', so such a name could not be delivered locally.
  if (uri.indexOf('?') >= 0) return 'question mark in path';
  return '';
}

function encodeOrEmpty(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch (e) {
    return ''; // invalid UTF-8
  }
}

/** A redirect target must be an absolute http(s) URL with nothing that could split a header. */
function safeUrl(url: string | undefined): boolean {
  if (typeof url !== 'string' || url.length > 8192) return false;
  if (url.indexOf('http://') !== 0 && url.indexOf('https://') !== 0) return false;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return true;
}

function safeHeaderValue(v: unknown): boolean {
  if (typeof v !== 'string' || v.length > 16384) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** Copy the decision's headers; an array becomes several header lines (aria2 reads one Link per line). */
function setHeaders(r: NginxHTTPRequest, h: { [name: string]: string | string[] } | undefined): void {
  if (!h) return;
  const names = Object.keys(h);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (!/^[A-Za-z0-9-]{1,64}$/.test(name)) continue;
    const value = h[name];
    if (Array.isArray(value)) {
      const safe: string[] = [];
      for (let j = 0; j < value.length && j < 32; j++) if (safeHeaderValue(value[j])) safe.push(value[j]);
      if (safe.length) r.headersOut[name] = safe;
    } else if (safeHeaderValue(value)) {
      r.headersOut[name] = value;
    }
  }
}

function deliverLocally(r: NginxHTTPRequest, relPath: string): void {
  r.internalRedirect(ORIGIN_LOCATION + relPath);
}

/** Percent-encode each segment of a path for a URL (njs 0.7.9 has no URL class). */
function encodePath(relPath: string): string {
  const segments = relPath.split('/');
  for (let i = 0; i < segments.length; i++) segments[i] = encodeURIComponent(segments[i]);
  return segments.join('/');
}

/**
 * A fallback mirror for when the sidecar cannot answer: from "CC,CONTINENT,URL ..." pick one in the client's
 * country, else its continent (when nginx knows them), else any; at random among equals. '' when none is set.
 */
function pickFallback(list: string, country: string, continent: string): string {
  if (!list) return '';
  const entries = list.split(' ');
  const byCountry: string[] = [];
  const byContinent: string[] = [];
  const all: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const parts = entries[i].split(',');
    if (parts.length < 3) continue;
    const url = parts.slice(2).join(',');
    all.push(url);
    if (country && parts[0] === country.toUpperCase()) byCountry.push(url);
    if (continent && parts[1] === continent.toUpperCase()) byContinent.push(url);
  }
  const pool = byCountry.length ? byCountry : byContinent.length ? byContinent : all;
  return pool.length ? pool[Math.floor(Math.random() * pool.length)] : '';
}

function fallback(r: NginxHTTPRequest, relPath: string, why: string): void {
  const v = r.variables;
  const base = pickFallback(v.mirrorlane_fallback || '', v.mirrorlane_country || '', v.mirrorlane_continent || '');
  if (base) {
    const url = base.replace(/\/+$/, '') + encodePath(relPath);
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

function answer(r: NginxHTTPRequest, relPath: string, d: Decision): void {
  if (d.t === 'redirect') {
    if (!safeUrl(d.url)) {
      fallback(r, relPath, 'sidecar sent an unusable URL');
      return;
    }
    setHeaders(r, d.h);
    r.return(302, d.url as string);
  } else if (d.t === 'local') {
    // Headers set before the internal redirect stay on the answer (Content-Location in self-serving mode).
    setHeaders(r, d.h);
    deliverLocally(r, relPath);
  } else if (d.t === 'dir') {
    // Ask for the trailing slash ourselves: nginx would otherwise redirect to the internal location's name.
    const args = r.variables.args;
    r.return(301, r.uri + '/' + (args ? '?' + args : ''));
  } else if (d.t === 'notfound') {
    r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
    // The page repeats the path: never let a browser read it as anything but text.
    r.headersOut['X-Content-Type-Options'] = 'nosniff';
    r.return(404, 'Not found: ' + relPath + '\n');
  } else if (d.t === 'body' && typeof d.body === 'string') {
    setHeaders(r, d.h);
    r.headersOut['Content-Type'] = typeof d.type === 'string' && safeHeaderValue(d.type) ? d.type : 'text/plain';
    const status = typeof d.status === 'number' && d.status >= 200 && d.status < 500 ? d.status : 200;
    r.return(status, d.body);
  } else {
    fallback(r, relPath, 'sidecar sent an unknown decision');
  }
}

/** Bytes of the client's headers that server.conf forwards to the sidecar (X-Ml-User-Agent and the others). */
function forwardedHeaderBytes(r: NginxHTTPRequest): number {
  let n = 0;
  for (let i = 0; i < FORWARDED_HEADERS.length; i++) {
    const v = r.rawVariables[FORWARDED_HEADERS[i]];
    if (v) n += v.length;
  }
  return n;
}

function refuse(r: NginxHTTPRequest, status: number, message: string): void {
  r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
  r.return(status, message);
}

function handle(r: NginxHTTPRequest): void {
  if (r.method !== 'GET' && r.method !== 'HEAD') {
    r.headersOut['Allow'] = 'GET, HEAD';
    r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
    r.return(405, 'Method not allowed: use GET or HEAD\n');
    return;
  }
  const prefix = r.variables.mirrorlane_prefix || '/';
  const uri = r.uri;
  const problem = pathProblem(uri, prefix);
  if (problem) {
    r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
    r.return(400, 'Bad request: ' + problem + '\n');
    return;
  }
  const relPath = '/' + uri.slice(prefix.length);
  const encoded = encodeOrEmpty(relPath);
  if (!encoded) {
    r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
    r.return(400, 'Bad request: path is not valid UTF-8\n');
    return;
  }
  // The query string goes along whole: the sidecar parses it (overrides, formats).
  const args = 'p=' + encoded + '&q=' + encodeOrEmpty(r.variables.args || '');
  if (args.length > MAX_SIDECAR_ARGS) {
    refuse(r, 414, 'Bad request: query string too long\n');
    return;
  }
  if (forwardedHeaderBytes(r) > MAX_FORWARDED_HEADER_BYTES) {
    refuse(r, 431, 'Bad request: User-Agent, Accept, Range and Host together are too long\n');
    return;
  }
  r.subrequest(DECIDE_LOCATION, { args: args, method: 'GET' }, function (reply: NginxHTTPRequest) {
    if (reply.status !== 200) {
      fallback(r, relPath, 'sidecar answered ' + reply.status);
      return;
    }
    let d: Decision;
    try {
      d = JSON.parse(reply.responseText || '');
    } catch (e) {
      fallback(r, relPath, 'sidecar answer is not JSON');
      return;
    }
    if (!d || typeof d.t !== 'string') {
      fallback(r, relPath, 'sidecar answer has no decision');
      return;
    }
    answer(r, relPath, d);
  });
}

export default { handle: handle };
