// URLs as the public may see them. ftp and rsync base URLs may hold a user name and password (private rsync
// modules); nothing that leaves the admin's hands may show them. Pure.

/**
 * The URL without its user information ("rsync://u:secret@host/m/" → "rsync://host/m/"). String surgery rather
 * than new URL(), so the rest stays exactly as typed. The authority ends at the first "/", "?" or "#"; its user
 * information ends at the last "@" in it (a password may hold an unencoded "@").
 */
export function withoutCredentials(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) return url;
  const at = m[2].lastIndexOf('@');
  return at < 0 ? url : m[1] + m[2].slice(at + 1) + m[3];
}

const LINKABLE = /^(https?|ftp|rsync):\/\/[^\s]/i;

/** Whether a URL may become a link: one of our four schemes (never javascript:, data: and the like). */
export function isLinkable(url: string | null | undefined): url is string {
  return typeof url === 'string' && LINKABLE.test(url);
}

/** The operator's web site as a link target: http(s) only, else null. */
export function operatorLink(url: string): string | null {
  const s = url.trim();
  return /^https?:\/\/[^\s]/i.test(s) ? s : null;
}
