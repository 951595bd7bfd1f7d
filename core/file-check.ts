// `mirrorlane file check PATH`: does each mirror really serve the origin's copy of one file? A HEAD per mirror
// (size from Content-Length, mtime from Last-Modified) judged by the scanner's own rule (file-currency.ts), so the
// table and this check agree on what "holds the file" means. judgeHead() is pure; headFile() is the I/O.
import { checkCopy, type CurrencyRules, type OriginFile } from './file-currency.ts';

export type HeadAnswer =
  | { kind: 'response'; status: number; size: number | null; /** Unix seconds. */ mtime: number | null; url: string }
  | { kind: 'error'; error: string };

export interface CopyVerdict {
  /** The mirror serves the origin's copy. */
  has: boolean;
  /** "has it", "missing (HTTP 404)", "size differs: 3 B, origin 6 B", … */
  verdict: string;
}

export function judgeHead(origin: OriginFile, answer: HeadAnswer, rules: CurrencyRules): CopyVerdict {
  if (answer.kind === 'error') return { has: false, verdict: `no answer: ${answer.error}` };
  if (answer.status === 404 || answer.status === 410) return { has: false, verdict: `missing (HTTP ${answer.status})` };
  if (answer.status < 200 || answer.status > 299) return { has: false, verdict: `HTTP ${answer.status}` };
  if (answer.size === null) return { has: false, verdict: 'no Content-Length: size unknown' };
  if (answer.size !== origin.size) return { has: false, verdict: `size differs: ${answer.size} B, origin ${origin.size} B` };
  if (answer.mtime === null) return { has: false, verdict: 'no Last-Modified: age unknown' };
  const r = checkCopy(origin, { size: answer.size, mtime: answer.mtime }, rules);
  if (r.ok) return { has: true, verdict: 'has it' };
  const older = answer.mtime < origin.mtime;
  return { has: false, verdict: `${older ? 'older' : 'newer'} copy: modified ${isoSeconds(answer.mtime)}, origin ${isoSeconds(origin.mtime)}` };
}

function isoSeconds(unixS: number): string {
  return new Date(Math.floor(unixS) * 1000).toISOString().replace('.000Z', 'Z');
}

/** HEAD of `url`, following redirects (as a client does). Never throws. */
export async function headFile(url: string, opts: { timeoutMs: number; userAgent: string }): Promise<HeadAnswer> {
  try {
    const res = await fetch(url, {
      method: 'HEAD',
      redirect: 'follow',
      headers: { 'User-Agent': opts.userAgent },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const len = res.headers.get('content-length');
    const lm = res.headers.get('last-modified');
    const mtimeMs = lm === null ? NaN : Date.parse(lm);
    return {
      kind: 'response',
      status: res.status,
      size: len !== null && /^\d+$/.test(len) ? Number(len) : null,
      mtime: Number.isNaN(mtimeMs) ? null : mtimeMs / 1000,
      url: res.url || url,
    };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError') return { kind: 'error', error: `timed out after ${opts.timeoutMs} ms` };
    return { kind: 'error', error: err.cause?.code ?? err.cause?.message ?? err.message };
  }
}
