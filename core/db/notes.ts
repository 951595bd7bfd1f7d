// Dated admin notes on a mirror (MirrorBrain's comments). Never shown on public pages.
import type pg from 'pg';
import type { MirrorNote } from '../types.ts';

function noteFromRow(r: Record<string, any>): MirrorNote {
  return { id: Number(r.id), mirrorId: r.mirror_id, createdAt: r.created_at, author: r.author, body: r.body };
}

export async function addNote(db: pg.Pool | pg.ClientBase, mirrorId: number, author: string, body: string): Promise<MirrorNote> {
  const { rows } = await db.query({
    name: 'note_add',
    text: `INSERT INTO mirror_note (mirror_id, author, body) VALUES ($1, $2, $3)
           RETURNING id, mirror_id, created_at, author, body`,
    values: [mirrorId, author, body],
  });
  return noteFromRow(rows[0]);
}

/** Oldest first: a history reads top to bottom. */
export async function listNotes(db: pg.Pool | pg.ClientBase, mirrorId: number): Promise<MirrorNote[]> {
  const { rows } = await db.query({
    name: 'note_list',
    text: 'SELECT id, mirror_id, created_at, author, body FROM mirror_note WHERE mirror_id = $1 ORDER BY created_at, id',
    values: [mirrorId],
  });
  return rows.map(noteFromRow);
}
