// The file page (?mirrorlist, .mirrorlist): one file, where this client stands, its mirrors by tier and the mirrors
// left out with their reasons. (In code, "mirror list" is the public list of all mirrors, core/mirrorlist/.) Pure.
// Plain HTML with inline CSS: readable on a phone, no scripts, no external assets. Every value that comes from data
// is escaped; only public fields are shown (no admin names, e-mail, notes or rsync/ftp URLs).
import { escapeHtml, formatBytes } from '../core/text-format.ts';
import { continentName, countryName } from '../core/continents.ts';
import type { RankedMirror, Selection, Tier } from '../core/selection.ts';
import type { ClientLocation, FileRow } from '../core/types.ts';
import { encodePath } from '../core/urls.ts';
import { baseName } from './render-metalink.ts';
import { MAP_STYLE, renderWorldMap, type MapMarker } from './world-map.ts';

export interface FilePageInput {
  file: FileRow;
  client: ClientLocation;
  /** The client's location came from ?country= / ?as= / ?ip=. */
  overridden: boolean;
  selection: Selection;
  /** Why the origin would serve this download itself, or null when it redirects. */
  localDelivery: string | null;
  /** Usable mirrors left out by the length cap of the ranked list. */
  notShown: number;
  attribution: string[];
  /** The file's magnet link when it has a torrent (formats.torrentMinSize). */
  magnet?: string | null;
  /** origin.urlPrefix: the page shows the path clients download (/pub/x.iso), not the table's (/x.iso). */
  urlPrefix?: string;
}


/** An href only for absolute http(s) URLs: a "javascript:" operator URL must not become a link. */
function link(url: string | null, text: string): string {
  if (url === null || !/^https?:\/\/[^\s]+$/i.test(url)) return escapeHtml(text);
  return `<a href="${escapeHtml(url)}" rel="nofollow noopener">${escapeHtml(text)}</a>`;
}

function utcDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

function place(cc: string | null): string {
  if (cc === null) return 'unknown';
  if (cc === '**') return 'all countries';
  const name = countryName(cc);
  return name ? `${name} (${cc})` : cc;
}

const TIER_TITLES: Record<Tier, (c: ClientLocation) => string> = {
  prefix: () => 'Same network',
  as: (c) => (c.asn !== null ? `Same network operator (AS${c.asn})` : 'Same network operator'),
  country: (c) => `Same country${c.country ? `: ${countryName(c.country) ?? c.country}` : ''}`,
  continent: (c) => `Same continent${c.continent ? `: ${continentName(c.continent) ?? c.continent}` : ''}`,
  elsewhere: () => 'Elsewhere',
};

