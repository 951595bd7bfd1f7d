// The part of the tree a scan covers, as an origin path prefix.

export class SubtreeError extends Error {}

/**
 * "/pub/isos" or "pub/isos/" -> "/pub/isos/"; undefined or "" -> "/" (the whole tree). The trailing "/" keeps
 * "/pub/isos/" from also covering "/pub/isos-old/". Dot segments are refused: the origin scan walks the
 * subtree on disk.
 */
export function normaliseSubtree(subtree: string | undefined): string {
  if (subtree === undefined || subtree === '' || subtree === '/') return '/';
  if (subtree.includes('\0')) throw new SubtreeError('subtree contains a NUL byte');
  const segments = subtree.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) throw new SubtreeError(`subtree '${subtree}' may not contain '.' or '..'`);
  return segments.length ? `/${segments.join('/')}/` : '/';
}
