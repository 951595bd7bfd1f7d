// zsync control files (Debian's `zsyncmake`), made by the origin scan for files of at least formats.zsyncMinSize.
// The control file is stored without its URL lines; the sidecar writes in the mirrors that suit each client
// (zsyncUrls below), so one control file serves every client and survives mirror changes.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ZSYNCMAKE = '/usr/bin/zsyncmake';

export function zsyncAvailable(): boolean {
  try {
    fs.accessSync(ZSYNCMAKE, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The header ends at the first empty line; the block checksums after it are binary. */
function headerEnd(control: Buffer): number {
  const i = control.indexOf('\n\n');
  return i < 0 ? -1 : i + 1;
}

/** A control file with its URL lines taken out (and a header that says the length it was made for). */
export function stripUrls(control: Buffer): Buffer {
  const end = headerEnd(control);
  if (end < 0) throw new Error('zsyncmake wrote no header');
  const lines = control.subarray(0, end).toString('utf8').split('\n').filter((l) => !/^(URL|Z-URL):/.test(l));
  return Buffer.concat([Buffer.from(lines.join('\n')), control.subarray(end)]);
}

/** The stored control file with one URL line per source, best first (zsync tries them in turn). */
export function zsyncWithUrls(stored: Buffer, urls: readonly string[]): Buffer {
  const end = headerEnd(stored);
  if (end < 0) throw new Error('stored zsync control file has no header');
  const header = stored.subarray(0, end).toString('utf8').replace(/\n$/, '');
  // A URL with a line break would end the header: the selection gives percent-encoded URLs, check anyway.
  const lines = urls.filter((u) => !/[\r\n]/.test(u)).map((u) => `URL: ${u}`);
  return Buffer.concat([Buffer.from(`${header}\n${lines.join('\n')}${lines.length ? '\n' : ''}`), stored.subarray(end)]);
}

/** Run zsyncmake on one file; the control file without URL lines. `name` is the file's published name. */
export async function makeZsync(file: string, name: string, timeoutMs = 600_000): Promise<Buffer> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mirrorlane-zsync-'));
  const out = path.join(dir, 'out.zsync');
  try {
    await new Promise<void>((resolve, reject) => {
      // -Z: a .gz is described as it is, not as what it unpacks to (clients then need no gzip tricks).
      // -u: a placeholder URL, removed below; without one zsyncmake warns on stderr.
      execFile(ZSYNCMAKE, ['-Z', '-o', out, '-f', name, '-u', 'x', file], { timeout: timeoutMs }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`zsyncmake failed: ${(stderr || err.message).trim().split('\n')[0]}`));
        else resolve();
      });
    });
    return stripUrls(await fs.promises.readFile(out));
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** The Length: of a control file's header, to check it describes the size the scan hashed. */
export function zsyncLength(control: Buffer): number | null {
  const end = headerEnd(control);
  const m = /^Length: (\d+)$/m.exec(control.subarray(0, end < 0 ? 0 : end).toString('utf8'));
  return m ? Number(m[1]) : null;
}
