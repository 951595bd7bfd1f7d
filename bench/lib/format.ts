// Output helpers of the benchmark: progress lines, number formats, plain-text tables.
const startedAt = performance.now();

export function progress(msg: string): void {
  const s = ((performance.now() - startedAt) / 1000).toFixed(0).padStart(4);
  console.log(`[${s}s] ${msg}`);
}

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const f1 = (n: number) => n.toFixed(1);
export const f2 = (n: number) => n.toFixed(2);
export const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
export const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
export const avg = (xs: number[]) => sum(xs) / Math.max(1, xs.length);

export function table(rows: string[][], rightAligned: boolean[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}
