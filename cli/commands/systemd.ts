// `mirrorlane systemd print|install`: the systemd units that run this setup as a service (core/systemd-units.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { PROJECT_ROOT, sidecarSockets } from '../../core/config.ts';
import { parseIdentifier } from '../../core/cli-parse.ts';
import { isTimeSpan, renderUnits, type Unit } from '../../core/systemd-units.ts';
import { CliFailure, UsageError, type CliContext } from './context.ts';

interface UnitFlags {
  user: string;
  group?: string;
  scanEvery: string;
  originScanEvery: string;
}

interface InstallFlags extends UnitFlags {
  dir: string;
}

function addUnitOptions(cmd: Command): Command {
  return cmd
    .option('--user <name>', 'system user the services run as (must read the release and the config, write varDir)', 'mirrorlane')
    .option('--group <name>', 'its group (default: the same as --user)')
    .option('--scan-every <span>', 'pause between two scans of all mirrors (systemd time span)', '1h')
    .option('--origin-scan-every <span>', 'pause between two origin scans (systemd time span)', '15min');
}

export function registerSystemdCommands(program: Command, ctx: CliContext): void {
  const systemd = program.command('systemd').description('systemd units for this setup: sidecars, probe loop, scan timers (logs go to the journal)');
  addUnitOptions(systemd.command('print').description('print the units (needs --config: they run that setup)')).action(
    async (opts: UnitFlags) => {
      for (const u of units(ctx, opts)) ctx.out(`# ---- ${u.name} ----\n${u.text}`);
    },
  );
  addUnitOptions(systemd.command('install').description('write the units to /etc/systemd/system (or --dir)'))
    .option('--dir <dir>', 'where to write them', '/etc/systemd/system')
    .action(async (opts: InstallFlags) => install(ctx, opts));
}

function units(ctx: CliContext, opts: UnitFlags): Unit[] {
  const config = ctx.config();
  if (!config.configPath) throw new UsageError('the units run your own setup: give --config FILE (an absolute path that the service user can read)');
  for (const [flag, v] of [['--scan-every', opts.scanEvery], ['--origin-scan-every', opts.originScanEvery]] as const) {
    if (!isTimeSpan(v)) throw new UsageError(`${flag} must be a systemd time span like 15min, 1h or 1d, got '${v}'`);
  }
  const user = parseIdentifier('--user', opts.user);
  const group = parseIdentifier('--group', opts.group ?? opts.user);
  const runDir = '/run/mirrorlane';
  const writable = new Set([config.varDir]);
  for (const s of sidecarSockets(config)) if (path.dirname(s) !== runDir) writable.add(path.dirname(s));
  return renderUnits({
    node: process.execPath,
    cli: path.join(PROJECT_ROOT, 'bin', 'mirrorlane.js'),
    config: config.configPath,
    user,
    group,
    sidecars: config.sidecar.processes,
    writable: [...writable],
    scanEvery: opts.scanEvery,
    originScanEvery: opts.originScanEvery,
  });
}

async function install(ctx: CliContext, opts: InstallFlags): Promise<void> {
  const list = units(ctx, opts);
  const dir = path.resolve(opts.dir);
  if (!fs.existsSync(dir)) throw new CliFailure(`${dir} does not exist: create it or give another --dir`);
  for (const u of list) {
    const file = path.join(dir, u.name);
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    try {
      fs.writeFileSync(file, u.text, { mode: 0o644 });
    } catch (e) {
      throw new CliFailure(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (run as root, or give --dir)`);
    }
    ctx.out(`${before === null ? 'created' : before === u.text ? 'unchanged' : 'updated'} ${file}`);
  }
  ctx.out('next: systemctl daemon-reload && systemctl enable --now mirrorlane.target   (logs: journalctl -u "mirrorlane*")');
}