const STYLE = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:56rem;padding:1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem;margin:.2rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.6rem 0 .4rem;border-bottom:2px solid #e4e4e7;padding-bottom:.2rem}
h3{font-size:1rem;margin:1rem 0 .3rem;color:#52525b}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
code{font:.85em ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e4e4e7;vertical-align:top}
th{font-size:.85rem;color:#52525b}
td.n,th.n{text-align:right;white-space:nowrap}
small,.note{color:#52525b}
.badge{display:inline-block;font-size:.75rem;padding:0 .4rem;border-radius:.6rem;background:#dcfce7;color:#14532d}
a{color:#1d4ed8}
footer{margin-top:2rem;font-size:.8rem;color:#71717a}
@media (max-width:30rem){dl{grid-template-columns:1fr}dd{margin-bottom:.4rem}th,td{padding:.3rem .25rem}}
@media (prefers-color-scheme:dark){body{background:#18181b;color:#e4e4e7}a{color:#93c5fd}h2{border-color:#3f3f46}th,td{border-color:#3f3f46}th,h3,small,.note{color:#a1a1aa}.badge{background:#14532d;color:#dcfce7}}
`;

function fileSection(f: FileRow, magnet: string | null, urlPrefix: string): string {
  const name = baseName(f.path);
  const clientPath = `${urlPrefix.replace(/\/+$/, '')}${f.path}`;
  // "./" keeps a name with a colon from reading as a URL scheme.
  const rel = `./${encodePath(name).slice(1)}`;
  const rows: [string, string][] = [
    ['Path', `<code>${escapeHtml(clientPath)}</code>`],
    ['Size', `${escapeHtml(formatBytes(f.size))} <small>(${escapeHtml(f.size)} bytes)</small>`],
    ['Last modified', escapeHtml(utcDate(f.mtime))],
  ];
  const hashes: [string, string | null, string][] = [
    ['SHA-256', f.sha256, 'sha256'],
    ['SHA-1', f.sha1, 'sha1'],
    ['MD5', f.md5, 'md5'],
  ];
  for (const [label, hex, suffix] of hashes) {
    if (hex !== null) rows.push([label, `<code>${escapeHtml(hex)}</code> <small><a href="${escapeHtml(`${rel}.${suffix}`)}">.${suffix}</a></small>`]);
  }
  rows.push([
    'Metalink',
    `<a href="${escapeHtml(`${rel}.meta4`)}">${escapeHtml(name)}.meta4</a> (v4) · <a href="${escapeHtml(`${rel}.metalink`)}">${escapeHtml(name)}.metalink</a> (3.0)`,
  ]);
  if (magnet !== null && magnet.startsWith('magnet:?')) {
    rows.push([
      'BitTorrent',
      `<a href="${escapeHtml(`${rel}.torrent`)}">${escapeHtml(name)}.torrent</a> · <a href="${escapeHtml(magnet)}">magnet link</a> · <a href="${escapeHtml(`${rel}.btih`)}">.btih</a>`,
    ]);
  }
  return `<h2>File</h2>\n<dl>\n${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join('\n')}\n</dl>`;
}

function clientSection(c: ClientLocation, overridden: boolean): string {
  const rows: [string, string][] = [
    ['Address', `<code>${escapeHtml(c.ip || 'unknown')}</code> <small>(IPv${escapeHtml(c.family)})</small>`],
    ['Country', escapeHtml(place(c.country))],
    ['Continent', escapeHtml(c.continent ? (continentName(c.continent) ?? c.continent) : 'unknown')],
    ['Network', escapeHtml(c.asn !== null ? `AS${c.asn}${c.asOrg ? ` (${c.asOrg})` : ''}` : 'unknown')],
  ];
  if (c.city) rows.splice(1, 0, ['City', escapeHtml(c.city)]);
  const note = overridden ? '<p class="note">Location set by the ?country=, ?as= or ?ip= argument of this page.</p>' : '';
  return `<h2>Your location, as this redirector sees it</h2>\n<dl>\n${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join('\n')}\n</dl>\n${note}`;
}

function mirrorRow(r: RankedMirror, chosen: boolean): string {
  const m = r.mirror;
  const name = m.operatorName || m.identifier;
  const operator = m.operatorName && /^https?:\/\//i.test(m.operatorUrl) ? ` · ${link(m.operatorUrl, 'operator')}` : '';
  const badge = chosen ? ' <span class="badge">picked this time</span>' : '';
  const dist = r.distanceKm === null ? '–' : `${Math.round(r.distanceKm).toLocaleString('en-US')} km`;
  const share = r.share > 0 ? `${Math.max(1, Math.round(r.share * 100))} %` : '–';
  return (
    `<tr><td>${link(r.url, name)}${badge}<br><small>${escapeHtml(m.identifier)}${operator}</small></td>` +
    `<td>${escapeHtml(place(m.country))}</td><td class="n">${escapeHtml(dist)}</td><td class="n">${escapeHtml(share)}</td></tr>`
  );
}

function mirrorsSection(a: FilePageInput): string {
  const { selection, client } = a;
  const chosen = selection.chosen;
  let lead: string;
  if (a.localDelivery !== null) lead = `A download of this file is served by this site itself: ${escapeHtml(a.localDelivery)}.`;
  else if (chosen) {
    const name = `<strong>${escapeHtml(chosen.mirror.operatorName || chosen.mirror.identifier)}</strong>`;
    lead =
      chosen.share >= 0.999
        ? `A download of this file from your location goes to ${name}.`
        : `A download of this file from your location goes to one of the mirrors with a share below; this time ${name}.`;
  }
  else lead = 'No mirror can serve this file to you: this site serves it itself.';
  const groups: string[] = [];
  const tiers: Tier[] = ['prefix', 'as', 'country', 'continent', 'elsewhere'];
  for (const tier of tiers) {
    const rows = selection.ranked.filter((r) => r.tier === tier);
    if (rows.length === 0) continue;
    groups.push(
      `<h3>${escapeHtml(TIER_TITLES[tier](client))} <small>(${rows.length})</small></h3>\n<div class="scroll"><table>\n` +
        '<thead><tr><th>Mirror</th><th>Country</th><th class="n">Distance</th><th class="n">Share</th></tr></thead>\n<tbody>\n' +
        rows.map((r) => mirrorRow(r, r === chosen)).join('\n') +
        '\n</tbody></table></div>',
    );
  }
  const more = a.notShown > 0 ? `<p class="note">${escapeHtml(a.notShown)} more mirror(s) farther away are not listed.</p>` : '';
  const none = groups.length === 0 ? '<p>No mirror holds a current copy that suits this request.</p>' : '';
  return `<h2>Mirrors</h2>\n<p>${lead}</p>\n${groups.join('\n')}${none}${more}`;
}

/** The listed mirrors and the client on a world map; mirrors without coordinates are named below it. */
function mapSection(a: FilePageInput): string {
  const chosen = a.selection.chosen;
  const placed = a.selection.ranked.filter((r) => r.mirror.lat !== null && r.mirror.lng !== null);
  const markers: MapMarker[] = placed.map((r) => ({
    lat: r.mirror.lat as number,
    lng: r.mirror.lng as number,
    label: `${r.mirror.operatorName || r.mirror.identifier} (${place(r.mirror.country)})`,
    mirror: r.mirror.id,
    chosen: r === chosen,
  }));
  const c = a.client;
  const you: MapMarker | null = c.lat !== null && c.lng !== null ? { lat: c.lat, lng: c.lng, label: 'You (as this redirector places you)', mirror: null } : null;
  if (!markers.length && !you) return '';
  const title = `Map: ${markers.length} mirror(s)${you ? ' and your location' : ''}`;
  const unplaced = a.selection.ranked.length - placed.length;
  const note = unplaced > 0 ? `<p class="note">${escapeHtml(unplaced)} listed mirror(s) without known coordinates are not on the map.</p>` : '';
  const legend =
    '<p class="legend"><i style="background:#2563eb"></i>mirror<i style="background:#16a34a"></i>picked this time' +
    `${you ? '<i style="background:#dc2626"></i>you' : ''}</p>`;
  return `<h2>Map</h2>\n${renderWorldMap(markers, you, title)}\n${legend}\n${note}`;
}

function excludedSection(s: Selection): string {
  if (s.excluded.length === 0) return '';
  const rows = s.excluded.map((e) => `<tr><td>${escapeHtml(e.mirror.operatorName || e.mirror.identifier)}<br><small>${escapeHtml(e.mirror.identifier)}</small></td><td>${escapeHtml(e.reason)}</td></tr>`);
  return (
    '<h2>Mirrors not used for this request</h2>\n<div class="scroll"><table>\n<thead><tr><th>Mirror</th><th>Reason</th></tr></thead>\n<tbody>\n' +
    rows.join('\n') +
    '\n</tbody></table></div>'
  );
}

export function renderFilePageHtml(a: FilePageInput): string {
  const name = baseName(a.file.path);
  const attribution = a.attribution.length ? `<p>${a.attribution.map(escapeHtml).join('<br>')}</p>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(name)}: mirrors</title>
<style>${STYLE}${MAP_STYLE}</style>
</head>
<body>
<h1>${escapeHtml(name)}</h1>
${fileSection(a.file, a.magnet ?? null, a.urlPrefix ?? '/')}
${clientSection(a.client, a.overridden)}
${mapSection(a)}
${mirrorsSection(a)}
${excludedSection(a.selection)}
<footer>Mirrorlane download redirector. This list as <a href="${escapeHtml(`./${encodePath(name).slice(1)}?mirrorlist&json`)}">JSON</a>.${attribution}</footer>
</body>
</html>
`;
}
