// A decision as the answer to njs's subrequest, in the form cheapest for njs to turn into the client's. Pure.
//
// The answer is already the client's: status and header lines (302 with Location, one line per Link, Digest), or a
// body with its type and status; njs copies them (njs/mirrorlane.ts). No JSON to parse on the redirect path. Local
// delivery is a 200 marked X-Ml-Local with the headers the client gets: njs sets them and redirects internally to
// the origin location with the path it already has.
import type { Decision } from './decide.ts';
import type { HeaderMap } from './link-headers.ts';

/** The sidecar's mark on an answer that nginx delivers from the origin tree (njs/mirrorlane.ts checks it). */
export const LOCAL_MARK = 'X-Ml-Local';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | number>;
  body: string;
}

const TEXT_TYPE = 'text/plain; charset=utf-8';

/** What a locally delivered file carries of a decision's headers (the tier and the like stay on redirects). */
const LOCAL_HEADERS = ['Content-Location', 'X-Mirrorlane-Mirror', 'Link', 'Digest', 'Repr-Digest'];

function localHeaders(h: HeaderMap | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { [LOCAL_MARK]: '1' };
  if (!h) return out;
  for (const name of LOCAL_HEADERS) if (h[name] !== undefined) out[name] = h[name];
  return out;
}

/** `path` is the origin path (decoded) the decision is about. */
export function httpAnswer(d: Decision, path: string): HttpAnswer {
  switch (d.t) {
    case 'redirect':
      return { status: 302, headers: { ...d.h, Location: d.url }, body: '' };
    case 'local':
      return { status: 200, headers: localHeaders(d.h), body: '' };
    case 'dir':
      return { status: 301, headers: { Location: d.url, 'Content-Type': TEXT_TYPE }, body: '' };
    case 'notfound':
      // The page repeats the path: never let a browser read it as anything but text.
      return { status: 404, headers: { 'Content-Type': TEXT_TYPE, 'X-Content-Type-Options': 'nosniff' }, body: `Not found: ${path}\n` };
    case 'body':
      return { status: d.status, headers: { ...d.h, 'Content-Type': d.type }, body: d.body };
  }
}

/** A refusal with a one-line reason. */
export function textAnswer(status: number, message: string, extra: Record<string, string> = {}): HttpAnswer {
  return { status, headers: { 'Content-Type': TEXT_TYPE, 'X-Content-Type-Options': 'nosniff', ...extra }, body: message };
}
