// The `mirrorlane` admin command. runCli() is the whole program as a function (tests call it in-process);
// running this file runs it on process.argv.
import fs from 'node:fs';
import readline from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import pg from 'pg';
import { ValueError } from '../core/cli-parse.ts';
import { ConfigError } from '../core/config.ts';
import { DatabaseError, describeDbError } from '../core/db/pool.ts';
import { OriginFileError } from '../core/origin-file.ts';
import { CliContext, CliFailure, UsageError, type CliIo } from './commands/context.ts';
import { registerDbCommands } from './commands/db.ts';
import { registerExportCommands } from './commands/export.ts';
import { registerFileCommands } from './commands/file.ts';
import { registerGeoipCommands } from './commands/geoip.ts';
import { registerIplookupCommand } from './commands/iplookup.ts';
import { registerMirrorCommands } from './commands/mirror.ts';
import { registerMirrorlistCommand } from './commands/mirrorlist.ts';
import { registerNginxConfigCommand } from './commands/nginx-config.ts';
import { registerOriginCommands } from './commands/origin.ts';
import { registerPeerCommands } from './commands/peer.ts';
import { registerProbeCommand } from './commands/probe.ts';
import { registerScanCommand } from './commands/scan.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerStatsCommands } from './commands/stats.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerSystemdCommands } from './commands/systemd.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Errors that come from talking to PostgreSQL (server errors, refused or lost connections). */
function isDatabaseError(e: unknown): boolean {
  if (e instanceof pg.DatabaseError) return true;
  const err = e as { code?: unknown; message?: unknown };
  if (typeof err?.code === 'string' && NETWORK_CODES.has(err.code)) return true;
  return typeof err?.message === 'string' && /^(Connection terminated|timeout exceeded when trying to connect)/.test(err.message);
}

function buildProgram(ctx: CliContext, write: { out: (s: string) => void; err: (s: string) => void }): Command {
  const program = new Command('mirrorlane');
  program
    .description('Mirrorlane admin: mirrors, files, GeoIP lookups, database schema, nginx snippets, the sidecar')
    .option('--config <file>', 'configuration file (default: $MIRRORLANE_CONFIG; $DATABASE_URL overrides its database)')
    .option('--debug', 'on an internal error, print the stack trace too (as MIRRORLANE_DEBUG=1 does)')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: write.out, writeErr: write.err });
  registerDbCommands(program, ctx);
  registerMirrorCommands(program, ctx);
  registerFileCommands(program, ctx);
  registerPeerCommands(program, ctx);
  registerMirrorlistCommand(program, ctx);
  registerExportCommands(program, ctx);
  registerProbeCommand(program, ctx);
  registerScanCommand(program, ctx);
  registerOriginCommands(program, ctx);
  registerIplookupCommand(program, ctx);
  registerGeoipCommands(program, ctx);
  registerNginxConfigCommand(program, ctx);
  registerServeCommand(program, ctx);
  registerStatsCommands(program, ctx);
  registerSystemdCommands(program, ctx);
  registerStatusCommand(program, ctx);
  addUsageHints(program, 'mirrorlane');
  return program;
}

/**
 * A usage error is one line: commander's message, its suggestion ("(Did you mean --country?)", which it puts on a
 * line of its own) and where to read the command's usage.
 */
function addUsageHints(cmd: Command, path: string): void {
  cmd.configureOutput({
    outputError: (str, write) => write(`${str.trim().replace(/\s*\n\s*/g, ' ')}; see \`${path} --help\`\n`),
  });
  for (const sub of cmd.commands) addUsageHints(sub, `${path} ${sub.name()}`);
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Run the CLI on `argv` (without node and script) and return the exit code: 0 done, 1 failed, 2 bad usage.
 * Output goes through `io` (default: the process's streams); nothing here calls process.exit.
 */
export async function runCli(
  argv: string[],
  io: { stdout?: (s: string) => void; stderr?: (s: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  const own = !io.stdout && !io.stderr;
  const full: CliIo = {
    stdout: io.stdout ?? ((s) => void process.stdout.write(s)),
    stderr: io.stderr ?? ((s) => void process.stderr.write(s)),
    env: io.env ?? process.env,
    interactive: own && Boolean(process.stdin.isTTY && process.stdout.isTTY),
    color: own && Boolean(process.stdout.isTTY) && !(io.env ?? process.env).NO_COLOR,
    confirm: own && process.stdin.isTTY ? askOnTerminal : undefined,
  };
  let program: Command | null = null;
  const ctx = new CliContext(full, () => program?.opts<{ config?: string }>().config);
  program = buildProgram(ctx, { out: full.stdout, err: full.stderr });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    // --debug may be anywhere on the line, and parsing may have stopped before reaching it.
    const debug = Boolean(full.env.MIRRORLANE_DEBUG) || argv.includes('--debug');
    return reportError(e, ctx, full, debug);
  } finally {
    await ctx.close();
  }
}

function reportError(e: unknown, ctx: CliContext, io: CliIo, debug: boolean): number {
  const say = (line: string) => io.stderr(`${line}\n`);
  if (e instanceof CommanderError) {
    // commander has printed its message (and our hint) already.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return EXIT_OK;
    return EXIT_USAGE;
  }
  if (debug && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
  if (e instanceof UsageError || e instanceof ValueError) {
    say(`error: ${e.message}`);
    return EXIT_USAGE;
  }
  if (e instanceof CliFailure || e instanceof ConfigError || e instanceof DatabaseError || e instanceof OriginFileError) {
    // One line per problem: a command reporting several (scan --all) puts each on its own "error:" line.
    say(`error: ${e.message.split('\nerror: ').map(oneLine).join('\nerror: ')}`);
    return EXIT_FAILURE;
  }
  if (isDatabaseError(e)) {
    say(`error: ${describeDbError(e, ctx.dbUrl)}`);
    return EXIT_FAILURE;
  }
  // A bug: one line for the user, the stack only when asked for.
  const err = e as Error;
  say(`error: internal error: ${oneLine(err?.message ?? String(e))}${debug ? '' : ' (rerun with --debug for the stack trace)'}`);
  return EXIT_FAILURE;
}

/** Messages quoted from elsewhere (PostgreSQL, the file system) may hold newlines; the CLI's errors are one line. */
function oneLine(s: string): string {
  return s.trim().replace(/\s*\n\s*/g, ' ');
}

function runDirectly(): boolean {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (runDirectly()) {
  // `mirrorlane file ls | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
