// Origin rows for a batch of paths, for the scanners that decide per file whether an exact lookup (MDTM, HEAD)
// is worth a request.
import type pg from 'pg';
import type { OriginFile } from '../file-currency.ts';

export async function originFiles(db: pg.Pool | pg.ClientBase, paths: string[]): Promise<Map<string, OriginFile>> {
  const out = new Map<string, OriginFile>();
  // PostgreSQL text cannot hold NUL; no origin path has one.
  const wanted = paths.filter((p) => !p.includes('\0'));
  if (!wanted.length) return out;
  const { rows } = await db.query({
    name: 'scan_origin_files',
    text: 'SELECT path, size, mtime FROM file WHERE path = ANY($1::text[])',
    values: [wanted],
  });
  for (const r of rows) out.set(r.path, { path: r.path, size: Number(r.size), mtime: Number(r.mtime) });
  return out;
}
