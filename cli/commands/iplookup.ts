// `mirrorlane iplookup ADDRESS`: what the redirector believes about a client address (or a host's address).
import type { Command } from 'commander';
import { continentName, countryName } from '../../core/continents.ts';
import type { CliContext } from './context.ts';
import { openConfiguredGeoIp, resolveHost, roundCoordinate } from './geo.ts';

export function registerIplookupCommand(program: Command, ctx: CliContext): void {
  program
    .command('iplookup')
    .description('country, continent, city, coordinates and AS of an address (or of a host name, resolved first)')
    .argument('<address>', 'IPv4 or IPv6 address, or a host name')
    .option('--json', 'print JSON')
    .action(async (address: string, opts: { json?: boolean }) => {
      const ip = await resolveHost(address.trim());
      const geo = await openConfiguredGeoIp(ctx.config());
      try {
        const loc = geo.lookup(ip);
        if (opts.json) {
          ctx.json({ query: address, ...loc, attribution: geo.attribution });
          return;
        }
        const rows: [string, string][] = [
          ['address', ip === address ? ip : `${ip} (${address})`],
          ['country', loc.country ? `${loc.country} (${countryName(loc.country) ?? '?'})` : 'unknown'],
          ['continent', loc.continent ? `${loc.continent} (${continentName(loc.continent) ?? '?'})` : 'unknown'],
          ['city', loc.city ?? 'unknown'],
          ['coordinates', loc.lat !== null && loc.lng !== null ? `${roundCoordinate(loc.lat)},${roundCoordinate(loc.lng)}` : 'unknown'],
          ['asn', loc.asn !== null ? `AS${loc.asn}${loc.asOrg ? ` ${loc.asOrg}` : ''}` : 'unknown'],
        ];
        const width = Math.max(...rows.map(([k]) => k.length));
        const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
        lines.push(...geo.attribution);
        ctx.out(lines.join('\n'));
      } finally {
        geo.close();
      }
    });
}
