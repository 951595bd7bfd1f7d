// Bulk loading into PostgreSQL with COPY (text format), for the scans' temp tables.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * One text field in COPY's text format: backslash, tab, newline and carriage return are escaped; everything else
 * goes as is. NUL cannot be stored in a text column at all: callers must leave such values out.
 */
export function copyText(s: string): string {
  return SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : s;
}

/**
 * Rows into a table with `copySql` ("COPY t (a, b) FROM STDIN"), gathered into chunks of about `chunkBytes`, each
 * chunk its own COPY:
 * - a slow producer (a mirror's listing over the network, a disk walk) never keeps a statement, and its snapshot,
 *   open on the server while it waits;
 * - one chunk is in flight while the next one is built, so the producer and the server work at the same time.
 * Lines are encoded straight into the chunk's buffer: two to three times faster than building a string.
 * push() returns a promise only when a chunk was handed over (await it: that is the back-pressure, and where a
 * failed COPY surfaces); end() sends the rest. After a failure elsewhere call discard(), which waits for the chunk
 * in flight and forgets its error.
 */
export class CopyWriter {
  private buf: Buffer;
  private used = 0;
  /** The chunk being copied; never rejects: its error goes to `failure`. */
  private inFlight: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;
  rows = 0;

  constructor(
    private readonly client: pg.ClientBase,
    private readonly copySql: string,
    private readonly chunkBytes = 4 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** One row: its fields already escaped with copyText and joined with tabs, ending in "\n". */
  push(line: string): Promise<void> | undefined {
    let handedOver: Promise<void> | undefined;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count exactly only when that bound does not fit.
    if (this.used + line.length * 3 > this.buf.length) {
      const bytes = Buffer.byteLength(line);
      if (this.used + bytes > this.buf.length) handedOver = this.send(bytes).then(() => this.throwIfFailed());
    }
    this.used += this.buf.write(line, this.used);
    this.rows++;
    return handedOver;
  }

  async end(): Promise<void> {
    await this.send(0);
    await this.inFlight;
    this.throwIfFailed();
  }

  async discard(): Promise<void> {
    this.used = 0;
    await this.inFlight;
  }

  /** Queue the filled buffer behind the chunk in flight; resolves when that one is done. Never rejects. */
  private send(nextBytes: number): Promise<void> {
    const data = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(Math.max(this.chunkBytes, nextBytes));
    this.used = 0;
    const previous = this.inFlight;
    this.inFlight = previous.then(() => this.copy(data));
    return previous;
  }

  private async copy(data: Buffer): Promise<void> {
    if (this.failure || data.length === 0) return;
    try {
      await pipeline(Readable.from([data]), this.client.query(copyFrom(this.copySql)));
    } catch (error) {
      this.failure = { error };
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
