// Redirect stamps: a signature appended to the URLs a client is sent to, so that a mirror that shares the secret
// can refuse URLs copied into other sites (hot-linking) once they are old. Pure; the caller passes the clock.
//
// The exact rule, for mirror operators who verify:
//   URL suffix  ?time=T&stamp=S   (&time=... when the URL already has a query)
//   T           the redirect's time, decimal Unix seconds ("1767225600")
//   message     T immediately followed by the origin path: the file's path below the mirror's base URL,
//               starting with "/", NOT percent-encoded, UTF-8 ("1767225600/pub/x y.iso")
//   S           lower-case hex of HMAC-SHA256(key = the secret as UTF-8, message)
// The path needs no separator: it always starts with "/", which no digit of T is.
import crypto from 'node:crypto';

export interface Stamp {
  time: number;
  stamp: string;
}

/** The signed message for a time and an origin path. */
export function stampMessage(time: number, path: string): string {
  return `${time}${path}`;
}

export function signStamp(secret: string, time: number, path: string): Stamp {
  const t = Math.floor(time);
  return { time: t, stamp: crypto.createHmac('sha256', secret).update(stampMessage(t, path), 'utf8').digest('hex') };
}

/** `url` with the stamp's query arguments appended. */
export function appendStamp(url: string, s: Stamp): string {
  return `${url}${url.includes('?') ? '&' : '?'}time=${s.time}&stamp=${s.stamp}`;
}

export interface VerifyOptions {
  /** Unix seconds now. */
  now: number;
  /** How old a stamp may be. */
  maxAgeS: number;
  /** How far in the future a stamp may be (clocks of redirector and mirror differ a little). Default 60. */
  maxSkewS?: number;
}

/**
 * Whether `time`/`stamp` (as found in the query string) sign `path` with `secret` and are recent enough.
 * Never throws on junk; the comparison takes the same time whatever the stamp's content.
 */
export function verifyStamp(secret: string, path: string, time: string, stamp: string, o: VerifyOptions): boolean {
  if (!/^\d{1,12}$/.test(time) || !/^[0-9a-f]{64}$/.test(stamp)) return false;
  const t = Number(time);
  const skew = o.maxSkewS ?? 60;
  if (t > o.now + skew || t < o.now - o.maxAgeS) return false;
  const want = Buffer.from(signStamp(secret, t, path).stamp, 'hex');
  return crypto.timingSafeEqual(want, Buffer.from(stamp, 'hex'));
}
