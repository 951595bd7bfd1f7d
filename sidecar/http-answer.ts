// A decision as the HTTP answer nginx passes on to the client. Pure.
//
// nginx proxies each download to the sidecar and relays this answer as it is: a 302 with its Location, Link and
// Digest lines, a body, or X-Accel-Redirect for local delivery, which nginx turns into an internal redirect to
// the origin location (and which copies almost none of our headers: the origin location re-adds the X-Ml-* ones).
import { encodePath } from '../core/urls.ts';
import type { Decision } from './decide.ts';
import type { HeaderMap } from './link-headers.ts';

/** The internal nginx location that serves the origin tree (nginx/server.conf). */
export const ORIGIN_LOCATION = '/_mirrorlane/origin';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | number>;
  body: string | Buffer;
}

const TEXT_TYPE = 'text/plain; charset=utf-8';

/** Headers of a local answer, renamed for the origin location to re-add (X-Accel-Redirect drops the originals). */
function localHeaders(h: HeaderMap | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  const names: Record<string, string> = {
    'Content-Location': 'X-Ml-Content-Location',
    'X-Mirrorlane-Mirror': 'X-Ml-Mirror',
    Digest: 'X-Ml-Digest',
    'Repr-Digest': 'X-Ml-Repr-Digest',
    // nginx 1.22 reads only the first of several upstream lines into a variable: one comma-joined line (RFC 8288).
    Link: 'X-Ml-Link',
  };
  for (const [name, value] of Object.entries(h)) {
    const to = names[name];
    if (to) out[to] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** `path` is the origin path (decoded) the decision is about. */
export function httpAnswer(d: Decision, path: string): HttpAnswer {
  switch (d.t) {
    case 'redirect':
      return { status: 302, headers: { ...d.h, Location: d.url }, body: '' };
    case 'local':
      // The real file's path when a symlink led to it: nginx serves the origin without following links.
      return { status: 200, headers: { ...localHeaders(d.h), 'X-Accel-Redirect': ORIGIN_LOCATION + encodePath(d.p ?? path) }, body: '' };
    case 'dir':
      return { status: 301, headers: { Location: d.url, 'Content-Type': TEXT_TYPE }, body: '' };
    case 'notfound':
      // The page repeats the path: never let a browser read it as anything but text.
      return { status: 404, headers: { 'Content-Type': TEXT_TYPE, 'X-Content-Type-Options': 'nosniff' }, body: `Not found: ${path}\n` };
    case 'body':
    case 'bytes':
      return { status: d.status, headers: { ...d.h, 'Content-Type': d.type }, body: d.body };
  }
}

/** A refusal with a one-line reason. */
export function textAnswer(status: number, message: string, extra: Record<string, string> = {}): HttpAnswer {
  return { status, headers: { 'Content-Type': TEXT_TYPE, 'X-Content-Type-Options': 'nosniff', ...extra }, body: message };
}
