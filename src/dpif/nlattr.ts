/*
 * Netlink attribute writer/reader over one growing Buffer. The OVS message
 * codec runs once per upcall and per flow operation; building messages from
 * arrays of small Buffers (the `netlink` package's formatAttribute) cost
 * ~7 us per upcall, this ~1 us. Host byte order for nla_len/nla_type, as
 * netlink requires; NLA_F_NESTED on nested attributes.
 */
export const NLA_F_NESTED = 0x8000;
export const NLA_TYPE_MASK = 0x3fff;
const align4 = (n: number): number => (n + 3) & ~3;

export class NlWriter {
  buf: Buffer;
  off = 0;

  constructor(size = 512) { this.buf = Buffer.allocUnsafe(size); }   // every byte is written or zeroed before use

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n + 256));
    this.buf.copy(b, 0, 0, this.off);
    this.buf = b;
  }

  /** Reserves `n` raw bytes (headers) and returns their offset. */
  raw(n: number): number {
    this.ensure(n);
    const at = this.off;
    this.buf.fill(0, at, at + n);
    this.off += n;
    return at;
  }

  /** Starts an attribute with `len` payload bytes; returns the payload offset. */
  attr(type: number, len: number): number {
    this.ensure(4 + align4(len));
    const at = this.off;
    this.buf.writeUInt16LE(4 + len, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.fill(0, at + 4, at + 4 + align4(len));
    this.off += 4 + align4(len);
    return at + 4;
  }

  // attr() first: it may grow (replace) this.buf, and `this.buf.write(.., this.attr())`
  // would evaluate the old buffer before the call.
  bytes(type: number, data: Buffer): void { const at = this.attr(type, data.length); data.copy(this.buf, at); }
  u32(type: number, v: number): void { const at = this.attr(type, 4); this.buf.writeUInt32LE(v >>> 0, at); }
  u64(type: number, v: bigint): void { const at = this.attr(type, 8); this.buf.writeBigUInt64LE(v, at); }
  be16(type: number, v: number): void { const at = this.attr(type, 2); this.buf.writeUInt16BE(v & 0xffff, at); }
  flag(type: number): void { this.attr(type, 0); }

  /** Opens a nested attribute; close it with end(). */
  begin(type: number): number {
    const at = this.raw(4);
    this.buf.writeUInt16LE(type | NLA_F_NESTED, at + 2);
    return at;
  }
  end(at: number): void { this.buf.writeUInt16LE(this.off - at, at); }

  /** A copy of what was written. */
  done(): Buffer { return Buffer.from(this.buf.subarray(0, this.off)); }
}

/** Attribute type (without flags) -> payload, for one level. Throws on a malformed stream. */
export function nlAttrs(buf: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) throw new RangeError(`netlink attribute length ${len} at offset ${off} exceeds ${buf.length - off} bytes`);
    m.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return m;
}

/** Like nlAttrs but keeps order and repeats (action lists). */
export function nlAttrList(buf: Buffer): { type: number; data: Buffer }[] {
  const out: { type: number; data: Buffer }[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) throw new RangeError(`netlink attribute length ${len} at offset ${off} exceeds ${buf.length - off} bytes`);
    out.push({ type: buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, data: buf.subarray(off + 4, off + len) });
    off += align4(len);
  }
  return out;
}
