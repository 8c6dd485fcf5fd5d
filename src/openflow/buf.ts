/*
 * Big-endian writer and bounds-checked reader for OpenFlow structures.
 *
 * The writer grows one Buffer (as src/dpif/nlattr.ts does for netlink) and
 * lets a caller reserve a length field and patch it once the variable part
 * is written. The reader never reads past its window: running out raises the
 * OfpError its creator chose (BAD_REQUEST/BAD_LEN for messages,
 * BAD_MATCH/BAD_LEN inside a match, BAD_ACTION/BAD_LEN inside actions...),
 * so a truncated or lying length field can never surface as a RangeError.
 */
import { OfpError, OFPET, OFPBRC } from './errors';

export const pad8 = (n: number): number => (n + 7) & ~7;

export class OfWriter {
  buf: Buffer;
  off = 0;

  constructor(size = 256) { this.buf = Buffer.allocUnsafe(size); }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n + 256));
    this.buf.copy(b, 0, 0, this.off);
    this.buf = b;
  }

  u8(v: number): this { this.ensure(1); this.buf[this.off++] = v & 0xff; return this; }
  u16(v: number): this { this.ensure(2); this.buf.writeUInt16BE(v & 0xffff, this.off); this.off += 2; return this; }
  u32(v: number): this { this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.off); this.off += 4; return this; }
  u64(v: bigint): this { this.ensure(8); this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.off); this.off += 8; return this; }

  /** `n` bytes of a big-endian unsigned value (n <= 16: OXM values). */
  uint(v: bigint, n: number): this {
    this.ensure(n);
    for (let i = n - 1; i >= 0; i--) { this.buf[this.off + i] = Number(v & 0xffn); v >>= 8n; }
    this.off += n;
    return this;
  }

  bytes(b: Buffer): this { this.ensure(b.length); b.copy(this.buf, this.off); this.off += b.length; return this; }
  zeros(n: number): this { this.ensure(n); this.buf.fill(0, this.off, this.off + n); this.off += n; return this; }

  /**
   * A fixed-size, NUL-padded string field (port and table names, desc
   * strings); at most n-1 bytes, so it is always NUL-terminated. Latin-1:
   * one char per byte, so any name read by OfReader.str() writes back the
   * same bytes.
   */
  str(s: string, n: number): this {
    const b = Buffer.from(s, 'latin1');
    const len = Math.min(b.length, n - 1);
    this.ensure(n);
    b.copy(this.buf, this.off, 0, len);
    this.buf.fill(0, this.off + len, this.off + n);
    this.off += n;
    return this;
  }

  /** Zero bytes up to the next multiple of 8 counted from `start`. */
  pad8(start = 0): this { return this.zeros(pad8(this.off - start) - (this.off - start)); }

  /** Reserves a u16 to patch with patch16(). Returns its offset. */
  hole16(): number { const at = this.off; this.u16(0); return at; }
  patch16(at: number, v: number): void { this.buf.writeUInt16BE(v & 0xffff, at); }
  /** Writes the bytes from `start` to here as the u16 at `at`. */
  lengthFrom(at: number, start: number): number { const n = this.off - start; this.patch16(at, n); return n; }

  /** A copy of what was written. */
  done(): Buffer { return Buffer.from(this.buf.subarray(0, this.off)); }
}

/** The error a reader raises when asked for bytes it does not have. */
export type ErrFactory = (msg: string) => OfpError;

export const lenError = (type: OFPET, code: number): ErrFactory => (msg) => new OfpError(type, code, msg);
export const BAD_REQUEST_LEN: ErrFactory = lenError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);

export class OfReader {
  off: number;

  constructor(readonly buf: Buffer, off = 0, readonly end = buf.length, readonly err: ErrFactory = BAD_REQUEST_LEN) {
    this.off = off;
    if (end > buf.length || off > end) throw err(`window ${off}..${end} exceeds ${buf.length} bytes`);
  }

  get remaining(): number { return this.end - this.off; }
  get atEnd(): boolean { return this.off >= this.end; }

  need(n: number, what = 'field'): void {
    if (n < 0 || this.off + n > this.end) throw this.err(`${what}: need ${n} bytes at offset ${this.off}, have ${this.end - this.off}`);
  }

  u8(): number { this.need(1); return this.buf[this.off++]; }
  u16(): number { this.need(2); const v = this.buf.readUInt16BE(this.off); this.off += 2; return v; }
  u32(): number { this.need(4); const v = this.buf.readUInt32BE(this.off); this.off += 4; return v; }
  u64(): bigint { this.need(8); const v = this.buf.readBigUInt64BE(this.off); this.off += 8; return v; }

  uint(n: number): bigint {
    this.need(n);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.buf[this.off + i]);
    this.off += n;
    return v;
  }

  peekU16(at = 0): number { this.need(at + 2); return this.buf.readUInt16BE(this.off + at); }

  /** A copy of the next `n` bytes. */
  bytes(n: number): Buffer { this.need(n); const b = Buffer.from(this.buf.subarray(this.off, this.off + n)); this.off += n; return b; }
  /** The rest of the window (a copy). */
  rest(): Buffer { return this.bytes(this.remaining); }
  skip(n: number): void { this.need(n); this.off += n; }

  /** A fixed-size NUL-padded string: up to the first NUL, at most n-1 bytes (as OVS reads them), Latin-1. */
  str(n: number): string {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n - 1);
    this.off += n;
    const nul = b.indexOf(0);
    return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
  }

  /** A reader over the next `n` bytes (consumed here), raising `err` (default: ours). */
  sub(n: number, err: ErrFactory = this.err): OfReader {
    if (n < 0 || this.off + n > this.end) throw err(`need ${n} bytes at offset ${this.off}, have ${this.end - this.off}`);
    const r = new OfReader(this.buf, this.off, this.off + n, err);
    this.off += n;
    return r;
  }
}
