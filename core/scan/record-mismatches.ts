// The "why not" of a mirror scan: the listed copies of origin files that the scan did not count (wrong size,
// older or otherwise different mtime), kept in file_mismatch so that answers can show them as exclusions.
// Runs inside the scan's transaction, after the file rows were updated, as statements of its own.
import type pg from 'pg';

export interface MismatchScope {
  mirrorId: number;
  /** Only rows under this origin subtree are replaced. */
  subtree: string;
  /** The outdated-file rules as the current-copy condition takes them: $1 prefixes, $2 minutes. */
  rulePrefixes: string[];
  ruleMinutes: number[];
  /**
   * The scan's current-copy condition on listing row `l` and file row `f` of the same path and size, with the
   * rules as $1 and $2 (apply-listing.ts's COPY_IS_CURRENT).
   */
  copyIsCurrent: string;
}

/** Replace the mirror's mismatches under the subtree with those of this listing (table mirror_listing). */
export async function recordMismatches(client: pg.ClientBase, s: MismatchScope): Promise<void> {
  await client.query(
    `DELETE FROM file_mismatch x USING file f
     WHERE x.mirror_id = $1 AND f.id = x.file_id AND starts_with(f.path, $2)`,
    [s.mirrorId, s.subtree],
  );
  // A copy the mirror holds after all (the file rows were updated first) is no mismatch; for a path listed twice
  // the copy of the right size speaks. Copies of the right size and mtime not counted for another reason (a file
  // over 2 GiB not yet verified) are not recorded: nothing is wrong with them.
  await client.query(
    `INSERT INTO file_mismatch (file_id, mirror_id, reason)
     SELECT DISTINCT ON (f.id) f.id, $3::smallint,
            CASE WHEN l.size <> f.size THEN 's' WHEN l.mtime < f.mtime THEN 'o' ELSE 'm' END
     FROM mirror_listing l JOIN file f ON f.path = l.path
     WHERE starts_with(f.path, $4) AND NOT (f.mirrors @> ARRAY[$3::smallint])
       AND (l.size <> f.size OR NOT ${s.copyIsCurrent})
     ORDER BY f.id, (l.size = f.size) DESC`,
    [s.rulePrefixes, s.ruleMinutes, s.mirrorId, s.subtree],
  );
}
