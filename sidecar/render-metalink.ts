// Metalink documents for one file: Metalink/XML v4 (RFC 5854, .meta4) and Metalink 3.0 (.metalink, which dnf and
// older download managers read). Pure; XML is built with fast-xml-parser's XMLBuilder, which escapes every value.
import { XMLBuilder } from 'fast-xml-parser';
import { splitDigests, type Pieces } from '../core/scan/pieces.ts';
import type { FileRow } from '../core/types.ts';

export const META4_TYPE = 'application/metalink4+xml';
export const METALINK3_TYPE = 'application/metalink+xml';
export const META4_NS = 'urn:ietf:params:xml:ns:metalink';
export const METALINK3_NS = 'http://www.metalinker.org/';
const GENERATOR = 'Mirrorlane';

export interface MetalinkSource {
  /** Absolute, percent-encoded URL of the file on a mirror. */
  url: string;
  /** The mirror's ISO 3166-1 alpha-2 code; "**" and anything else that is not a country is left out. */
  country: string;
}

export interface MetalinkInput {
  file: Pick<FileRow, 'path' | 'size' | 'mtime' | 'sha256' | 'sha1' | 'md5'>;
  /** Mirrors, best first (the selection's ranked list). */
  sources: MetalinkSource[];
  /** The file on this redirector, listed last as the source of last resort; null when the host is unknown. */
  originUrl: string | null;
  /** This document's own URL, so a client can fetch a fresh copy (origin dynamic="true"); null when unknown. */
  selfUrl: string | null;
  /** Piece hashes of the file's current content (RFC 5854 4.1.2.4): a client can tell which source sent bad bytes. */
  pieces?: Pieces | null;
  /** The file's .torrent and magnet link, when the file has one (formats.torrentMinSize). */
  torrent?: { url: string | null; magnet: string } | null;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressBooleanAttributes: false });

/** The file's name without directories: RFC 5854 wants a relative name, and a client saves it under that. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function location(country: string): string | null {
  return /^[A-Za-z]{2}$/.test(country) ? country.toLowerCase() : null;
}

/** RFC 3339 without fractions ("2026-01-01T00:00:00Z"). */
function rfc3339(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const DECLARATION = { '@_version': '1.0', '@_encoding': 'UTF-8' };

/** Metalink/XML v4: priority 1 is the best source, the redirector's own URL comes last. */
export function renderMeta4(a: MetalinkInput): string {
  const hashes: Record<string, string>[] = [];
  if (a.file.sha256) hashes.push({ '@_type': 'sha-256', '#text': a.file.sha256 });
  if (a.file.sha1) hashes.push({ '@_type': 'sha-1', '#text': a.file.sha1 });
  if (a.file.md5) hashes.push({ '@_type': 'md5', '#text': a.file.md5 });
  const urls = a.sources.map((s, i) => {
    const u: Record<string, string | number> = {};
    const loc = location(s.country);
    if (loc !== null) u['@_location'] = loc;
    u['@_priority'] = i + 1;
    u['#text'] = s.url;
    return u;
  });
  if (a.originUrl !== null) urls.push({ '@_priority': urls.length + 1, '#text': a.originUrl });
  const metalink: Record<string, unknown> = { '@_xmlns': META4_NS, generator: GENERATOR };
  if (a.selfUrl !== null) metalink.origin = { '@_dynamic': 'true', '#text': a.selfUrl };
  metalink.published = rfc3339(a.file.mtime);
  const file: Record<string, unknown> = { '@_name': baseName(a.file.path), size: a.file.size, hash: hashes };
  if (a.pieces) {
    file.pieces = { '@_length': a.pieces.pieceSize, '@_type': 'sha-256', hash: splitDigests(a.pieces.sha256, 32) };
  }
  file.url = urls;
  if (a.torrent) {
    // The metainfo files of the same content (RFC 5854 4.2.9): the .torrent, and the magnet link as a second way in.
    const metaurls: Record<string, string>[] = [];
    if (a.torrent.url !== null) metaurls.push({ '@_mediatype': 'torrent', '#text': a.torrent.url });
    metaurls.push({ '@_mediatype': 'torrent', '#text': a.torrent.magnet });
    file.metaurl = metaurls;
  }
  metalink.file = file;
  return builder.build({ '?xml': DECLARATION, metalink });
}

/** Metalink 3.0: preference 100 is the best source, down to 1; the redirector's own URL comes last. */
export function renderMetalink3(a: MetalinkInput): string {
  const hashes: Record<string, string>[] = [];
  if (a.file.sha256) hashes.push({ '@_type': 'sha256', '#text': a.file.sha256 });
  if (a.file.sha1) hashes.push({ '@_type': 'sha1', '#text': a.file.sha1 });
  if (a.file.md5) hashes.push({ '@_type': 'md5', '#text': a.file.md5 });
  const all = a.sources.map((s) => ({ url: s.url, loc: location(s.country) }));
  if (a.originUrl !== null) all.push({ url: a.originUrl, loc: null });
  const urls = all.map((s, i) => {
    const u: Record<string, string | number> = { '@_type': s.url.startsWith('https:') ? 'https' : 'http' };
    if (s.loc !== null) u['@_location'] = s.loc;
    u['@_preference'] = Math.max(1, 100 - i);
    u['#text'] = s.url;
    return u;
  });
  const metalink: Record<string, unknown> = { '@_version': '3.0', '@_xmlns': METALINK3_NS, '@_generator': GENERATOR };
  if (a.selfUrl !== null) Object.assign(metalink, { '@_type': 'dynamic', '@_origin': a.selfUrl });
  // Metalink 3.0 dates are RFC 822.
  metalink['@_pubdate'] = new Date(a.file.mtime * 1000).toUTCString();
  const file: Record<string, unknown> = { '@_name': baseName(a.file.path), size: a.file.size };
  const verification: Record<string, unknown> = {};
  if (hashes.length > 0) verification.hash = hashes;
  if (a.pieces) {
    verification.pieces = {
      '@_length': a.pieces.pieceSize,
      '@_type': 'sha1',
      hash: splitDigests(a.pieces.sha1, 20).map((h, i) => ({ '@_piece': i, '#text': h })),
    };
  }
  if (Object.keys(verification).length > 0) file.verification = verification;
  if (a.torrent) {
    // Metalink 3.0 names other kinds of resource by type: the .torrent and the magnet link, ahead of the mirrors.
    const extra: Record<string, string | number>[] = [];
    if (a.torrent.url !== null) extra.push({ '@_type': 'bittorrent', '@_preference': 100, '#text': a.torrent.url });
    extra.push({ '@_type': 'magnet', '@_preference': 100, '#text': a.torrent.magnet });
    urls.unshift(...extra);
  }
  file.resources = { url: urls };
  metalink.files = { file };
  return builder.build({ '?xml': DECLARATION, metalink });
}
