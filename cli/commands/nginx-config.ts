// `mirrorlane nginx-config`: the two snippets an operator includes into an existing nginx.
import type { Command } from 'commander';
import { UsageError, type CliContext } from './context.ts';

export function registerNginxConfigCommand(program: Command, ctx: CliContext): void {
  program
    .command('nginx-config')
    .description('print the nginx snippets: one for the http {} block, one for the server {} block')
    .option('--part <part>', 'print only one part: http or server (without the comment header)')
    .action(async (opts: { part?: string }) => {
      if (opts.part !== undefined && opts.part !== 'http' && opts.part !== 'server') {
        throw new UsageError(`--part must be http or server, got '${opts.part}'`);
      }
      const config = ctx.config();
      // Loaded on use so that the rest of the CLI does not depend on the nginx templates.
      const { renderNginxSnippets } = await import('../../core/nginx-config.ts');
      const snippets = renderNginxSnippets(config);
      if (opts.part) {
        ctx.out(snippets[opts.part]);
        return;
      }
      const source = config.configPath ? `from ${config.configPath}` : 'from the built-in defaults';
      ctx.out(
        [
          `# Mirrorlane nginx snippets, rendered ${source}.`,
          '#',
          '# ---- part 1: inside the http { } block of nginx.conf (e.g. /etc/nginx/conf.d/mirrorlane.conf) ----',
          snippets.http.trimEnd(),
          '',
          '# ---- part 2: inside the server { } block that publishes the origin tree ----',
          snippets.server.trimEnd(),
        ].join('\n'),
      );
    });
}
