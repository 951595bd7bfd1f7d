// Trace files: the origin writes a timestamp into a file on every sync (Debian's project/trace, Arch's lastsync);
// a mirror's copy of it says when that mirror last synced completely. Pure: parsing and the lag judgement.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
/** UTC spelled out, or a numeric offset. Named zones (CEST, EST) are ambiguous and refused. */
const ZONE = '(z|ut|utc|gmt|[+-]\\d{2}:?\\d{2})';

// Date.parse is not used: it accepts almost anything ("garbage 2025" is 1 Jan 2025, "1" is 2001), and a trace
// that does not parse must be reported as unreadable, not read as some date.
const UNIX = /^(\d{1,12})(?:\.\d+)?$/;
const ISO = new RegExp(`^(\\d{4})-(\\d{2})-(\\d{2})[t ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.\\d+)?)?\\s*${ZONE}?$`, 'i');
/** RFC 2822 / HTTP date: "Sat, 21 Jun 2025 20:28:50 +0000". */
const RFC2822 = new RegExp(`^(?:${DAY},?\\s+)?(\\d{1,2})\\s+${MONTH}\\s+(\\d{4})\\s+(\\d{2}):(\\d{2})(?::(\\d{2}))?\\s*${ZONE}?$`, 'i');
/** date(1) output, what Debian's ftpsync writes with `date -u`: "Sat Jun 21 20:28:50 UTC 2025". */
const DATE1 = new RegExp(`^${DAY}\\s+${MONTH}\\s+(\\d{1,2})\\s+(\\d{2}):(\\d{2}):(\\d{2})\\s+${ZONE}\\s+(\\d{4})$`, 'i');

/** Offset of a zone word in seconds east of UTC; no zone means UTC (a trace is written by a server, in UTC). */
function zoneOffsetS(zone: string | undefined): number {
  if (!zone || /^(z|ut|utc|gmt)$/i.test(zone)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60);
}

/** Unix seconds of a calendar time, or null when a field is out of range (31 Feb, 25:00). */
function utcSeconds(y: number, mon: number, d: number, h: number, min: number, s: number, zone: string | undefined): number | null {
  if (mon < 0 || mon > 11 || d < 1 || h > 23 || min > 59 || s > 60) return null;
  const ms = Date.UTC(y, mon, d, h, min, Math.min(s, 59));
  if (new Date(ms).getUTCDate() !== d) return null;
  return ms / 1000 - zoneOffsetS(zone);
}

/**
 * The timestamp of a trace file in unix seconds, from its first non-empty line: unix seconds, an ISO 8601 date, an
 * RFC 2822 date or date(1) output. null when that line is none of these.
 */
export function parseTraceTimestamp(text: string): number | null {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '');
  if (line === undefined) return null;
  let m = UNIX.exec(line);
  if (m) return Number(m[1]);
  m = ISO.exec(line);
  if (m) return utcSeconds(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0), m[7]);
  m = RFC2822.exec(line);
  if (m) return utcSeconds(+m[3], MONTHS.indexOf(m[2].toLowerCase()), +m[1], +m[4], +m[5], +(m[6] ?? 0), m[7]);
  m = DATE1.exec(line);
  if (m) return utcSeconds(+m[7], MONTHS.indexOf(m[1].toLowerCase()), +m[2], +m[3], +m[4], +m[5], m[6]);
  return null;
}

/** "45 min", "5 h", "3 d": coarse on purpose, it goes into a health reason that should not change every minute. */
export function formatLag(seconds: number): string {
  if (seconds < 3600) return `${Math.max(1, Math.floor(seconds / 60))} min`;
  if (seconds < 72 * 3600) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

export interface TraceJudgement {
  /** How far the mirror's trace is behind the origin's, in seconds; never negative (a mirror ahead is current). */
  lagS: number;
  stale: boolean;
  /** "stale: trace 5 h behind" when stale, else ''. */
  reason: string;
}

/** Compare the mirror's trace with the origin's; maxAgeS 0 never calls a mirror stale. */
export function judgeTrace(originS: number, mirrorS: number, maxAgeS: number): TraceJudgement {
  const lagS = Math.max(0, originS - mirrorS);
  const stale = maxAgeS > 0 && lagS > maxAgeS;
  return { lagS, stale, reason: stale ? `stale: trace ${formatLag(lagS)} behind` : '' };
}
