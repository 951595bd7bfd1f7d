// What every command needs: where to write, the configuration, one database pool opened on first use, and the
// two kinds of error the CLI reports (usage: exit 2, failure: exit 1).
import type pg from 'pg';
import { loadConfig, type Config } from '../../core/config.ts';
import { createPool, databaseUrl } from '../../core/db/pool.ts';
import { mirrorByIdentifier } from '../../core/db/mirrors.ts';
import type { Mirror } from '../../core/types.ts';
import { renderTable } from './output.ts';

/** Bad command line: exit code 2. */
export class UsageError extends Error {}
/** The command was understood but could not be done: exit code 1. */
export class CliFailure extends Error {}

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** A person is at the terminal (stdin and stdout): confirmations may be asked. */
  interactive: boolean;
  /** stdout is a terminal: tables may use colour. */
  color: boolean;
  /** Ask a yes/no question on the terminal; absent when nobody can answer. */
  confirm?: (question: string) => Promise<boolean>;
}

export class CliContext {
  private cachedConfig: Config | null = null;
  private pool: pg.Pool | null = null;
  /** The database URL in use once a pool exists, for error messages. */
  dbUrl: string | undefined;

  constructor(
    readonly io: CliIo,
    private readonly configPath: () => string | undefined,
  ) {}

  config(): Config {
    this.cachedConfig ??= loadConfig(this.configPath(), this.io.env);
    return this.cachedConfig;
  }

  db(): pg.Pool {
    if (!this.pool) {
      this.dbUrl = databaseUrl(this.config());
      this.pool = createPool(this.dbUrl, 2);
    }
    return this.pool;
  }

  /** The mirror called `identifier`, or a failure that says where to look. */
  async mirror(identifier: string): Promise<Mirror> {
    const m = await mirrorByIdentifier(this.db(), identifier);
    if (!m) throw new CliFailure(`mirror '${identifier}' not found: see \`mirrorlane mirror list\``);
    return m;
  }

  out(text: string): void {
    this.io.stdout(text.endsWith('\n') ? text : `${text}\n`);
  }

  warn(text: string): void {
    this.io.stderr(`${text}\n`);
  }

  json(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  table(head: string[], rows: (string | number)[][]): void {
    this.out(renderTable(head, rows, this.io.color));
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.end().catch(() => {});
  }
}
