// A small MaxMind DB (MMDB v2) writer. No npm package writes MMDB, and the tests' GeoIP fixtures and the ASN database
// built from @ip-location-db/asn both need one. Format: https://maxmind.github.io/MaxMind-DB/
//
// Layout of the output: binary search tree (IPv6, or IPv4 on request), 16 zero bytes, data section, metadata marker,
// metadata map. The tree is built in a growable Int32Array (two records per node) rather than in JS objects so a
// database of millions of nodes costs tens of MB, not GB. Data records are serialised once when inserted and shared
// by every network that carries an identical record; map keys and repeated strings become MMDB pointers.
import { isV4Mapped, parseIpInto, parsePrefixLength, prefixByteMask } from '../ip.ts';
import { Encoder, mmdbType, type MmdbMap } from './mmdb-data.ts';

export interface MmdbWriterOptions {
  databaseType: string;
  /** Language code → text; a plain string means { en: text }. */
  description?: Record<string, string> | string;
  languages?: string[];
  /** Tree kind. 6 (default) holds both families, IPv4 under ::/96. 4 is an IPv4-only tree (as DB-IP's v4 file). */
  ipVersion?: 4 | 6;
  /** Bits per record; default: the smallest of 24/28/32 that can address the nodes and data. */
  recordSize?: 24 | 28 | 32;
  /** Unix seconds; default now. */
  buildEpoch?: number;
  /** IPv6 trees only: make ::ffff:0:0/96 lead to the IPv4 data too, as MaxMind's databases do. Default true. */
  ipv4MappedAlias?: boolean;
}

export interface MmdbWriterStats {
  /** Nodes allocated so far (including ones orphaned by overwrites; the file holds only reachable ones). */
  nodesAllocated: number;
  /** Distinct data records stored. */
  records: number;
  dataBytes: number;
}


const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'latin1')]);

/**
 * Builds an MMDB file in memory. Later inserts win where networks overlap (a shorter prefix inserted later
 * replaces everything below it; a longer one splits the earlier network). Inserted records are treated as
 * immutable: the writer may recognise a record object it has seen before by identity.
 */
export class MmdbWriter {
  private readonly opts: Required<Omit<MmdbWriterOptions, 'recordSize'>> & { recordSize?: 24 | 28 | 32 };
  private readonly bits: number;
  // Tree records, two per node. 0 = empty, > 0 = child node index, < 0 = data at offset (-v - 1).
  // Node 0 is the root; a child is never the root, so 0 is free to mean "empty".
  private recs: Int32Array;
  private nodes = 1;
  private readonly data = new Encoder(1 << 16, new Map());
  private readonly scratch = new Encoder(256, null);
  private readonly byKey = new Map<string, number>();
  private readonly byObject = new WeakMap<object, number>();
  private sealed = false;
  private readonly lo = new Uint8Array(16);
  private readonly hi = new Uint8Array(16);
  private readonly tmp = new Uint8Array(16);

  constructor(options: MmdbWriterOptions) {
    const description =
      typeof options.description === 'string' ? { en: options.description } : (options.description ?? {});
    this.opts = {
      databaseType: options.databaseType,
      description,
      languages: options.languages ?? [],
      ipVersion: options.ipVersion ?? 6,
      recordSize: options.recordSize,
      buildEpoch: options.buildEpoch ?? Math.floor(Date.now() / 1000),
      ipv4MappedAlias: options.ipv4MappedAlias ?? true,
    };
    if (this.opts.ipVersion !== 4 && this.opts.ipVersion !== 6) throw new Error('ipVersion must be 4 or 6');
    this.bits = this.opts.ipVersion === 6 ? 128 : 32;
    this.recs = new Int32Array(2 * 1024);
  }

  get stats(): MmdbWriterStats {
    return { nodesAllocated: this.nodes, records: this.byKey.size, dataBytes: this.data.len };
  }

