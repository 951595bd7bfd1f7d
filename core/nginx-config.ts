// Renders the nginx snippets from the templates in nginx/: the operator's `http` and `server` parts, and the
// whole nginx.conf of the private nginx that `npm start` and the tests run.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT, sidecarSockets, type Config } from './config.ts';
import { continentOf } from './continents.ts';
import contract from '../njs/contract.ts';
import { renderMonitoringLocation, renderMonitoringServer } from './nginx-monitoring.ts';

export const NJS_FILE = path.join(PROJECT_ROOT, 'build', 'njs', 'mirrorlane.js');
export const JS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';

/** Fill {{name}} placeholders; a placeholder without a value is a bug, not an empty string. */
export function fillTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{([a-z_]+)\}\}/g, (_m, name: string) => {
    if (!(name in values)) throw new Error(`nginx template: no value for {{${name}}}`);
    return String(values[name]);
  });
}

function template(name: string): string {
  return fs.readFileSync(path.join(PROJECT_ROOT, 'nginx', name), 'utf8');
}

/** nginx config tokens must not carry spaces, quotes, braces or semicolons from a config file. */
function token(value: string, what: string): string {
  if (!/^[^\s;{}'"\\$#]+$/.test(value)) throw new Error(`${what} cannot be used in nginx config: ${JSON.stringify(value)}`);
  return value;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function trustedProxyLines(proxies: string[]): string {
  return proxies
    .map((p) => {
      const [addr] = p.split('/');
      if (!net.isIP(addr) && p !== 'unix:') throw new Error(`nginx.trustedProxies: not an address or network: ${p}`);
      return `set_real_ip_from ${token(p, 'trusted proxy')};`;
    })
    .join('\n');
}

/** "CC URL" config entries → "CC,CONTINENT,URL ..." for njs, which has no country table of its own. */
export function fallbackEntries(entries: string[]): string {
  return entries
    .map((entry) => {
      const m = /^\s*([A-Za-z]{2})\s+(https?:\/\/\S+)\s*$/.exec(entry);
      const continent = m ? continentOf(m[1].toUpperCase()) : null;
      if (!m || !continent) throw new Error(`fallback.mirrors: expected "CC URL" with a country code and an http(s) URL, got ${JSON.stringify(entry)}`);
      return `${m[1].toUpperCase()},${continent},${token(m[2], 'fallback mirror URL')}`;
    })
    .join(' ');
}

function variableRef(name: string, what: string): string {
  if (name === '') return '';
  if (!/^\$[A-Za-z0-9_]+$/.test(name)) throw new Error(`${what} must be an nginx variable like $geoip2_country_code, got ${JSON.stringify(name)}`);
  return name;
}

/** server.conf with its download location for nginx.mode: the njs one as written, or the proxy_pass one. */
export function downloadMode(serverConf: string, mode: Config['nginx']['mode']): string {
  if (mode === 'njs') return serverConf;
  const re = /^# BEGIN download location[^\n]*\n[\s\S]*?^# END download location\n/m;
  if (!re.test(serverConf)) throw new Error('nginx/server.conf: no BEGIN/END download location marks');
  return serverConf.replace(re, () => template('download-proxy.conf'));
}

export interface NginxSnippets {
  http: string;
  server: string;
}

export function renderNginxSnippets(config: Config, njsFile = NJS_FILE): NginxSnippets {
  const prefix = token(config.origin.urlPrefix, 'origin.urlPrefix');
  const http = fillTemplate(template('http.conf'), {
    njs_dir: token(path.dirname(njsFile), 'njs path'),
    njs_file: token(njsFile, 'njs file'),
    sidecar_servers: sidecarSockets(config)
      // max_fails=0: one answer slower than the budget must not take a sidecar out of the upstream for 10 s
      // (nginx's default, max_fails=1 fail_timeout=10s): under load on 2 cores that emptied the upstream and every
      // request fell back ("no live upstreams"). A sidecar that is down fails its connect() at once, and nginx
      // tries the next one (proxy_next_upstream in server.conf).
      .map((socket) => `    server unix:${token(socket, 'sidecar.socket')} max_fails=0;`)
      .join('\n'),
    keepalive: config.nginx.keepalive,
  });
  const server = fillTemplate(downloadMode(template('server.conf'), config.nginx.mode), {
    real_ip_from: trustedProxyLines(config.nginx.trustedProxies) || '# (no trusted proxies)',
    url_prefix: prefix,
    url_prefix_re: escapeRegex(prefix),
    origin_root: token(config.origin.root.replace(/\/+$/, ''), 'origin.root'),
    autoindex: config.nginx.autoindex ? 'on' : 'off',
    timeout_ms: config.nginx.sidecarTimeoutMs,
    fallback: fallbackEntries(config.fallback.mirrors),
    country_var: variableRef(config.fallback.countryVariable, 'fallback.countryVariable'),
    continent_var: variableRef(config.fallback.continentVariable, 'fallback.continentVariable'),
    decide_location: contract.DECIDE_LOCATION,
    origin_location: contract.ORIGIN_LOCATION,
    sidecar_download_path: contract.SIDECAR_DOWNLOAD_PATH,
    // The largest body njs relays (a mirror list page, an apt list): a bigger one would fall back.
    subrequest_buffer: '8m',
  });
  // Monitoring (/health, /metrics): a piece of its own, on its own port or in the download server.
  const monitoring = config.monitoring.listen.length ? '' : `\n${renderMonitoringLocation(config)}`;
  return { http: http + renderMonitoringServer(config), server: server + monitoring };
}

export interface LocalMirrorServer {
  listen: string;
  root: string;
  autoindexFormat?: 'html' | 'json' | 'xml';
}

export interface ManagedNginx {
  /** Folder of the private nginx: conf/, logs/, tmp/, nginx.pid. */
  prefix: string;
  listen: string[];
  mirrors?: LocalMirrorServer[];
  errorLevel?: string;
  workers?: number | 'auto';
  /** Lines added inside the main server { } after the Mirrorlane part: more locations (benchmarks, tests). */
  extraLocations?: string;
}

function renderMirrorServers(servers: LocalMirrorServer[]): string {
  return servers
    .map((s) =>
      fillTemplate(template('mirror-server.conf'), {
        listen: token(s.listen, 'mirror listen'),
        root: token(s.root, 'mirror root'),
        autoindex_format: s.autoindexFormat ?? 'html',
      }),
    )
    .join('\n');
}

function makePrefixDirs(prefix: string): void {
  for (const sub of ['conf', 'logs', 'tmp']) fs.mkdirSync(path.join(prefix, sub), { recursive: true, mode: 0o755 });
}

// As root, nginx drops its workers to nobody; name it so the config says what happens.
const workerUser = () => (process.getuid?.() === 0 ? 'user nobody nogroup;' : '');

/** conf/nginx.conf of an nginx that only serves directories (local mirrors for the demo and tests). */
export function writeStaticNginxConfig(prefix: string, servers: LocalMirrorServer[]): string {
  makePrefixDirs(prefix);
  const file = path.join(prefix, 'conf', 'nginx.conf');
  fs.writeFileSync(file, fillTemplate(template('static.conf'), { prefix: token(prefix, 'nginx prefix'), user: workerUser(), servers: renderMirrorServers(servers) }));
  return file;
}

/** The access_log arguments for nginx.accessLog. */
export function accessLogDirective(mode: Config['nginx']['accessLog'], file: string): string {
  if (mode === 'off') return 'off';
  const f = token(file, 'access log path');
  return mode === 'unbuffered' ? f : `${f} combined buffer=64k flush=1s`;
}

/** Write conf/nginx.conf and the two included snippets under the private nginx's prefix. */
export function writeManagedNginxConfig(config: Config, m: ManagedNginx, njsFile = NJS_FILE): string {
  makePrefixDirs(m.prefix);
  const snippets = renderNginxSnippets(config, njsFile);
  fs.writeFileSync(path.join(m.prefix, 'conf', 'mirrorlane-http.conf'), snippets.http);
  fs.writeFileSync(path.join(m.prefix, 'conf', 'mirrorlane-server.conf'), snippets.server);
  const main = fillTemplate(template('main.conf'), {
    js_module: JS_MODULE,
    workers: m.workers ?? config.nginx.workerProcesses,
    prefix: token(m.prefix, 'nginx prefix'),
    error_level: m.errorLevel ?? 'warn',
    access_log: accessLogDirective(config.nginx.accessLog, path.join(m.prefix, 'logs', 'access.log')),
    user: workerUser(),
    mime_types: '/etc/nginx/mime.types',
    listen: m.listen.map((l) => `        listen ${token(l, 'listen')};`).join('\n'),
    server_name: token(config.nginx.serverName, 'nginx.serverName'),
    extra_servers: renderMirrorServers(m.mirrors ?? []),
    extra_locations: m.extraLocations ?? '',
  });
  const file = path.join(m.prefix, 'conf', 'nginx.conf');
  fs.writeFileSync(file, main);
  return file;
}
