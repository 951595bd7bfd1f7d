// What the benchmark reads besides wrk's figures: the sidecars' /health, nginx's error log (fallbacks and why),
// one request of each kind before measuring.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { RunningPostgres } from '../../runtime/postgres.ts';
import { GEO } from '../../test/helpers/geoip-fixture.ts';
import { filePath } from './dataset.ts';
import { int, progress } from './format.ts';
import { BASELINE_PREFIX, PROXY_PREFIX } from './scenarios.ts';

export interface Health {
  size: number;
  hits: number;
  misses: number;
}

export function sidecarHealth(socket: string): Promise<Health> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: '/health', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body).fileCache as Health);
          } catch (e) {
            reject(e);
          }
        });
      })
      .on('error', reject);
  });
}

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

function fetchOnce(url: string, xff: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'X-Forwarded-For': xff }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

/** Counts of what nginx's error log says about the sidecars. */
export interface ErrorLogCounts {
  /** njs fell back (sidecar too slow, down or answering garbage): one line per fallback. */
  fallbacks: number;
  /** "upstream timed out": a sidecar missed the sidecarTimeoutMs budget. */
  timeouts: number;
  /** "no live upstreams": every sidecar was marked failed at that moment. */
  noLive: number;
}

function count(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) n++;
  return n;
}

export function errorLogCounts(errorLog: string): ErrorLogCounts {
  let text = '';
  try {
    text = fs.readFileSync(errorLog, 'utf8');
  } catch {
    return { fallbacks: 0, timeouts: 0, noLive: 0 };
  }
  return { fallbacks: count(text, 'js: mirrorlane: '), timeouts: count(text, 'upstream timed out'), noLive: count(text, 'no live upstreams') };
}

export function diffCounts(a: ErrorLogCounts, b: ErrorLogCounts): ErrorLogCounts {
  return { fallbacks: b.fallbacks - a.fallbacks, timeouts: b.timeouts - a.timeouts, noLive: b.noLive - a.noLive };
}

export function postmasterPid(pg: RunningPostgres): number {
  return Number(fs.readFileSync(path.join(path.dirname(pg.logFile), 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** One request of each kind answers what the scenario claims to measure, or the benchmark stops here. */
export async function sanityCheck(url: string, files: number): Promise<void> {
  const p = filePath(Math.min(7, files));
  const client = GEO.berlin.ip;
  const fail = (what: string, r: Answer) => {
    throw new Error(`sanity check: ${what}: got ${r.status} ${JSON.stringify(r.headers)}\n${r.body.slice(0, 500)}`);
  };
  const base = await fetchOnce(`${url}${BASELINE_PREFIX}${p}`, client);
  if (base.status !== 302) fail('baseline should answer 302', base);
  const redirect = await fetchOnce(`${url}${p}`, client);
  if (redirect.status !== 302 || !/^https?:\/\/mirror-\d+\.example\.org\//.test(String(redirect.headers.location))) fail('a 302 to a mirror', redirect);
  const proxied = await fetchOnce(`${url}${PROXY_PREFIX}${p}`, client);
  if (proxied.status !== 302 || !/^https?:\/\/mirror-\d+\.example\.org\//.test(String(proxied.headers.location))) fail('a 302 to a mirror through proxy_pass', proxied);
  const json = await fetchOnce(`${url}${p}?json`, client);
  if (json.status !== 200 || !String(json.headers['content-type']).startsWith('application/json')) fail('the JSON answer', json);
  const list = await fetchOnce(`${url}${p}?mirrorlist`, client);
  if (list.status !== 200 || !String(list.headers['content-type']).startsWith('text/html')) fail('the mirror list page', list);
  progress(
    `  check: ${p} from ${client} → 302 ${redirect.headers['x-mirrorlane-mirror']} (tier ${redirect.headers['x-mirrorlane-tier']}), ` +
      `answer sizes: redirect ${Buffer.byteLength(JSON.stringify(redirect.headers))} B of headers, JSON ${int(json.body.length)} B, mirror list ${int(list.body.length)} B`,
  );
}
