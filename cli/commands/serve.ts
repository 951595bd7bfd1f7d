// `mirrorlane serve`: run the sidecar in the foreground until SIGINT or SIGTERM.
import type { Command } from 'commander';
import type { CliContext } from './context.ts';

export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the decision sidecar on its unix socket until SIGINT/SIGTERM')
    .action(async () => {
      const config = ctx.config();
      // Loaded on use: the admin commands need neither the sidecar nor its dependencies.
      const { runSidecar } = await import('../../sidecar/server.ts');
      const sidecar = await runSidecar(config);
      ctx.out(`sidecar listening on ${config.sidecar.socket}; stop with Ctrl-C or SIGTERM`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const stop = (s: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve(s);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      ctx.out(`${signal}: stopping the sidecar`);
      await sidecar.close();
    });
}
