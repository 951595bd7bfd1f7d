// The values an MMDB file stores and their encoding in its data section (MaxMind DB v2, section "Data Section
// Format"), for core/geoip-build/mmdb-writer.ts.

/** Explicitly typed value, for when the JS type does not say which MMDB type to write. */
export class MmdbTyped {
  constructor(
    readonly type: 'double' | 'float' | 'uint16' | 'uint32' | 'uint64' | 'uint128' | 'int32' | 'bytes',
    readonly value: number | bigint | Uint8Array,
  ) {}
}

/**
 * A value the writer can store. Plain JS values map like this: string → utf8_string; boolean → boolean;
 * integer 0..2^32-1 → uint32; negative integer ≥ -2^31 → int32; any other number → double; bigint → uint64
 * (uint128 above 2^64-1); Uint8Array → bytes; array → array; object → map. Wrap with `mmdbType.*` to choose
 * (coordinates should be `mmdbType.double(...)`: an integer-valued 13.0 would otherwise become uint32).
 */
export type MmdbValue = string | number | boolean | bigint | Uint8Array | MmdbTyped | MmdbValue[] | MmdbMap;
export interface MmdbMap {
  [key: string]: MmdbValue;
}

export const mmdbType = {
  double: (v: number) => new MmdbTyped('double', v),
  float: (v: number) => new MmdbTyped('float', v),
  uint16: (v: number) => new MmdbTyped('uint16', v),
  uint32: (v: number) => new MmdbTyped('uint32', v),
  uint64: (v: number | bigint) => new MmdbTyped('uint64', BigInt(v)),
  uint128: (v: number | bigint) => new MmdbTyped('uint128', BigInt(v)),
  int32: (v: number) => new MmdbTyped('int32', v),
  bytes: (v: Uint8Array) => new MmdbTyped('bytes', v),
};


// Type 1 (pointer) is written by Encoder.pointer() with its own control-byte layout.
const T_STRING = 2;
const T_DOUBLE = 3;
const T_BYTES = 4;
const T_UINT16 = 5;
const T_UINT32 = 6;
const T_MAP = 7;
const T_INT32 = 8;
const T_UINT64 = 9;
const T_UINT128 = 10;
const T_ARRAY = 11;
const T_BOOLEAN = 14;
const T_FLOAT = 15;

