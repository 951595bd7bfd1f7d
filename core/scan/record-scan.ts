// The scan bookkeeping on the mirror row (scan_* columns of sql/002), written once per scan by the scanner.
import type pg from 'pg';
import type { ApplyResult } from './types.ts';

/** Longest error text kept: one line for `mirror show`, not a stack or a whole server reply. */
const MAX_ERROR_CHARS = 500;

function errorLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.replace(/\s+/g, ' ').trim() || 'unknown error';
  return line.length > MAX_ERROR_CHARS ? `${line.slice(0, MAX_ERROR_CHARS - 1)}…` : line;
}

/**
 * Record how a mirror's scan ended. A result sets the counts and clears the error. A failure (anything that is not
 * an ApplyResult) sets the error and leaves the counts of the last good scan, since the file table still holds
 * what that scan found. `durationMs` is the whole scan (default: the result's `ms`; for a failure, null unless
 * given).
 */
export async function recordScanResult(
  db: pg.Pool | pg.ClientBase,
  mirrorId: number,
  outcome: ApplyResult | unknown,
  protocol: string,
  durationMs?: number,
): Promise<void> {
  if (isApplyResult(outcome)) {
    await db.query({
      name: 'scan_record_result',
      text: `UPDATE mirror SET scan_at = now(), scan_protocol = $2, scan_duration_ms = $3, scan_files_found = $4,
               scan_files_held = $5, scan_files_added = $6, scan_files_removed = $7, scan_error = ''
             WHERE id = $1`,
      values: [mirrorId, protocol, Math.round(durationMs ?? outcome.ms), outcome.found, outcome.held, outcome.added, outcome.removed],
    });
  } else {
    await db.query({
      name: 'scan_record_error',
      text: `UPDATE mirror SET scan_at = now(), scan_protocol = $2, scan_duration_ms = $3, scan_error = $4 WHERE id = $1`,
      values: [mirrorId, protocol, durationMs === undefined ? null : Math.round(durationMs), errorLine(outcome)],
    });
  }
}

function isApplyResult(x: unknown): x is ApplyResult {
  const r = x as ApplyResult;
  return typeof r === 'object' && r !== null && !(r instanceof Error) &&
    ['found', 'held', 'added', 'removed', 'ms'].every((k) => typeof r[k as keyof ApplyResult] === 'number');
}
