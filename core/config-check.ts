// Checking a configuration, pure: a config file merged onto the defaults key by key (a misspelt key is an error,
// not ignored), then every value checked. Each error is one line naming the setting.
import type { Config } from './config-types.ts';
import { compileLocalDeliveryRules } from './local-delivery.ts';

export class ConfigError extends Error {}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Settings whose keys are the operator's (path prefixes), with numbers as values. */
const RECORD_SETTINGS = new Set(['scan.outdatedAllowedMinutes']);
/** Settings whose keys are the operator's, with strings as values. */
const TEXT_RECORD_SETTINGS = new Set(['formats.aptLists']);

/** Merge a parsed config file onto the defaults, checking every key so a typo is named, not ignored. */
export function mergeConfig(base: Config, file: Json, source: string): Config {
  const out = structuredClone(base) as unknown as Json;
  const walk = (target: Json, patch: Json, where: string) => {
    for (const [key, value] of Object.entries(patch)) {
      const at = where ? `${where}.${key}` : key;
      if (!(key in target) || key === 'configPath') {
        throw new ConfigError(`${source}: unknown setting "${at}"; see README.md, section Configuration`);
      }
      const current = target[key];
      if (RECORD_SETTINGS.has(at)) {
        if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'number' && v >= 0)) {
          throw new ConfigError(`${source}: "${at}" must be an object of non-negative numbers, e.g. {"/repodata/": 60}`);
        }
        target[key] = value;
      } else if (TEXT_RECORD_SETTINGS.has(at)) {
        if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
          throw new ConfigError(`${source}: "${at}" must be an object of strings, e.g. {"/debian.list": "/debian/"}`);
        }
        target[key] = value;
      } else if (isObject(current)) {
        if (!isObject(value)) throw new ConfigError(`${source}: "${at}" must be an object`);
        walk(current, value, at);
      } else if (Array.isArray(current)) {
        if (!Array.isArray(value) || !value.every((x) => typeof x === 'string')) {
          throw new ConfigError(`${source}: "${at}" must be a list of strings`);
        }
        target[key] = value;
      } else if (current === null || typeof current === typeof value || value === null) {
        if (value === null && current !== null && key !== 'asn' && key !== 'databaseUrl' && key !== 'readDatabaseUrl' && key !== 'zsyncMinSize') {
          throw new ConfigError(`${source}: "${at}" may not be null`);
        }
        target[key] = value;
      } else if (key === 'workerProcesses' && (value === 'auto' || typeof value === 'number')) {
        target[key] = value;
      } else {
        throw new ConfigError(`${source}: "${at}" must be a ${typeof current}, got ${JSON.stringify(value)}`);
      }
    }
  };
  walk(out, file, '');
  return out as unknown as Config;
}

/** Check the values a merged config holds (ranges, forms, rules), naming the setting and what it takes. */
export function checkConfig(c: Config): Config {
  if (!Number.isInteger(c.sidecar.processes) || c.sidecar.processes < 1 || c.sidecar.processes > 64) {
    throw new ConfigError(`sidecar.processes must be a whole number from 1 to 64, got ${JSON.stringify(c.sidecar.processes)}`);
  }
  if (!['njs', 'proxy'].includes(c.nginx.mode)) throw new ConfigError(`nginx.mode must be "njs" or "proxy", got ${JSON.stringify(c.nginx.mode)}`);
  if (!['buffered', 'off', 'unbuffered'].includes(c.nginx.accessLog)) {
    throw new ConfigError(`nginx.accessLog must be "buffered", "off" or "unbuffered", got ${JSON.stringify(c.nginx.accessLog)}`);
  }
  if (!(Number.isInteger(c.sidecar.changePollMs) && c.sidecar.changePollMs >= 50 && c.sidecar.changePollMs <= 60_000)) {
    throw new ConfigError(`sidecar.changePollMs must be a whole number of ms from 50 to 60000, got ${JSON.stringify(c.sidecar.changePollMs)}`);
  }
  if (!c.origin.urlPrefix.startsWith('/') || !c.origin.urlPrefix.endsWith('/')) {
    throw new ConfigError(`origin.urlPrefix must start and end with "/", got "${c.origin.urlPrefix}"`);
  }
  if (!/^\/[A-Za-z0-9._~/-]*\/$/.test(c.monitoring.path) || c.monitoring.path === '/') {
    throw new ConfigError(`monitoring.path must start and end with "/" and not be "/" (e.g. "/mirrorlane-status/"), got "${c.monitoring.path}"`);
  }
  if (!(c.selection.distanceRange >= 1)) throw new ConfigError('selection.distanceRange must be a number >= 1');
  if (c.publicUrl !== '' && !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/.test(c.publicUrl)) {
    throw new ConfigError(`publicUrl must be a scheme and host like "https://download.example.org", got "${c.publicUrl}"`);
  }
  try {
    compileLocalDeliveryRules(c.delivery);
  } catch (e) {
    throw new ConfigError(`delivery.${(e as Error).message}`);
  }
  for (const [list, subtree] of Object.entries(c.formats.aptLists)) {
    // The list is a path the sidecar answers itself; the subtree is where apt appends dists/... and pool/...
    if (!/^\/[^?#\s]*[^/?#\s]$/.test(list)) throw new ConfigError(`formats.aptLists: "${list}" must be an origin path like "/debian.list"`);
    if (!/^\/([^?#\s]*\/)?$/.test(subtree) || subtree.split('/').includes('..')) {
      throw new ConfigError(`formats.aptLists: subtree "${subtree}" of "${list}" must start and end with "/", like "/debian/"`);
    }
  }
  if (!Number.isInteger(c.formats.linkHeaders) || c.formats.linkHeaders < 0) {
    throw new ConfigError(`formats.linkHeaders must be a whole number >= 0, got ${c.formats.linkHeaders}`);
  }
  if (!Number.isInteger(c.formats.torrentMinSize) || c.formats.torrentMinSize < 0) {
    throw new ConfigError(`formats.torrentMinSize must be a whole number of bytes >= 0, got ${c.formats.torrentMinSize}`);
  }
  const z = c.formats.zsyncMinSize;
  if (z !== null && (!Number.isInteger(z) || z < 0)) throw new ConfigError(`formats.zsyncMinSize must be a whole number of bytes >= 0 or null, got ${z}`);
  for (const t of c.formats.trackers) {
    if (!/^(https?|udp|wss?):\/\/[^\s/?#]+[^\s]*$/.test(t)) {
      throw new ConfigError(`formats.trackers: "${t}" is no tracker URL; use http://, https:// or udp://host:port/announce`);
    }
  }
  for (const h of c.scan.originHashes) {
    if (!['sha256', 'sha1', 'md5'].includes(h)) throw new ConfigError(`scan.originHashes: unknown hash "${h}" (use sha256, sha1, md5)`);
  }
  const wholeAtLeast1: [string, number][] = [
    ['scan.jobs', c.scan.jobs],
    ['probe.upAfter', c.probe.upAfter],
    ['probe.downAfter', c.probe.downAfter],
    ['probe.intervalS', c.probe.intervalS],
    ['probe.timeoutMs', c.probe.timeoutMs],
  ];
  for (const [name, v] of wholeAtLeast1) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be a whole number >= 1, got ${v}`);
  }
  if (!Number.isInteger(c.scan.intervalS) || c.scan.intervalS < 0) {
    throw new ConfigError(`scan.intervalS must be a whole number of seconds >= 0 (0: no scheduled scans), got ${c.scan.intervalS}`);
  }
  return c;
}
