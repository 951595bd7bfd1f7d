// A plain HTTP client for tests: no redirect following, any method, chosen local address.
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header lines as sent: [name, value, name, value, ...] (headers joins repeated names). */
  rawHeaders: string[];
  body: string;
  /** The body's bytes (for answers that are no text, e.g. a .torrent). */
  bytes: Buffer;
}

export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; localAddress?: string; family?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: bytes.toString('utf8'), bytes });
      });
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end();
  });
}
