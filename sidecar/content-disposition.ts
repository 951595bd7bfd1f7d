// The Content-Disposition of an answer saved under its own name ("x.iso.meta4", "x.iso.torrent"). Pure.

/** Content-Disposition for a file name: plain ASCII as is, anything else also as RFC 6266/8187 filename*. */
export function attachment(name: string): string {
  if (/^[\x20-\x7e]+$/.test(name) && !/["\\]/.test(name)) return `attachment; filename="${name}"`;
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
