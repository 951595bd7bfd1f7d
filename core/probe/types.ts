// What a probe records, shared by the checks (check.ts, I/O) and their judgement (state.ts, pure).
import type { Scheme } from '../types.ts';

/** What one probe request got: an HTTP response, or the transport error that stood in its way. */
export type ProbeResponse =
  | {
      kind: 'response';
      status: number;
      /** Location header of a redirect, resolved against the request URL. */
      location: string | null;
      contentLength: number | null;
      /** GET only: the start of the body (the trace file). */
      body: string | null;
      ms: number;
    }
  | { kind: 'error'; error: string; ms: number };

/** One request, or a chain of them when redirects are followed. */
export interface Step {
  url: string;
  /** The last answer: after following redirects, or the redirect itself when they are refused. */
  answer: ProbeResponse;
  /** URLs redirected to, in order. */
  redirects: string[];
}

export interface ProtocolCheck {
  scheme: Scheme;
  base: Step;
  /** null: no file to probe, or the base URL failed. */
  file: Step | null;
  /** null: no trace configured, checked over another protocol, or the base URL failed. */
  trace: Step | null;
}

export interface ProbeTarget {
  path: string;
  size: number;
}

export interface MirrorCheck {
  mirrorId: number;
  identifier: string;
  /** Empty when the mirror has neither an http nor an https URL. */
  protocols: ProtocolCheck[];
  file: ProbeTarget | null;
  /** Origin path of the trace file, and the origin's timestamp in unix seconds; null when not checked. */
  trace: { path: string; originS: number } | null;
  ms: number;
}
