// The per-mirror event history (sql/006): written by triggers, read here.
import type pg from 'pg';

export type EventKind = 'created' | 'edit' | 'enabled' | 'disabled' | 'health' | 'scan' | 'note';
export type EventSource = 'admin' | 'probe' | 'scan';

export interface MirrorEvent {
  id: number;
  mirrorId: number;
  at: Date;
  kind: EventKind;
  source: EventSource;
  /** edit: the column changed; health: the new state; '' otherwise. */
  field: string;
  oldValue: unknown;
  newValue: unknown;
  /** scan: protocol, durationMs, error, found, held, added, removed; health: reason; note: author. */
  detail: Record<string, unknown>;
}

function eventFromRow(r: Record<string, any>): MirrorEvent {
  return {
    id: Number(r.id),
    mirrorId: r.mirror_id,
    at: r.at,
    kind: r.kind,
    source: r.source,
    field: r.field,
    oldValue: r.old_value,
    newValue: r.new_value,
    detail: r.detail ?? {},
  };
}

/**
 * Events of one mirror, oldest first. `since`: only events at or after it. `last`: only the newest N (still
 * returned oldest first).
 */
export async function listEvents(
  db: pg.Pool | pg.ClientBase,
  mirrorId: number,
  opts: { since?: Date; last?: number } = {},
): Promise<MirrorEvent[]> {
  const { rows } = await db.query({
    name: 'mirror_event_list',
    text: `SELECT * FROM (
             SELECT id, mirror_id, at, kind, source, field, old_value, new_value, detail FROM mirror_event
             WHERE mirror_id = $1 AND ($2::timestamptz IS NULL OR at >= $2)
             ORDER BY at DESC, id DESC LIMIT $3) e
           ORDER BY at, id`,
    values: [mirrorId, opts.since ?? null, opts.last ?? null],
  });
  return rows.map(eventFromRow);
}
