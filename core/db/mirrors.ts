// Queries on the mirror table. Rows are mapped to the Mirror model here and nowhere else.
import type pg from 'pg';
import type { Mirror } from '../types.ts';

export const MIRROR_COLUMNS = `id, identifier, http_url, https_url, ftp_url, rsync_url, operator_name, operator_url,
  admin_name, admin_email, public_notes, country, continent, other_countries, lat, lng, asn,
  prefixes::text[] AS prefixes, ipv4, ipv6, score, enabled, health, health_reason, health_since, file_max_size,
  country_only, continent_only, as_only, prefix_only, excluded_countries, accepts_ranges, created_at, updated_at,
  scan_at, scan_protocol, scan_duration_ms, scan_files_found, scan_files_held, scan_files_added, scan_files_removed,
  scan_error, tz_offset_ms, probe_at, probe_successes, probe_failures, ipv6_pinned, https_pinned, caps_at`;

export function mirrorFromRow(r: Record<string, any>): Mirror {
  return {
    id: r.id,
    identifier: r.identifier,
    httpUrl: r.http_url,
    httpsUrl: r.https_url,
    ftpUrl: r.ftp_url,
    rsyncUrl: r.rsync_url,
    operatorName: r.operator_name,
    operatorUrl: r.operator_url,
    adminName: r.admin_name,
    adminEmail: r.admin_email,
    publicNotes: r.public_notes,
    country: r.country,
    continent: r.continent,
    otherCountries: r.other_countries,
    lat: r.lat,
    lng: r.lng,
    asn: r.asn,
    prefixes: r.prefixes,
    ipv4: r.ipv4,
    ipv6: r.ipv6,
    score: r.score,
    enabled: r.enabled,
    health: r.health,
    healthReason: r.health_reason,
    healthSince: r.health_since,
    fileMaxSize: r.file_max_size,
    countryOnly: r.country_only,
    continentOnly: r.continent_only,
    asOnly: r.as_only,
    prefixOnly: r.prefix_only,
    excludedCountries: r.excluded_countries,
    acceptsRanges: r.accepts_ranges,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    scan: {
      at: r.scan_at,
      protocol: r.scan_protocol,
      durationMs: r.scan_duration_ms,
      filesFound: r.scan_files_found,
      filesHeld: r.scan_files_held,
      filesAdded: r.scan_files_added,
      filesRemoved: r.scan_files_removed,
      error: r.scan_error,
    },
    tzOffsetMs: r.tz_offset_ms,
    probeAt: r.probe_at,
    probeSuccesses: r.probe_successes,
    probeFailures: r.probe_failures,
    ipv6Pinned: r.ipv6_pinned ?? false,
    httpsPinned: r.https_pinned ?? false,
    capsAt: r.caps_at ?? null,
  };
}

export async function listMirrors(db: pg.Pool | pg.ClientBase): Promise<Mirror[]> {
  const { rows } = await db.query({ name: 'mirror_list', text: `SELECT ${MIRROR_COLUMNS} FROM mirror ORDER BY identifier` });
  return rows.map(mirrorFromRow);
}

/** The fields an admin sets; everything else (id, health, timestamps) is the system's. */
export type MirrorFields = Omit<
  Mirror,
  'id' | 'health' | 'healthReason' | 'healthSince' | 'createdAt' | 'updatedAt' | 'scan' | 'tzOffsetMs' | 'probeAt' | 'probeSuccesses' | 'probeFailures' | 'capsAt'
>;
export type MirrorInput = Partial<MirrorFields> & { identifier: string };
export type MirrorPatch = Partial<Omit<MirrorFields, 'identifier' | 'enabled'>>;

// Model field → column and the cast that makes a JavaScript value fit it. Column names in SQL text come only
// from this table, never from input.
const WRITABLE: Record<keyof MirrorFields, [column: string, cast: string]> = {
  identifier: ['identifier', 'text'],
  httpUrl: ['http_url', 'text'],
  httpsUrl: ['https_url', 'text'],
  ftpUrl: ['ftp_url', 'text'],
  rsyncUrl: ['rsync_url', 'text'],
  operatorName: ['operator_name', 'text'],
  operatorUrl: ['operator_url', 'text'],
  adminName: ['admin_name', 'text'],
  adminEmail: ['admin_email', 'text'],
  publicNotes: ['public_notes', 'text'],
  country: ['country', 'text'],
  continent: ['continent', 'text'],
  otherCountries: ['other_countries', 'text[]'],
  lat: ['lat', 'double precision'],
  lng: ['lng', 'double precision'],
  asn: ['asn', 'bigint'],
  prefixes: ['prefixes', 'cidr[]'],
  ipv4: ['ipv4', 'boolean'],
  ipv6: ['ipv6', 'boolean'],
  score: ['score', 'integer'],
  enabled: ['enabled', 'boolean'],
  fileMaxSize: ['file_max_size', 'bigint'],
  countryOnly: ['country_only', 'boolean'],
  continentOnly: ['continent_only', 'boolean'],
  asOnly: ['as_only', 'boolean'],
  prefixOnly: ['prefix_only', 'boolean'],
  excludedCountries: ['excluded_countries', 'text[]'],
  acceptsRanges: ['accepts_ranges', 'boolean'],
  ipv6Pinned: ['ipv6_pinned', 'boolean'],
  httpsPinned: ['https_pinned', 'boolean'],
};

