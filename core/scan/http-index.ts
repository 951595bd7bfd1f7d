// Parsers for HTTP directory indexes: nginx autoindex (json, xml, html), Apache mod_autoindex (fancy in <pre> or
// an HTML table, and plain <ul>), lighttpd mod_dirlisting. Pure: a page in, its entries out. The crawler
// (http-crawl.ts) decides which links to follow.
//
// Precision differs: nginx json/xml give bytes and seconds; nginx html gives bytes (or "1K" with
// autoindex_exact_size off) and minutes; Apache gives "2.8G" and minutes; lighttpd "0.1K" and seconds; Apache's
// plain list gives neither. Each entry says how precise it is, so that refine.ts can ask for exact values where
// they matter.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Parser } from 'htmlparser2';

export class IndexParseError extends Error {}

export type IndexFormat = 'nginx-json' | 'nginx-xml' | 'html';

export interface IndexEntry {
  /** Link target as the page gives it (relative, absolute path or URL; percent-encoded). */
  href: string;
  dir: boolean;
  /** Bytes (the middle of the range when approximate); null when the page shows none. */
  size: number | null;
  /** How far the true size may be from `size`: 0 exact. */
  sizeSlack: number;
  /** Start of the shown time range, Unix seconds read as UTC; null when the page shows none. */
  mtime: number | null;
  /** 1: to the second; 60: to the minute. */
  mtimeSpan: number;
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

/** Percent-encode a file name for use as a relative link ("a b" → "a%20b", ":" safe only after "./"). */
function hrefOfName(name: string, dir: boolean): string {
  return `./${encodeURIComponent(name)}${dir ? '/' : ''}`;
}

function checkName(name: unknown, where: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\0')) {
    throw new IndexParseError(`${where}: unusable entry name ${JSON.stringify(name)}`);
  }
  return name;
}

