// The ?mirrorstats page: today's downloads per mirror and their share, and the last 30 days as two SVG charts
// (requests and bytes per day and mirror), as one self-contained HTML page; and the same data as JSON.
// Pure. Shows public fields only (identifier, operator name and URL, country): never admin contacts or notes.
// Every value is escaped; an operator URL becomes a link only when it is http(s).
import { escapeHtml, formatBytes } from '../core/text-format.ts';
import { CHART_STYLE, renderKeys, renderStackedBars, type ChartSeries } from './render-stats-chart.ts';

export interface MirrorStatsLine {
  /** The origin's own deliveries. */
  origin: boolean;
  /** null for the origin and for a mirror deleted since. */
  identifier: string | null;
  operatorName: string;
  operatorUrl: string;
  country: string;
  requests: number;
  bytes: number;
}

export interface MirrorStatsInput {
  /** UTC day, "YYYY-MM-DD". */
  day: string;
  generatedAt: Date;
  lines: MirrorStatsLine[];
  /** The saved counts could not be read: only this sidecar's unsaved counts are shown. */
  databaseDown: boolean;
  /** Per-day counts of the last days (today last), busiest mirror first; no history section without it. */
  history?: StatsHistoryInput;
  /** The days before today could not be read. */
  historyMissing?: boolean;
}

export interface StatsHistoryInput {
  days: string[];
  series: (Omit<MirrorStatsLine, 'requests' | 'bytes'> & { requests: number[]; bytes: number[] })[];
}

/** Mirrors drawn in a colour of their own; the rest share one as "others". */
const CHART_MIRRORS = 7;

function labelOf(l: Pick<MirrorStatsLine, 'origin' | 'identifier'>): string {
  if (l.origin) return '(origin)';
  return l.identifier ?? '(deleted mirror)';
}

function chartSeries(h: StatsHistoryInput, pick: 'requests' | 'bytes'): ChartSeries[] {
  // Mirrors without a download in the period have nothing to draw, and no key either.
  const busy = h.series.filter((s) => s[pick].some((v) => v > 0));
  const named = busy.slice(0, CHART_MIRRORS).map((s) => ({ label: labelOf(s), key: labelOf(s), values: s[pick] }));
  const rest = busy.slice(CHART_MIRRORS);
  if (rest.length) {
    named.push({
      label: `${rest.length} others`,
      key: '(others)',
      values: h.days.map((_, i) => rest.reduce((sum, s) => sum + s[pick][i], 0)),
    });
  }
  return named;
}

function historySection(p: MirrorStatsInput): string {
  const h = p.history;
  if (!h) return '';
  const first = h.days[0] ?? p.day;
  const warn = p.historyMissing ? '<p class="warn">The days before today cannot be read from the statistics database right now.</p>\n' : '';
  const req = chartSeries(h, 'requests');
  const bytes = chartSeries(h, 'bytes');
  return `<h2>Last ${h.days.length} days</h2>
<p class="sub">Per UTC day from ${escapeHtml(first)} to ${escapeHtml(p.day)}, by mirror.</p>
${warn}<h3>Requests</h3>
${renderStackedBars(h.days, req, `Requests per day, ${first} to ${p.day}`, (n) => grouped(Math.round(n)))}
${renderKeys(req)}
<h3>Bytes</h3>
${renderStackedBars(h.days, bytes, `Bytes per day, ${first} to ${p.day}`, (n) => formatBytes(Math.round(n)))}
${renderKeys(bytes)}`;
}

/** The page's data as JSON: public fields only, as on the HTML page. */
export function mirrorStatsJson(p: MirrorStatsInput): unknown {
  const pub = (l: Omit<MirrorStatsLine, 'requests' | 'bytes'>) => ({ mirror: l.identifier, origin: l.origin, operatorName: l.operatorName, operatorUrl: l.operatorUrl, country: l.country });
  return {
    day: p.day,
    generatedAt: p.generatedAt.toISOString(),
    databaseDown: p.databaseDown,
    historyMissing: p.historyMissing ?? false,
    today: [...p.lines].sort((a, b) => b.requests - a.requests).map((l) => ({ ...pub(l), requests: l.requests, bytes: l.bytes })),
    days: p.history?.days ?? [],
    history: (p.history?.series ?? []).map((s) => ({ ...pub(s), requests: s.requests, bytes: s.bytes })),
  };
}