  /** Insert a network ("192.0.2.0/24", "2001:db8::/32", or a bare address for a host). Host bits are ignored. */
  insert(cidr: string, record: MmdbMap): void {
    const slash = cidr.indexOf('/');
    const addrEnd = slash < 0 ? cidr.length : slash;
    const family = parseIpInto(cidr, this.tmp, 0, addrEnd);
    if (family === 0) throw new Error(`not an IP network: "${cidr}"`);
    const max = family === 4 ? 32 : 128;
    const prefix = slash < 0 ? max : parsePrefixLength(cidr, slash + 1, cidr.length, max);
    if (prefix < 0) throw new Error(`bad prefix length in "${cidr}"`);
    const pfx = this.place(family, this.tmp, prefix, this.lo, cidr);
    // lo = network address, hi = last address of the network.
    for (let i = 0; i < 16; i++) {
      const mask = prefixByteMask(pfx, i);
      this.hi[i] = (this.lo[i] & mask) | (~mask & 0xff);
      this.lo[i] &= mask;
    }
    this.insertSpan(this.dataFor(record));
  }

  /** Insert every address from start to end inclusive (same family), as the minimal set of networks. */
  insertRange(startIp: string, endIp: string, record: MmdbMap): void {
    const f1 = parseIpInto(startIp, this.tmp);
    if (f1 === 0) throw new Error(`not an IP address: "${startIp}"`);
    const v4a = f1 === 4 || isV4Mapped(this.tmp);
    this.place(f1, this.tmp, f1 === 4 ? 32 : 128, this.lo, startIp);
    const f2 = parseIpInto(endIp, this.tmp);
    if (f2 === 0) throw new Error(`not an IP address: "${endIp}"`);
    const v4b = f2 === 4 || isV4Mapped(this.tmp);
    this.place(f2, this.tmp, f2 === 4 ? 32 : 128, this.hi, endIp);
    // ::ffff:a.b.c.d counts as IPv4 here (it is stored as IPv4); anything else must not mix families.
    if (v4a !== v4b) throw new Error(`range ${startIp} - ${endIp} mixes address families`);
    for (let i = 0; i < 16; i++) {
      if (this.lo[i] !== this.hi[i]) {
        if (this.lo[i] > this.hi[i]) throw new Error(`range start ${startIp} is after its end ${endIp}`);
        break;
      }
    }
    this.insertSpan(this.dataFor(record));
  }

  /**
   * Copy a parsed address into `out` (16 bytes, left-aligned) in this tree's address space and return the prefix
   * length there: IPv4 goes under ::/96 in an IPv6 tree; ::ffff:a.b.c.d is stored as a.b.c.d (the alias then
   * serves both).
   */
  private place(family: 4 | 6, addr: Uint8Array, prefix: number, out: Uint8Array, text: string): number {
    out.fill(0);
    if (this.bits === 32) {
      if (family === 4) {
        for (let i = 0; i < 4; i++) out[i] = addr[i];
        return prefix;
      }
      if (!isV4Mapped(addr) || prefix < 96) {
        throw new Error(`IPv6 network "${text}" in an IPv4-only database (ipVersion 4)`);
      }
      for (let i = 0; i < 4; i++) out[i] = addr[12 + i];
      return prefix - 96;
    }
    if (family === 4) {
      for (let i = 0; i < 4; i++) out[12 + i] = addr[i];
      return prefix + 96;
    }
    for (let i = 0; i < 16; i++) out[i] = addr[i];
    if (isV4Mapped(addr) && prefix >= 96) out[10] = out[11] = 0; // ::ffff:a.b.c.d/n → ::a.b.c.d/n
    return prefix;
  }

