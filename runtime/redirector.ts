// The serving half of Mirrorlane on one host: the sidecar (in this process) and a private nginx in front of it.
// `npm start` and the integration tests both start it this way.
import type { Config } from '../core/config.ts';
import type { GeoIp } from '../core/geoip.ts';
import { writeManagedNginxConfig, type LocalMirrorServer } from '../core/nginx-config.ts';
import { runSidecar, type RunningSidecar } from '../sidecar/server.ts';
import { parseListen, startNginx, type RunningNginx } from './nginx.ts';

export interface RunningRedirector {
  sidecar: RunningSidecar;
  nginx: RunningNginx;
  stop(): Promise<void>;
}

export async function startRedirector(
  config: Config,
  opts: { nginxPrefix: string; mirrors?: LocalMirrorServer[]; geo?: GeoIp; log?: (m: string) => void; workers?: number | 'auto' },
): Promise<RunningRedirector> {
  const sidecar = await runSidecar(config, { geo: opts.geo, log: opts.log });
  let nginx: RunningNginx;
  try {
    writeManagedNginxConfig(config, { prefix: opts.nginxPrefix, listen: config.nginx.listen, mirrors: opts.mirrors, workers: opts.workers });
    const ports = [...config.nginx.listen, ...(opts.mirrors ?? []).map((m) => m.listen)].map(parseListen);
    nginx = await startNginx(opts.nginxPrefix, ports);
  } catch (e) {
    await sidecar.close();
    throw e;
  }
  return {
    sidecar,
    nginx,
    async stop() {
      await nginx.stop();
      await sidecar.close();
    },
  };
}