/** A growable byte buffer with the MMDB encoders. `pointers` (string → offset) turns repeats into pointers. */
export class Encoder {
  buf: Buffer;
  len = 0;
  constructor(
    initial: number,
    private readonly pointers: Map<string, number> | null,
  ) {
    this.buf = Buffer.alloc(initial);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  private ctrl(type: number, size: number): void {
    this.room(5);
    const first = type <= 7 ? type << 5 : 0;
    // Sizes from 29 on spill into 1 to 3 following bytes, each tier offset by the previous tiers' capacity.
    let sizeBits = size;
    let extra = 0;
    let extraValue = 0;
    if (size >= 65821 + 16777216) throw new RangeError(`MMDB value too large (${size})`);
    if (size >= 65821) {
      sizeBits = 31;
      extra = 3;
      extraValue = size - 65821;
    } else if (size >= 285) {
      sizeBits = 30;
      extra = 2;
      extraValue = size - 285;
    } else if (size >= 29) {
      sizeBits = 29;
      extra = 1;
      extraValue = size - 29;
    }
    this.buf[this.len++] = first | sizeBits;
    if (type > 7) this.buf[this.len++] = type - 7;
    for (let k = extra - 1; k >= 0; k--) this.buf[this.len++] = (extraValue >>> (8 * k)) & 0xff;
  }

  private pointer(p: number): void {
    this.room(5);
    const b = this.buf;
    if (p < 2048) {
      b[this.len++] = 0x20 | (p >> 8);
      b[this.len++] = p & 0xff;
    } else if (p < 2048 + 524288) {
      const q = p - 2048;
      b[this.len++] = 0x28 | (q >> 16);
      b[this.len++] = (q >> 8) & 0xff;
      b[this.len++] = q & 0xff;
    } else if (p < 526336 + 134217728) {
      const q = p - 526336;
      b[this.len++] = 0x30 | (q >>> 24);
      b[this.len++] = (q >>> 16) & 0xff;
      b[this.len++] = (q >>> 8) & 0xff;
      b[this.len++] = q & 0xff;
    } else {
      b[this.len++] = 0x38;
      b.writeUInt32BE(p, this.len);
      this.len += 4;
    }
  }

  string(s: string): void {
    if (this.pointers) {
      const at = this.pointers.get(s);
      if (at !== undefined) return this.pointer(at);
      // Worth remembering only if a pointer (2 to 5 bytes) would be shorter than the string itself.
      if (s.length >= 3) this.pointers.set(s, this.len);
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.ctrl(T_STRING, n);
    this.room(n);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  private unsigned(type: number, v: bigint | number, maxBytes: number, what: string): void {
    let x = BigInt(v);
    if (x < 0n || x >= 1n << BigInt(8 * maxBytes)) throw new RangeError(`${what} out of range: ${v}`);
    let n = 0;
    for (let t = x; t > 0n; t >>= 8n) n++;
    this.ctrl(type, n);
    this.room(n);
    for (let k = n - 1; k >= 0; k--) {
      this.buf[this.len + k] = Number(x & 0xffn);
      x >>= 8n;
    }
    this.len += n;
  }

  private smallUnsigned(type: number, v: number, maxBytes: number, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** (8 * maxBytes)) throw new RangeError(`${what} out of range: ${v}`);
    const n = v === 0 ? 0 : v < 0x100 ? 1 : v < 0x10000 ? 2 : v < 0x1000000 ? 3 : 4;
    this.ctrl(type, n);
    this.room(n);
    for (let k = n - 1; k >= 0; k--) this.buf[this.len++] = (v >>> (8 * k)) & 0xff;
  }

  private int32(v: number): void {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`int32 out of range: ${v}`);
    if (v >= 0) return this.smallUnsigned(T_INT32, v, 4, 'int32');
    this.ctrl(T_INT32, 4); // negative: full two's complement width
    this.room(4);
    this.buf.writeInt32BE(v, this.len);
    this.len += 4;
  }

  private double(v: number): void {
    this.ctrl(T_DOUBLE, 8);
    this.room(8);
    this.buf.writeDoubleBE(v, this.len);
    this.len += 8;
  }

  private bytes(v: Uint8Array): void {
    this.ctrl(T_BYTES, v.length);
    this.room(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
  }

  value(v: MmdbValue): void {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'boolean':
        return this.ctrl(T_BOOLEAN, v ? 1 : 0);
      case 'number':
        if (Number.isInteger(v) && v >= 0 && v < 2 ** 32) return this.smallUnsigned(T_UINT32, v, 4, 'uint32');
        if (Number.isInteger(v) && v < 0 && v >= -(2 ** 31)) return this.int32(v);
        return this.double(v);
      case 'bigint':
        return v < 1n << 64n ? this.unsigned(T_UINT64, v, 8, 'uint64') : this.unsigned(T_UINT128, v, 16, 'uint128');
      case 'object':
        break;
      default:
        throw new TypeError(`cannot store a ${typeof v} in an MMDB`);
    }
    if (v instanceof MmdbTyped) {
      const x = v.value;
      switch (v.type) {
        case 'double':
          return this.double(Number(x));
        case 'float':
          this.ctrl(T_FLOAT, 4);
          this.room(4);
          this.buf.writeFloatBE(Number(x), this.len);
          this.len += 4;
          return;
        case 'uint16':
          return this.smallUnsigned(T_UINT16, Number(x), 2, 'uint16');
        case 'uint32':
          return this.smallUnsigned(T_UINT32, Number(x), 4, 'uint32');
        case 'int32':
          return this.int32(Number(x));
        case 'uint64':
          return this.unsigned(T_UINT64, x as bigint, 8, 'uint64');
        case 'uint128':
          return this.unsigned(T_UINT128, x as bigint, 16, 'uint128');
        case 'bytes':
          return this.bytes(x as Uint8Array);
      }
    }
    if (v instanceof Uint8Array) return this.bytes(v);
    if (Array.isArray(v)) {
      this.ctrl(T_ARRAY, v.length);
      for (const item of v) this.value(item);
      return;
    }
    if (v === null) throw new TypeError('cannot store null in an MMDB (leave the key out)');
    const keys = Object.keys(v);
    this.ctrl(T_MAP, keys.length);
    for (const k of keys) {
      this.string(k);
      this.value((v as MmdbMap)[k]);
    }
  }
}
