// A file's hash as one line of sha256sum / sha1sum / md5sum output, so that `sha256sum -c` checks a download. Pure.
import type { FileRow } from '../core/types.ts';
import { baseName } from './render-metalink.ts';

export type HashKind = 'sha256' | 'sha1' | 'md5';

const HEX_LENGTH: Record<HashKind, number> = { sha256: 64, sha1: 40, md5: 32 };

/**
 * "HEX  NAME\n" (two spaces: text mode, as the coreutils print it), or null when the hash is not known. A name with
 * a backslash or a newline is escaped the way the coreutils do: "\\" and "\n" in the name, "\" before the line.
 */
export function renderHashLine(file: Pick<FileRow, 'path' | 'sha256' | 'sha1' | 'md5'>, kind: HashKind): string | null {
  const hex = file[kind];
  if (hex === null || hex.length !== HEX_LENGTH[kind] || !/^[0-9a-fA-F]+$/.test(hex)) return null;
  const name = baseName(file.path);
  if (!/[\\\n]/.test(name)) return `${hex.toLowerCase()}  ${name}\n`;
  return `\\${hex.toLowerCase()}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`;
}
