// Text formatting shared by the listings: tables, sizes, times.
import Table from 'cli-table3';

/** A cli-table3 table; without colour when stdout is not a terminal, so pipes and files get plain text. */
export function renderTable(head: string[], rows: (string | number)[][], color: boolean): string {
  const table = new Table({
    head,
    style: color ? { head: ['bold'], border: ['grey'] } : { head: [], border: [] },
  });
  table.push(...rows.map((r) => r.map((c) => String(c))));
  return table.toString();
}

/** Human size with binary units, exact bytes below 1 KiB. */
export { formatBytes } from '../../core/text-format.ts';

/** UTC to the minute: "2024-05-01 12:34Z". */
export function formatTime(d: Date | null): string {
  if (!d) return '';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** A file mtime (unix seconds) in UTC to the second. */
export function formatMtime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}
