// How long the prober takes to choose the files it tries on each mirror (their smallest ones), for all mirrors
// at once: the one-pass query of CandidateCache beside one query per mirror (the baseline), same table, same run.
//
//   node --import tsx bench/probe-candidates.ts [FILES=1000000] [MIRRORS=50]
import { migrate } from '../core/db/migrate.ts';
import { createPool } from '../core/db/pool.ts';
import { CANDIDATES_PER_MIRROR, CandidateCache } from '../core/probe/run.ts';
import { startTempCluster } from '../runtime/postgres.ts';
import { fillFiles, seedMirrors } from './lib/dataset.ts';

const files = Number(process.argv[2] ?? 1_000_000);
const mirrors = Number(process.argv[3] ?? 50);
const pgc = await startTempCluster();
const pool = createPool(pgc.url, 2);
try {
  await migrate(pool);
  const ids = await seedMirrors(pool, mirrors);
  console.log(`filling ${files.toLocaleString('en')} files held by ${mirrors} mirrors ...`);
  await fillFiles(pool, files, mirrors);
  for (let round = 1; round <= 2; round++) {
    let t0 = performance.now();
    const onePass = await new CandidateCache(0).get(pool, ids);
    const onePassMs = performance.now() - t0;
    t0 = performance.now();
    let same = 0;
    for (const id of ids) {
      const { rows } = await pool.query('SELECT path FROM file WHERE mirrors @> ARRAY[$1::smallint] ORDER BY size, path LIMIT $2', [id, CANDIDATES_PER_MIRROR]);
      if (JSON.stringify(rows.map((r) => r.path)) === JSON.stringify(onePass.get(id)!.map((f) => f.path))) same++;
    }
    const perMirrorMs = performance.now() - t0;
    console.log(
      `round ${round}: one pass ${onePassMs.toFixed(0)} ms, one query per mirror ${perMirrorMs.toFixed(0)} ms ` +
        `(${(perMirrorMs / onePassMs).toFixed(1)}x); same files for ${same} of ${ids.length} mirrors`,
    );
  }
} finally {
  await pool.end();
  await pgc.stop();
}
