// Mirrors whose copy of a file the last scan found wrong are no holders, so the selection never sees them; the
// answers that explain themselves (JSON, file page) list them as excluded, with the scan's reason. Pure.
import { mismatchText, type Mismatch } from '../core/db/file-extras.ts';
import type { Selection } from '../core/selection.ts';
import type { Mirror } from '../core/types.ts';

export function withMismatches(s: Selection, mismatches: readonly Mismatch[], mirror: (id: number) => Mirror | undefined): Selection {
  if (mismatches.length === 0) return s;
  const listed = new Set<number>([...s.ranked.map((r) => r.mirror.id), ...s.excluded.map((e) => e.mirror.id)]);
  const excluded = [...s.excluded];
  for (const x of mismatches) {
    const m = mirror(x.mirrorId);
    // A mirror deleted since, or one that holds the file after all (added by hand after the scan): nothing to say.
    if (!m || listed.has(m.id)) continue;
    excluded.push({ mirror: m, reason: mismatchText(x.reason) });
  }
  return { ...s, excluded };
}