/** nginx `autoindex_format json`: [{"name","type":"file"|"directory"|"other","mtime":HTTP-date,"size"}]. */
export function parseNginxJsonIndex(text: string): IndexEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new IndexParseError(`JSON index unreadable (cut off?): ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new IndexParseError('JSON index is not an array');
  const out: IndexEntry[] = [];
  for (const item of data) {
    const e = item as { name?: unknown; type?: unknown; mtime?: unknown; size?: unknown };
    if (typeof e !== 'object' || e === null) throw new IndexParseError('JSON index entry is not an object');
    const name = checkName(e.name, 'JSON index');
    if (e.type !== 'file' && e.type !== 'directory') continue; // "other": devices, sockets
    const dir = e.type === 'directory';
    const mtime = typeof e.mtime === 'string' ? Date.parse(e.mtime) / 1000 : NaN;
    if (!dir && (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0 || Number.isNaN(mtime))) {
      throw new IndexParseError(`JSON index entry ${JSON.stringify(name)} lacks a size or time`);
    }
    out.push({ href: hrefOfName(name, dir), dir, size: dir ? null : (e.size as number), sizeSlack: 0, mtime: Number.isNaN(mtime) ? null : mtime, mtimeSpan: 1 });
  }
  return out;
}

/** nginx `autoindex_format xml`: <list><directory mtime="…Z">name</directory><file mtime size>name</file></list>. */
export function parseNginxXmlIndex(text: string): IndexEntry[] {
  // A listing cut off mid-transfer is not well-formed: refuse it rather than take the part that arrived.
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new IndexParseError(`XML index unreadable (cut off?): ${valid.err.msg} (line ${valid.err.line})`);
  const doc = xmlIndexParser.parse(text) as { list?: unknown };
  if (typeof doc.list !== 'object' || doc.list === null) throw new IndexParseError('XML index without <list>…</list>');
  const list = doc.list as Record<string, unknown>;
  const out: IndexEntry[] = [];
  for (const tag of ['directory', 'file'] as const) {
    for (const item of (list[tag] ?? []) as XmlIndexItem[]) {
      const name = checkName(typeof item === 'object' ? item['#text'] : item, 'XML index');
      const attrs = typeof item === 'object' ? item : {};
      const dir = tag === 'directory';
      const mtime = attrs.mtime ? Date.parse(attrs.mtime) / 1000 : NaN;
      const size = attrs.size !== undefined && /^\d+$/.test(attrs.size) ? Number(attrs.size) : NaN;
      if (!dir && (!Number.isSafeInteger(size) || Number.isNaN(mtime))) throw new IndexParseError(`XML index entry ${JSON.stringify(name)} lacks a size or time`);
      out.push({ href: hrefOfName(name, dir), dir, size: dir ? null : size, sizeSlack: 0, mtime: Number.isNaN(mtime) ? null : mtime, mtimeSpan: 1 });
    }
  }
  return out;
}

/** An element of nginx's XML index as fast-xml-parser gives it: the name as text, attributes beside it. */
type XmlIndexItem = string | { '#text'?: string; mtime?: string; size?: string };

// Values stay strings (a file named "007" is not the number 7); every entry kind is a list, even of one.
const xmlIndexParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Numeric character references (&#38;) are XML as much as &amp; is; fast-xml-parser decodes them with this set.
  htmlEntities: true,
  isArray: (name) => name === 'directory' || name === 'file' || name === 'other',
});

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/** "6", "1K", "4.0K", "2.8G", "17 MB", "-" → bytes and slack; null for "-" or no size. */
export function parseIndexSize(token: string): { size: number; slack: number } | null {
  const m = /^(\d+(?:\.(\d+))?)\s*([KMGTP]?)(?:i?B)?$/i.exec(token.trim());
  if (!m) return null;
  const unit = UNITS[m[3].toUpperCase()];
  const value = Number(m[1]);
  if (unit === 1 && !m[2]) return { size: value, slack: 0 };
  // A rounded figure: generous bounds, refine.ts only uses them to skip lookups that cannot succeed.
  const step = m[2] ? 10 ** -m[2].length : 1;
  return { size: Math.round(value * unit), slack: Math.ceil(step * unit) };
}

/**
 * The date shown next to a link, read as UTC: nginx "07-Jun-2023 08:09", Apache "2023-06-07 08:09" (also with
 * seconds), lighttpd "2023-Jun-07 08:09:10". Returns the match position so the size after it can be found.
 */
export function findIndexDate(text: string): { mtime: number; span: number; end: number } | null {
  let m = /(\d{2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2})(?::(\d{2}))?/.exec(text);
  if (m && MONTHS[m[2].toLowerCase()] !== undefined) {
    return finish(m, +m[3], MONTHS[m[2].toLowerCase()], +m[1], +m[4], +m[5], m[6]);
  }
  m = /(\d{4})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))?/.exec(text);
  if (m && MONTHS[m[2].toLowerCase()] !== undefined) {
    return finish(m, +m[1], MONTHS[m[2].toLowerCase()], +m[3], +m[4], +m[5], m[6]);
  }
  m = /(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))?/.exec(text);
  if (m) return finish(m, +m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6]);
  return null;
}

function finish(m: RegExpExecArray, y: number, mon: number, d: number, h: number, mi: number, s: string | undefined) {
  const t = Date.UTC(y, mon, d, h, mi, s ? +s : 0) / 1000;
  return Number.isNaN(t) ? null : { mtime: t, span: s ? 1 : 60, end: m.index + m[0].length };
}

/** A page a server generated as a directory index, not some other HTML page (a landing page would list nothing). */
export function looksLikeHtmlIndex(html: string): boolean {
  return /<title>\s*Index of\b/i.test(html) || /<h[12]>\s*Index of\b/i.test(html);
}

/** One link of an index page and the text of its row: what follows the link up to the line's end or the next link. */
interface IndexLink {
  href: string;
  row: string;
}

/**
 * The links of an HTML page with the text after each, read with htmlparser2 (entities decoded, tags taken as
 * spaces). In every index format a row is one line of the page's source, so a row ends at a newline in the text
 * or at the next link.
 */
function indexLinks(html: string): IndexLink[] {
  const links: IndexLink[] = [];
  let open: IndexLink | null = null; // the row being collected
  let inAnchor = false;
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'a') {
          inAnchor = true;
          open = null;
          if (attrs.href !== undefined) {
            open = { href: attrs.href, row: '' };
            links.push(open);
          }
        } else if (open && !inAnchor) {
          open.row += ' ';
        }
      },
      onclosetag(name) {
        if (name === 'a') inAnchor = false;
        else if (open && !inAnchor) open.row += ' ';
      },
      ontext(text) {
        if (!open || inAnchor) return;
        const nl = text.indexOf('\n');
        open.row += nl < 0 ? text : text.slice(0, nl);
        if (nl >= 0) open = null;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return links;
}

/**
 * An HTML directory index of nginx, Apache (fancy <pre> or table, plain list) or lighttpd: every link with the date
 * and size its row shows. Header links (sorting "?C=M;O=A", "../", "Parent Directory") come out too: the crawler
 * drops what is not a child of the directory.
 */
export function parseHtmlIndex(html: string): IndexEntry[] {
  if (!looksLikeHtmlIndex(html)) throw new IndexParseError('page is not a directory index (no "Index of" title)');
  const byHref = new Map<string, IndexEntry>();
  for (const link of indexLinks(html)) {
    const href = link.href;
    if (href === '' || href.startsWith('?') || href.startsWith('#')) continue;
    const row = link.row.replace(/\u00a0/g, ' ');
    const date = findIndexDate(row);
    const sizeText = date ? row.slice(date.end) : row;
    const sizeToken = /^\s*(\d+(?:\.\d+)?\s*[KMGTP]?(?:i?B)?)(?=\s|$)/i.exec(sizeText)?.[1] ?? '';
    const size = parseIndexSize(sizeToken);
    const dir = /\/(?:[?#].*)?$/.test(href);
    const entry: IndexEntry = {
      href,
      dir,
      size: dir || !size ? null : size.size,
      sizeSlack: dir || !size ? Infinity : size.slack,
      mtime: date ? date.mtime : null,
      mtimeSpan: date ? date.span : Infinity,
    };
    // Icons that are links (Apache IconsAreLinks) repeat the href without the row data: keep the richer one.
    const seen = byHref.get(href);
    if (!seen || (seen.mtime === null && entry.mtime !== null)) byHref.set(href, entry);
  }
  return [...byHref.values()];
}

/** Which parser a response needs, from its Content-Type and, failing that, its first bytes. */
export function detectIndexFormat(contentType: string | null, body: string): IndexFormat {
  const ct = (contentType ?? '').toLowerCase();
  const head = body.trimStart().slice(0, 64);
  if (ct.includes('json') || head.startsWith('[')) return 'nginx-json';
  if (((ct.includes('xml') && !ct.includes('html')) || head.startsWith('<?xml')) && /<list>/.test(body.slice(0, 512))) return 'nginx-xml';
  return 'html';
}

export function parseIndexPage(body: string, contentType: string | null): { format: IndexFormat; entries: IndexEntry[] } {
  const format = detectIndexFormat(contentType, body);
  const entries = format === 'nginx-json' ? parseNginxJsonIndex(body) : format === 'nginx-xml' ? parseNginxXmlIndex(body) : parseHtmlIndex(body);
  return { format, entries };
}
