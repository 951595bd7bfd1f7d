// The .zsync answer: the control file the origin scan made, with URL lines for this client's mirrors, best first.
// Pure.
import { zsyncWithUrls } from '../core/scan/zsync.ts';
import type { FileRow } from '../core/types.ts';
import { baseName } from './render-metalink.ts';

export const ZSYNC_TYPE = 'application/x-zsync';

export function zsyncBody(row: FileRow, stored: Buffer | null, mirrorUrls: string[], ownUrl: string | null): { status: number; type: string; body: string | Buffer } {
  if (stored === null) return { status: 404, type: 'text/plain; charset=utf-8', body: `No zsync control file for ${baseName(row.path)} (formats.zsyncMinSize, origin scan)\n` };
  // The mirrors; this redirector itself only when none holds the file (zsync asks for byte ranges, which a
  // redirect would send to a mirror anyway).
  const urls = mirrorUrls.length > 0 ? mirrorUrls : ownUrl === null ? [] : [ownUrl];
  return { status: 200, type: ZSYNC_TYPE, body: zsyncWithUrls(stored, urls) };
}
