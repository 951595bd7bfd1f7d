// The monitoring piece of the nginx snippets (nginx/monitoring.conf): /health and /metrics of every sidecar through
// nginx, for the addresses in monitoring.allow only. Inside the download server {} at monitoring.path, or in a
// server {} of its own on monitoring.listen (in the http part) when that is set.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT, sidecarSockets, type Config } from './config.ts';

function checked(value: string, what: string): string {
  if (!/^[^\s;{}'"\\$#]+$/.test(value)) throw new Error(`${what} cannot be used in nginx config: ${JSON.stringify(value)}`);
  return value;
}

/** An nginx `allow` operand: an address, a CIDR network or "all". */
function allowLine(entry: string): string {
  const [addr, bits] = entry.split('/');
  const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (net.isIPv6(addr) ? 128 : 32));
  if (entry !== 'all' && (!net.isIP(addr) || !okBits)) throw new Error(`monitoring.allow: not an address or network: ${JSON.stringify(entry)}`);
  return `    allow ${entry};`;
}

/** The URL paths a scraper uses, for the README and `mirrorlane status`: health, then one metrics path per sidecar. */
export function monitoringPaths(config: Config): { health: string; metrics: string[] } {
  const p = config.monitoring.path;
  return { health: `${p}health`, metrics: sidecarSockets(config).map((_s, i) => `${p}sidecar-${i + 1}/metrics`) };
}

export function renderMonitoringLocation(config: Config): string {
  const p = checked(config.monitoring.path, 'monitoring.path');
  const instances = sidecarSockets(config)
    .map((socket, i) => {
      const s = checked(socket, 'sidecar.socket');
      const base = `${p}sidecar-${i + 1}/`;
      return [
        `    location = ${base}metrics { proxy_pass http://unix:${s}:/metrics; }`,
        `    location = ${base}health { proxy_pass http://unix:${s}:/health; }`,
      ].join('\n');
    })
    .join('\n');
  return fs
    .readFileSync(path.join(PROJECT_ROOT, 'nginx', 'monitoring.conf'), 'utf8')
    .replace('{{allow}}', config.monitoring.allow.map(allowLine).join('\n'))
    .replace('{{instances}}', instances)
    .replace(/\{\{path\}\}/g, p);
}

/** The server {} of its own for monitoring.listen, for the http part; '' when monitoring shares the download server. */
export function renderMonitoringServer(config: Config): string {
  if (config.monitoring.listen.length === 0) return '';
  const listen = config.monitoring.listen.map((l) => `    listen ${checked(l, 'monitoring.listen')};`).join('\n');
  const location = renderMonitoringLocation(config)
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n');
  return `\n# Mirrorlane monitoring on a port of its own (monitoring.listen).\nserver {\n${listen}\n    server_name _;\n${location}\n}\n`;
}
