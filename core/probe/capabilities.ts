// What a mirror can do, found out rather than guessed: does it answer over IPv6 (an AAAA record and a
// connection to it), and over https (the host and path of its http URL on port 443, with a certificate the probe
// trusts)? The selection sends IPv6 clients only to mirrors with ipv6, and https requests only to mirrors with
// an https URL (core/selection.ts), so an ordinary dual-stack mirror must be recorded as such to get them.
//
// I/O at the edges: findCapabilities asks the network, planCapabilities (pure) decides what to write, and
// writeCapabilities writes it in one UPDATE (with caps_at, so that the event log attributes it to the probe).
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type pg from 'pg';
import type { Mirror } from '../types.ts';
import { step, type CheckOptions } from './check.ts';
import { judgeBase } from './state.ts';

export interface CapabilityFindings {
  /** null: not checked (no http(s) URL). */
  ipv6: { ok: boolean; why: string } | null;
  /** The https base URL found working; null when not checked (the mirror has one, or no http URL). */
  https: { url: string | null; why: string } | null;
}

function dirUrl(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}

/** The https URL a mirror's http URL suggests: same host and path, port 443. */
export function httpsCandidate(httpUrl: string): string | null {
  try {
    const u = new URL(httpUrl);
    if (u.protocol !== 'http:') return null;
    u.protocol = 'https:';
    u.port = '';
    return u.href;
  } catch {
    return null;
  }
}

/** Does `host` have an IPv6 address? An IPv6 literal has; an IPv4 literal has not. */
async function hasIpv6Address(host: string, lookup: CheckOptions['lookup']): Promise<{ ok: boolean; why: string }> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (net.isIPv6(bare)) return { ok: true, why: '' };
  if (net.isIPv4(bare)) return { ok: false, why: 'IPv4 address in the URL' };
  const find = lookup ?? dns.lookup;
  return new Promise((resolve) => {
    find(bare, { family: 6, all: true }, (err: NodeJS.ErrnoException | null, addresses: unknown) => {
      const list = Array.isArray(addresses) ? (addresses as { address: string; family: number }[]) : [];
      if (err || !list.some((a) => a.family === 6)) resolve({ ok: false, why: 'no AAAA record' });
      else resolve({ ok: true, why: '' });
    });
  });
}

/** Ask the network. Only mirrors whose base URL answered this round are worth asking (see run.ts). */
export async function findCapabilities(m: Pick<Mirror, 'httpUrl' | 'httpsUrl'>, opts: CheckOptions): Promise<CapabilityFindings> {
  const base = m.httpUrl ?? m.httpsUrl;
  let ipv6: CapabilityFindings['ipv6'] = null;
  if (base) {
    const has = await hasIpv6Address(new URL(base).hostname, opts.lookup);
    if (!has.ok) ipv6 = has;
    else {
      const s = await step(dirUrl(base), 'HEAD', { ...opts, family: 6 });
      const failure = judgeBase(s);
      ipv6 = failure ? { ok: false, why: `IPv6: ${failure.reason}` } : { ok: true, why: '' };
    }
  }
  let https: CapabilityFindings['https'] = null;
  const candidate = !m.httpsUrl && m.httpUrl ? httpsCandidate(m.httpUrl) : null;
  if (candidate) {
    const s = await step(dirUrl(candidate), 'HEAD', opts);
    const failure = judgeBase(s);
    https = failure ? { url: null, why: `https: ${failure.reason}` } : { url: candidate, why: '' };
  }
  return { ipv6, https };
}

export interface CapabilityChange {
  ipv6?: boolean;
  httpsUrl?: string;
}

/** What to write: only values that differ and are not pinned. Pure. */
export function planCapabilities(m: Pick<Mirror, 'ipv4' | 'ipv6' | 'httpsUrl' | 'ipv6Pinned' | 'httpsPinned'>, f: CapabilityFindings): CapabilityChange {
  const change: CapabilityChange = {};
  // A mirror must keep one family: an IPv6-only mirror (no IPv4) is never switched off here.
  if (f.ipv6 && !m.ipv6Pinned && f.ipv6.ok !== m.ipv6 && (f.ipv6.ok || m.ipv4)) change.ipv6 = f.ipv6.ok;
  if (f.https?.url && !m.httpsPinned && !m.httpsUrl) change.httpsUrl = f.https.url;
  return change;
}

/** One UPDATE; the pins are checked again in SQL, so an operator's edit meanwhile wins. */
export async function writeCapabilities(db: pg.Pool, id: number, c: CapabilityChange): Promise<boolean> {
  if (c.ipv6 === undefined && c.httpsUrl === undefined) return false;
  const res = await db.query({
    name: 'probe_capabilities',
    text: `UPDATE mirror SET caps_at = now(),
             ipv6 = CASE WHEN $2::boolean IS NULL OR ipv6_pinned THEN ipv6 ELSE $2 END,
             https_url = CASE WHEN $3::text IS NULL OR https_pinned OR https_url IS NOT NULL THEN https_url ELSE $3 END
           WHERE id = $1`,
    values: [id, c.ipv6 ?? null, c.httpsUrl ?? null],
  });
  return (res.rowCount ?? 0) > 0;
}

/** The CA list for https checks: Node's bundled roots plus the operator's probe.caFile. */
export function probeCa(caFile: string | undefined): string[] | undefined {
  if (!caFile) return undefined;
  return [...tls.rootCertificates, fs.readFileSync(caFile, 'utf8')];
}
