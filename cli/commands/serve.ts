// `mirrorlane serve`: run the sidecar in the foreground. SIGINT/SIGTERM: drain and stop. SIGHUP: reload the
// configuration file. `--replace`: take over from a running sidecar without dropping a request. Beside the sidecar
// runs the scheduler (probe rounds, scheduled scans), active in one serve process per database.
import type { Command } from 'commander';
import { loadConfig, sidecarInstance } from '../../core/config.ts';
import type { Config } from '../../core/config.ts';
import { databaseUrl } from '../../core/db/pool.ts';
import { UsageError, type CliContext } from './context.ts';
import { geoSummary, geoWarnings } from './geoip.ts';

/** Configured tiers (AS, AS peers, as-only) that the GeoIP data cannot serve are said at start, not found later. */
async function warnMissingGeoData(ctx: CliContext, config: Config): Promise<void> {
  try {
    for (const w of await geoWarnings(config, ctx.db())) ctx.warn(stamped(`[sidecar] warning: ${w}`));
  } catch (e) {
    ctx.warn(stamped(`[sidecar] GeoIP data not checked against the mirrors: ${(e as Error).message}`));
  } finally {
    await ctx.close();
  }
  ctx.warn(stamped(`[sidecar] ${geoSummary(config)}`));
}

/** serve's log lines go to a journal or a file: each carries its time (UTC, ISO 8601). */
const stamped = (m: string) => `${new Date().toISOString()} ${m}`;

/** The probe rounds and scheduled scans, unless --no-scheduler: only one serve process per database runs them. */
async function schedulerFor(ctx: CliContext, config: Config, enabled: boolean): Promise<{ stop(): Promise<void> } | null> {
  if (!enabled) return null;
  const { startScheduler } = await import('../../runtime/scheduler.ts');
  return startScheduler(config, databaseUrl(config), { configFile: config.configPath, log: (m) => ctx.warn(stamped(`[scheduler] ${m}`)) });
}

export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the decision sidecar on its unix socket until SIGINT/SIGTERM; SIGHUP reloads the config')
    .option('--replace', 'take the socket over from a running sidecar, which then drains and stops (zero-downtime upgrade)')
    .option('--no-scheduler', 'do not probe or scan from this process (another process or host does it)')
    .option('--instance <n>', 'which of the sidecar.processes sidecars to run (1 = sidecar.socket, 2 = sidecar-2.sock, …)', '1')
    .option('--all', 'run every sidecar of sidecar.processes in this process, as threads sharing one copy of the GeoIP data')
    .action(async (opts: { replace?: boolean; instance: string; all?: boolean; scheduler: boolean }) => {
      if (opts.all) {
        await serveAll(ctx, opts.replace === true, opts.scheduler);
        return;
      }
      if (!/^\d{1,2}$/.test(opts.instance)) throw new UsageError(`--instance: expected a number from 1 to sidecar.processes, got "${opts.instance}"`);
      const instance = Number(opts.instance);
      const config = sidecarInstance(ctx.config(), instance);
      // Loaded on use: the admin commands need neither the sidecar nor its dependencies.
      const { runSidecar } = await import('../../sidecar/server.ts');
      const log = (m: string) => ctx.warn(stamped(`[sidecar] ${m}`));
      const sidecar = await runSidecar(config, { replace: opts.replace === true, log });
      ctx.out(stamped(`sidecar listening on ${config.sidecar.socket}; stop with Ctrl-C or SIGTERM, reload the config with SIGHUP`));
      await warnMissingGeoData(ctx, config);
      const scheduler = await schedulerFor(ctx, config, opts.scheduler);
      const signal = await untilStopped(() => {
        if (!config.configPath) {
          log('SIGHUP: no config file to reload (the defaults are in use)');
          return;
        }
        try {
          const next = sidecarInstance(loadConfig(config.configPath, ctx.io.env), instance);
          void sidecar.reload(next).catch((e) => log(`reload failed, keeping the old configuration: ${(e as Error).message}`));
        } catch (e) {
          log(`reload failed, keeping the old configuration: ${(e as Error).message}`);
        }
      });
      ctx.out(stamped(`${signal}: draining and stopping the sidecar`));
      await scheduler?.stop();
      await sidecar.close();
    });
}

/** Resolves with the signal that asks to stop (SIGINT/SIGTERM); SIGHUP meanwhile calls `reload`. */
function untilStopped(reload: () => void): Promise<NodeJS.Signals> {
  process.on('SIGHUP', reload);
  return new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', reload);
      resolve(s);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `serve --all`: every instance as a thread of this process (sidecar/threads.ts). */
async function serveAll(ctx: CliContext, replace: boolean, withScheduler: boolean): Promise<void> {
  const config = ctx.config();
  const { runSidecarThreads } = await import('../../sidecar/threads.ts');
  const log = (m: string) => ctx.warn(stamped(`[sidecar] ${m}`));
  const threads = await runSidecarThreads(config, { replace, log });
  ctx.out(stamped(`${threads.sockets.length} sidecar thread(s) listening on ${threads.sockets.join(', ')}; stop with Ctrl-C or SIGTERM, reload the config with SIGHUP`));
  const scheduler = await schedulerFor(ctx, config, withScheduler);
  const signal = await untilStopped(() => {
    if (!config.configPath) {
      log('SIGHUP: no config file to reload (the defaults are in use)');
      return;
    }
    try {
      threads.reload(loadConfig(config.configPath, ctx.io.env));
    } catch (e) {
      log(`reload failed, keeping the old configuration: ${(e as Error).message}`);
    }
  });
  ctx.out(stamped(`${signal}: draining and stopping the sidecar threads`));
  await scheduler?.stop();
  await threads.close();
}