  /** Serialise a record once; identical records share one copy in the data section. Returns the tree value. */
  private dataFor(record: MmdbMap): number {
    if (this.sealed) throw new Error('MmdbWriter: insert after toBuffer()');
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new TypeError('an MMDB data record must be a map (plain object)');
    }
    const known = this.byObject.get(record);
    if (known !== undefined) return known;
    // Canonical form without pointers: equal bytes ⇔ equal records.
    this.scratch.len = 0;
    this.scratch.value(record);
    const key = this.scratch.buf.toString('latin1', 0, this.scratch.len);
    let v = this.byKey.get(key);
    if (v === undefined) {
      v = -(this.data.len + 1);
      this.data.value(record);
      this.byKey.set(key, v);
    }
    this.byObject.set(record, v);
    return v;
  }

  private alloc(fill: number): number {
    if (2 * this.nodes + 2 > this.recs.length) {
      const next = new Int32Array(this.recs.length * 2);
      next.set(this.recs);
      this.recs = next;
    }
    const n = this.nodes++;
    this.recs[2 * n] = fill;
    this.recs[2 * n + 1] = fill;
    return n;
  }

  /**
   * Set every address in [lo, hi] (this.lo/this.hi, first this.bits bits) to `value`. Walks the two boundary
   * paths: a subtree strictly between them is covered whole and gets the value in one record.
   */
  private insertSpan(value: number): void {
    const lo = this.lo;
    const hi = this.hi;
    const bits = this.bits;
    const loZero = this.loZero;
    const hiOne = this.hiOne;
    loZero[bits] = 1;
    hiOne[bits] = 1;
    for (let d = bits - 1; d >= 0; d--) {
      loZero[d] = loZero[d + 1] & (((lo[d >> 3] >> (7 - (d & 7))) & 1) ^ 1);
      hiOne[d] = hiOne[d + 1] & ((hi[d >> 3] >> (7 - (d & 7))) & 1);
    }
    if (loZero[0] && hiOne[0]) {
      // The whole address space: the root must stay a node.
      this.recs[0] = value;
      this.recs[1] = value;
      return;
    }
    this.visit(value, 0, 0, true, true);
  }

  // loZero[d]: lo's bits d.. are all 0; hiOne[d]: hi's bits d.. are all 1 (scratch for insertSpan).
  private readonly loZero = new Uint8Array(129);
  private readonly hiOne = new Uint8Array(129);

  /** insertSpan below `node` at `depth`; tight: the path so far equals lo's (hi's) prefix. Recursion ≤ 128 deep. */
  private visit(value: number, node: number, depth: number, loTight: boolean, hiTight: boolean): void {
    const lb = (this.lo[depth >> 3] >> (7 - (depth & 7))) & 1;
    const hb = (this.hi[depth >> 3] >> (7 - (depth & 7))) & 1;
    for (let b = 0; b <= 1; b++) {
      if ((loTight && b < lb) || (hiTight && b > hb)) continue;
      const lt = loTight && b === lb;
      const ht = hiTight && b === hb;
      const idx = 2 * node + b;
      if ((!lt || this.loZero[depth + 1] === 1) && (!ht || this.hiOne[depth + 1] === 1)) {
        this.recs[idx] = value; // whole subtree covered (any nodes below become unreachable and are not written)
        continue;
      }
      let child = this.recs[idx];
      if (child <= 0) {
        // Empty or data: split into a node whose halves keep the old value.
        child = this.alloc(child);
        this.recs[idx] = child;
      }
      this.visit(value, child, depth + 1, lt, ht);
    }
  }

  /** Merge nodes whose halves hold the same data (or are both empty), bottom-up. */
  private compact(node: number): void {
    for (let side = 0; side <= 1; side++) {
      const c = this.recs[2 * node + side];
      if (c <= 0) continue;
      this.compact(c);
      const l = this.recs[2 * c];
      if (l <= 0 && l === this.recs[2 * c + 1]) this.recs[2 * node + side] = l;
    }
  }

  /** Point ::ffff:0:0/96 at whatever ::/96 holds (node, data or empty), sharing the IPv4 subtree. */
  private aliasMapped(): void {
    let v = 0;
    let node = 0;
    for (let d = 0; d < 96; d++) {
      v = this.recs[2 * node];
      if (v <= 0) break;
      node = v;
    }
    if (v === 0) return; // no IPv4 data: nothing to alias
    // Walk ::ffff:0:0/96 (80 zero bits, 16 one bits), splitting terminals, and set its record to v.
    node = 0;
    for (let d = 0; d < 96; d++) {
      const idx = 2 * node + (d < 80 ? 0 : 1);
      if (d === 95) {
        this.recs[idx] = v;
        return;
      }
      let child = this.recs[idx];
      if (child <= 0) {
        child = this.alloc(child);
        this.recs[idx] = child;
      }
      node = child;
    }
  }

  /** The complete database. The writer accepts no inserts afterwards. */
  toBuffer(): Buffer {
    this.sealed = true;
    this.compact(0);
    if (this.bits === 128 && this.opts.ipv4MappedAlias) this.aliasMapped();

    // Number reachable nodes in pre-order (root 0). The alias makes the tree a DAG: number shared nodes once.
    const number = new Int32Array(this.nodes).fill(-1);
    const order = new Int32Array(this.nodes);
    let count = 0;
    const stack: number[] = [0];
    while (stack.length) {
      const n = stack.pop()!;
      if (number[n] >= 0) continue;
      number[n] = count;
      order[count++] = n;
      const r = this.recs[2 * n + 1];
      const l = this.recs[2 * n];
      if (r > 0 && number[r] < 0) stack.push(r);
      if (l > 0 && number[l] < 0) stack.push(l);
    }

    const dataLen = this.data.len;
    const largest = count + 16 + dataLen; // exclusive upper bound of any record value
    let recordSize = this.opts.recordSize;
    if (!recordSize) recordSize = largest <= 2 ** 24 ? 24 : largest <= 2 ** 28 ? 28 : 32;
    if (largest > 2 ** recordSize) throw new Error(`record size ${recordSize} too small for ${largest} values`);
    if (largest > 2 ** 32) throw new Error('database too large for MMDB');

    const nodeBytes = (recordSize * 2) / 8;
    const treeSize = count * nodeBytes;
    const meta = this.metadata(count, recordSize);
    const out = Buffer.alloc(treeSize + 16 + dataLen + meta.length);
    const value = (v: number) => (v > 0 ? number[v] : v === 0 ? count : count + 16 + (-v - 1));
    for (let k = 0; k < count; k++) {
      const n = order[k];
      const l = value(this.recs[2 * n]);
      const r = value(this.recs[2 * n + 1]);
      const o = k * nodeBytes;
      if (recordSize === 24) {
        out.writeUIntBE(l, o, 3);
        out.writeUIntBE(r, o + 3, 3);
      } else if (recordSize === 28) {
        // Left's top nibble and right's top nibble share the middle byte.
        out.writeUIntBE(l & 0xffffff, o, 3);
        out[o + 3] = ((l >>> 24) << 4) | (r >>> 24);
        out.writeUIntBE(r & 0xffffff, o + 4, 3);
      } else {
        out.writeUInt32BE(l, o);
        out.writeUInt32BE(r, o + 4);
      }
    }
    // 16 zero bytes separate tree and data (already zero).
    this.data.buf.copy(out, treeSize + 16, 0, dataLen);
    meta.copy(out, treeSize + 16 + dataLen);
    return out;
  }

  private metadata(nodeCount: number, recordSize: number): Buffer {
    const e = new Encoder(512, null);
    // Exact types matter: libmaxminddb rejects e.g. a node_count that is not uint32.
    e.value({
      node_count: mmdbType.uint32(nodeCount),
      record_size: mmdbType.uint16(recordSize),
      ip_version: mmdbType.uint16(this.opts.ipVersion),
      database_type: this.opts.databaseType,
      languages: this.opts.languages,
      binary_format_major_version: mmdbType.uint16(2),
      binary_format_minor_version: mmdbType.uint16(0),
      build_epoch: mmdbType.uint64(BigInt(this.opts.buildEpoch)),
      description: this.opts.description,
    });
    return Buffer.concat([METADATA_MARKER, e.buf.subarray(0, e.len)]);
  }
}
