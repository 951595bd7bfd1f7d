// The mirror list as plain text (README files, terminals) and as Markdown (project sites, wikis). Control
// characters are replaced so that stored text can neither break the layout nor send escape sequences to a
// terminal; Markdown additionally escapes its own syntax and HTML. Pure.
import { contentText, ipv6Text, PROTOCOL_LABELS, type MirrorList, type PublicMirror } from './model.ts';

/** One line of plain text: control characters (C0, DEL, C1) and Unicode line separators become spaces. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]+/g, ' ').trim();
}

export function renderText(list: MirrorList): string {
  const out = [oneLine(list.title), `${list.mirrorCount} mirror(s) in ${list.countryCount} country(ies)`];
  if (list.subtrees.length) out.push(`content "full" means every part of the tree: ${list.subtrees.map(oneLine).join(', ')}`);
  for (const c of list.continents) {
    out.push('', oneLine(c.name));
    for (const g of c.countries) {
      out.push(`  ${oneLine(g.name)}`);
      for (const m of g.mirrors) {
        out.push(`    ${oneLine(m.name)}${m.operatorUrl ? `  ${oneLine(m.operatorUrl)}` : ''}${m.enabled ? '' : '  (disabled)'}`);
        for (const [k, label] of PROTOCOL_LABELS) if (m.urls[k]) out.push(`      ${label.padEnd(6)} ${oneLine(m.urls[k]!)}`);
        out.push(`      IPv6: ${ipv6Text(m)}; content: ${oneLine(contentText(m.content))}`);
        if (m.restriction) out.push(`      ${m.restriction}`);
        if (m.publicNotes.trim()) out.push(`      ${oneLine(m.publicNotes)}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

const MD_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Text for a Markdown table cell: HTML characters as entities, Markdown punctuation backslash-escaped. */
export function escapeMarkdown(s: string): string {
  return oneLine(s)
    .replace(/[&<>]/g, (c) => MD_ENTITIES[c])
    .replace(/[\\`*_{}[\]()#+!|~]/g, (c) => `\\${c}`);
}

/** A link target for Markdown: characters that end or confuse a (…) destination are percent-encoded. */
function mdUrl(url: string): string {
  return oneLine(url).replace(/[\s()<>"'`|\\[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

const mdLink = (text: string, url: string) => `[${escapeMarkdown(text)}](${mdUrl(url)})`;

function mdRow(m: PublicMirror, country: string): string {
  const extra = [m.enabled ? '' : '(disabled)', m.restriction ?? '', oneLine(m.publicNotes)].filter(Boolean).map(escapeMarkdown);
  const operator = [m.operatorUrl ? mdLink(m.name, m.operatorUrl) : escapeMarkdown(m.name), ...extra].join('<br>');
  const protocols = PROTOCOL_LABELS.filter(([k]) => m.urls[k]).map(([k, label]) => mdLink(label, m.urls[k]!));
  const content = m.content.kind === 'partial' ? m.content.subtrees.map(escapeMarkdown).join(', ') : contentText(m.content);
  return `| ${[escapeMarkdown(country), operator, protocols.join(' '), ipv6Text(m), content].join(' | ')} |`;
}

export function renderMarkdown(list: MirrorList): string {
  const out = [`# ${escapeMarkdown(list.title)}`, '', `${list.mirrorCount} mirror(s) in ${list.countryCount} country(ies).`];
  if (list.subtrees.length) out.push(`Content “full” means every part of the tree: ${list.subtrees.map(escapeMarkdown).join(', ')}.`);
  for (const c of list.continents) {
    out.push('', `## ${escapeMarkdown(c.name)}`, '', '| Country | Operator | Downloads | IPv6 | Content |', '|---|---|---|---|---|');
    for (const g of c.countries) for (const m of g.mirrors) out.push(mdRow(m, g.name));
  }
  return `${out.join('\n')}\n`;
}
