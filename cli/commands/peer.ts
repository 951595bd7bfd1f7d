// `mirrorlane peer add|rm|list`: AS peers (Debian's peers db): clients of an AS prefer these mirrors.
import type { Command } from 'commander';
import { parseAsn } from '../../core/cli-parse.ts';
import { addPeer, listPeers, removePeers } from '../../core/db/peers.ts';
import type { CliContext } from './context.ts';
import { formatTime } from './output.ts';

export function registerPeerCommands(program: Command, ctx: CliContext): void {
  const peer = program.command('peer').description('AS peers: clients of an AS are sent to these mirrors first (AS tier)');

  peer
    .command('add')
    .description('clients in AS ASN prefer the named mirrors')
    .argument('<asn>', 'client AS number (64500 or AS64500)')
    .argument('<mirror...>', 'mirror identifiers')
    .action(async (asnText: string, identifiers: string[]) => {
      const asn = parseAsn('ASN', asnText);
      for (const identifier of identifiers) {
        const m = await ctx.mirror(identifier);
        const added = await addPeer(ctx.db(), asn, m.id);
        ctx.out(added ? `AS${asn} → ${m.identifier}: added` : `AS${asn} → ${m.identifier}: already a peer`);
      }
    });

  peer
    .command('rm')
    .alias('remove')
    .description('remove peers of AS ASN: the named mirrors, or all of them')
    .argument('<asn>')
    .argument('[mirror...]')
    .action(async (asnText: string, identifiers: string[]) => {
      const asn = parseAsn('ASN', asnText);
      if (!identifiers.length) {
        ctx.out(`AS${asn}: removed ${await removePeers(ctx.db(), asn, null)} peer(s)`);
        return;
      }
      for (const identifier of identifiers) {
        const m = await ctx.mirror(identifier);
        const n = await removePeers(ctx.db(), asn, m.id);
        ctx.out(n ? `AS${asn} → ${m.identifier}: removed` : `AS${asn} → ${m.identifier}: was not a peer`);
      }
    });

  peer
    .command('list')
    .alias('ls')
    .description('AS peers, by client AS')
    .argument('[asn]', 'only this client AS')
    .option('--json', 'print JSON')
    .action(async (asnText: string | undefined, opts: { json?: boolean }) => {
      const peers = await listPeers(ctx.db(), asnText === undefined ? undefined : parseAsn('ASN', asnText));
      if (opts.json) return ctx.json(peers.map((p) => ({ clientAsn: p.clientAsn, mirror: p.identifier, createdAt: p.createdAt })));
      if (!peers.length) return ctx.out('no AS peers');
      ctx.table(['client AS', 'mirror', 'since'], peers.map((p) => [`AS${p.clientAsn}`, p.identifier, formatTime(p.createdAt)]));
    });
}
