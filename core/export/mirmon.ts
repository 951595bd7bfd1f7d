// mirmon's mirror list (export only). mirmon reads one mirror URL per line, fields separated by white space:
//   list_style plain:   <country code> <url> [<admin e-mail>]          (format "mirmon")
//   list_style apache:  <protocol> <country code> <url> [<admin e-mail>] (format "mirmon-apache")
// as MirrorBrain's `mb export --format mirmon|mirmon-apache` writes it: enabled mirrors only, one line for each of
// their http, https, ftp and rsync base URLs, country codes in lower case. Differences, on purpose: credentials are
// taken out of ftp/rsync URLs (mirmon shows every URL on its public status page), a mirror without a country
// ("" or "**", every country) is listed under "zz", and a missing e-mail is left out rather than written empty.
// Pure.
import { withoutCredentials } from '../mirrorlist/public-url.ts';
import type { Snapshot } from './schema.ts';

export type MirmonStyle = 'plain' | 'apache';

const PROTOCOLS = [
  ['http', 'http_url'],
  ['https', 'https_url'],
  ['ftp', 'ftp_url'],
  ['rsync', 'rsync_url'],
] as const;

/** mirmon splits on white space: a value holding some cannot be written, so it is dropped (e-mail) or skipped. */
const oneWord = (s: string) => s !== '' && !/\s/.test(s);

export function toMirmon(snap: Snapshot, style: MirmonStyle): string {
  const lines: string[] = [];
  for (const m of snap.mirrors) {
    if (!m.enabled) continue;
    const country = /^[A-Z]{2}$/.test(m.country as string) ? (m.country as string).toLowerCase() : 'zz';
    const email = oneWord(m.admin_email as string) ? (m.admin_email as string) : '';
    for (const [proto, key] of PROTOCOLS) {
      const url = m[key];
      if (typeof url !== 'string' || !oneWord(url)) continue;
      const fields = style === 'apache' ? [proto, country, withoutCredentials(url)] : [country, withoutCredentials(url)];
      if (email) fields.push(email);
      lines.push(fields.join(' '));
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
