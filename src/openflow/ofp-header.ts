/*
 * The OpenFlow header, message type numbers for OpenFlow 1.0 and 1.3, the
 * TCP stream framer and HELLO's version-bitmap negotiation.
 */
import { OfpError, OFPET, OFPBRC, OFPHFC } from './errors';
import { OfReader, OfWriter } from './buf';

export const OFP10_VERSION = 0x01;
export const OFP13_VERSION = 0x04;
/** The versions this codec speaks, highest first. */
export const SUPPORTED_VERSIONS: readonly number[] = [OFP13_VERSION, OFP10_VERSION];

export const OFP_HEADER_LEN = 8;
export const OFP_MAX_MSG_LEN = 0xffff;
export const OFP_TCP_PORT = 6653;

/** OpenFlow 1.3 ofp_type. */
export enum OFPT13 {
  HELLO = 0, ERROR = 1, ECHO_REQUEST = 2, ECHO_REPLY = 3, EXPERIMENTER = 4,
  FEATURES_REQUEST = 5, FEATURES_REPLY = 6, GET_CONFIG_REQUEST = 7, GET_CONFIG_REPLY = 8, SET_CONFIG = 9,
  PACKET_IN = 10, FLOW_REMOVED = 11, PORT_STATUS = 12,
  PACKET_OUT = 13, FLOW_MOD = 14, GROUP_MOD = 15, PORT_MOD = 16, TABLE_MOD = 17,
  MULTIPART_REQUEST = 18, MULTIPART_REPLY = 19,
  BARRIER_REQUEST = 20, BARRIER_REPLY = 21,
  QUEUE_GET_CONFIG_REQUEST = 22, QUEUE_GET_CONFIG_REPLY = 23,
  ROLE_REQUEST = 24, ROLE_REPLY = 25,
  GET_ASYNC_REQUEST = 26, GET_ASYNC_REPLY = 27, SET_ASYNC = 28,
  METER_MOD = 29,
}

/** OpenFlow 1.0 ofp_type. */
export enum OFPT10 {
  HELLO = 0, ERROR = 1, ECHO_REQUEST = 2, ECHO_REPLY = 3, VENDOR = 4,
  FEATURES_REQUEST = 5, FEATURES_REPLY = 6, GET_CONFIG_REQUEST = 7, GET_CONFIG_REPLY = 8, SET_CONFIG = 9,
  PACKET_IN = 10, FLOW_REMOVED = 11, PORT_STATUS = 12,
  PACKET_OUT = 13, FLOW_MOD = 14, PORT_MOD = 15,
  STATS_REQUEST = 16, STATS_REPLY = 17,
  BARRIER_REQUEST = 18, BARRIER_REPLY = 19,
  QUEUE_GET_CONFIG_REQUEST = 20, QUEUE_GET_CONFIG_REPLY = 21,
}

export interface OfpHeader { version: number; type: number; length: number; xid: number }

/** Reads the 8-byte header; BAD_REQUEST/BAD_LEN if there are fewer bytes or the length is below 8. */
export function decodeHeader(buf: Buffer): OfpHeader {
  if (buf.length < OFP_HEADER_LEN) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `OpenFlow header needs 8 bytes, got ${buf.length}`);
  const h = { version: buf[0], type: buf[1], length: buf.readUInt16BE(2), xid: buf.readUInt32BE(4) };
  if (h.length < OFP_HEADER_LEN) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `OpenFlow message length ${h.length} is below 8`);
  return h;
}

/** Writes a header with a zero length; finishMessage() fills it in. */
export function writeHeader(w: OfWriter, version: number, type: number, xid: number): number {
  const start = w.off;
  w.u8(version).u8(type).u16(0).u32(xid);
  return start;
}

/** Patches the length of the message started at `start`; rejects messages over 65535 bytes. */
export function finishMessage(w: OfWriter, start = 0): Buffer {
  const len = w.off - start;
  if (len > OFP_MAX_MSG_LEN) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `message of ${len} bytes exceeds the OpenFlow maximum of ${OFP_MAX_MSG_LEN}`);
  w.patch16(start + 2, len);
  return w.done();
}

/* ---- stream framing -------------------------------------------------- */

/**
 * Splits a TCP byte stream into OpenFlow messages. push() takes each chunk as
 * it arrives (a message may span chunks, a chunk may hold many) and returns
 * the messages it completed. A header whose length is below 8 (or above
 * `maxLength`) makes the stream unframeable: push() throws
 * OfpError(BAD_REQUEST, BAD_LEN) and the framer stays failed (the caller
 * sends an error and closes the connection).
 */
export class OfFramer {
  private chunks: Buffer[] = [];
  private total = 0;
  private failed: OfpError | undefined;

  constructor(readonly maxLength = OFP_MAX_MSG_LEN) {}

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number { return this.total; }

  push(data: Buffer): Buffer[] {
    const r = this.pushSome(data);
    if (r.error) throw r.error;
    return r.messages;
  }

