// `mirror add`: the location and AS a new mirror's admin did not give, looked up by GeoIP from its first URL's host.
import { urlHost } from '../../core/cli-parse.ts';
import type { MirrorInput } from '../../core/db/mirrors.ts';
import type { ClientLocation } from '../../core/types.ts';
import type { CliContext } from './context.ts';
import { openConfiguredGeoIp, resolveHost, roundCoordinate } from './geo.ts';
import { continentFor } from './mirror-fields.ts';

/** Fill country, continent, coordinates and AS the user did not give from GeoIP of the first URL's host. */
export async function fillFromGeoIp(ctx: CliContext, input: MirrorInput): Promise<void> {
  const wantCountry = input.country === undefined;
  const wantCoords = input.lat === undefined && input.lng === undefined;
  const wantAsn = input.asn === undefined;
  if (!wantCountry && !wantCoords && !wantAsn && input.continent !== undefined) return;
  const url = input.httpUrl ?? input.httpsUrl ?? input.ftpUrl ?? input.rsyncUrl;
  if (!url) return;
  const host = urlHost(url);
  const hint = 'set them with `mirrorlane mirror edit` (--country, --lat/--lng, --asn)';
  // Country and coordinates given: the AS number is optional, and not finding it is no reason for a warning.
  const warn = wantCountry || wantCoords ? (line: string) => ctx.warn(line) : () => {};
  let ip: string;
  try {
    ip = await resolveHost(host);
  } catch (e) {
    warn(`warning: location not looked up: ${(e as Error).message}; ${hint}`);
    return;
  }
  let loc: ClientLocation;
  try {
    const geo = await openConfiguredGeoIp(ctx.config());
    try {
      loc = geo.lookup(ip);
    } finally {
      geo.close();
    }
  } catch (e) {
    warn(`warning: location not looked up: ${(e as Error).message}; ${hint}`);
    return;
  }
  const filled: string[] = [];
  if (wantCountry && loc.country) {
    input.country = loc.country.toUpperCase();
    filled.push(`country ${input.country}`);
  }
  if (input.continent === undefined) {
    const continent = (input.country ? continentFor(input.country) : null) ?? loc.continent;
    if (continent) {
      input.continent = continent;
      filled.push(`continent ${continent}`);
    }
  }
  if (wantCoords && loc.lat !== null && loc.lng !== null) {
    input.lat = roundCoordinate(loc.lat);
    input.lng = roundCoordinate(loc.lng);
    filled.push(`coordinates ${input.lat},${input.lng}`);
  }
  if (wantAsn && loc.asn !== null) {
    input.asn = loc.asn;
    filled.push(`AS${loc.asn}`);
  }
  const via = host === ip ? ip : `${host} (${ip})`;
  if (filled.length) ctx.out(`GeoIP of ${via}: ${filled.join(', ')}`);
  else warn(`warning: GeoIP knows nothing about ${via}; ${hint}`);
}
