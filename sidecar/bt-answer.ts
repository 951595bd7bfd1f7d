// The BitTorrent answers of one decided download (.torrent, .magnet, .btih) and the torrent links the Metalink
// and the file page show. Pure: the selection's URLs and the file's pieces come in, a body goes out.
import type { Pieces } from '../core/scan/pieces.ts';
import type { FileRow } from '../core/types.ts';
import { baseName } from './render-metalink.ts';
import { TORRENT_TYPE, magnetLink, renderBtihLine, renderTorrent } from './render-torrent.ts';

export interface BtSettings {
  /** formats.torrentMinSize */
  minSize: number;
  /** formats.trackers */
  trackers: string[];
}

export interface BtContext {
  row: FileRow;
  pieces: Pieces | null;
  /** Mirror URLs of the file, best first for this client. */
  mirrorUrls: string[];
  /** This redirector's URL of the file, or null when unknown. */
  ownUrl: string | null;
  settings: BtSettings;
}

export interface BtBody {
  status: number;
  type: string;
  body: string | Buffer;
  disposition?: string;
}

/** Web seeds in a magnet link: a few are enough to start, the .torrent (xs=) has them all. */
const MAGNET_SEEDS = 3;

/** Does the file have a torrent: big enough, with its SHA-1 pieces known? */
export function hasTorrent(c: Pick<BtContext, 'row' | 'pieces' | 'settings'>): c is Pick<BtContext, 'row' | 'settings'> & { pieces: Pieces } {
  return c.pieces !== null && c.row.size > 0 && c.row.size >= c.settings.minSize;
}

function seeds(c: BtContext): string[] {
  return c.ownUrl === null ? c.mirrorUrls : [...c.mirrorUrls, c.ownUrl];
}

/** The .torrent URL and magnet link for the Metalink and the file page, or null when the file has no torrent. */
export function torrentLinks(c: BtContext): { url: string | null; magnet: string } | null {
  if (!hasTorrent(c)) return null;
  const url = c.ownUrl === null ? null : `${c.ownUrl}.torrent`;
  const magnet = magnetLink({ file: c.row, pieces: c.pieces, trackers: c.settings.trackers, webSeeds: seeds(c).slice(0, MAGNET_SEEDS), torrentUrl: url });
  return { url, magnet };
}

export function btAnswer(format: 'torrent' | 'magnet' | 'btih', c: BtContext): BtBody {
  const name = baseName(c.row.path);
  if (!hasTorrent(c)) {
    const why = c.pieces === null ? 'its piece hashes are not known yet (origin scan)' : `it is smaller than ${c.settings.minSize} bytes`;
    return { status: 404, type: 'text/plain; charset=utf-8', body: `No torrent for ${name}: ${why}\n` };
  }
  if (format === 'btih') return { status: 200, type: 'text/plain; charset=utf-8', body: renderBtihLine({ file: c.row, pieces: c.pieces }) };
  if (format === 'magnet') return { status: 200, type: 'text/plain; charset=utf-8', body: `${torrentLinks(c)!.magnet}\n` };
  const body = renderTorrent({ file: c.row, pieces: c.pieces, webSeeds: seeds(c), trackers: c.settings.trackers });
  return { status: 200, type: TORRENT_TYPE, body, disposition: `${name}.torrent` };
}
