// Is a mirror's copy of a file current? Used by the scanner before it records that a mirror holds a file, so that
// selection (which trusts the file row) never sends a client to a stale or truncated copy. Pure.
//
// Units: mtimes are Unix seconds, as in FileRow (fractions allowed); the timezone offset is in milliseconds, as the
// scanner measures it (Mirrorbits' convention), and outdated-file allowances are in minutes.

export interface OriginFile {
  path: string;
  size: number;
  /** Unix seconds. */
  mtime: number;
}

export interface MirrorCopy {
  size: number;
  /** Unix seconds, as the mirror's listing reports it. */
  mtime: number;
}

export interface OutdatedRule {
  /** Path prefix the rule covers, matched literally against the origin path ("/test/"). */
  prefix: string;
  /** How much older than the origin a copy under this prefix may be, in minutes. */
  minutes: number;
}

export interface CurrencyRules {
  /** Files updated in place (e.g. repository metadata): a copy may lag behind the origin for a while. */
  outdatedAllowed: OutdatedRule[];
  /**
   * The mirror's listing clock offset in ms (an FTP server reporting local time), as detected by the scanner:
   * subtracted from the copy's mtime before comparing. Absent or 0 when the timezone fix is off.
   */
  tzOffsetMs?: number;
}

export type CurrencyResult = { ok: true } | { ok: false; reason: string };

/** Listings round mtimes (FTP to the minute at worst, but rsync and HTTP to the second): one second of slack. */
const TOLERANCE_S = 1;

const OK: CurrencyResult = { ok: true };

export function checkCopy(origin: OriginFile, copy: MirrorCopy, rules: CurrencyRules): CurrencyResult {
  if (copy.size !== origin.size) return { ok: false, reason: 'file size differs' };

  const offsetS = rules.tzOffsetMs ? rules.tzOffsetMs / 1000 : 0;
  // diff > 0: the copy claims to be newer than the origin; < 0: older.
  const diff = copy.mtime - offsetS - origin.mtime;
  if (Math.abs(diff) <= TOLERANCE_S) return OK;

  // Older copies are accepted under a prefix with an outdated-files rule, up to its allowance (the largest one
  // when several prefixes match). A newer copy is never accepted: it is not the file the origin has.
  if (diff < 0) {
    let allowedS = 0;
    for (const rule of rules.outdatedAllowed) {
      if (rule.prefix !== '' && origin.path.startsWith(rule.prefix) && rule.minutes * 60 > allowedS) {
        allowedS = rule.minutes * 60;
      }
    }
    if (-diff <= allowedS + TOLERANCE_S) return OK;
  }
  return { ok: false, reason: 'mtime differs' };
}
