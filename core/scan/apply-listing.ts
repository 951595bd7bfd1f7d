// The set-based writer of every mirror scan: a mirror's listing in, the mirror's id added to or removed from the
// `mirrors` array of the file rows out. The listing goes into a temp table with COPY; then a few statements in one
// transaction judge every listed copy against the origin row and update the packed table, however many files.
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { OutdatedRule } from '../file-currency.ts';
import { CopyWriter, copyText } from './copy-lines.ts';
import { lockFileTable } from './file-lock.ts';
import { recordMismatches } from './record-mismatches.ts';
import { normaliseSubtree } from './subtree.ts';
import type { ApplyOptions, ApplyResult, ListedFile } from './types.ts';

export { recordScanResult } from './record-scan.ts';

/**
 * checkCopy's rule (core/file-currency.ts) in SQL, for listing row `l` against file row `f` of the same path and
 * size: the copy's mtime is within 1 s of the origin's, or older by at most the largest allowance of the prefixes
 * ($1, minutes in $2) that the path starts with, plus that second. Every operation is the float8 arithmetic that
 * checkCopy does in JS, in the same order, so both give the same answer for the same numbers (NaN included: every
 * comparison with it is false in both). test/integration/apply-listing.test.ts runs one table of cases through
 * checkCopy and through this.
 */
const COPY_IS_CURRENT = `(abs(l.mtime - f.mtime) <= 1
   OR (l.mtime < f.mtime
       AND f.mtime - l.mtime <= 1 + coalesce((SELECT max(r.minutes * 60)
                                              FROM unnest($1::text[], $2::float8[]) AS r(prefix, minutes)
                                              WHERE starts_with(f.path, r.prefix)), 0)))`;

/**
 * Config scan.outdatedAllowedMinutes as checkCopy's rules. Only rules that can allow something are kept, which is
 * what checkCopy does with the others anyway (an empty prefix is not a wildcard; 0, negative or NaN minutes allow
 * nothing): the SQL then needs no such special cases.
 */
export function outdatedRules(minutesByPrefix: Record<string, number>): OutdatedRule[] {
  return Object.entries(minutesByPrefix)
    .filter(([prefix, minutes]) => prefix !== '' && minutes * 60 > 0)
    .map(([prefix, minutes]) => ({ prefix, minutes }));
}

/** The COPY line of a listed file, or null for one that cannot match any origin file. */
function listingLine(f: ListedFile): string | null {
  // PostgreSQL text cannot hold NUL, and no origin path has one.
  if (f.path.includes('\0')) return null;
  // -1 never equals an origin size (file.size >= 0); float8 input takes whatever String() gives, NaN included.
  const size = Number.isSafeInteger(f.size) && f.size >= 0 ? String(f.size) : '-1';
  const mtime = typeof f.mtime === 'number' ? String(f.mtime) : 'NaN';
  return `${copyText(f.path)}\t${size}\t${mtime}\n`;
}

function isSyncIterable<T>(x: AsyncIterable<T> | Iterable<T>): x is Iterable<T> {
  return typeof (x as Iterable<T>)[Symbol.iterator] === 'function';
}

/** Copy the listing into mirror_listing; returns how many files it reported under the subtree. */
async function loadListing(client: pg.ClientBase, files: AsyncIterable<ListedFile> | Iterable<ListedFile>, subtree: string): Promise<number> {
  const writer = new CopyWriter(client, 'COPY mirror_listing (path, size, mtime) FROM STDIN');
  let found = 0;
  const add = (f: ListedFile): Promise<void> | undefined => {
    if (!f.path.startsWith(subtree)) return undefined;
    found++;
    const line = listingLine(f);
    return line === null ? undefined : writer.push(line);
  };
  try {
    // A plain loop for arrays and generators: `for await` would cost a promise per file.
    if (isSyncIterable(files)) {
      for (const f of files) {
        const sent = add(f);
        if (sent) await sent;
      }
    } else {
      for await (const f of files) {
        const sent = add(f);
        if (sent) await sent;
      }
    }
    await writer.end();
  } catch (e) {
    await writer.discard();
    throw e;
  }
  return found;
}

/**
 * Apply one mirror's listing to the packed file table: the mirror holds exactly the listed files (under the
 * subtree) that are current copies of origin files. Throws, leaving the table as it was, when the listing throws
 * or the database fails. Writes nothing on the mirror row: see recordScanResult.
 */
