// The origin scan: bring the packed file table in line with the origin tree. Walk the tree into a temp table
// (COPY), let PostgreSQL say which files are new or changed, hash only those, then write everything back in a few
// set-based statements: new rows, changed rows (their mirrors reset when the content changed), rows of files that
// are gone deleted, all within the scanned subtree.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { CopyWriter, copyText } from './copy-lines.ts';
import { lockFileTable } from './file-lock.ts';
import { HashError, hashOriginFile, type FileDigest, type HashName } from './hash-file.ts';
import { makeOriginZsyncs, writeOriginZsyncs } from './origin-zsync.ts';
import { normaliseSubtree } from './subtree.ts';
import type { OriginScanResult } from './types.ts';
import { walkOrigin, type WalkProblem } from './walk-origin.ts';

export class OriginScanError extends Error {}

export interface OriginScanOptions {
  /** The origin tree (config origin.root). */
  root: string;
  /** Origin path of the part to scan ("/pub/isos/"); default the whole tree. */
  subtree?: string;
  /** Hashes to compute (config scan.originHashes); SHA-256 always. */
  hashes?: readonly string[];
  /** Files hashed at once (default 8): small files are a string of system calls, worth overlapping. */
  hashJobs?: number;
  /** One line per problem worth telling (broken or escaping symlinks, unreadable entries). */
  onWarning?: (message: string) => void;
  /**
   * Let a scan that finds no file at all delete every row under the subtree. Off by default: an empty tree is
   * far more often an unmounted disk or a wrong origin.root than a project that deleted everything.
   */
  allowEmpty?: boolean;
  /** Make .zsync control files for hashed files of at least this size (formats.zsyncMinSize); null: none. */
  zsyncMinSize?: number | null;
}

/** Hashed files written back per statement. */
const WRITE_BATCH = 500;
/** ... or fewer, once their piece hashes come to this many bytes (about 80 files of 4 GiB). */
const PIECE_BATCH_BYTES = 8 << 20;

