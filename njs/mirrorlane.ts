// The nginx side of Mirrorlane when the sidecar cannot answer. nginx proxies every download to the sidecar, which
// answers the client itself; when it is down, too slow or sends something nginx cannot read, nginx lands in the
// @mirrorlane_fallback location and this handler answers anyway: a fallback mirror or the origin, never a 5xx.
// Written in the subset njs 0.7.9 runs (see DESIGN.md, Conventions); eslint enforces it. Module state does not
// survive between requests, so nothing is cached here.

import originRule from './origin-rule';

const MAX_PATH_BYTES = 1024;
const ORIGIN_LOCATION = '/_mirrorlane/origin';

/** Why a path must be refused with 400, or '' when it is fine. r.uri is already decoded and normalised by nginx. */
function pathProblem(uri: string, prefix: string): string {
  if (uri.length > MAX_PATH_BYTES) return 'path too long';
  if (uri.indexOf(prefix) !== 0) return 'path outside the published tree';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(uri)) return 'control character in path';
  const segments = uri.split('/');
  for (let i = 0; i < segments.length; i++) {
    if (segments[i] === '..' || segments[i] === '.') return 'dot segment in path';
  }
  // internalRedirect splits at '?', so such a name could not be delivered locally.
  if (uri.indexOf('?') >= 0) return 'question mark in path';
  try {
    encodeURIComponent(uri);
  } catch (e) {
    return 'path is not valid UTF-8';
  }
  return '';
}

/** A redirect target must be an absolute http(s) URL with nothing that could split a header. */
function safeUrl(url: string | undefined): boolean {
  if (typeof url !== 'string' || url.length > 8192) return false;
  if (url.indexOf('http://') !== 0 && url.indexOf('https://') !== 0) return false;
  // eslint-disable-next-line no-control-regex
  return !/[\x00-\x20\x7f]/.test(url);
}

/** Serve from the origin only what the origin rule allows (njs/origin-rule.ts); the rest is not there. */
function deliverLocally(r: NginxHTTPRequest, relPath: string): void {
  const target = originRule.resolve(r.variables.mirrorlane_root || '', relPath);
  if (target.kind === 'file') {
    r.internalRedirect(ORIGIN_LOCATION + target.real);
  } else if (target.kind === 'dir') {
    // As the sidecar does: a directory is listed under its name with the slash.
    r.return(301, encodePath(r.uri) + '/');
  } else {
    refuse(r, 404, 'Not found\n');
  }
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

function refuse(r: NginxHTTPRequest, status: number, message: string): void {
  r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
  r.return(status, message);
}

/** Why the sidecar did not answer, from the status nginx got (or made) for the proxied request. */
function reason(upstreamStatus: string): string {
  const last = upstreamStatus.split(/[,:] */).pop() || '';
  if (last === '502' || last === '') return 'sidecar unreachable or unreadable (502)';
  if (last === '504') return 'sidecar too slow (504)';
  return 'sidecar answered ' + last;
}

function handleFallback(r: NginxHTTPRequest): void {
  if (r.method !== 'GET' && r.method !== 'HEAD') {
    r.headersOut['Allow'] = 'GET, HEAD';
    refuse(r, 405, 'Method not allowed: use GET or HEAD\n');
    return;
  }
  const prefix = r.variables.mirrorlane_prefix || '/';
  const uri = r.uri;
  const problem = pathProblem(uri, prefix);
  if (problem) {
    refuse(r, 400, 'Bad request: ' + problem + '\n');
    return;
  }
  fallback(r, '/' + uri.slice(prefix.length), reason(r.variables.upstream_status || ''));
}

export default { fallback: handleFallback };
