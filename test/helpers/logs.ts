// Failing integration tests say why without a rerun: their error carries the logs of the servers involved.
import fs from 'node:fs';
import { it } from 'node:test';

export function tailFile(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `it` whose failure message ends with `logs()`. */
export function itWithLogs(name: string, fn: () => Promise<void>, logs: () => string, opts: { timeout?: number; skip?: string | false } = {}): void {
  it(name, opts, async () => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof Error) e.message += `\n${logs()}`;
      throw e;
    }
  });
}
