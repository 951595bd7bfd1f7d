// The JSON answer (?json or Accept: application/json): file, client, ranked and excluded mirrors with reasons.
// Built from public fields only: no admin name or e-mail, no notes, no rsync/ftp URLs (they may carry passwords).
import type { Selection } from '../core/selection.ts';
import type { ClientLocation, FileRow } from '../core/types.ts';

export interface JsonAnswerInput {
  file: FileRow;
  client: ClientLocation;
  /** The client's location came from ?country= / ?as= / ?ip=. */
  overridden: boolean;
  selection: Selection;
  /** Why the origin would serve this download itself, or null when it redirects. */
  localDelivery: string | null;
  attribution: string[];
}

export function renderJsonAnswer(a: JsonAnswerInput): string {
  const { file, client, selection } = a;
  return JSON.stringify({
    file: {
      path: file.path,
      size: file.size,
      mtime: new Date(file.mtime * 1000).toISOString(),
      sha256: file.sha256,
      sha1: file.sha1,
      md5: file.md5,
    },
    client: {
      ip: client.ip,
      family: client.family,
      country: client.country,
      continent: client.continent,
      lat: client.lat,
      lng: client.lng,
      asn: client.asn,
      overridden: a.overridden,
    },
    delivery: a.localDelivery === null ? (selection.chosen ? 'redirect' : 'local: no usable mirror') : `local: ${a.localDelivery}`,
    chosen: selection.chosen?.mirror.identifier ?? null,
    mirrors: selection.ranked.map((r) => ({
      identifier: r.mirror.identifier,
      url: r.url,
      tier: r.tier,
      country: r.mirror.country,
      continent: r.mirror.continent,
      distanceKm: r.distanceKm === null ? null : Math.round(r.distanceKm),
      share: Math.round(r.share * 1000) / 1000,
      operator: r.mirror.operatorName,
      operatorUrl: r.mirror.operatorUrl,
    })),
    excluded: selection.excluded.map((e) => ({ identifier: e.mirror.identifier, reason: e.reason })),
    attribution: a.attribution,
  });
}
