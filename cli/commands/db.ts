// `mirrorlane db migrate|status`: the schema and what the database holds.
import type { Command } from 'commander';
import { migrate, migrationStatus } from '../../core/db/migrate.ts';
import type { CliContext } from './context.ts';
import { formatTime } from './output.ts';

export function registerDbCommands(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('database schema: migrate, status');

  db.command('migrate')
    .description('apply the pending schema migrations of sql/ (safe to run again)')
    .action(async () => {
      const pool = ctx.db();
      const applied = await migrate(pool);
      for (const m of applied) ctx.out(`applied ${String(m.version).padStart(3, '0')}_${m.name}`);
      const status = await migrationStatus(pool);
      const version = status.applied.at(-1)?.version ?? 0;
      ctx.out(applied.length ? `schema is now at version ${version}` : `schema is up to date (version ${version})`);
    });

  db.command('status')
    .description('applied and pending migrations, number of mirrors and files')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const pool = ctx.db();
      const status = await migrationStatus(pool);
      const counts = await tableCounts(ctx);
      if (opts.json) {
        ctx.json({
          applied: status.applied,
          pending: status.pending.map(({ version, name }) => ({ version, name })),
          counts,
        });
        return;
      }
      if (status.applied.length) {
        ctx.table(
          ['version', 'name', 'applied'],
          status.applied.map((m) => [m.version, m.name, formatTime(m.appliedAt)]),
        );
      } else {
        ctx.out('no migration applied yet');
      }
      if (status.pending.length) {
        ctx.out(`pending: ${status.pending.map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`).join(', ')}; run \`mirrorlane db migrate\``);
      } else {
        ctx.out('pending: none');
      }
      if (counts) ctx.out(`mirrors: ${counts.mirrors} (${counts.enabledMirrors} enabled), files: ${counts.files}`);
    });
}

/** Row counts, or null before the schema exists. */
async function tableCounts(ctx: CliContext): Promise<{ mirrors: number; enabledMirrors: number; files: number } | null> {
  const pool = ctx.db();
  const { rows: exists } = await pool.query(`SELECT to_regclass('mirror') IS NOT NULL AND to_regclass('file') IS NOT NULL AS ok`);
  if (!exists[0].ok) return null;
  const { rows } = await pool.query({
    name: 'db_status_counts',
    text: `SELECT (SELECT count(*) FROM mirror) AS mirrors, (SELECT count(*) FROM mirror WHERE enabled) AS enabled,
                  (SELECT count(*) FROM file) AS files`,
  });
  return { mirrors: Number(rows[0].mirrors), enabledMirrors: Number(rows[0].enabled), files: Number(rows[0].files) };
}
