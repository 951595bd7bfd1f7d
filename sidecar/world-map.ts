// The world map of the file page (?mirrorlist): an inline SVG drawn from Natural Earth data bundled in npm's
// `world-atlas` (land and country borders at 1:110m), projected with d3-geo. Nothing is fetched when a page is
// viewed. The land and border paths are the same for every page: they are projected once, when this module is
// loaded (sidecar start), and each page only adds its markers. Pure apart from that one read at load time.
import { createRequire } from 'node:module';
import { geoNaturalEarth1, geoPath } from 'd3-geo';
import { feature, mesh } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { escapeHtml } from '../core/text-format.ts';

export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 500;

// A runtime require (not an import): the sidecar's bundle keeps npm packages outside, and the JSON stays there.
const require = createRequire(import.meta.url);

interface Basemap {
  sphere: string;
  land: string;
  borders: string;
  project: (lng: number, lat: number) => [number, number] | null;
}

function drawBasemap(): Basemap {
  const land = require('world-atlas/land-110m.json') as Topology<{ land: GeometryCollection }>;
  const countries = require('world-atlas/countries-110m.json') as Topology<{ countries: GeometryCollection }>;
  const projection = geoNaturalEarth1().fitExtent(
    [
      [4, 4],
      [MAP_WIDTH - 4, MAP_HEIGHT - 4],
    ],
    { type: 'Sphere' },
  );
  // Whole pixels of the 960-wide view box: no difference to see at page width, and 62 KB of paths instead of the
  // 90 KB one decimal gave; every byte is written, and copied by njs, on each mirror list view.
  const path = geoPath(projection).digits(0);
  return {
    sphere: path({ type: 'Sphere' }) ?? '',
    land: path(feature(land, land.objects.land)) ?? '',
    borders: path(mesh(countries, countries.objects.countries, (a, b) => a !== b)) ?? '',
    project: (lng, lat) => {
      const p = projection([lng, lat]);
      return p ? [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10] : null;
    },
  };
}

const BASEMAP = drawBasemap();

export interface MapMarker {
  lat: number;
  lng: number;
  /** Shown as the marker's tooltip. */
  label: string;
  /** Mirror id (data-mirror attribute: a number, nothing to escape); null for the client. */
  mirror: number | null;
  /** The mirror picked for this request. */
  chosen?: boolean;
}

export const MAP_STYLE = `
.map{display:block;width:100%;height:auto;margin:.5rem 0}
.map .sphere{fill:#eaf2fb}.map .land{fill:#d4d4d8}.map .borders{fill:none;stroke:#fff;stroke-width:.5}
.map .mirror-marker{fill:#2563eb;stroke:#fff;stroke-width:1.5}.map .mirror-marker.chosen{fill:#16a34a}
.map .client-marker{fill:#dc2626;stroke:#fff;stroke-width:2}
.legend{font-size:.85rem;color:#52525b}.legend i{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin:0 .25rem 0 .8rem;vertical-align:-.05rem}
@media (prefers-color-scheme:dark){.map .sphere{fill:#1e293b}.map .land{fill:#3f3f46}.map .borders{stroke:#18181b}}
`;

/** The SVG with one circle per marker; markers without a place on the map (bad coordinates) are left out. */
export function renderWorldMap(mirrors: MapMarker[], client: MapMarker | null, title: string): string {
  const circle = (m: MapMarker, cls: string, r: number) => {
    const p = Number.isFinite(m.lat) && Number.isFinite(m.lng) ? BASEMAP.project(m.lng, m.lat) : null;
    if (!p) return '';
    const data = m.mirror === null ? '' : ` data-mirror="${Math.trunc(m.mirror)}"`;
    return `<circle class="${cls}" cx="${p[0]}" cy="${p[1]}" r="${r}"${data}><title>${escapeHtml(m.label)}</title></circle>`;
  };
  // The chosen mirror last: drawn on top of its neighbours.
  const ordered = [...mirrors.filter((m) => !m.chosen), ...mirrors.filter((m) => m.chosen)];
  const dots = ordered.map((m) => circle(m, m.chosen ? 'mirror-marker chosen' : 'mirror-marker', 5)).join('');
  const you = client ? circle(client, 'client-marker', 6) : '';
  return (
    `<svg class="map" viewBox="0 0 ${MAP_WIDTH} ${MAP_HEIGHT}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${escapeHtml(title)}</title>` +
    `<path class="sphere" d="${BASEMAP.sphere}"/><path class="land" d="${BASEMAP.land}"/><path class="borders" d="${BASEMAP.borders}"/>` +
    `<g class="mirrors">${dots}</g>${you}</svg>`
  );
}
