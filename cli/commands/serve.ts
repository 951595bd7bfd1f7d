// `mirrorlane serve`: run the sidecar in the foreground. SIGINT/SIGTERM: drain and stop. SIGHUP: reload the
// configuration file. `--replace`: take over from a running sidecar without dropping a request. Beside the sidecar
// runs the scheduler (probe rounds, scheduled scans), active in one serve process per database.
import type { Command } from 'commander';
import { loadConfig, sidecarInstance } from '../../core/config.ts';
import { databaseUrl } from '../../core/db/pool.ts';
import { UsageError, type CliContext } from './context.ts';

/** serve's log lines go to a journal or a file: each carries its time (UTC, ISO 8601). */
const stamped = (m: string) => `${new Date().toISOString()} ${m}`;

export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the decision sidecar on its unix socket until SIGINT/SIGTERM; SIGHUP reloads the config')
    .option('--replace', 'take the socket over from a running sidecar, which then drains and stops (zero-downtime upgrade)')
    .option('--no-scheduler', 'do not probe or scan from this process (another process or host does it)')
    .option('--instance <n>', 'which of the sidecar.processes sidecars to run (1 = sidecar.socket, 2 = sidecar-2.sock, …)', '1')
    .action(async (opts: { replace?: boolean; instance: string; scheduler: boolean }) => {
      if (!/^\d{1,2}$/.test(opts.instance)) throw new UsageError(`--instance: expected a number from 1 to sidecar.processes, got "${opts.instance}"`);
      const instance = Number(opts.instance);
      const config = sidecarInstance(ctx.config(), instance);
      // Loaded on use: the admin commands need neither the sidecar nor its dependencies.
      const { runSidecar } = await import('../../sidecar/server.ts');
      const log = (m: string) => ctx.warn(stamped(`[sidecar] ${m}`));
      const sidecar = await runSidecar(config, { replace: opts.replace === true, log });
      ctx.out(stamped(`sidecar listening on ${config.sidecar.socket}; stop with Ctrl-C or SIGTERM, reload the config with SIGHUP`));
      const { startScheduler } = await import('../../runtime/scheduler.ts');
      const scheduler = opts.scheduler ? startScheduler(config, databaseUrl(config), { configFile: config.configPath, log: (m) => ctx.warn(stamped(`[scheduler] ${m}`)) }) : null;
      const reload = () => {
        if (!config.configPath) {
          ctx.warn(stamped('[sidecar] SIGHUP: no config file to reload (the defaults are in use)'));
          return;
        }
        try {
          const next = sidecarInstance(loadConfig(config.configPath, ctx.io.env), instance);
          void sidecar.reload(next).catch((e) => log(`reload failed, keeping the old configuration: ${(e as Error).message}`));
        } catch (e) {
          log(`reload failed, keeping the old configuration: ${(e as Error).message}`);
        }
      };
      process.on('SIGHUP', reload);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const stop = (s: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve(s);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.off('SIGHUP', reload);
      ctx.out(stamped(`${signal}: draining and stopping the sidecar`));
      await scheduler?.stop();
      await sidecar.close();
    });
}
