/*
 * Fixed-size binary codecs for map keys and values. All integers are in host
 * byte order (little-endian on every platform we run on), which is what the
 * BPF side sees for plain __u32/__u64 fields.
 */

export interface Codec<T> {
  /** encoded size in bytes */
  size: number;
  encode(v: T, buf: Buffer, off: number): void;
  decode(buf: Buffer, off: number): T;
}

export const u32Codec: Codec<number> = {
  size: 4,
  encode(v, buf, off) { buf.writeUInt32LE(v >>> 0, off); },
  decode(buf, off) { return buf.readUInt32LE(off); },
};

export const u64Codec: Codec<bigint> = {
  size: 8,
  encode(v, buf, off) { buf.writeBigUInt64LE(BigInt.asUintN(64, v), off); },
  decode(buf, off) { return buf.readBigUInt64LE(off); },
};

/** Raw bytes of exactly `n` bytes. decode() returns a copy; encode() zero-pads shorter input. */
export function bufferCodec(n: number): Codec<Buffer> {
  return {
    size: n,
    encode(v, buf, off) {
      if (v.length > n) throw new RangeError(`bufferCodec(${n}): value of ${v.length} bytes`);
      buf.set(v, off);
      if (v.length < n) buf.fill(0, off + v.length, off + n);
    },
    decode(buf, off) {
      const out = Buffer.allocUnsafe(n);
      out.set(buf.subarray(off, off + n), 0);
      return out;
    },
  };
}

/** Encode `v` into a fresh Buffer of codec.size bytes. */
export function encodeToBuffer<T>(codec: Codec<T>, v: T): Buffer {
  const b = Buffer.alloc(codec.size);
  codec.encode(v, b, 0);
  return b;
}
