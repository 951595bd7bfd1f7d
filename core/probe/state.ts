// What a probe means for a mirror's health. Pure: the answers check.ts recorded → a verdict (judge), and the
// previous health + the verdict + the thresholds → the new health and whether it changed (transition).
//
// Rules, in short:
// - The base URL decides whether the mirror is reachable: a transport error, a 5xx, a 404 there, or a redirect
//   when redirects are refused is a failure. 2xx and 403 (directory listing forbidden) pass.
// - A 404 (or 410, or a different size) on the probed file is NOT a failure while the base URL answers: the file
//   was most likely deleted there since the last scan, the mirror is fine otherwise (Mirrorbits marks such
//   mirrors down, a known fault). The file is taken out of that mirror's files instead (run.ts).
// - Any other bad answer on the file (timeout, 5xx, 403, refused redirect) is a failure: clients would get it.
// - A trace file lagging more than traceMaxAgeS is a failure that takes the mirror down at once: staleness does
//   not come and go like a timeout, waiting for more rounds only sends clients to old files longer.
// - A mirror serving http and https fails when either fails: clients are sent to both.
import type { HealthState } from '../types.ts';
import type { MirrorCheck, ProbeResponse, ProtocolCheck, Step } from './types.ts';
import { judgeTrace, parseTraceTimestamp } from './trace.ts';

export interface ProbeRules {
  refuseRedirects: boolean;
  traceMaxAgeS: number;
}

export interface MissingFile {
  path: string;
  /** gone: 404 or 410; differs: served with another size than the origin's (an old or partial copy). */
  kind: 'gone' | 'differs';
  /** "HTTP 404", "size 10, origin 12". */
  why: string;
}

export interface Verdict {
  /** The mirror had no http or https URL: nothing was probed, nothing is written. */
  skipped: boolean;
  ok: boolean;
  /** Short reason of the failure ('' when ok); "https: timeout" when only one of two protocols failed. */
  reason: string;
  /** Down at once, whatever downAfter says (stale trace). */
  immediate: boolean;
  /** The probed file the mirror does not hold (a current copy of), to take out of its files. */
  missing: MissingFile | null;
  /** How far the mirror's trace is behind the origin's, when it was read. */
  traceLagS: number | null;
}

interface Failure {
  reason: string;
  immediate: boolean;
}

const MAX_REASON = 120;

function clip(s: string): string {
  return s.length > MAX_REASON ? `${s.slice(0, MAX_REASON - 1)}…` : s;
}

const isRedirectStatus = (status: number) => status >= 300 && status < 400;

/** A redirect that is still the last answer: refused, or too many of them, or to a non-HTTP URL. */
function redirectFailure(step: Step, answer: Extract<ProbeResponse, { kind: 'response' }>): string {
  if (step.redirects.length > 0 && answer.location && /^https?:/i.test(answer.location)) return 'too many redirects';
  return answer.location ? clip(`redirect to ${answer.location}`) : `HTTP ${answer.status} without Location`;
}

/** The base URL: reachable and answering like a directory (or refusing to list it). */
export function judgeBase(step: Step): Failure | null {
  const a = step.answer;
  if (a.kind === 'error') return { reason: a.error, immediate: false };
  if (isRedirectStatus(a.status)) return { reason: redirectFailure(step, a), immediate: false };
  if ((a.status >= 200 && a.status < 300) || a.status === 403) return null;
  if (a.status === 404 || a.status === 410) return { reason: `HTTP ${a.status} at base URL`, immediate: false };
  return { reason: `HTTP ${a.status}`, immediate: false };
}

/** The probed file: served (with the origin's size when the mirror says a size), missing, or failing. */
export function judgeFile(step: Step, file: { path: string; size: number }): { failure: Failure | null; missing: MissingFile | null } {
  const a = step.answer;
  if (a.kind === 'error') return { failure: { reason: a.error, immediate: false }, missing: null };
  if (isRedirectStatus(a.status)) return { failure: { reason: redirectFailure(step, a), immediate: false }, missing: null };
  if (a.status === 404 || a.status === 410) return { failure: null, missing: { path: file.path, kind: 'gone', why: `HTTP ${a.status}` } };
  if (a.status >= 200 && a.status < 300) {
    if (a.contentLength !== null && a.contentLength !== file.size) {
      return { failure: null, missing: { path: file.path, kind: 'differs', why: `size ${a.contentLength}, origin ${file.size}` } };
    }
    return { failure: null, missing: null };
  }
  return { failure: { reason: `HTTP ${a.status}`, immediate: false }, missing: null };
}

/** The trace file: present, readable and not older than maxAgeS behind the origin's. */
export function judgeTraceStep(
  step: Step,
  trace: { path: string; originS: number },
  maxAgeS: number,
): { failure: Failure | null; lagS: number | null } {
  const a = step.answer;
  if (a.kind === 'error') return { failure: { reason: `trace: ${a.error}`, immediate: false }, lagS: null };
  if (isRedirectStatus(a.status)) return { failure: { reason: redirectFailure(step, a), immediate: false }, lagS: null };
  if (a.status === 404 || a.status === 410) return { failure: { reason: `file missing: ${trace.path}`, immediate: false }, lagS: null };
  if (a.status < 200 || a.status >= 300) return { failure: { reason: `HTTP ${a.status}`, immediate: false }, lagS: null };
  const mirrorS = parseTraceTimestamp(a.body ?? '');
  if (mirrorS === null) return { failure: { reason: `trace unreadable: ${trace.path}`, immediate: false }, lagS: null };
  const j = judgeTrace(trace.originS, mirrorS, maxAgeS);
  return { failure: j.stale ? { reason: j.reason, immediate: true } : null, lagS: j.lagS };
}

