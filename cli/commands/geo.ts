// GeoIP as the CLI uses it: the configured databases, and the location of a host name or address.
import dns from 'node:dns/promises';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../../core/config.ts';
import { openGeoIp, type GeoIp } from '../../core/geoip.ts';
import { CliFailure } from './context.ts';

/** The ASN database: the configured one, else the one built under varDir when it exists, else none. */
export function asnDatabase(config: Config): string | null {
  if (config.geoip.asn) return config.geoip.asn;
  const built = path.join(config.varDir, 'geoip', 'asn.mmdb');
  return fs.existsSync(built) ? built : null;
}

export async function openConfiguredGeoIp(config: Config): Promise<GeoIp> {
  try {
    return await openGeoIp({ city: config.geoip.city, asn: asnDatabase(config) });
  } catch (e) {
    throw new CliFailure(`cannot open the GeoIP databases (${(e as Error).message}): check geoip.city and geoip.asn in the config`);
  }
}

/** An address as is, a host name through the system resolver (one address, as a client would get). */
export async function resolveHost(host: string): Promise<string> {
  if (net.isIP(host)) return host;
  try {
    return (await dns.lookup(host)).address;
  } catch (e) {
    throw new CliFailure(`cannot resolve host '${host}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** GeoIP stores single-precision floats: four decimals (about 10 m) are all the precision there is. */
export function roundCoordinate(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
