// One line of text per mirror event, for `mirror log` and `mirror show`. Pure.
import type { MirrorEvent } from './db/events.ts';

function value(v: unknown): string {
  if (v === null || v === undefined || v === '') return '(none)';
  if (Array.isArray(v)) return v.length ? v.join(',') : '(none)';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

function scanLine(d: Record<string, unknown>): string {
  const how = `scan${d.protocol ? ` over ${String(d.protocol)}` : ''}`;
  const took = typeof d.durationMs === 'number' ? ` in ${(d.durationMs / 1000).toFixed(1)} s` : '';
  if (d.error) return `${how} failed${took}: ${String(d.error)}`;
  return `${how}${took}: found ${value(d.found)}, held ${value(d.held)}, added ${value(d.added)}, removed ${value(d.removed)}`;
}

/** "scan over rsync in 1.2 s: found 10, held 9, added 9, removed 0", "edit score: 100 → 50". */
export function describeEvent(e: MirrorEvent): string {
  switch (e.kind) {
    case 'created':
      return `created as ${value(e.newValue)}`;
    case 'enabled':
    case 'disabled':
      return e.kind;
    case 'health': {
      const reason = e.detail.reason ? `: ${String(e.detail.reason)}` : '';
      return `health ${value(e.oldValue)} → ${value(e.newValue)}${reason}`;
    }
    case 'scan':
      return scanLine(e.detail);
    case 'note':
      return `note${e.detail.author ? ` by ${String(e.detail.author)}` : ''}: ${value(e.newValue)}`;
    case 'edit':
      return `edit ${e.field}: ${value(e.oldValue)} → ${value(e.newValue)}`;
  }
}
