// The systemd units of a production setup, rendered from plain options (pure): N sidecars from one template unit,
// the probe loop, and timers for the scans of all mirrors and of the origin, grouped under mirrorlane.target.
// Logs go to the journal (stdout/stderr of each unit, tagged with a SyslogIdentifier): `journalctl -u 'mirrorlane*'`.

export interface UnitOptions {
  /** Absolute path of node. */
  node: string;
  /** Absolute path of bin/mirrorlane.js of the installed release. */
  cli: string;
  /** Absolute path of the operator's config file. */
  config: string;
  user: string;
  group: string;
  /** sidecar.processes: mirrorlane.target wants instances 1…N. */
  sidecars: number;
  /** Directories the services write to (varDir, the socket's folder when it is not under /run/mirrorlane). */
  writable: string[];
  /** systemd time spans, e.g. "1h", "15min". */
  scanEvery: string;
  originScanEvery: string;
}

export interface Unit {
  name: string;
  text: string;
}

/** A systemd command line: each word quoted when it needs it (C-style quoting, as systemd.service describes). */
function command(words: string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `"${w.replace(/(["\\])/g, '\\$1')}"`)).join(' ');
}

function serviceCommon(o: UnitOptions, identifier: string): string {
  return [
    `User=${o.user}`,
    `Group=${o.group}`,
    'Environment=NODE_ENV=production',
    // The journal gets every line; SyslogIdentifier makes `journalctl -t` work per role.
    'StandardOutput=journal',
    'StandardError=journal',
    `SyslogIdentifier=${identifier}`,
    'NoNewPrivileges=yes',
    'ProtectSystem=full',
    'PrivateTmp=yes',
    ...(o.writable.length ? [`ReadWritePaths=${o.writable.join(' ')}`] : []),
  ].join('\n');
}

export function renderUnits(o: UnitOptions): Unit[] {
  const cli = (...args: string[]) => command([o.node, o.cli, '--config', o.config, ...args]);
  const instances = Array.from({ length: o.sidecars }, (_, i) => `mirrorlane-sidecar@${i + 1}.service`);
  const units: Unit[] = [
    {
      name: 'mirrorlane.target',
      text: `[Unit]
Description=Mirrorlane download redirector (sidecars, probe, scan timers)
Wants=${[...instances, 'mirrorlane-probe.service', 'mirrorlane-scan-mirrors.timer', 'mirrorlane-scan-origin.timer'].join(' ')}
After=network-online.target postgresql.service

[Install]
WantedBy=multi-user.target
`,
    },
    {
      name: 'mirrorlane-sidecar@.service',
      text: `[Unit]
Description=Mirrorlane sidecar %i (decisions for nginx on a unix socket)
PartOf=mirrorlane.target
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=simple
# Probes and scans have units of their own below: the sidecars stay out of the scheduler.
ExecStart=${cli('serve', '--instance', '%i', '--no-scheduler')}
# SIGHUP rereads the config file (selection, delivery, formats, GeoIP files).
ExecReload=/bin/kill -HUP $MAINPID
# SIGTERM to the launcher only, which passes it on once: in-flight requests finish, counts are written.
KillMode=mixed
TimeoutStopSec=20
Restart=always
RestartSec=1
# /run/mirrorlane holds the sockets of all instances: one instance stopping must not remove the others'.
RuntimeDirectory=mirrorlane
RuntimeDirectoryMode=0755
RuntimeDirectoryPreserve=yes
${serviceCommon(o, 'mirrorlane-sidecar')}

[Install]
WantedBy=mirrorlane.target
`,
    },
    {
      name: 'mirrorlane-probe.service',
      text: `[Unit]
Description=Mirrorlane mirror health probe (probe --watch, every probe.intervalS)
PartOf=mirrorlane.target
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=simple
ExecStart=${cli('probe', '--watch')}
KillMode=mixed
Restart=always
RestartSec=5
${serviceCommon(o, 'mirrorlane-probe')}

[Install]
WantedBy=mirrorlane.target
`,
    },
    scanPair(o, 'mirrors', 'scan of every mirror', cli('scan', '--all'), o.scanEvery),
    scanPair(o, 'origin', 'scan of the origin tree', cli('origin', 'scan'), o.originScanEvery),
  ].flat();
  return units;
}

function scanPair(o: UnitOptions, what: string, description: string, exec: string, every: string): Unit[] {
  return [
    {
      name: `mirrorlane-scan-${what}.service`,
      text: `[Unit]
Description=Mirrorlane ${description}
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=${exec}
KillMode=mixed
${serviceCommon(o, `mirrorlane-scan-${what}`)}
`,
    },
    {
      name: `mirrorlane-scan-${what}.timer`,
      text: `[Unit]
Description=Mirrorlane ${description}, every ${every}
PartOf=mirrorlane.target

[Timer]
OnBootSec=5min
OnUnitInactiveSec=${every}
RandomizedDelaySec=60
Persistent=true

[Install]
WantedBy=mirrorlane.target timers.target
`,
    },
  ];
}

/** A systemd time span as systemd.time(7) reads it ("90s", "15min", "1h 30min", "2d"). */
export function isTimeSpan(v: string): boolean {
  return /^(\s*\d+\s*(us|ms|s|sec|second|seconds|m|min|minute|minutes|h|hr|hour|hours|d|day|days|w|week|weeks)\s*)+$/.test(v);
}
