// Shared shapes of the scans: what a mirror's listing yields, what applying it to the packed file table did, and
// what an origin scan did. No behaviour here.

/** One file as a mirror's listing reports it. */
export interface ListedFile {
  /** Origin path ("/pub/x.iso"): the mirror's base URL already stripped. */
  path: string;
  /** Bytes. */
  size: number;
  /** Unix seconds, already corrected by the mirror's timezone offset. */
  mtime: number;
}

export interface ApplyOptions {
  /**
   * Scan only this part of the tree ("/pub/isos/"): listed files outside it are ignored, and only files under it
   * are added or removed. Default: the whole tree.
   */
  subtree?: string;
  /** Path prefix -> minutes a copy may be older than the origin (config scan.outdatedAllowedMinutes). */
  outdatedAllowedMinutes: Record<string, number>;
  /**
   * Large-file verification (config scan.verifyLargeFiles): files of at least `minSize` bytes count as held only
   * when their path is in `paths`, i.e. the scanner fetched a range across the 2^31 boundary and got the right
   * bytes. Absent: no such check.
   */
  verified?: { minSize: number; paths: Iterable<string> };
}

export interface ApplyResult {
  /** Files the listing reported (under the subtree). */
  found: number;
  /** Of those, current copies of origin files. */
  held: number;
  /** Files the mirror now holds that it did not hold before. */
  added: number;
  /** Files the mirror held before and no longer holds. */
  removed: number;
  /** Wall time of the whole apply, listing consumption included. */
  ms: number;
}

export interface OriginScanResult {
  /** Regular files published in the scanned tree (symlinks to files included). */
  files: number;
  /** New file rows. */
  added: number;
  /** Existing rows whose size, mtime or content changed. */
  changed: number;
  /** Rows of files that are gone. */
  removed: number;
  /** Files read and hashed (new, changed, or missing a configured hash). */
  hashed: number;
  bytesHashed: number;
  /** Entries not published: special files, symlinks to directories or out of the root, unreadable entries. */
  skipped: number;
  /** Of the skipped entries, those reported as warnings. */
  warnings: number;
  ms: number;
}
