// A stacked bar chart as inline SVG, one bar per day, one colour per mirror: the ?mirrorstats history. Pure, no
// scripts (the page's CSP allows none); each bar segment carries a <title> tooltip and a data-mirror attribute.
import { escapeHtml } from '../core/text-format.ts';

export interface ChartSeries {
  label: string;
  /** Mirror identifier, "(origin)" or "(others)": the data-mirror attribute of its bars. */
  key: string;
  values: number[];
}

/** Colour-blind-safe palette (Okabe–Ito), then grey for "others". */
export const CHART_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
export const OTHERS_COLOUR = '#9ca3af';

const W = 900;
const H = 260;
const LEFT = 64;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 34;

/** A round axis maximum ≥ max: 1, 2 or 5 times a power of ten. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

export function colourOf(i: number, key: string): string {
  return key === '(others)' ? OTHERS_COLOUR : CHART_COLOURS[i % CHART_COLOURS.length];
}

export function renderStackedBars(days: string[], series: ChartSeries[], title: string, format: (n: number) => string): string {
  const totals = days.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const top = niceMax(Math.max(0, ...totals));
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(1, slot * 0.78);
  const y = (v: number) => (v / top) * plotH;
  const parts: string[] = [];
  for (let g = 0; g <= 4; g++) {
    const v = (top * g) / 4;
    const gy = (TOP + plotH - y(v)).toFixed(1);
    parts.push(`<line class="grid" x1="${LEFT}" x2="${W - RIGHT}" y1="${gy}" y2="${gy}"/>`);
    parts.push(`<text class="axis" x="${LEFT - 6}" y="${gy}" text-anchor="end" dominant-baseline="middle">${escapeHtml(format(v))}</text>`);
  }
  days.forEach((day, i) => {
    const x = LEFT + i * slot + (slot - barW) / 2;
    let base = TOP + plotH;
    series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return;
      const h = y(v);
      base -= h;
      parts.push(
        `<rect class="seg" x="${x.toFixed(1)}" y="${base.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${colourOf(k, s.key)}" data-mirror="${escapeHtml(s.key)}" data-day="${day}">` +
          `<title>${escapeHtml(`${day} ${s.label}: ${format(v)}`)}</title></rect>`,
      );
    });
    // A date label every 5 days and on the last day (today).
    if (i % 5 === 0 || i === days.length - 1) {
      parts.push(`<text class="axis" x="${(LEFT + i * slot + slot / 2).toFixed(1)}" y="${H - BOTTOM + 16}" text-anchor="middle">${escapeHtml(day.slice(5))}</text>`);
    }
  });
  parts.push(`<line class="base" x1="${LEFT}" x2="${W - RIGHT}" y1="${TOP + plotH}" y2="${TOP + plotH}"/>`);
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(title)}</title>${parts.join('')}</svg>`;
}

export const CHART_STYLE = `
.chart{display:block;width:100%;height:auto;background:#fff;border:1px solid #dde1e7;border-radius:8px;margin:.4rem 0 .6rem}
.chart .grid{stroke:#eef0f3}.chart .base{stroke:#9aa3b2}.chart .axis{font:11px system-ui,sans-serif;fill:#5b6473}
.keys{display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.85rem;color:#444c5a;margin:0 0 1.5rem;padding:0;list-style:none}
.keys i{display:inline-block;width:.75rem;height:.75rem;border-radius:2px;margin-right:.3rem;vertical-align:-.1rem}
`;

export function renderKeys(series: ChartSeries[]): string {
  return `<ul class="keys">${series.map((s, k) => `<li><i style="background:${colourOf(k, s.key)}"></i>${escapeHtml(s.label)}</li>`).join('')}</ul>`;
}