  /**
   * As push(), but a stream that turns unframeable still yields the
   * messages completed before the bad header, and that header's 8 bytes
   * (for the error reply): a switch must handle what came before it.
   */
  pushSome(data: Buffer): { messages: Buffer[]; error?: OfpError; badHeader?: Buffer } {
    if (this.failed) return { messages: [], error: this.failed };
    if (data.length) { this.chunks.push(data); this.total += data.length; }
    const out: Buffer[] = [];
    while (this.total >= OFP_HEADER_LEN) {
      const len = this.peekLength();
      if (len < OFP_HEADER_LEN || len > this.maxLength) {
        this.failed = new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `OpenFlow message length ${len} is outside 8..${this.maxLength}`);
        const badHeader = Buffer.from(Array.from({ length: OFP_HEADER_LEN }, (_, i) => this.byteAt(i)));
        return { messages: out, error: this.failed, badHeader };
      }
      if (this.total < len) break;
      out.push(this.take(len));
    }
    return { messages: out };
  }

  /** Forgets buffered bytes and any failure (a new connection). */
  reset(): void { this.chunks = []; this.total = 0; this.failed = undefined; }

  private byteAt(i: number): number {
    for (const c of this.chunks) {
      if (i < c.length) return c[i];
      i -= c.length;
    }
    return 0;
  }

  private peekLength(): number {
    const c = this.chunks[0];
    return c.length >= 4 ? c.readUInt16BE(2) : (this.byteAt(2) << 8) | this.byteAt(3);
  }

  private take(n: number): Buffer {
    this.total -= n;
    const first = this.chunks[0];
    if (first.length >= n) {
      const msg = first.subarray(0, n);
      if (first.length === n) this.chunks.shift(); else this.chunks[0] = first.subarray(n);
      return msg;
    }
    const msg = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - got);
      c.copy(msg, got, 0, k);
      got += k;
      if (k === c.length) this.chunks.shift(); else this.chunks[0] = c.subarray(k);
    }
    return msg;
  }
}

/* ---- HELLO and version negotiation ---------------------------------- */

export const OFPHET_VERSIONBITMAP = 1;

export interface HelloElement { type: number; data: Buffer }

/** The body of a HELLO: the version bitmap (when present) and any other elements, kept raw. */
export interface HelloBody {
  /** Versions from the VERSIONBITMAP element, ascending; undefined when the HELLO has none. */
  versions?: number[];
  /** Elements other than the version bitmap, in order (kept so a decode re-encodes identically). */
  otherElements?: HelloElement[];
}

export function encodeHelloBody(w: OfWriter, h: HelloBody): void {
  if (h.versions) {
    const max = h.versions.length ? Math.max(...h.versions) : -1;
    const words = new Array<number>((max >> 5) + 1).fill(0);
    for (const v of h.versions) {
      if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new OfpError(OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE, `version ${v} cannot be in a bitmap`);
      words[v >> 5] = (words[v >> 5] | (1 << (v & 31))) >>> 0;
    }
    const start = w.off;
    w.u16(OFPHET_VERSIONBITMAP).u16(4 + 4 * words.length);
    for (const x of words) w.u32(x);
    w.pad8(start);
  }
  for (const e of h.otherElements ?? []) {
    const start = w.off;
    w.u16(e.type).u16(4 + e.data.length).bytes(e.data).pad8(start);
  }
}

/**
 * Parses HELLO elements. OpenFlow 1.0 HELLOs have no body and any trailing
 * bytes are ignored, as the spec asks; a malformed element list is
 * HELLO_FAILED/INCOMPATIBLE only when it cannot be walked at all.
 */
export function decodeHelloBody(r: OfReader, version: number): HelloBody {
  const out: HelloBody = {};
  if (version < OFP13_VERSION) return out;      // 1.0-1.2: no elements defined; ignore any body
  while (r.remaining >= 4) {
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining) throw new OfpError(OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE, `HELLO element length ${len} is invalid`);
    const body = r.sub(len - 4);
    if (type === OFPHET_VERSIONBITMAP && out.versions === undefined) {
      const vs: number[] = [];
      let i = 0;
      while (body.remaining >= 4) {
        const word = body.u32();
        for (let b = 0; b < 32; b++) if (word & (1 << b)) vs.push(i * 32 + b);
        i++;
      }
      out.versions = vs;
    } else {
      (out.otherElements ??= []).push({ type, data: body.rest() });
    }
    const padLen = Math.min(((len + 7) & ~7) - len, r.remaining);
    r.skip(padLen);
  }
  return out;
}

/** The versions a peer's HELLO says it speaks: its bitmap, else every version up to its header's. */
export function peerVersions(helloVersion: number, body: HelloBody): number[] {
  if (body.versions) return body.versions;
  return Array.from({ length: helloVersion }, (_, i) => i + 1);
}

/**
 * The version both sides use (OpenFlow 1.3.5 section 6.3.1): with bitmaps on
 * both sides, the highest version in both; otherwise the lower of the two
 * header versions, if we speak it. Undefined: no common version
 * (send HELLO_FAILED/INCOMPATIBLE and close).
 */
export function negotiateVersion(ours: readonly number[], peerHelloVersion: number, peer: HelloBody): number | undefined {
  if (peer.versions) {
    const common = ours.filter((v) => peer.versions!.includes(v));
    return common.length ? Math.max(...common) : undefined;
  }
  const v = Math.min(Math.max(...ours), peerHelloVersion);
  return ours.includes(v) ? v : undefined;
}
