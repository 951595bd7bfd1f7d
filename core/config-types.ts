// The shape of Mirrorlane's configuration (core/config.ts loads it; core/config-check.ts checks it).
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
