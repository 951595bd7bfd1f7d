// `mirrorlane serve --all`: every sidecar instance of sidecar.processes in one process, each a worker thread on
// its own socket, all deciding with ONE copy of the GeoIP data. The main thread reads each .mmdb file once into a
// SharedArrayBuffer; every thread's maxmind Reader works on a Buffer view of those bytes (134 MB for DB-IP city,
// held once per host instead of once per process). A thread is as fast as a process (one core each); what is lost
// is isolation: a crash of the process takes every instance down (nginx then answers from its fallback).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sidecarInstance, sidecarSockets, type Config } from '../core/config.ts';
import { geoipFiles } from './server.ts';
import type { FromThread, ThreadData, ToThread } from './thread-entry.ts';

export interface RunningSidecarThreads {
  sockets: string[];
  reload(config: Config): void;
  close(): Promise<void>;
}

/** The worker's code: the bundled one beside the CLI bundle (build/), else the TypeScript under tsx. */
function entryFile(): string {
  const here = fileURLToPath(import.meta.url);
  const bundled = path.join(path.dirname(here), 'mirrorlane-sidecar-thread.mjs');
  return here.endsWith('.mjs') && fs.existsSync(bundled) ? bundled : path.join(path.dirname(here), 'thread-entry.ts');
}

/** Each GeoIP file once, into memory every thread can read. */
function sharedBytes(config: Config): Record<string, SharedArrayBuffer> {
  const files = geoipFiles(config);
  const out: Record<string, SharedArrayBuffer> = {};
  for (const file of [...files.city, ...(files.asn ? [files.asn] : [])]) {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      continue; // the thread reports the missing file with its usual message
    }
    const sab = new SharedArrayBuffer(size);
    const fd = fs.openSync(file, 'r');
    try {
      const view = Buffer.from(sab);
      for (let at = 0; at < size; ) at += fs.readSync(fd, view, at, size - at, at) || size;
    } finally {
      fs.closeSync(fd);
    }
    out[file] = sab;
  }
  return out;
}

export async function runSidecarThreads(config: Config, opts: { replace?: boolean; log: (m: string) => void }): Promise<RunningSidecarThreads> {
  const sockets = sidecarSockets(config);
  const bytes = sharedBytes(config);
  const entry = entryFile();
  const workers: Worker[] = [];
  let closing = false;
  const start = (n: number) =>
    new Promise<Worker>((resolve, reject) => {
      const data: ThreadData = { config: sidecarInstance(config, n), replace: opts.replace === true, bytes };
      const w = new Worker(entry, { workerData: data });
      w.on('message', (m: FromThread) => {
        if (m.t === 'log') opts.log(sockets.length > 1 ? `#${n} ${m.message}` : m.message);
        else if (m.t === 'failed') reject(new Error(m.message));
        else if (m.t === 'ready') {
          // From now on a thread that dies takes the process with it, for its supervisor to start it again:
          // half a process serving half its sockets would look alive.
          w.once('exit', (code) => {
            if (closing) return;
            opts.log(`sidecar thread ${n} (${sockets[n - 1]}) stopped unexpectedly (exit ${code}): stopping the process`);
            process.exit(1);
          });
          resolve(w);
        }
      });
      w.once('error', (e) => (closing ? undefined : opts.log(`sidecar thread ${n}: ${e.stack ?? e.message}`)));
      w.once('exit', (code) => reject(new Error(`sidecar thread ${n} exited (${code}) before it served ${sockets[n - 1]}`)));
    });
  try {
    for (let n = 1; n <= sockets.length; n++) workers.push(await start(n));
  } catch (e) {
    closing = true;
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  return {
    sockets,
    reload(next: Config) {
      workers.forEach((w, i) => w.postMessage({ t: 'reload', config: sidecarInstance(next, i + 1) } satisfies ToThread));
    },
    async close() {
      closing = true;
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              w.once('exit', () => resolve());
              w.postMessage({ t: 'close' } satisfies ToThread);
            }),
        ),
      );
    },
  };
}
