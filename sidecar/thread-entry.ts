// One sidecar instance as a worker thread of `mirrorlane serve --all` (sidecar/threads.ts): it opens the GeoIP
// databases on the bytes the main thread shares with every instance, serves its own socket, and reloads or stops
// when the main thread says so.
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../core/config.ts';
import { openGeoIp } from '../core/geoip.ts';
import { geoipFiles, runSidecar } from './server.ts';

export interface ThreadData {
  config: Config;
  replace: boolean;
  /** GeoIP file path → its bytes in a SharedArrayBuffer. */
  bytes: Record<string, SharedArrayBuffer>;
}

export type ToThread = { t: 'reload'; config: Config } | { t: 'close' };
export type FromThread = { t: 'ready' } | { t: 'failed'; message: string } | { t: 'log'; message: string } | { t: 'closed' };

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as ThreadData;
  const send = (m: FromThread) => port.postMessage(m);
  const bytes: Record<string, Uint8Array> = {};
  for (const [file, sab] of Object.entries(data.bytes)) bytes[file] = new Uint8Array(sab);
  try {
    const geo = await openGeoIp({ ...geoipFiles(data.config), bytes });
    const sidecar = await runSidecar(data.config, { geo, replace: data.replace, log: (message) => send({ t: 'log', message }) });
    port.on('message', (m: ToThread) => {
      if (m.t === 'reload') {
        sidecar.reload(m.config).catch((e) => send({ t: 'log', message: `reload failed, keeping the old configuration: ${(e as Error).message}` }));
      } else if (m.t === 'close') {
        void sidecar.close().then(() => {
          send({ t: 'closed' });
          port.close();
        });
      }
    });
    send({ t: 'ready' });
  } catch (e) {
    send({ t: 'failed', message: (e as Error).message });
    port.close();
  }
}

void main();
