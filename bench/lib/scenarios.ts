// What the benchmark measures: the scenarios, the load wrk puts on for each, the extra nginx locations it needs
// (the `return 302` baseline, the proxy floor) and the clients it pretends to be.
import type { Config } from '../../core/config.ts';
import contract from '../../njs/contract.ts';
import { GEO_FACTS } from '../../test/helpers/geoip-fixture.ts';
import type { WrkLoad } from './wrk.ts';

export type Kind = 'baseline' | 'warm' | 'proxy' | 'cold' | 'json' | 'mirrorlist' | 'floor';
export type AccessLog = Config['nginx']['accessLog'];

export interface Scenario {
  /** Unique, in the order of the report. */
  key: string;
  kind: Kind;
  label: string;
  /** Files requested at random (the hot set, or the whole table for cold and the baseline). */
  hot: number;
  /** The access log of the Mirrorlane server during this run; null: the shipped one (nginx.accessLog default). */
  accessLog: AccessLog | null;
  target: string;
}

export const BASELINE_PREFIX = '/bench-302';
const FLOOR_PREFIX = '/bench-floor';
export const PROXY_PREFIX = '/bench-proxy';

/** nginx alone: the same request line and headers, answered by `return 302` in the same server { }. */
export const EXTRA_LOCATIONS = `
        # The baseline: what nginx alone does for a redirect, without an access log (as the published figures of
        # nginx and of the peers are measured). The Mirrorlane locations log as the shipped config does.
        location ^~ ${BASELINE_PREFIX}/ {
            access_log off;
            return 302 http://mirror-1.example.org/mirrorlane$uri;
        }
        # The floor: nginx proxying to the sidecar without njs and without a decision (its /health answer).
        location ^~ ${FLOOR_PREFIX}/ {
            access_log off;
            rewrite ^ /health break;
            proxy_pass http://mirrorlane_sidecar;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        # The path before njs (the sidecar's answer relayed by proxy_pass), for the same decisions: what would
        # have to beat the njs handler by more than 10 % to stay. The prefix is cut off the request target.
        location ^~ ${PROXY_PREFIX}/ {
          location ~ ^${PROXY_PREFIX}(?<bench_rest>/.*)$ {
            set $bench_download ${contract.SIDECAR_DOWNLOAD_PATH};
            proxy_pass http://mirrorlane_sidecar$bench_download;
            proxy_method GET;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_headers off;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Transfer-Encoding "";
            proxy_set_header Host mirrorlane;
            proxy_set_header X-Ml-Uri $bench_rest$is_args$args;
            proxy_set_header X-Ml-Method $request_method;
            proxy_set_header X-Ml-Client $remote_addr;
            proxy_set_header X-Ml-Scheme $scheme;
            proxy_set_header X-Ml-User-Agent $http_user_agent;
            proxy_set_header X-Ml-Range $http_range;
            proxy_set_header X-Ml-Accept $http_accept;
            proxy_set_header X-Ml-Host $http_host;
            proxy_read_timeout 500ms;
            proxy_redirect off;
            proxy_buffer_size 32k;
            proxy_buffers 16 16k;
            proxy_busy_buffers_size 32k;
          }
        }`;

export function baselineScenario(files: number): Scenario {
  return { key: 'baseline', kind: 'baseline', label: 'nginx return 302', hot: files, accessLog: null, target: '' };
}

/** The subjects of the phase with the file cache, in order. */
export function warmScenarios(hots: number[], files: number, opts: { floor: boolean; accessLogCost: boolean }): Scenario[] {
  const out: Scenario[] = [];
  for (const h of hots) {
    const hot = Math.min(h, files);
    out.push({ key: `warm-${hot}`, kind: 'warm', label: `warm redirect, hot set ${hot}`, hot, accessLog: null, target: '>= 20 %, p99 < 10 ms' });
  }
  const first = Math.min(hots[0], files);
  out.push({ key: `proxy-${first}`, kind: 'proxy', label: `  same, proxy_pass (old path)`, hot: first, accessLog: null, target: 'njs kept unless > 10 % slower' });
  if (opts.accessLogCost) {
    for (const mode of ['off', 'unbuffered'] as const) {
      out.push({ key: `warm-${first}-log-${mode}`, kind: 'warm', label: `  same, access log ${mode}`, hot: first, accessLog: mode, target: 'access log cost' });
    }
  }
  out.push({ key: 'json', kind: 'json', label: 'JSON answer (?json)', hot: first, accessLog: null, target: '' });
  out.push({ key: 'mirrorlist', kind: 'mirrorlist', label: 'mirror list (?mirrorlist)', hot: first, accessLog: null, target: '' });
  if (opts.floor) out.push({ key: 'floor', kind: 'floor', label: 'floor: proxy to sidecar /health', hot: first, accessLog: null, target: 'no njs, no decision' });
  return out;
}

export function coldScenario(files: number): Scenario {
  return { key: 'cold', kind: 'cold', label: `cold redirect, ${files} files`, hot: files, accessLog: null, target: '>= 10 %' };
}

export interface LoadContext {
  url: string;
  clients: string[];
  threads: number;
  connections: number;
}

export function loadFor(ctx: LoadContext, s: Scenario, seconds: number): WrkLoad {
  const common = { url: ctx.url, clients: ctx.clients, threads: ctx.threads, connections: ctx.connections, seconds, mode: 'random' as const, first: 1, count: s.hot };
  switch (s.kind) {
    case 'baseline':
      return { ...common, base: BASELINE_PREFIX, query: '' };
    case 'warm':
    case 'cold':
      return { ...common, base: '', query: '' };
    case 'json':
      return { ...common, base: '', query: '?json' };
    case 'mirrorlist':
      return { ...common, base: '', query: '?mirrorlist' };
    case 'floor':
      return { ...common, base: FLOOR_PREFIX, query: '' };
    case 'proxy':
      return { ...common, base: PROXY_PREFIX, query: '' };
  }
}

/** Addresses inside the GeoIP fixture's networks (DE, FR, US, JP over IPv4 and IPv6) and a few without data. */
export function fixtureClients(): string[] {
  const out: string[] = [];
  for (const f of GEO_FACTS) {
    if (f.network.startsWith('127.')) continue; // where the fixture's mirrors live, not clients
    for (let k = 1; k <= 8; k++) {
      if (f.network.includes(':')) out.push(`${f.network.split('::')[0]}::${(k * 977).toString(16)}`);
      else {
        const [a, b, c, d] = f.ip.split('.').map(Number);
        const lastOctetBase = d < 128 ? 1 : 129;
        out.push(`${a}.${b}.${c}.${lastOctetBase + ((k * 13) % 120)}`);
      }
    }
  }
  out.push('10.1.2.3', '10.20.30.40', '192.0.3.7', '2001:db8:4::1'); // no GeoIP data: "elsewhere" only
  return out;
}