function judgeProtocol(p: ProtocolCheck, check: MirrorCheck, rules: ProbeRules) {
  const failures: Failure[] = [];
  let missing: MissingFile | null = null;
  let lagS: number | null = null;
  const base = judgeBase(p.base);
  if (base) return { failures: [base], missing, lagS };
  if (p.file && check.file) {
    const f = judgeFile(p.file, check.file);
    if (f.failure) failures.push(f.failure);
    missing = f.missing;
  }
  if (p.trace && check.trace) {
    const t = judgeTraceStep(p.trace, check.trace, rules.traceMaxAgeS);
    if (t.failure) failures.push(t.failure);
    lagS = t.lagS;
  }
  return { failures, missing, lagS };
}

/** The verdict on one mirror's check. */
export function judge(check: MirrorCheck, rules: ProbeRules): Verdict {
  if (check.protocols.length === 0) {
    return { skipped: true, ok: true, reason: '', immediate: false, missing: null, traceLagS: null };
  }
  const failed: { scheme: string; failure: Failure }[] = [];
  let missing: MissingFile | null = null;
  let traceLagS: number | null = null;
  for (const p of check.protocols) {
    const r = judgeProtocol(p, check, rules);
    for (const failure of r.failures) failed.push({ scheme: p.scheme, failure });
    missing ??= r.missing;
    traceLagS ??= r.lagS;
  }
  if (!failed.length) return { skipped: false, ok: true, reason: '', immediate: false, missing, traceLagS };
  // The failure that decides: one that takes the mirror down at once, else the first.
  const first = failed.find((f) => f.failure.immediate) ?? failed[0];
  const failedSchemes = new Set(failed.map((f) => f.scheme));
  const sameEverywhere =
    failedSchemes.size === check.protocols.length && failed.every((f) => f.failure.reason === first.failure.reason);
  // Name the protocol only when it matters: one of several failed, or they failed differently.
  const reason = check.protocols.length === 1 || sameEverywhere ? first.failure.reason : `${first.scheme}: ${first.failure.reason}`;
  return { skipped: false, ok: false, reason, immediate: failed.some((f) => f.failure.immediate), missing, traceLagS };
}

// ---- state

export interface HealthRecord {
  health: HealthState;
  reason: string;
  since: Date | null;
  /** Consecutive successful probes. */
  successes: number;
  /** Consecutive failed probes. */
  failures: number;
}

export interface Thresholds {
  /** Consecutive successes that bring an unknown or down mirror up. */
  upAfter: number;
  /** Consecutive failures that take an unknown or up mirror down. */
  downAfter: number;
}

export interface Transition {
  next: HealthRecord;
  /** health, reason or since changed: write them (one UPDATE, one NOTIFY). Otherwise only the counters. */
  changed: boolean;
}

/** Counters stop growing here instead of overflowing the integer column after a few thousand years. */
const COUNTER_CAP = 1_000_000_000;

/** The new health after one probe. A skipped verdict is not passed here (nothing was probed). */
export function transition(prev: HealthRecord, verdict: Pick<Verdict, 'ok' | 'reason' | 'immediate'>, t: Thresholds, now: Date): Transition {
  if (verdict.ok) {
    const successes = Math.min(prev.successes + 1, COUNTER_CAP);
    const base = { ...prev, successes, failures: 0 };
    if (prev.health === 'up') {
      // An up mirror carries no reason; clear one left by hand or by an older version.
      return prev.reason ? { next: { ...base, reason: '' }, changed: true } : { next: base, changed: false };
    }
    if (successes >= t.upAfter) return { next: { ...base, health: 'up', reason: '', since: now }, changed: true };
    return { next: base, changed: false };
  }
  const failures = Math.min(prev.failures + 1, COUNTER_CAP);
  const base = { ...prev, successes: 0, failures };
  if (prev.health === 'down') {
    // Still down: a new cause is worth telling, the time it went down stays.
    return prev.reason === verdict.reason ? { next: base, changed: false } : { next: { ...base, reason: verdict.reason }, changed: true };
  }
  if (failures >= t.downAfter || verdict.immediate) {
    return { next: { ...base, health: 'down', reason: verdict.reason, since: now }, changed: true };
  }
  return { next: base, changed: false };
}

/** "unknown → up", "up → down", or '' when the state did not change. */
export function changeText(prev: HealthRecord, next: HealthRecord): string {
  if (prev.health !== next.health) return `${prev.health} → ${next.health}${next.reason ? `: ${next.reason}` : ''}`;
  if (prev.reason !== next.reason) return `${next.health}: ${next.reason || 'reason cleared'}`;
  return '';
}

/** The state with the way to the next one: "up", "down (1/2 successes to up)", "up (1/3 failures to down)". */
export function stateText(r: HealthRecord, t: Thresholds): string {
  if (r.health !== 'up' && r.successes > 0) return `${r.health} (${r.successes}/${t.upAfter} successes to up)`;
  if (r.health !== 'down' && r.failures > 0) return `${r.health} (${r.failures}/${t.downAfter} failures to down)`;
  return r.health;
}
