// BitTorrent answers for one file: the .torrent (BEP 3, single-file) with the mirrors as web seeds (BEP 19
// url-list, best first for the client that asked), its magnet link and its info hash. Pure; bencoding by the
// `bencode` package. The info dictionary depends on the file only (name, size, pieces), never on the client, so
// every redirector and every client agrees on the info hash and peers of one swarm meet.
import crypto from 'node:crypto';
import bencode from 'bencode';
import type { Pieces } from '../core/scan/pieces.ts';
import type { FileRow } from '../core/types.ts';
import { baseName } from './render-metalink.ts';

export const TORRENT_TYPE = 'application/x-bittorrent';

export interface TorrentInput {
  file: Pick<FileRow, 'path' | 'size' | 'mtime'>;
  pieces: Pieces;
  /** Mirror URLs of the file, best first; the redirector's own URL last when known. */
  webSeeds: string[];
  /** Announce URLs (config formats.trackers); none makes a trackerless torrent served by its web seeds. */
  trackers: string[];
}

function info(a: Pick<TorrentInput, 'file' | 'pieces'>): Record<string, unknown> {
  return {
    length: a.file.size,
    name: baseName(a.file.path),
    'piece length': a.pieces.pieceSize,
    pieces: a.pieces.sha1,
  };
}

/** The SHA-1 of the bencoded info dictionary, hex. */
export function infoHash(a: Pick<TorrentInput, 'file' | 'pieces'>): string {
  return crypto.createHash('sha1').update(bencode.encode(info(a))).digest('hex');
}

export function renderTorrent(a: TorrentInput): Buffer {
  const t: Record<string, unknown> = {};
  if (a.trackers.length > 0) t.announce = a.trackers[0];
  // BEP 12: one tier per tracker, tried in the order given.
  if (a.trackers.length > 1) t['announce-list'] = a.trackers.map((u) => [u]);
  t['created by'] = 'Mirrorlane';
  // The file's mtime, not the time of the request: the same file gives the same bytes apart from the seeds.
  t['creation date'] = a.file.mtime;
  t.info = info(a);
  // BEP 19: for a single-file torrent each URL names the file itself.
  if (a.webSeeds.length > 0) t['url-list'] = a.webSeeds;
  return Buffer.from(bencode.encode(t));
}

export interface MagnetInput extends Pick<TorrentInput, 'file' | 'pieces' | 'trackers'> {
  /** A few web seeds (ws=) and the .torrent's own URL (xs=) when known. */
  webSeeds: string[];
  torrentUrl: string | null;
}

/** magnet:?xt=urn:btih:…&dn=…&xl=…&tr=…&ws=…&xs=… */
export function magnetLink(a: MagnetInput): string {
  const parts = [`xt=urn:btih:${infoHash(a)}`, `dn=${encodeURIComponent(baseName(a.file.path))}`, `xl=${a.file.size}`];
  for (const t of a.trackers) parts.push(`tr=${encodeURIComponent(t)}`);
  for (const w of a.webSeeds) parts.push(`ws=${encodeURIComponent(w)}`);
  if (a.torrentUrl !== null) parts.push(`xs=${encodeURIComponent(a.torrentUrl)}`);
  return `magnet:?${parts.join('&')}`;
}

/** The .btih answer: "<info hash>  <name>" as the sha*sum lines are written. */
export function renderBtihLine(a: Pick<TorrentInput, 'file' | 'pieces'>): string {
  return `${infoHash(a)}  ${baseName(a.file.path)}\n`;
}
