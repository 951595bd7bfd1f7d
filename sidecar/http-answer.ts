// A decision as the answer to njs's subrequest, in the form cheapest for njs to turn into the client's. Pure.
//
// The answer is already the client's: status and header lines (302 with Location, one line per Link, Digest), or a
// body with its type and status; njs copies them (njs/mirrorlane.ts). No JSON to parse on the redirect path. Local
// delivery is a 200 whose X-Ml-Local line names the file to serve (encoded; the real file when a symlink led to it,
// since nginx follows no symlink below the root) and carries the headers the client gets: njs sets them and
// redirects internally to the origin location.
// With nginx.mode "proxy" nginx relays the answer as it is instead, and local delivery is X-Accel-Redirect, which
// keeps almost none of the sidecar's headers: they come as X-Ml-* lines that the origin location adds back.
import { encodePath } from '../core/urls.ts';
import contract from '../njs/contract.ts';
import type { Decision } from './decide.ts';
import type { HeaderMap } from './link-headers.ts';

const { LOCAL_MARK, ORIGIN_LOCATION, TEXT_TYPE } = contract;

/** Who turns the answer into the client's (nginx.mode): the njs handler, or nginx's proxy_pass relaying it. */
export type AnswerMode = 'njs' | 'proxy';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | number>;
  body: string | Buffer;
}

/** What a locally delivered file carries of a decision's headers (the tier and the like stay on redirects). */
const LOCAL_HEADERS = ['Content-Location', 'X-Mirrorlane-Mirror', 'Link', 'Digest', 'Repr-Digest'];

function localHeaders(h: HeaderMap | undefined, file: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { [LOCAL_MARK]: encodePath(file) };
  if (!h) return out;
  for (const name of LOCAL_HEADERS) if (h[name] !== undefined) out[name] = h[name];
  return out;
}

/** proxy mode: X-Accel-Redirect, and the headers renamed for the origin location to add back. */
function accelHeaders(h: HeaderMap | undefined, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of LOCAL_HEADERS) {
    const v = h?.[name];
    // nginx 1.22 reads only the first of several upstream lines into a variable: one comma-joined line (RFC 8288).
    if (v !== undefined) out[`X-Ml-${name === 'X-Mirrorlane-Mirror' ? 'Mirror' : name}`] = Array.isArray(v) ? v.join(', ') : v;
  }
  out['X-Accel-Redirect'] = ORIGIN_LOCATION + encodePath(path);
  return out;
}

/** `path` is the origin path (decoded) the decision is about. */
export function httpAnswer(d: Decision, path: string, mode: AnswerMode = 'njs'): HttpAnswer {
  switch (d.t) {
    case 'redirect':
      return { status: 302, headers: { ...d.h, Location: d.url }, body: '' };
    case 'local':
      // d.p: the real file's path when a symlink led to it.
      return { status: 200, headers: mode === 'proxy' ? accelHeaders(d.h, d.p ?? path) : localHeaders(d.h, d.p ?? path), body: '' };
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
