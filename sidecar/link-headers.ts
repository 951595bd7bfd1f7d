// Metalink/HTTP (RFC 6249) headers for a redirect: the alternatives as Link rel=duplicate, the Metalink as
// Link rel=describedby, and the file's instance digest (RFC 3230 Digest, RFC 9530 Repr-Digest). Pure.
import type { FileRow } from '../core/types.ts';

export interface DuplicateLink {
  url: string;
  /** ISO 3166-1 alpha-2 code of the mirror; anything else ("**") is left out of the header. */
  country: string;
}

export interface RedirectHeaderInput {
  file: Pick<FileRow, 'sha256' | 'sha1' | 'md5'>;
  /** The alternatives after the chosen mirror, best first, already cut to the configured count. */
  duplicates: DuplicateLink[];
  /** Absolute URL of the file's .meta4 on this redirector; null when the request's host is unknown. */
  metalinkUrl: string | null;
}

/** Hex (as the file table keeps hashes) → base64 (as HTTP digests carry them); null for anything not hex. */
export function hexToBase64(hex: string | null): string | null {
  if (hex === null || hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return null;
  return Buffer.from(hex, 'hex').toString('base64');
}

/** Header name → value, or values sent as separate header lines. */
export type HeaderMap = Record<string, string | string[]>;

/**
 * Link, Digest and Repr-Digest for a redirect. Each Link value is its own header line: RFC 8288 would allow one
 * comma-joined line, but aria2 reads only the first link of a line.
 * Duplicates are sent only with a SHA-256 digest: RFC 6249 lets a client use other mirrors only when it can check
 * what it got, so without one they would be bytes for nothing.
 */
export function redirectHeaders(a: RedirectHeaderInput): HeaderMap {
  const h: HeaderMap = {};
  const d = digestsOf(a.file);
  const links: string[] = [];
  if (d !== null) {
    a.duplicates.forEach((dup, i) => {
      const geo = /^[A-Za-z]{2}$/.test(dup.country) ? `; geo=${dup.country.toLowerCase()}` : '';
      links.push(`<${dup.url}>; rel=duplicate; pri=${i + 1}${geo}`);
    });
  }
  if (a.metalinkUrl !== null) links.push(`<${a.metalinkUrl}>; rel=describedby; type="application/metalink4+xml"`);
  if (links.length > 0) h.Link = links;
  if (d !== null) {
    h.Digest = d.digest;
    h['Repr-Digest'] = d.reprDigest;
  }
  return h;
}

interface Digests {
  digest: string;
  reprDigest: string;
}

/** Per file row (cached rows are the same object for every request): the base64 work is done once. */
const digestCache = new WeakMap<object, Digests | null>();

/** Digest and Repr-Digest values of a file, null without a SHA-256. */
function digestsOf(file: RedirectHeaderInput['file']): Digests | null {
  const cached = digestCache.get(file);
  if (cached !== undefined) return cached;
  const sha256 = file.sha256 !== null && file.sha256.length === 64 ? hexToBase64(file.sha256) : null;
  let d: Digests | null = null;
  if (sha256 !== null) {
    // RFC 3230 names: SHA-256 (RFC 5843), SHA (SHA-1), MD5. Strongest first; clients pick what they trust.
    const digests = [`SHA-256=${sha256}`];
    const sha1 = file.sha1 !== null && file.sha1.length === 40 ? hexToBase64(file.sha1) : null;
    const md5 = file.md5 !== null && file.md5.length === 32 ? hexToBase64(file.md5) : null;
    if (sha1 !== null) digests.push(`SHA=${sha1}`);
    if (md5 !== null) digests.push(`MD5=${md5}`);
    // RFC 9530 registers only sha-256 and sha-512 as current algorithms.
    d = { digest: digests.join(', '), reprDigest: `sha-256=:${sha256}:` };
  }
  digestCache.set(file, d);
  return d;
}