function writableEntries(fields: Partial<MirrorFields>): [column: string, cast: string, value: unknown][] {
  return (Object.keys(fields) as (keyof MirrorFields)[])
    .filter((k) => fields[k] !== undefined)
    .map((k) => {
      const spec = WRITABLE[k];
      if (!spec) throw new Error(`not a writable mirror field: ${String(k)}`);
      return [spec[0], spec[1], fields[k]];
    });
}

/** Insert a mirror; omitted fields take the table's defaults (disabled, score 100, IPv4 only). */
export async function insertMirror(db: pg.Pool | pg.ClientBase, input: MirrorInput): Promise<Mirror> {
  const entries = writableEntries(input);
  const columns = entries.map(([c]) => c).join(', ');
  const params = entries.map(([, cast], i) => `$${i + 1}::${cast}`).join(', ');
  const { rows } = await db.query(`INSERT INTO mirror (${columns}) VALUES (${params}) RETURNING ${MIRROR_COLUMNS}`, entries.map(([, , v]) => v));
  return mirrorFromRow(rows[0]);
}

/** Change the given fields of one mirror; null if no mirror has that id. */
export async function updateMirror(db: pg.Pool | pg.ClientBase, id: number, patch: MirrorPatch): Promise<Mirror | null> {
  const entries = writableEntries(patch);
  const sets = entries.map(([c, cast], i) => `${c} = $${i + 2}::${cast}`);
  sets.push('updated_at = now()');
  const { rows } = await db.query(
    `UPDATE mirror SET ${sets.join(', ')} WHERE id = $1 RETURNING ${MIRROR_COLUMNS}`,
    [id, ...entries.map(([, , v]) => v)],
  );
  return rows.length ? mirrorFromRow(rows[0]) : null;
}

export async function mirrorByIdentifier(db: pg.Pool | pg.ClientBase, identifier: string): Promise<Mirror | null> {
  const { rows } = await db.query({
    name: 'mirror_by_identifier',
    text: `SELECT ${MIRROR_COLUMNS} FROM mirror WHERE identifier = $1`,
    values: [identifier],
  });
  return rows.length ? mirrorFromRow(rows[0]) : null;
}

/**
 * Enable or disable the named mirrors in one statement. Returns, per identifier found, whether it changed
 * (false: it already was in that state); identifiers not returned do not exist.
 */
export async function setEnabled(db: pg.Pool | pg.ClientBase, identifiers: string[], enabled: boolean): Promise<Map<string, boolean>> {
  const { rows } = await db.query({
    name: 'mirror_set_enabled',
    text: `WITH target AS (SELECT id, enabled <> $2 AS changes FROM mirror WHERE identifier = ANY($1::text[])),
           upd AS (UPDATE mirror m SET enabled = $2, updated_at = now() FROM target t WHERE m.id = t.id AND t.changes
                   RETURNING m.id)
           SELECT m.identifier, t.changes FROM target t JOIN mirror m USING (id)`,
    values: [identifiers, enabled],
  });
  return new Map(rows.map((r) => [r.identifier as string, r.changes as boolean]));
}

/** Rename; null if `from` does not exist. A taken `to` raises PostgreSQL's unique violation (23505). */
export async function renameMirror(db: pg.Pool | pg.ClientBase, from: string, to: string): Promise<Mirror | null> {
  const { rows } = await db.query({
    name: 'mirror_rename',
    text: `UPDATE mirror SET identifier = $2, updated_at = now() WHERE identifier = $1 RETURNING ${MIRROR_COLUMNS}`,
    values: [from, to],
  });
  return rows.length ? mirrorFromRow(rows[0]) : null;
}

/** Delete a mirror; its notes go with it and a trigger takes its id out of every file row. */
export async function deleteMirror(db: pg.Pool | pg.ClientBase, identifier: string): Promise<Mirror | null> {
  const { rows } = await db.query({
    name: 'mirror_delete',
    text: `DELETE FROM mirror WHERE identifier = $1 RETURNING ${MIRROR_COLUMNS}`,
    values: [identifier],
  });
  return rows.length ? mirrorFromRow(rows[0]) : null;
}

/** How many file rows list each mirror; mirrors holding nothing are absent. */
export async function fileCountsByMirror(db: pg.Pool | pg.ClientBase): Promise<Map<number, number>> {
  const { rows } = await db.query({
    name: 'mirror_file_counts',
    text: 'SELECT m AS id, count(*) AS n FROM file, unnest(mirrors) AS m GROUP BY m',
  });
  return new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
}

export async function fileCountOfMirror(db: pg.Pool | pg.ClientBase, id: number): Promise<number> {
  const { rows } = await db.query({
    name: 'mirror_file_count',
    text: 'SELECT count(*) AS n FROM file WHERE mirrors @> ARRAY[$1::smallint]',
    values: [id],
  });
  return Number(rows[0].n);
}
