// The snapshot formats by name: which can be written, which read back, and telling them apart. Pure.
import { fromCsv, toCsv } from './csv-format.ts';
import { fromJson, toJson } from './json.ts';
import { toMirmon } from './mirmon.ts';
import { sortSnapshot, type Snapshot } from './schema.ts';
import { fromSql, toSql } from './sql.ts';

export const EXPORT_FORMATS = ['json', 'csv', 'sql', 'mirmon', 'mirmon-apache'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** mirmon's lists hold URLs, countries and e-mail addresses only: they cannot restore a mirror. */
export const IMPORT_FORMATS = ['json', 'csv', 'sql'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export function isExportFormat(s: string): s is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(s);
}
export function isImportFormat(s: string): s is ImportFormat {
  return (IMPORT_FORMATS as readonly string[]).includes(s);
}

/** The snapshot in `format`, rows sorted so that equal data gives equal bytes. */
export function serialise(format: ExportFormat, snap: Snapshot): string {
  const s = sortSnapshot(snap);
  switch (format) {
    case 'json':
      return toJson(s);
    case 'csv':
      return toCsv(s);
    case 'sql':
      return toSql(s);
    case 'mirmon':
      return toMirmon(s, 'plain');
    case 'mirmon-apache':
      return toMirmon(s, 'apache');
  }
}

/** Parse and validate; throws SnapshotError with a one-line message. */
export function parseSnapshot(format: ImportFormat, text: string): Snapshot {
  switch (format) {
    case 'json':
      return fromJson(text);
    case 'csv':
      return fromCsv(text);
    case 'sql':
      return fromSql(text);
  }
}

/** The format of an input file: by its extension, else by its first characters; null when neither tells. */
export function detectFormat(fileName: string, text: string): ImportFormat | null {
  const ext = /\.([A-Za-z]+)$/.exec(fileName)?.[1].toLowerCase();
  if (ext && isImportFormat(ext)) return ext;
  const head = text.replace(/^\ufeff/, '').trimStart();
  if (head.startsWith('{')) return 'json';
  if (head.startsWith('-- mirrorlane-export')) return 'sql';
  if (/^"?table"?,/.test(head)) return 'csv';
  return null;
}