function percent(part: number, whole: number): number {
  return whole > 0 ? (100 * part) / whole : 0;
}

function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function nameCell(l: MirrorStatsLine): string {
  if (l.origin) return '<span class="id">(origin)</span><div class="op">served by this server</div>';
  if (l.identifier === null) return '<span class="id">(deleted mirror)</span>';
  const op = l.operatorName
    ? /^https?:\/\/[^\s]+$/i.test(l.operatorUrl)
      ? `<div class="op"><a href="${escapeHtml(l.operatorUrl)}" rel="nofollow noopener">${escapeHtml(l.operatorName)}</a></div>`
      : `<div class="op">${escapeHtml(l.operatorName)}</div>`
    : '';
  return `<span class="id">${escapeHtml(l.identifier)}</span>${op}`;
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f6f7f9;margin:0;padding:2rem 1rem}
main{max-width:56rem;margin:0 auto}
h1{font-size:1.5rem;margin:0 0 .25rem}
h2{font-size:1.2rem;margin:2rem 0 .25rem}h3{font-size:1rem;margin:1rem 0 0;color:#444c5a}
p.sub{color:#5b6473;margin:0 0 1.25rem}
p.warn{background:#fff4e0;border:1px solid #f0c36d;border-radius:6px;padding:.6rem .8rem}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #dde1e7;border-radius:8px;overflow:hidden}
th,td{padding:.55rem .75rem;text-align:left;border-bottom:1px solid #eef0f3;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:.85rem;color:#444c5a}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tfoot td{font-weight:600;border-bottom:0}
.id{font-family:ui-monospace,"SFMono-Regular",Menlo,monospace}
.op{color:#5b6473;font-size:.85rem}
.op a{color:inherit}
.share{display:flex;align-items:center;gap:.5rem;min-width:11rem}
.bar{flex:1;height:.6rem;background:#eef0f3;border-radius:3px;overflow:hidden}
.bar span{display:block;height:100%;background:#3b7dd8}
.pct{width:3.5rem;text-align:right;font-variant-numeric:tabular-nums}
`;

export function renderMirrorStats(p: MirrorStatsInput): string {
  const lines = [...p.lines].sort(
    (a, b) => b.requests - a.requests || b.bytes - a.bytes || (a.identifier ?? '').localeCompare(b.identifier ?? ''),
  );
  const requests = lines.reduce((s, l) => s + l.requests, 0);
  const bytes = lines.reduce((s, l) => s + l.bytes, 0);
  const rows = lines
    .map((l) => {
      const share = percent(l.requests, requests);
      return `<tr><td>${nameCell(l)}</td><td>${escapeHtml(l.country)}</td><td class="num">${grouped(l.requests)}</td>` +
        `<td><div class="share"><div class="bar"><span style="width:${share.toFixed(1)}%"></span></div>` +
        `<span class="pct">${share.toFixed(1)}%</span></div></td>` +
        `<td class="num">${formatBytes(l.bytes)}</td><td class="num">${percent(l.bytes, bytes).toFixed(1)}%</td></tr>`;
    })
    .join('\n');
  const time = p.generatedAt.toISOString().slice(11, 19);
  const warn = p.databaseDown
    ? '<p class="warn">The statistics database cannot be reached right now: only the downloads this server has not saved yet are shown.</p>\n'
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Mirror statistics ${escapeHtml(p.day)}</title>
<style>${STYLE}${CHART_STYLE}</style>
</head>
<body>
<main>
<h1>Mirror statistics</h1>
<p class="sub">Downloads on ${escapeHtml(p.day)} (UTC) until ${time}Z: ${grouped(requests)} requests, ${formatBytes(bytes)}.</p>
${warn}<table>
<thead><tr><th>Mirror</th><th>Country</th><th class="num">Requests</th><th>Share of requests</th><th class="num">Bytes</th><th class="num">Share</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><td>Total</td><td></td><td class="num">${grouped(requests)}</td><td></td><td class="num">${formatBytes(bytes)}</td><td></td></tr></tfoot>
</table>
${historySection(p)}
<p class="sub">As <a href="?mirrorstats&amp;json">JSON</a>.</p>
</main>
</body>
</html>
`;
}