export async function applyMirrorListing(
  pool: pg.Pool,
  mirrorId: number,
  files: AsyncIterable<ListedFile> | Iterable<ListedFile>,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const started = performance.now();
  const subtree = normaliseSubtree(opts.subtree);
  const rules = outdatedRules(opts.outdatedAllowedMinutes);
  const verifiedPaths = opts.verified ? [...opts.verified.paths] : [];

  const client = await pool.connect();
  let broken = false;
  try {
    // A session temp table, filled outside the transaction: reading the listing may take minutes (a slow FTP
    // server) and must not keep a transaction open on the server that long.
    await client.query('DROP TABLE IF EXISTS pg_temp.mirror_listing');
    await client.query('CREATE TEMP TABLE mirror_listing (path text NOT NULL, size bigint NOT NULL, mtime float8 NOT NULL)');
    const found = await loadListing(client, files, subtree);
    // Temp tables get no autovacuum statistics: without them the joins below are planned for a tiny table.
    await client.query('ANALYZE mirror_listing');

    await client.query('BEGIN');
    try {
      // A hash join of a million paths fits in memory with this, instead of spilling to batches on disk.
      await client.query("SET LOCAL work_mem = '128MB'");
      await lockFileTable(client);
      // The row lock keeps the mirror from being deleted (which strips its id from every file) under our feet.
      const mirror = await client.query('SELECT 1 FROM mirror WHERE id = $1 FOR KEY SHARE', [mirrorId]);
      if (!mirror.rowCount) throw new Error(`mirror id ${mirrorId} does not exist`);

      // One pass over the file rows under the subtree, each with whether the mirror holds a current copy now
      // (a listed copy passes the rule) and whether the row says it does. Only the differences are kept.
      // A path listed twice yields its row twice when both copies pass, hence the count below: every row
      // appears at least once, so the surplus rows are exactly the repeated held ones.
      await client.query('CREATE TEMP TABLE mirror_change (id integer NOT NULL, held boolean NOT NULL) ON COMMIT DROP');
      const judged = await client.query(
        `WITH judged AS (
           SELECT f.id, f.mirrors @> ARRAY[$5::smallint] AS had, l.path IS NOT NULL AS held
           FROM file f LEFT JOIN mirror_listing l
             ON l.path = f.path AND l.size = f.size
            AND ($3::bigint IS NULL OR l.size < $3 OR l.path = ANY($4::text[]))
            AND ${COPY_IS_CURRENT}
           WHERE starts_with(f.path, $6)
         ), changes AS (
           INSERT INTO mirror_change (id, held) SELECT id, held FROM judged WHERE held <> had
         )
         SELECT count(*) FILTER (WHERE held) - count(*) + (SELECT count(*) FROM file WHERE starts_with(path, $6)) AS held
         FROM judged`,
        [rules.map((r) => r.prefix), rules.map((r) => r.minutes), opts.verified?.minSize ?? null, verifiedPaths, mirrorId, subtree],
      );
      // A rescan changes few rows: with statistics the planner probes them by id instead of hashing them all.
      await client.query('ANALYZE mirror_change');
      // A row listed in mirror_change twice is still updated once. The recheck of the row's own array keeps a
      // hand edit (`mirrorlane file add`) made since the pass from being counted or applied twice.
      const changed = await client.query(
        `WITH updated AS (
           UPDATE file f SET mirrors = CASE WHEN c.held THEN array_append(f.mirrors, $1::smallint)
                                            ELSE array_remove(f.mirrors, $1::smallint) END
           FROM mirror_change c
           WHERE f.id = c.id AND (f.mirrors @> ARRAY[$1::smallint]) <> c.held
           RETURNING c.held)
         SELECT count(*) FILTER (WHERE held) AS added, count(*) FILTER (WHERE NOT held) AS removed FROM updated`,
        [mirrorId],
      );
      await recordMismatches(client, { mirrorId, subtree, rulePrefixes: rules.map((r) => r.prefix), ruleMinutes: rules.map((r) => r.minutes), copyIsCurrent: COPY_IS_CURRENT });
      await client.query('COMMIT');
      return {
        found,
        held: Number(judged.rows[0].held),
        added: Number(changed.rows[0].added),
        removed: Number(changed.rows[0].removed),
        ms: Math.round(performance.now() - started),
      };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw e;
    }
  } finally {
    if (!broken) await client.query('DROP TABLE IF EXISTS pg_temp.mirror_listing').catch(() => (broken = true));
    client.release(broken);
  }
}
