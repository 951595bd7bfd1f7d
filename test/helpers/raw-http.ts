// A raw HTTP/1.x client over node:net for hostile-input tests: the request goes out byte for byte as given
// (malformed request lines, bare CR, odd header names, invalid UTF-8), and the answer is parsed just enough to
// check it: status line, header lines as sent, body by Content-Length, chunked coding or end of connection.
import net from 'node:net';

export interface RawReply {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  statusLine: string;
  /** Header lines as received, in order; names as sent. */
  headers: [string, string][];
  body: Buffer;
  /** The whole answer as received (header block and body). */
  raw: Buffer;
}

export interface RawRequestOptions {
  host?: string;
  port: number;
  /** Source address of the connection (127.0.0.5: a peer nginx does not trust). */
  localAddress?: string;
  /** The request, exactly as it goes on the wire. A string is sent as latin1, so '\xff' is the byte 0xff. */
  data: Buffer | string;
  /** The request was a HEAD: the answer has no body whatever its headers say. */
  head?: boolean;
  timeoutMs?: number;
}

/** All values of a header (case-insensitive name). */
export function headerValues(r: RawReply, name: string): string[] {
  const n = name.toLowerCase();
  return r.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

/** The first value of a header, or undefined. */
export function header(r: RawReply, name: string): string | undefined {
  return headerValues(r, name)[0];
}

/** Bytes to a latin1 string for building requests: rawBytes('GET /\xff HTTP/1.1') keeps 0xff a single byte. */
export function latin1(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/**
 * A GET-style request: request line and header lines joined by CRLF, with Host (unless given) and
 * Connection: close added. Header lines are sent verbatim, so a test can send "Name:value" without a space,
 * a header with a bare LF inside, or no Host at all (pass host: null).
 */
export function buildRequest(
  requestLine: string,
  headerLines: string[] = [],
  opts: { host?: string | null; close?: boolean; body?: string } = {},
): Buffer {
  const lines = [requestLine];
  if (opts.host !== null) lines.push(`Host: ${opts.host ?? 'localhost'}`);
  lines.push(...headerLines);
  if (opts.close !== false) lines.push('Connection: close');
  return latin1(lines.join('\r\n') + '\r\n\r\n' + (opts.body ?? ''));
}

interface Parsed {
  headEnd: number;
  status: number;
  statusLine: string;
  headers: [string, string][];
}

/** The final answer's head; interim 1xx answers (100 Continue to an Expect) before it are skipped. */
function parseHead(buf: Buffer): Parsed | null {
  let start = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return null;
    const lines = buf.subarray(start, headEnd).toString('latin1').split('\r\n');
    const statusLine = lines[0];
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine);
    const status = m ? Number(m[1]) : 0;
    if (status >= 100 && status < 200 && status !== 101) {
      start = headEnd + 4;
      continue;
    }
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.push(colon < 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1).trim()]);
    }
    return { headEnd: headEnd + 4, status, statusLine, headers };
  }
}

/** Length of a complete chunked body starting at `from`, or -1 when more bytes are needed. */
function chunkedEnd(buf: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return -1;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return buf.length; // not chunked after all: take what there is
    at = eol + 2;
    if (size === 0) {
      const end = buf.indexOf('\r\n', at);
      return end < 0 ? -1 : end + 2;
    }
    if (buf.length < at + size + 2) return -1;
    at += size + 2;
  }
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** Where the answer in `buf` ends, or -1 while it is incomplete (and the connection stays open). */
function answerEnd(p: Parsed, buf: Buffer, head: boolean): number {
  const noBody = head || p.status === 204 || p.status === 304 || (p.status >= 100 && p.status < 200);
  if (noBody) return p.headEnd;
  const te = p.headers.find(([k]) => k.toLowerCase() === 'transfer-encoding');
  if (te && /chunked/i.test(te[1])) return chunkedEnd(buf, p.headEnd);
  const cl = p.headers.find(([k]) => k.toLowerCase() === 'content-length');
  if (cl) {
    const end = p.headEnd + Number(cl[1]);
    return buf.length >= end ? end : -1;
  }
  return -1; // until the connection closes
}

/**
 * Send `data` on a fresh connection and read one answer. Resolves on a complete answer, on end of connection
 * (status 0 when nothing came), or rejects on timeout. A write error after the server answered (nginx closes on a
 * 400 while a huge request is still going out) is not an error: the answer counts.
 */
export function rawRequest(opts: RawRequestOptions): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let done = false;
    const sock = net.connect({ host: opts.host ?? '127.0.0.1', port: opts.port, localAddress: opts.localAddress });
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const buf = Buffer.concat(chunks);
      const p = parseHead(buf);
      if (!p) {
        if (err && buf.length === 0 && !/ECONNRESET|EPIPE/.test(err.message)) return reject(err);
        return resolve({ status: 0, statusLine: buf.toString('latin1').split('\r\n')[0], headers: [], body: Buffer.alloc(0), raw: buf });
      }
      const end = answerEnd(p, buf, opts.head === true);
      const bodyBytes = buf.subarray(p.headEnd, end < 0 ? buf.length : end);
      const te = p.headers.find(([k]) => k.toLowerCase() === 'transfer-encoding');
      const body = te && /chunked/i.test(te[1]) && !opts.head ? dechunk(bodyBytes) : bodyBytes;
      resolve({ status: p.status, statusLine: p.statusLine, headers: p.headers, body, raw: buf });
    };
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      sock.destroy();
      reject(new Error(`raw request timed out after ${opts.timeoutMs ?? 10_000} ms: ${JSON.stringify(String(opts.data).slice(0, 120))}`));
    }, opts.timeoutMs ?? 10_000);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const buf = Buffer.concat(chunks);
      const p = parseHead(buf);
      if (p && answerEnd(p, buf, opts.head === true) >= 0) finish();
    });
    sock.on('end', () => finish());
    sock.on('close', () => finish());
    sock.on('error', (e) => finish(e));
    sock.on('connect', () => sock.write(typeof opts.data === 'string' ? latin1(opts.data) : opts.data));
  });
}
