// `mirrorlane status`: a few lines an operator (or a monitoring check) reads: is the redirector (nginx) answering,
// are the sidecars up, is the database reachable with the schema current, are the mirrors well? Exit 1 when not.
import http from 'node:http';
import type { Command } from 'commander';
import { parseInteger } from '../../core/cli-parse.ts';
import { sidecarSockets, type Config } from '../../core/config.ts';
import { migrationStatus } from '../../core/db/migrate.ts';
import { describeDbError } from '../../core/db/pool.ts';
import { monitoringPaths } from '../../core/nginx-monitoring.ts';
import { CliFailure, type CliContext } from './context.ts';
import { geoWarnings } from './geoip.ts';

interface Check {
  part: 'redirector' | 'sidecar' | 'database' | 'mirrors' | 'geoip';
  ok: boolean;
  /** A warning: said, but does not fail the status. */
  warn?: boolean;
  text: string;
}

interface Answer {
  status: number;
  body: string;
}

function get(target: string | http.RequestOptions, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => void (body.length < 65536 && (body += c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const opts = { agent: false as const, timeout: timeoutMs };
    const req = typeof target === 'string' ? http.get(target, opts, onResponse) : http.get({ ...target, ...opts }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The monitoring URL nginx serves: monitoring.listen if set, else the first nginx.listen; wildcard → loopback. */
export function defaultStatusUrl(config: Config): string {
  const listen = (config.monitoring.listen[0] ?? config.nginx.listen[0] ?? '80').split(/\s+/)[0];
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  let host = m ? (m[1] ?? m[2]) : '127.0.0.1';
  const port = m ? m[3] : listen;
  if (host === '0.0.0.0' || host === '*') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function redirector(config: Config, base: string, timeoutMs: number): Promise<Check> {
  const url = `${base.replace(/\/+$/, '')}${monitoringPaths(config).health}`;
  try {
    const r = await get(url, timeoutMs);
    if (r.status === 200) return { part: 'redirector', ok: true, text: `nginx answers ${url} (200)` };
    if (r.status === 403) return { part: 'redirector', ok: false, text: `nginx refuses ${url} (403): add this host to monitoring.allow` };
    if (r.status === 404) return { part: 'redirector', ok: false, text: `nginx answers ${url} with 404: is the monitoring piece of \`mirrorlane nginx-config\` included?` };
    return { part: 'redirector', ok: false, text: `nginx answers ${url} with ${r.status}: the sidecars are down or nginx cannot reach them` };
  } catch (e) {
    return { part: 'redirector', ok: false, text: `nginx does not answer at ${url}: ${(e as Error).message} (give --url if it listens elsewhere)` };
  }
}

async function sidecar(socket: string, n: number, timeoutMs: number): Promise<Check> {
  try {
    const r = await get({ socketPath: socket, path: '/health', headers: { Host: 'sidecar' } }, timeoutMs);
    const h = JSON.parse(r.body) as { database?: string; mirrors?: number };
    const db = h.database === 'up' ? '' : `, its database connection is ${h.database ?? 'unknown'}`;
    return { part: 'sidecar', ok: r.status === 200 && h.database === 'up', text: `${n}: up on ${socket}, ${h.mirrors ?? '?'} mirrors loaded${db}` };
  } catch (e) {
    return { part: 'sidecar', ok: false, text: `${n}: down: ${socket}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
}

async function database(ctx: CliContext): Promise<Check[]> {
  const db = ctx.db();
  let pending: number;
  try {
    pending = (await migrationStatus(db)).pending.length;
  } catch (e) {
    return [{ part: 'database', ok: false, text: describeDbError(e, ctx.dbUrl) }];
  }
  const checks: Check[] = [
    pending
      ? { part: 'database', ok: false, text: `up, ${pending} migration(s) pending: run \`mirrorlane db migrate\`` }
      : { part: 'database', ok: true, text: 'up, schema current' },
  ];
  const { rows } = await db.query(
    `SELECT count(*) FILTER (WHERE enabled)::int AS enabled,
            count(*) FILTER (WHERE enabled AND health = 'up')::int AS up,
            count(*) FILTER (WHERE enabled AND health = 'down')::int AS down,
            string_agg(identifier, ' ' ORDER BY identifier) FILTER (WHERE enabled AND health = 'down') AS down_ids
       FROM mirror`,
  );
  const m = rows[0] as { enabled: number; up: number; down: number; down_ids: string | null };
  const unknown = m.enabled - m.up - m.down;
  const text = `${m.enabled} enabled: ${m.up} up, ${m.down} down${m.down_ids ? ` (${m.down_ids})` : ''}, ${unknown} not probed yet`;
  if (m.enabled === 0) checks.push({ part: 'mirrors', ok: false, text: 'no mirror is enabled: every download is served by the origin' });
  else if (m.up === 0 && unknown === 0) checks.push({ part: 'mirrors', ok: false, text: `${text}: every download is served by the origin` });
  else checks.push({ part: 'mirrors', ok: true, warn: m.down > 0, text });
  for (const w of await geoWarnings(ctx.config(), db)) checks.push({ part: 'geoip', ok: true, warn: true, text: w.replace(/^GeoIP: /, '') });
  return checks;
}

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('is the redirector (nginx), are its sidecars, the database and the mirrors well? exit 1 when not')
    .option('--url <base>', 'where nginx serves the monitoring location (default: from monitoring.listen or nginx.listen)')
    .option('--timeout <ms>', 'per check', '3000')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; timeout: string; json?: boolean }) => {
      const config = ctx.config();
      const timeoutMs = parseInteger('--timeout', opts.timeout, 1, 600_000);
      const checks = [
        await redirector(config, opts.url ?? defaultStatusUrl(config), timeoutMs),
        ...(await Promise.all(sidecarSockets(config).map((s, i) => sidecar(s, i + 1, timeoutMs)))),
        ...(await database(ctx)),
      ];
      const well = checks.every((c) => c.ok);
      if (opts.json) ctx.json({ ok: well, checks });
      else for (const c of checks) ctx.out(`${c.ok ? (c.warn ? 'warn' : 'ok  ') : 'FAIL'}  ${c.part}: ${c.text}`);
      if (!well) throw new CliFailure(`not well: ${checks.filter((c) => !c.ok).map((c) => c.part).join(', ')}`);
    });
}
