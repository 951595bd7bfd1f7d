// Timezone-error detection for FTP mirrors whose server reports local time as if it were UTC (vsftpd with
// use_localtime, many Windows servers). Such a mirror's mtimes are all off by the same whole number of quarter-hours;
// Mirrorbits' fix: sample files held on both sides with equal size, and accept an offset that explains at least 90 %
// of them. Pure.

export interface MtimePair {
  /** Unix seconds on the origin. */
  origin: number;
  /** Unix seconds as the mirror reports them (MDTM), uncorrected. */
  mirror: number;
}

export interface TzOffsetOptions {
  /** Share of the pairs the offset must explain (0..1). */
  threshold?: number;
  /** Fewer pairs than this are no evidence: the answer is 0. */
  minPairs?: number;
  /** How far a pair may be from the offset and still count, in seconds (listings round; checkCopy allows 1 s). */
  toleranceS?: number;
}

const QUARTER_HOUR_S = 900;
/** Real zones span UTC-12..UTC+14; ±14 h covers every offset a misconfigured server can show. */
const MAX_OFFSET_S = 14 * 3600;

export interface TzDetection {
  /** The offset in ms (mirror − origin); null when undecided: too few pairs, or no offset (0 included) has the share. */
  offsetMs: number | null;
  /** Pairs that agree with the winning candidate. */
  agreeing: number;
  pairs: number;
}

/**
 * Which constant offset, a whole number of quarter-hours within ±14 h (0 included), at least `threshold` of the
 * pairs agree with. Pairs that agree with no quarter-hour (outdated copies) count against every candidate.
 * Undecided is not the same as 0: a small subtree scan, or a mirror in the middle of its sync, says nothing about
 * the server's clock, and the scanner then keeps the offset it knew.
 */
export function detectTzOffset(pairs: readonly MtimePair[], opts: TzOffsetOptions = {}): TzDetection {
  const threshold = opts.threshold ?? 0.9;
  const minPairs = opts.minPairs ?? 3;
  const tol = opts.toleranceS ?? 1;
  if (pairs.length === 0 || pairs.length < minPairs) return { offsetMs: null, agreeing: 0, pairs: pairs.length };

  const votes = new Map<number, number>();
  for (const p of pairs) {
    const diff = p.mirror - p.origin;
    const q = Math.round(diff / QUARTER_HOUR_S) * QUARTER_HOUR_S;
    if (Math.abs(diff - q) > tol || Math.abs(q) > MAX_OFFSET_S) continue;
    votes.set(q, (votes.get(q) ?? 0) + 1);
  }
  let best = 0;
  let bestVotes = 0;
  for (const [q, n] of votes) {
    // Ties cannot both reach 90 %; prefer 0 among equals so a fluke never shifts a healthy mirror.
    if (n > bestVotes || (n === bestVotes && q === 0)) {
      best = q;
      bestVotes = n;
    }
  }
  const decided = bestVotes > 0 && bestVotes >= threshold * pairs.length;
  // `best + 0` turns -0 into 0.
  return { offsetMs: decided ? best * 1000 + 0 : null, agreeing: bestVotes, pairs: pairs.length };
}

/**
 * The constant offset (mirror − origin) in ms that at least `threshold` of the pairs agree with; 0 when there is
 * none, when 0 itself wins, or when there are too few pairs (see detectTzOffset for the undecided case).
 */
export function findTzOffsetMs(pairs: readonly MtimePair[], opts: TzOffsetOptions = {}): number {
  return detectTzOffset(pairs, opts).offsetMs ?? 0;
}

/**
 * Up to `max` items spread evenly over `items` (first, then every n-th), so a sample covers the whole tree rather
 * than its first directory.
 */
export function spreadSample<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return items.slice();
  const out: T[] = [];
  const step = items.length / max;
  for (let i = 0; i < max; i++) out.push(items[Math.floor(i * step)]);
  return out;
}
