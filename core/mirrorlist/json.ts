// The mirror list as JSON for a site's own scripts: the mirrors in list order (continent, country, operator),
// each with its group names. <, >, & and the Unicode line separators are written as \u escapes so the document
// can be inlined in an HTML <script> element as it is. `content` is "full", "none" or the list of subtrees carried.
// Pure.
import type { MirrorList } from './model.ts';

export function renderJson(list: MirrorList): string {
  const mirrors = list.continents.flatMap((c) =>
    c.countries.flatMap((g) =>
      g.mirrors.map((m) => ({
        identifier: m.identifier,
        name: m.name,
        operatorUrl: m.operatorUrl,
        country: m.country,
        countryName: m.countryName,
        continent: m.continent,
        continentName: m.continentName,
        urls: m.urls,
        ipv4: m.ipv4,
        ipv6: m.ipv6,
        restriction: m.restriction,
        publicNotes: m.publicNotes,
        enabled: m.enabled,
        content: m.content.kind === 'partial' ? m.content.subtrees : m.content.kind,
      })),
    ),
  );
  const doc = { title: list.title, subtrees: list.subtrees, mirrorCount: list.mirrorCount, countryCount: list.countryCount, mirrors };
  return `${JSON.stringify(doc, null, 2).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}
