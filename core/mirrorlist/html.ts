// The mirror list as HTML: a whole page, or a fragment to include in a site's own page. Every piece of data goes
// through escapeHtml, attribute values included, and only http(s)/ftp/rsync URLs become links. Pure.
import { escapeHtml } from '../text-format.ts';
import { contentText, ipv6Text, PROTOCOL_LABELS, type MirrorList, type PublicMirror } from './model.ts';


const link = (href: string, text: string) => `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;

/** Multi-line admin text: escaped, line breaks kept. */
const paragraph = (s: string) => escapeHtml(s.trim()).replace(/\r?\n/g, '<br>');

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'other';
}

function row(m: PublicMirror, country: string): string {
  const operator = [m.operatorUrl ? link(m.operatorUrl, m.name) : escapeHtml(m.name)];
  if (!m.enabled) operator.push(' <small class="mirrorlist-disabled">(disabled)</small>');
  if (m.restriction) operator.push(`<br><small>${escapeHtml(m.restriction)}</small>`);
  if (m.publicNotes.trim()) operator.push(`<br><small>${paragraph(m.publicNotes)}</small>`);
  const protocols = PROTOCOL_LABELS.filter(([k]) => m.urls[k]).map(([k, label]) => link(m.urls[k]!, label));
  const content = m.content.kind === 'partial' ? m.content.subtrees.map(escapeHtml).join('<br>') : escapeHtml(contentText(m.content));
  const cells = [escapeHtml(country), operator.join(''), protocols.join(' '), ipv6Text(m), content];
  return `<tr${m.enabled ? '' : ' class="mirrorlist-disabled"'}>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

function summary(list: MirrorList): string {
  const counts = `${list.mirrorCount} mirror${list.mirrorCount === 1 ? '' : 's'} in ${list.countryCount} countr${list.countryCount === 1 ? 'y' : 'ies'}.`;
  const trees = list.subtrees.length ? ` Content “full”: every part of the tree (${list.subtrees.map(escapeHtml).join(', ')}).` : '';
  return `<p class="mirrorlist-summary">${counts}${trees}</p>`;
}

export function renderHtmlFragment(list: MirrorList): string {
  const out = ['<div class="mirrorlist">', summary(list)];
  for (const c of list.continents) {
    out.push(`<section class="mirrorlist-continent" id="mirrors-${slug(c.continent || c.name)}">`, `<h2>${escapeHtml(c.name)}</h2>`);
    out.push('<table>', '<thead>');
    out.push(`<tr>${['Country', 'Operator', 'Downloads', 'IPv6', 'Content'].map((h) => `<th scope="col">${h}</th>`).join('')}</tr>`);
    out.push('</thead>', '<tbody>');
    for (const g of c.countries) for (const m of g.mirrors) out.push(row(m, g.name));
    out.push('</tbody>', '</table>', '</section>');
  }
  out.push('</div>');
  return `${out.join('\n')}\n`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}small{color:#555}tr.mirrorlist-disabled{color:#888}`;

export function renderHtmlPage(list: MirrorList): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(list.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(list.title)}</h1>`,
    renderHtmlFragment(list).trimEnd(),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
