// Notices when the sidecar's event loop could not run for a while (nginx gives a sidecar nginx.sidecarTimeoutMs,
// 500 ms, before it falls back) and says where the time went: CPU this process used meanwhile (busy: our code,
// GC, the HTTP machinery) against wall time (the rest: the process was not scheduled, the machine was busy),
// and the garbage collector's share.
import { PerformanceObserver } from 'node:perf_hooks';

const TICK_MS = 50;

export interface StallFigures {
  /** Stalls longer than the threshold since start. */
  count: number;
  maxMs: number;
}

export interface StallWatch {
  figures: StallFigures;
  stop(): void;
}

export function watchStalls(thresholdMs: number, log: (m: string) => void): StallWatch {
  const figures: StallFigures = { count: 0, maxMs: 0 };
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let lastGc = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const late = now - last - TICK_MS;
    if (late > thresholdMs) {
      figures.count++;
      figures.maxMs = Math.max(figures.maxMs, late);
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
      const wall = now - last;
      log(
        `event loop stalled ${Math.round(late)} ms: this process used ${Math.round(cpuMs)} ms of CPU in those ${Math.round(wall)} ms ` +
          `(garbage collection ${Math.round(gcMs - lastGc)} ms); ${cpuMs < wall / 2 ? 'mostly not scheduled: the machine is busier than its cores' : 'busy in this process'}`,
      );
    }
    last = now;
    lastCpu = cpu;
    lastGc = gcMs;
  }, TICK_MS);
  timer.unref();
  return {
    figures,
    stop() {
      clearInterval(timer);
      gc.disconnect();
    },
  };
}