async function resolveRoot(root: string): Promise<string> {
  let real: string;
  try {
    real = await fs.promises.realpath(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `is not readable (${code})`;
    throw new OriginScanError(`origin root ${root} ${why}: set origin.root in the config file to the published tree`);
  }
  if (!(await fs.promises.stat(real)).isDirectory()) {
    throw new OriginScanError(`origin root ${root} is not a directory: set origin.root in the config file to the published tree`);
  }
  return real;
}

/**
 * Is the subtree there, and a directory the full walk would visit? A subtree reached through a symlinked
 * directory is refused (full scans do not follow those); one that does not exist is scanned as empty, so that the
 * rows of a deleted directory go.
 */
async function checkSubtree(realRoot: string, subtree: string): Promise<void> {
  if (subtree === '/') return;
  const abs = path.join(realRoot, subtree);
  try {
    const real = await fs.promises.realpath(abs);
    if (real !== abs.replace(/\/$/, '') || !(await fs.promises.stat(real)).isDirectory()) {
      throw new OriginScanError(`${subtree} is not a directory of the origin tree (a symlink or a file?)`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function scanOrigin(pool: pg.Pool, opts: OriginScanOptions): Promise<OriginScanResult> {
  const started = performance.now();
  const subtree = normaliseSubtree(opts.subtree);
  const algorithms: HashName[] = ['sha256', ...(['sha1', 'md5'] as const).filter((h) => opts.hashes?.includes(h))];
  const realRoot = await resolveRoot(opts.root);
  await checkSubtree(realRoot, subtree);
  const result: OriginScanResult = { files: 0, added: 0, changed: 0, removed: 0, hashed: 0, bytesHashed: 0, skipped: 0, warnings: 0, ms: 0 };
  const warn = (p: string, reason: string) => {
    result.warnings++;
    opts.onWarning?.(`${JSON.stringify(p)}: ${reason}`);
  };
  /** Directories that could not be read (fully): their rows are kept. */
  const keepPrefixes: string[] = [];

  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('DROP TABLE IF EXISTS pg_temp.origin_listing, pg_temp.origin_tohash, pg_temp.origin_hashed, pg_temp.origin_zsync');
    await client.query('CREATE TEMP TABLE origin_listing (path text NOT NULL, size bigint NOT NULL, mtime bigint NOT NULL)');
    await client.query(`CREATE TEMP TABLE origin_tohash (n integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, path text NOT NULL)`);
    await client.query(`CREATE TEMP TABLE origin_hashed (path text NOT NULL, size bigint NOT NULL, mtime bigint NOT NULL,
                          sha256 bytea NOT NULL, sha1 bytea, md5 bytea,
                          piece_size integer NOT NULL, piece_sha256 bytea NOT NULL, piece_sha1 bytea NOT NULL)`);

    // 1. The tree into origin_listing.
    const onProblem = (p: WalkProblem) => {
      result.skipped++;
      if (p.warn) warn(p.path, p.reason);
      if (p.unreadableDir) keepPrefixes.push(p.path);
    };
    const writer = new CopyWriter(client, 'COPY origin_listing (path, size, mtime) FROM STDIN');
    try {
      for await (const batch of walkOrigin(realRoot, subtree, onProblem)) {
        for (const f of batch) {
          const sent = writer.push(`${copyText(f.path)}\t${f.size}\t${f.mtime}\n`);
          if (sent) await sent;
        }
      }
      await writer.end();
    } catch (e) {
      await writer.discard();
      throw e;
    }
    await client.query('ANALYZE origin_listing');

    // 2. What needs hashing: new files, changed size or mtime, a configured hash or the piece hashes missing.
    //    Unchanged files are not read again: size and mtime equal means same content, as rsync assumes.
    await client.query(
      `INSERT INTO origin_tohash (path)
       SELECT l.path FROM origin_listing l LEFT JOIN file f ON f.path = l.path
       WHERE f.id IS NULL OR f.size <> l.size OR f.mtime <> l.mtime OR f.sha256 IS NULL
          OR ($1 AND f.sha1 IS NULL) OR ($2 AND f.md5 IS NULL)
          OR NOT EXISTS (SELECT 1 FROM file_pieces p WHERE p.file_id = f.id)`,
      [algorithms.includes('sha1'), algorithms.includes('md5')],
    );

    // 3. Hash them, a few at a time, and write the digests into origin_hashed.
    const gone = await hashAll(client, realRoot, algorithms, opts.hashJobs ?? 8, result, warn);
    if (gone.length) await client.query('DELETE FROM origin_listing WHERE path = ANY($1::text[])', [gone]);
    result.files = Number((await client.query('SELECT count(*) AS n FROM origin_listing')).rows[0].n);
    await client.query('ANALYZE origin_hashed');
    await makeOriginZsyncs(client, realRoot, opts.zsyncMinSize ?? null, warn);

    // 4. Write back, serialised with mirror scans so none judges copies against a row being rewritten.
    await client.query('BEGIN');
    try {
      await client.query("SET LOCAL work_mem = '128MB'");
      await lockFileTable(client);
      const counts = await client.query(
        `SELECT count(*) FILTER (WHERE f.id IS NULL) AS added,
                count(*) FILTER (WHERE f.size <> h.size OR f.mtime <> h.mtime OR f.sha256 <> h.sha256) AS changed
         FROM origin_hashed h LEFT JOIN file f ON f.path = h.path`,
      );
      result.added = Number(counts.rows[0].added);
      result.changed = Number(counts.rows[0].changed);
      if (result.files === 0 && !opts.allowEmpty) {
        const { rows } = await client.query('SELECT count(*) AS n FROM file WHERE starts_with(path, $1)', [subtree]);
        const known = Number(rows[0].n);
        if (known > 0) {
          throw new OriginScanError(
            `${path.join(realRoot, subtree)} holds no file, but the file table has ${known} under ${subtree}: ` +
              'is the disk mounted and origin.root right? Nothing was changed; to clear them, scan with --allow-empty',
          );
        }
      }
      // Same content: same size and SHA-256 (or, for a row without a hash yet, same size and mtime). A file whose
      // content changed loses its mirrors: their copies are of the old content until a rescan finds otherwise.
      // A file only touched (new mtime, same bytes) keeps them. A hash no longer configured is dropped with the
      // content it described and kept otherwise.
      const same = `(f.size = EXCLUDED.size AND (f.sha256 = EXCLUDED.sha256 OR (f.sha256 IS NULL AND f.mtime = EXCLUDED.mtime)))`;
      await client.query(
        `INSERT INTO file AS f (path, size, mtime, sha256, sha1, md5)
         SELECT path, size, mtime, sha256, sha1, md5 FROM origin_hashed
         ON CONFLICT (path) DO UPDATE SET
           size = EXCLUDED.size,
           mtime = EXCLUDED.mtime,
           sha256 = EXCLUDED.sha256,
           sha1 = CASE WHEN EXCLUDED.sha1 IS NOT NULL THEN EXCLUDED.sha1 WHEN ${same} THEN f.sha1 END,
           md5 = CASE WHEN EXCLUDED.md5 IS NOT NULL THEN EXCLUDED.md5 WHEN ${same} THEN f.md5 END,
           mirrors = CASE WHEN ${same} THEN f.mirrors ELSE '{}' END
         WHERE (f.size, f.mtime, f.sha256) IS DISTINCT FROM (EXCLUDED.size, EXCLUDED.mtime, EXCLUDED.sha256)
            OR (EXCLUDED.sha1 IS NOT NULL AND f.sha1 IS DISTINCT FROM EXCLUDED.sha1)
            OR (EXCLUDED.md5 IS NOT NULL AND f.md5 IS DISTINCT FROM EXCLUDED.md5)`,
      );
      // What the mirror scans said about copies of a file read again was said against its old size and mtime.
      await client.query(
        `DELETE FROM file_mismatch x USING origin_hashed h JOIN file f ON f.path = h.path
         WHERE x.file_id = f.id AND (f.size, f.mtime) IS DISTINCT FROM (h.size, h.mtime)`,
      );
      // The pieces of every file hashed now; a row's pieces are replaced only when they differ.
      await client.query(
        `INSERT INTO file_pieces AS p (file_id, content, piece_size, sha256, sha1)
         SELECT f.id, h.sha256, h.piece_size, h.piece_sha256, h.piece_sha1 FROM origin_hashed h JOIN file f ON f.path = h.path
         ON CONFLICT (file_id) DO UPDATE SET
           content = EXCLUDED.content, piece_size = EXCLUDED.piece_size, sha256 = EXCLUDED.sha256, sha1 = EXCLUDED.sha1
         WHERE (p.content, p.piece_size, p.sha256, p.sha1) IS DISTINCT FROM
               (EXCLUDED.content, EXCLUDED.piece_size, EXCLUDED.sha256, EXCLUDED.sha1)`,
      );
      await writeOriginZsyncs(client);
      const removed = await client.query(
        `DELETE FROM file f
         WHERE starts_with(f.path, $1)
           AND NOT EXISTS (SELECT 1 FROM origin_listing l WHERE l.path = f.path)
           AND NOT EXISTS (SELECT 1 FROM unnest($2::text[]) AS k(prefix) WHERE starts_with(f.path, k.prefix))`,
        [subtree, keepPrefixes],
      );
      result.removed = removed.rowCount ?? 0;
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw e;
    }
  } finally {
    if (!broken) {
      await client
        .query('DROP TABLE IF EXISTS pg_temp.origin_listing, pg_temp.origin_tohash, pg_temp.origin_hashed, pg_temp.origin_zsync')
        .catch(() => (broken = true));
    }
    client.release(broken);
  }
  result.ms = Math.round(performance.now() - started);
  return result;
}

/**
 * Hash every file of origin_tohash with `jobs` workers, writing digests to origin_hashed in batches. Returns the
 * paths found gone meanwhile; files that cannot be read are reported and left out (their rows stay as they were).
 */
async function hashAll(
  client: pg.ClientBase,
  realRoot: string,
  algorithms: HashName[],
  jobs: number,
  result: OriginScanResult,
  warn: (path: string, reason: string) => void,
): Promise<string[]> {
  const gone: string[] = [];
  let done: { path: string; d: FileDigest }[] = [];
  /** Bytes of piece hashes waiting in `done`: a batch of big files is written before it gets large. */
  let pendingPieces = 0;
  let writing: Promise<unknown> = Promise.resolve();

  // Paths in batches by key, so a million of them never sit in memory at once. Async generators queue
  // concurrent next() calls, so the workers can share this one.
  async function* paths(): AsyncGenerator<string> {
    let after = 0;
    for (;;) {
      const { rows } = await client.query('SELECT n, path FROM origin_tohash WHERE n > $1 ORDER BY n LIMIT 1000', [after]);
      if (!rows.length) return;
      for (const r of rows) yield r.path as string;
      after = rows[rows.length - 1].n;
    }
  }
  const flush = () => {
    const rows = done;
    done = [];
    pendingPieces = 0;
    if (!rows.length) return writing;
    const hex = (h: HashName) => rows.map((r) => r.d.digests[h] ?? null);
    writing = writing.then(() =>
      client.query(
        `INSERT INTO origin_hashed (path, size, mtime, sha256, sha1, md5, piece_size, piece_sha256, piece_sha1)
         SELECT p, s, m, decode(h256, 'hex'), decode(h1, 'hex'), decode(h5, 'hex'), ps, decode(p256, 'hex'), decode(p1, 'hex')
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::integer[], $8::text[], $9::text[])
              AS t(p, s, m, h256, h1, h5, ps, p256, p1)`,
        [
          rows.map((r) => r.path), rows.map((r) => r.d.size), rows.map((r) => r.d.mtime), hex('sha256'), hex('sha1'), hex('md5'),
          rows.map((r) => r.d.pieces.pieceSize), rows.map((r) => r.d.pieces.sha256.toString('hex')), rows.map((r) => r.d.pieces.sha1.toString('hex')),
        ],
      ),
    );
    return writing;
  };

  const source = paths();
  let failure: { e: unknown } | null = null;
  const worker = async () => {
    const buffer = Buffer.allocUnsafe(1 << 20);
    while (!failure) {
      const next = await source.next();
      if (next.done) return;
      const p = next.value;
      try {
        const d = await hashOriginFile(realRoot, p, algorithms, buffer);
        result.hashed++;
        result.bytesHashed += d.size;
        done.push({ path: p, d });
        pendingPieces += d.pieces.sha256.length + d.pieces.sha1.length;
        if (done.length >= WRITE_BATCH || pendingPieces >= PIECE_BATCH_BYTES) await flush();
      } catch (e) {
        if (!(e instanceof HashError)) {
          // A database error: stop every worker, not only this one.
          failure ??= { e };
          return;
        }
        if (e.gone) gone.push(p);
        else {
          result.skipped++;
          warn(p, `${e.message}; its row is left as it was`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, () => worker().catch((e) => void (failure ??= { e }))));
  if (failure) throw (failure as { e: unknown }).e;
  await flush();
  return gone;
}
