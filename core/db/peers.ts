// Queries on the AS peers table: client AS → mirrors that AS prefers (ranked in the AS tier).
import type pg from 'pg';

export interface AsPeer {
  clientAsn: number;
  mirrorId: number;
  identifier: string;
  createdAt: Date;
}

export async function listPeers(db: pg.Pool | pg.ClientBase, clientAsn?: number): Promise<AsPeer[]> {
  const { rows } = await db.query({
    name: clientAsn === undefined ? 'peer_list' : 'peer_list_asn',
    text: `SELECT p.client_asn, p.mirror_id, m.identifier, p.created_at FROM as_peer p JOIN mirror m ON m.id = p.mirror_id
           ${clientAsn === undefined ? '' : 'WHERE p.client_asn = $1'} ORDER BY p.client_asn, m.identifier`,
    values: clientAsn === undefined ? [] : [clientAsn],
  });
  return rows.map((r) => ({ clientAsn: r.client_asn, mirrorId: r.mirror_id, identifier: r.identifier, createdAt: r.created_at }));
}

/** true when added, false when the pair existed already. */
export async function addPeer(db: pg.Pool | pg.ClientBase, clientAsn: number, mirrorId: number): Promise<boolean> {
  const res = await db.query({
    name: 'peer_add',
    text: 'INSERT INTO as_peer (client_asn, mirror_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    values: [clientAsn, mirrorId],
  });
  return res.rowCount === 1;
}

/** Removes the pair, or every peer of the AS when mirrorId is null; returns how many rows went. */
export async function removePeers(db: pg.Pool | pg.ClientBase, clientAsn: number, mirrorId: number | null): Promise<number> {
  const res = await db.query({
    name: mirrorId === null ? 'peer_rm_asn' : 'peer_rm',
    text: `DELETE FROM as_peer WHERE client_asn = $1${mirrorId === null ? '' : ' AND mirror_id = $2'}`,
    values: mirrorId === null ? [clientAsn] : [clientAsn, mirrorId],
  });
  return res.rowCount ?? 0;
}

/** The whole table as the selection wants it: client AS → mirror ids. */
export async function peersByAsn(db: pg.Pool | pg.ClientBase): Promise<Map<number, number[]>> {
  const { rows } = await db.query({ name: 'peer_map', text: 'SELECT client_asn, array_agg(mirror_id ORDER BY mirror_id) AS ids FROM as_peer GROUP BY 1' });
  return new Map(rows.map((r) => [r.client_asn as number, r.ids as number[]]));
}
