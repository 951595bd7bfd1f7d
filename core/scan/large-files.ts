// Files over 2 GiB: web servers built with 32-bit offsets (and some proxies) list them but cannot serve them past
// byte 2^31 - 1. MirrorBrain's check: a ranged GET across the boundary must answer 206 with exactly those 2 bytes.
//
// Applied to every listed file bigger than 2^31 bytes, over the mirror's http URL (else its https URL), since
// clients are only ever redirected to those. A mirror with neither is never a redirect target, so its large files
// are kept unchecked. A wrong answer drops the file from the listing (the mirror does not hold it); a network
// failure or timeout fails the scan, as we cannot tell.
import type { ListedFile } from './types.ts';
import { mirrorFileUrl } from '../urls.ts';

export const LARGE_FILE_BOUNDARY = 2 ** 31;
const RANGE = `bytes=${LARGE_FILE_BOUNDARY - 1}-${LARGE_FILE_BOUNDARY}`;

export class LargeFileCheckError extends Error {}

/** Whether the server delivers the two bytes around offset 2^31 of `url`. */
export async function servesPastTwoGiB(url: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const sig = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { headers: { range: RANGE, 'user-agent': 'Mirrorlane-scan/0.1' }, signal: sig });
  } catch (e) {
    const why = sig.aborted ? 'timed out or aborted' : ((e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message);
    throw new LargeFileCheckError(`range check of ${url}: ${why}`);
  }
  if (res.status !== 206) {
    await res.body?.cancel().catch(() => {});
    return false;
  }
  // Read at most a little more than the 2 bytes: a server that ignores the range end must not make us download GBs.
  let got = 0;
  if (res.body) {
    const reader = res.body.getReader();
    try {
      while (got <= 2) {
        const { done, value } = await reader.read();
        if (done) break;
        got += value.byteLength;
      }
    } catch (e) {
      throw new LargeFileCheckError(`range check of ${url}: ${(e as Error).message}`);
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  const range = res.headers.get('content-range') ?? '';
  return got === 2 && range.startsWith(`bytes ${LARGE_FILE_BOUNDARY - 1}-${LARGE_FILE_BOUNDARY}/`);
}

export interface LargeFileOptions {
  /** The mirror's http(s) base URL; null: no check (see above). */
  baseUrl: string | null;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Told about each file dropped. */
  onDropped?: (path: string) => void;
}

/** Pass the listing through, leaving out files over 2^31 bytes that fail the range check. */
export async function* verifyLargeFiles(files: AsyncIterable<ListedFile> | Iterable<ListedFile>, opts: LargeFileOptions): AsyncGenerator<ListedFile> {
  for await (const f of files) {
    if (opts.baseUrl && f.size > LARGE_FILE_BOUNDARY && !(await servesPastTwoGiB(mirrorFileUrl(opts.baseUrl, f.path), opts.timeoutMs, opts.signal))) {
      opts.onDropped?.(f.path);
      continue;
    }
    yield f;
  }
}
