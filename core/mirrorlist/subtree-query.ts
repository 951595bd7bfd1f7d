// The one query behind the mirror list's "content" column: for each subtree of the origin (see subtrees.ts), the
// mirrors holding at least one file in it. Set-based and streaming: one pass over the paths to find the depth, one
// pass over the file table grouped by (subtree, mirror), whatever the number of mirrors.
import type pg from 'pg';
import type { SubtreeHolders } from './subtrees.ts';

export async function subtreeHolders(db: pg.Pool | pg.ClientBase): Promise<SubtreeHolders[]> {
  const { rows } = await db.query({
    name: 'mirrorlist_subtrees',
    text: `WITH depth AS (
             -- a tree whose directories all sit under one top directory (/pub/...): look one level deeper
             SELECT CASE WHEN count(DISTINCT split_part(ltrim(path, '/'), '/', 1))
                                FILTER (WHERE strpos(ltrim(path, '/'), '/') > 0) = 1 THEN 2 ELSE 1 END AS d
             FROM file
           ), pairs AS (
             SELECT CASE WHEN cardinality(f.seg) > depth.d THEN array_to_string(f.seg[1:depth.d], '/') END AS subtree, h.id
             FROM (SELECT string_to_array(ltrim(path, '/'), '/') AS seg, mirrors FROM file) f
             CROSS JOIN depth
             LEFT JOIN LATERAL unnest(f.mirrors) AS h(id) ON true
             GROUP BY 1, 2
           )
           SELECT subtree, coalesce(array_agg(id ORDER BY id) FILTER (WHERE id IS NOT NULL), '{}') AS mirrors
           FROM pairs GROUP BY 1`,
  });
  return rows.map((r) => ({ subtree: r.subtree as string | null, mirrors: (r.mirrors as number[]).map(Number) }));
}
