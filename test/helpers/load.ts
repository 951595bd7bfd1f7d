// A bounded load on loopback for resilience tests: C concurrent loops, each request on a new connection, until
// the time or request budget runs out or stop() is called. Counts statuses and transport errors.
import http from 'node:http';

export interface LoadResult {
  requests: number;
  byStatus: Record<number, number>;
  /** Transport failures: resets, refused connections, timeouts. */
  errors: string[];
  /** Responses carrying this header (e.g. X-Mirrorlane-Fallback), by value. */
  marked: Record<string, number>;
}

export interface Load {
  stop(): Promise<LoadResult>;
  /** Requests completed so far. */
  count(): number;
}

export function startLoad(opts: {
  urls: string[];
  headers?: () => Record<string, string>;
  concurrency: number;
  maxRequests: number;
  maxMs: number;
  markHeader?: string;
}): Load {
  const res: LoadResult = { requests: 0, byStatus: {}, errors: [], marked: {} };
  const deadline = Date.now() + opts.maxMs;
  let stopped = false;
  const one = (url: string) =>
    new Promise<void>((resolve) => {
      const req = http.get(url, { agent: false, headers: opts.headers?.() }, (r) => {
        r.resume();
        r.on('end', () => {
          res.requests++;
          res.byStatus[r.statusCode ?? 0] = (res.byStatus[r.statusCode ?? 0] ?? 0) + 1;
          const mark = opts.markHeader ? r.headers[opts.markHeader.toLowerCase()] : undefined;
          if (typeof mark === 'string') res.marked[mark] = (res.marked[mark] ?? 0) + 1;
          resolve();
        });
        r.on('error', (e) => {
          res.errors.push(e.message);
          resolve();
        });
      });
      req.setTimeout(5000, () => req.destroy(new Error('client timeout after 5 s')));
      req.on('error', (e) => {
        res.requests++;
        res.errors.push(e.message);
        resolve();
      });
    });
  const loops = Array.from({ length: opts.concurrency }, async (_, i) => {
    let n = i;
    while (!stopped && Date.now() < deadline && res.requests < opts.maxRequests) {
      await one(opts.urls[n++ % opts.urls.length]);
    }
  });
  const all = Promise.all(loops);
  return {
    count: () => res.requests,
    async stop() {
      stopped = true;
      await all;
      return res;
    },
  };
}
