/*
 * Hostile OpenFlow input for the agent (test/integration/openflow-fuzz.test.ts,
 * scripts/fuzz-openflow.ts): a seeded generator, a sender that cuts the byte
 * stream into random segments, and checks on what comes back.
 *
 *  - Rng: mulberry32; every connection gets its own stream derived from
 *    (seed, connection number), so one connection's bytes are reproducible
 *    alone (`connectionBytes`).
 *  - OfFuzzer: valid messages of every type for OpenFlow 1.3 and 1.0 (the
 *    seeds), hostile-but-framed messages (bad OXM TLVs, bad action and
 *    instruction lengths, huge counts, unknown types, odd field values,
 *    out-of-order HELLOs and endless multipart continuations), mutated seeds
 *    (bit flips, byte insert/delete, truncation... with the header length
 *    fixed up) and, at `fatalRate`, stream-level damage (lying or too-small
 *    header lengths, bad versions, random bytes) after which the peer may
 *    legitimately close.
 *  - PeerFramer: the byte stream as the peer frames it, so an ERROR's data can
 *    be checked against the message it names even after a length lie
 *    desynchronised the stream, and so a connection can be re-aligned
 *    (`filler`) before the closing ECHO that proves it is still served.
 *  - runFuzzConnection / Witness / runCampaign: the harness.
 *
 * The generator never asserts anything about the peer's answers; the checks
 * are in checkReply/finishConnection and are reported as Violations.
 */
import * as net from 'net';
import * as of from '../../src/openflow';

/* ======================================================================
 * PRNG
 * ==================================================================== */

/** mulberry32: small, fast, and the same sequence on every machine. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  float(): number { return this.u32() / 4294967296; }
  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.float() * n); }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  chance(p: number): boolean { return this.float() < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of items) total += w;
    let x = this.float() * total;
    for (const [w, v] of items) { if ((x -= w) < 0) return v; }
    return items[items.length - 1][1];
  }
  /** Small numbers more often than large ones (sizes, counts). */
  skewed(max: number): number { return Math.floor(max * this.float() ** 3); }
}

/** A seed for a sub-stream (connection i of run `seed`): splitmix-style mixing. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of [...parts, parts.length]) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/* ======================================================================
 * Wire constants and builders
 * ==================================================================== */

const V10 = of.OFP10_VERSION, V13 = of.OFP13_VERSION;
const OFPP = { IN_PORT: 0xfffffff8, TABLE: 0xfffffff9, NORMAL: 0xfffffffa, FLOOD: 0xfffffffb, ALL: 0xfffffffc, CONTROLLER: 0xfffffffd, LOCAL: 0xfffffffe, ANY: 0xffffffff } as const;
const NO_BUFFER = 0xffffffff;
const NX = 0x00002320;
const T13 = of.OFPT13, T10 = of.OFPT10;

/** A framed message: header with the body's real length. */
export function frame(version: number, type: number, xid: number, body: Buffer): Buffer {
  const b = Buffer.allocUnsafe(8 + body.length);
  b[0] = version; b[1] = type; b.writeUInt16BE(Math.min(8 + body.length, 0xffff), 2); b.writeUInt32BE(xid >>> 0, 4);
  body.copy(b, 8);
  return b;
}

const w = (): of.OfWriter => new of.OfWriter(64);
const pad8 = (b: Buffer): Buffer => (b.length % 8 ? Buffer.concat([b, Buffer.alloc(8 - (b.length % 8))]) : b);
const u16b = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v & 0xffff); return b; };
const u32b = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };

/** One OXM/NXM TLV; experimenter class puts the id first and counts it in the length. */
export function oxm(cls: number, field: number, value: Buffer, mask?: Buffer, opts: { experimenter?: number; length?: number } = {}): Buffer {
  const body = Buffer.concat([opts.experimenter !== undefined ? u32b(opts.experimenter) : Buffer.alloc(0), value, mask ?? Buffer.alloc(0)]);
  const len = opts.length ?? body.length;
  const h = (((cls & 0xffff) << 16) | ((field & 0x7f) << 9) | (mask ? 0x100 : 0) | (len & 0xff)) >>> 0;
  return Buffer.concat([u32b(h), body]);
}
/** An OF1.3 ofp_match around TLVs (length and padding from the TLVs unless given). */
export function ofpMatch(tlvs: Buffer, opts: { type?: number; length?: number } = {}): Buffer {
  const m = Buffer.concat([u16b(opts.type ?? 1), u16b(opts.length ?? 4 + tlvs.length), tlvs]);
  return pad8(m);
}
/** An action or instruction: type, length (default: real, padded to 8), body. */
function tl(type: number, body: Buffer, length?: number): Buffer {
  const b = pad8(Buffer.concat([Buffer.alloc(4), body]));
  b.writeUInt16BE(type, 0); b.writeUInt16BE((length ?? b.length) & 0xffff, 2);
  return b;
}
const nxAction = (subtype: number, body: Buffer): Buffer => tl(0xffff, Buffer.concat([u32b(NX), u16b(subtype), body]));

const B = 0x8000, N0 = 0x0000, N1 = 0x0001, ONF = 0x4f4e4600;
const ETH_IP = 0x0800, ETH_IP6 = 0x86dd, ETH_ARP = 0x0806;

/** Interesting 16/32-bit values for lengths, counts and ids. */
const EDGE16 = [0, 1, 4, 7, 8, 9, 15, 16, 17, 63, 64, 65, 0x7fff, 0x8000, 0xfff8, 0xfffe, 0xffff];
const EDGE32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffeff, 0xffffff00, 0xfffffff8, 0xfffffffc, 0xfffffffd, 0xfffffffe, 0xffffffff];

/* ======================================================================
 * The generator
 * ==================================================================== */

export interface FuzzMsg {
  bytes: Buffer;
  /** What it is: 'flow_mod', 'bad-oxm:dup', 'mut:bitflip(packet_out)', 'stream:len-short(...)'... */
  kind: string;
}

export interface FuzzerOptions {
  /** Share of messages with stream-level damage (the peer may close after one). Default 0.015. */
  fatalRate?: number;
  /** Share of valid seeds (the rest: hostile and mutated). Default 0.45. */
  validRate?: number;
}

/**
 * Messages for one connection speaking `version` (4: OpenFlow 1.3, 1: 1.0).
 * Deterministic in its Rng. xids count up from `xidBase` so replies can be
 * told apart (mutations never touch the xid unless the whole header is hit).
 */
export class OfFuzzer {
  private xid: number;
  readonly fatalRate: number;
  readonly validRate: number;

  constructor(readonly rng: Rng, readonly version: number, xidBase = 0x100, opts: FuzzerOptions = {}) {
    this.xid = xidBase;
    this.fatalRate = opts.fatalRate ?? 0.015;
    this.validRate = opts.validRate ?? 0.45;
  }

  nextXid(): number { this.xid = (this.xid + 1) >>> 0; return this.xid; }

  /** The next item of the mix: usually one message, sometimes a sequence (multipart continuations). */
  next(): FuzzMsg[] {
    const r = this.rng;
    if (r.chance(this.fatalRate)) return [this.streamLevel()];
    const x = r.float();
    if (x < this.validRate) return [this.valid()];
    if (x < this.validRate + (1 - this.validRate) * 0.5) return this.hostile();
    return [this.mutate(this.valid())];
  }

  /* ---- HELLO ----------------------------------------------------------- */

  /** A HELLO announcing `versions` in a bitmap (undefined: no body). */
  hello(headerVersion: number, versions?: number[]): Buffer {
    if (!versions) return frame(headerVersion, 0, this.nextXid(), Buffer.alloc(0));
    const ww = w();
    of.encodeHelloBody(ww, { versions });
    return frame(headerVersion, 0, this.nextXid(), ww.done());
  }

  /* ---- valid seeds ------------------------------------------------------ */

  valid(): FuzzMsg {
    return this.version === V10 ? this.valid10() : this.valid13();
  }

  private valid13(): FuzzMsg {
    const r = this.rng;
    const kind = r.weighted<string>([
      [6, 'echo_request'], [1, 'echo_reply'], [3, 'features_request'], [2, 'get_config_request'], [2, 'set_config'],
      [25, 'flow_mod'], [8, 'packet_out'], [15, 'multipart_request'], [6, 'barrier_request'], [3, 'role_request'],
      [1, 'get_async_request'], [1, 'set_async'], [5, 'group_mod'], [4, 'meter_mod'], [2, 'port_mod'], [1, 'table_mod'],
      [2, 'experimenter'], [1, 'queue_get_config_request'], [1, 'error'],
    ]);
    const xid = this.nextXid();
    const f = (type: number, body: Buffer, k = kind): FuzzMsg => ({ bytes: frame(V13, type, xid, body), kind: k });
    switch (kind) {
      case 'echo_request': return f(T13.ECHO_REQUEST, r.bytes(r.skewed(64)));
      case 'echo_reply': return f(T13.ECHO_REPLY, r.bytes(r.skewed(16)));
      case 'features_request': return f(T13.FEATURES_REQUEST, Buffer.alloc(0));
      case 'get_config_request': return f(T13.GET_CONFIG_REQUEST, Buffer.alloc(0));
      case 'set_config': return f(T13.SET_CONFIG, w().u16(r.int(3)).u16(r.pick([0, 128, 0xffff, 1500, 65509])).done());
      case 'flow_mod': { const fm = this.flowMod13(); return f(T13.FLOW_MOD, fm.body, `flow_mod:${fm.cmd}`); }
      case 'packet_out': {
        const acts = Buffer.concat(Array.from({ length: r.range(0, 3) }, () => this.action13(true)));
        const inPort = r.pick([OFPP.CONTROLLER, OFPP.CONTROLLER, 1, 2, OFPP.LOCAL]);
        return f(T13.PACKET_OUT, Buffer.concat([w().u32(NO_BUFFER).u32(inPort).u16(acts.length).zeros(6).done(), acts, this.packet()]));
      }
      case 'multipart_request': { const mp = this.multipart13(0); return f(T13.MULTIPART_REQUEST, mp.body, `multipart:${mp.name}`); }
      case 'barrier_request': return f(T13.BARRIER_REQUEST, Buffer.alloc(0));
      case 'role_request':
        return f(T13.ROLE_REQUEST, w().u32(r.pick([0, 0, 1, 2, 3])).zeros(4).u64(BigInt(r.int(4))).done());
      case 'get_async_request': return f(T13.GET_ASYNC_REQUEST, Buffer.alloc(0));
      case 'set_async': {
        const ww = w();
        ww.u32(r.int(8)).u32(r.int(8)).u32(r.int(8)).u32(r.int(8)).u32(r.int(16)).u32(r.int(16));
        return f(T13.SET_ASYNC, ww.done());
      }
      case 'group_mod': return f(T13.GROUP_MOD, this.groupMod());
      case 'meter_mod': return f(T13.METER_MOD, this.meterMod());
      case 'port_mod':
        return f(T13.PORT_MOD, w().u32(r.pick([1, 2, 7, OFPP.LOCAL])).zeros(4).bytes(this.mac()).zeros(2)
          .u32(r.pick([0, 1, 4, 0x20, 0x40])).u32(r.pick([0, 1, 0x65])).u32(r.pick([0, 0x20, 0x800])).zeros(4).done());
      case 'table_mod': return f(T13.TABLE_MOD, w().u8(r.pick([0, 1, 0xff])).zeros(3).u32(r.pick([0, 3])).done());
      case 'experimenter': {
        // Nicira extension messages OVS knows (flow format, packet-in format, controller id), or an unknown vendor.
        const [exp, type, data] = r.weighted<[number, number, Buffer]>([
          [3, [NX, 12, u32b(r.pick([0, 2]))]],                   // NXT_SET_FLOW_FORMAT
          [2, [NX, 16, u32b(r.pick([0, 1, 2]))]],                // NXT_SET_PACKET_IN_FORMAT
          [2, [NX, 20, w().zeros(6).u16(r.int(5)).done()]],      // NXT_SET_CONTROLLER_ID
          [1, [NX, 18, Buffer.alloc(0)]],                        // NXT_FLOW_AGE (no such request: error)
          [2, [r.u32(), r.u32(), r.bytes(r.skewed(40))]],
        ]);
        return f(T13.EXPERIMENTER, Buffer.concat([u32b(exp), u32b(type), data]));
      }
      case 'queue_get_config_request': return f(T13.QUEUE_GET_CONFIG_REQUEST, w().u32(r.pick([1, OFPP.ANY])).zeros(4).done());
      default: // 'error': a controller has no business sending one; the switch must not answer it
        return f(T13.ERROR, Buffer.concat([u16b(r.int(14)), u16b(r.int(10)), r.bytes(r.skewed(64))]));
    }
  }

  private valid10(): FuzzMsg {
    const r = this.rng;
    const kind = r.weighted<string>([
      [6, 'echo_request'], [3, 'features_request'], [2, 'get_config_request'], [2, 'set_config'], [25, 'flow_mod'],
      [8, 'packet_out'], [12, 'stats_request'], [6, 'barrier_request'], [2, 'port_mod'], [2, 'vendor'],
      [1, 'queue_get_config_request'],
    ]);
    const xid = this.nextXid();
    const f = (type: number, body: Buffer, k = kind): FuzzMsg => ({ bytes: frame(V10, type, xid, body), kind: `${k}.v1` });
    switch (kind) {
      case 'echo_request': return f(T10.ECHO_REQUEST, r.bytes(r.skewed(64)));
      case 'features_request': return f(T10.FEATURES_REQUEST, Buffer.alloc(0));
      case 'get_config_request': return f(T10.GET_CONFIG_REQUEST, Buffer.alloc(0));
      case 'set_config': return f(T10.SET_CONFIG, w().u16(r.int(3)).u16(r.pick([0, 128, 0xffff])).done());
      case 'flow_mod': {
        const cmd = r.weighted<number>([[6, 0], [2, 1], [1, 2], [2, 3], [1, 4]]);
        const acts = Buffer.concat(Array.from({ length: r.range(0, 4) }, () => this.action10()));
        const ww = w();
        ww.bytes(this.match10()).u64(r.chance(0.5) ? 0n : BigInt(r.u32())).u16(cmd).u16(r.chance(0.9) ? 0 : r.range(1, 3)).u16(0)
          .u16(r.u32() & 0xffff).u32(NO_BUFFER).u16(r.chance(0.9) ? 0xffff : r.range(1, 4)).u16(r.int(4)).bytes(acts);
        return f(T10.FLOW_MOD, ww.done(), `flow_mod:${cmd}`);
      }
      case 'packet_out': {
        const acts = Buffer.concat(Array.from({ length: r.range(0, 3) }, () => this.action10()));
        return f(T10.PACKET_OUT, Buffer.concat([w().u32(NO_BUFFER).u16(r.pick([0xfffd, 0xfffd, 1, 0xfffe])).u16(acts.length).done(), acts, this.packet()]));
      }
      case 'stats_request': {
        const t = r.weighted<number>([[2, 0], [4, 1], [3, 2], [2, 3], [3, 4], [1, 5], [1, 0xffff]]);
        let body: Buffer;
        switch (t) {
          case 1: case 2: body = w().bytes(this.match10(true)).u8(r.pick([0xff, 0, 1])).u8(0).u16(r.pick([0xffff, 1])).done(); break;
          case 4: body = w().u16(r.pick([0xffff, 0xfffe, 1, 2])).zeros(6).done(); break;
          case 5: body = w().u16(r.pick([0xfffc, 1])).zeros(2).u32(0xffffffff).done(); break;
          case 0xffff: body = w().u32(r.pick([NX, r.u32()])).bytes(r.bytes(r.skewed(24))).done(); break;
          default: body = Buffer.alloc(0);
        }
        return f(T10.STATS_REQUEST, Buffer.concat([u16b(t), u16b(0), body]), `stats:${t}`);
      }
      case 'barrier_request': return f(T10.BARRIER_REQUEST, Buffer.alloc(0));
      case 'port_mod':
        return f(T10.PORT_MOD, w().u16(r.pick([1, 2, 0xfffe])).bytes(this.mac()).u32(r.pick([0, 1, 4])).u32(r.pick([0, 1, 5])).u32(0).zeros(4).done());
      case 'vendor':
        return f(T10.VENDOR, Buffer.concat([u32b(r.pick([NX, r.u32()])), u32b(r.pick([12, 16, 20, r.u32()])), r.bytes(r.pick([0, 4, 8, r.skewed(32)]))]));
      default:
        return f(T10.QUEUE_GET_CONFIG_REQUEST, w().u16(r.pick([1, 0xfffc])).zeros(2).done());
    }
  }

  /* ---- pieces of messages ------------------------------------------------ */

  mac(): Buffer { const m = this.rng.bytes(6); m[0] &= 0xfe; return m; }

  /** A frame for PACKET_OUT: ARP, UDP/IPv4, IPv6, or junk (runt to jumbo-ish). */
  packet(): Buffer {
    const r = this.rng;
    const eth = (type: number): Buffer => Buffer.concat([r.chance(0.5) ? Buffer.alloc(6, 0xff) : this.mac(), this.mac(), u16b(type)]);
    switch (r.int(5)) {
      case 0: return Buffer.concat([eth(ETH_ARP), Buffer.from('0001080006040001', 'hex'), this.mac(), r.bytes(4), Buffer.alloc(6), r.bytes(4)]);
      case 1: {
        const payload = r.bytes(r.skewed(200));
        const ip = Buffer.concat([Buffer.from([0x45, 0]), u16b(28 + payload.length), Buffer.from([0, 0, 0x40, 0, r.pick([1, 64, 0]), 17, 0, 0]), r.bytes(4), r.bytes(4)]);
        return Buffer.concat([eth(ETH_IP), ip, u16b(r.u32()), u16b(r.u32()), u16b(8 + payload.length), u16b(0), payload]);
      }
      case 2: return Buffer.concat([eth(ETH_IP6), Buffer.from([0x60, 0, 0, 0]), u16b(8), Buffer.from([17, 64]), r.bytes(32), r.bytes(8)]);
      case 3: return r.bytes(r.int(14));                     // runt: shorter than an Ethernet header
      default: return r.bytes(r.skewed(1600));
    }
  }

  /** A valid OXM match: fields in prerequisite order, some masked. */
  matchTlvs(): Buffer {
    const r = this.rng;
    const t: Buffer[] = [];
    const maybeMask = (n: number, v: Buffer): [Buffer, Buffer?] => {
      if (!r.chance(0.3)) return [v];
      const m = r.bytes(n);
      for (let i = 0; i < n; i++) v[i] &= m[i];
      return [v, m];
    };
    if (r.chance(0.25)) t.push(oxm(B, 0, u32b(r.pick([1, 2, 3, 100, OFPP.LOCAL]))));
    if (r.chance(0.15)) t.push(oxm(B, 2, ...maybeMask(8, r.bytes(8))));
    if (r.chance(0.2)) t.push(oxm(B, 3, ...maybeMask(6, this.mac())));
    if (r.chance(0.15)) t.push(oxm(B, 4, this.mac()));
    if (r.chance(0.2)) {
      t.push(r.chance(0.7) ? oxm(B, 6, u16b(0x1000 | r.int(4096))) : oxm(B, 6, u16b(0x1000), u16b(0x1000)));
      if (r.chance(0.3)) t.push(oxm(B, 7, Buffer.from([r.int(8)])));
    } else if (r.chance(0.05)) t.push(oxm(B, 6, u16b(0)));
    for (let i = 0; i < 8; i++) if (r.chance(0.04)) t.push(oxm(N1, i, ...maybeMask(4, r.bytes(4))));
    const l3 = r.weighted<number>([[4, 0], [5, ETH_IP], [2, ETH_IP6], [2, ETH_ARP]]);
    if (!l3) return Buffer.concat(t);
    t.push(oxm(B, 5, u16b(l3)));
    if (l3 === ETH_ARP) {
      if (r.chance(0.5)) t.push(oxm(B, 21, u16b(r.range(1, 2))));
      if (r.chance(0.5)) t.push(oxm(B, 22, ...maybeMask(4, r.bytes(4))));
      if (r.chance(0.3)) t.push(oxm(B, 23, r.bytes(4)));
      if (r.chance(0.3)) t.push(oxm(B, 24, this.mac()));
      return Buffer.concat(t);
    }
    if (r.chance(0.2)) t.push(oxm(B, 8, Buffer.from([r.int(64)])));
    if (r.chance(0.1)) t.push(oxm(B, 9, Buffer.from([r.int(4)])));
    if (r.chance(0.1)) t.push(oxm(N1, 29, Buffer.from([r.int(256)])));
    if (r.chance(0.1)) t.push(oxm(N1, 26, Buffer.from([r.int(4)]), Buffer.from([r.pick([1, 2, 3])])));
    if (l3 === ETH_IP) {
      if (r.chance(0.5)) t.push(oxm(B, 11, ...maybeMask(4, r.bytes(4))));
      if (r.chance(0.5)) t.push(oxm(B, 12, ...maybeMask(4, r.bytes(4))));
    } else {
      if (r.chance(0.5)) t.push(oxm(B, 26, ...maybeMask(16, r.bytes(16))));
      if (r.chance(0.4)) t.push(oxm(B, 27, ...maybeMask(16, r.bytes(16))));
      if (r.chance(0.2)) t.push(oxm(B, 28, u32b(r.int(1 << 20))));
    }
    const proto = r.weighted<number>([[3, 0], [3, 6], [3, 17], [1, 132], [2, l3 === ETH_IP ? 1 : 58]]);
    if (!proto) return Buffer.concat(t);
    t.push(oxm(B, 10, Buffer.from([proto])));
    const port = (): [Buffer, Buffer?] => maybeMask(2, u16b(r.pick([53, 80, 443, r.int(65536)])));
    if (proto === 6) {
      if (r.chance(0.5)) t.push(oxm(B, 13, ...port()));
      if (r.chance(0.5)) t.push(oxm(B, 14, ...port()));
      if (r.chance(0.2)) t.push(oxm(0xffff, 42, u16b(2), u16b(0x12), { experimenter: ONF }));
    } else if (proto === 17) {
      if (r.chance(0.5)) t.push(oxm(B, 15, ...port()));
      if (r.chance(0.5)) t.push(oxm(B, 16, ...port()));
    } else if (proto === 132) {
      if (r.chance(0.5)) t.push(oxm(B, 17, ...port()));
      if (r.chance(0.5)) t.push(oxm(B, 18, ...port()));
    } else if (proto === 1) {
      if (r.chance(0.6)) t.push(oxm(B, 19, Buffer.from([r.pick([0, 3, 8])])));
      if (r.chance(0.4)) t.push(oxm(B, 20, Buffer.from([r.int(16)])));
    } else {
      if (r.chance(0.6)) t.push(oxm(B, 29, Buffer.from([r.pick([128, 129, 135, 136])])));
      if (r.chance(0.4)) t.push(oxm(B, 30, Buffer.from([0])));
    }
    return Buffer.concat(t);
  }

  /** A valid-looking OF1.3 action; `packetOut`: ports that only make sense there (TABLE). */
  action13(packetOut = false): Buffer {
    const r = this.rng;
    switch (r.weighted<number>([[8, 0], [1, 1], [1, 2], [1, 3], [1, 4], [1, 5], [3, 6], [1, 7], [1, 8], [1, 9], [1, 10]])) {
      case 0: {
        const ports: number[] = [1, 2, 3, OFPP.FLOOD, OFPP.ALL, OFPP.NORMAL, OFPP.IN_PORT, OFPP.LOCAL, OFPP.CONTROLLER];
        if (packetOut) ports.push(OFPP.TABLE);
        const p = r.pick(ports);
        return tl(0, w().u32(p).u16(p === OFPP.CONTROLLER ? r.pick([0xffff, 128, 0]) : 0).zeros(6).done());
      }
      case 1: return tl(22, u32b(r.range(1, 20)));                               // group
      case 2: return tl(17, u16b(r.pick([0x8100, 0x88a8])));                     // push_vlan
      case 3: return tl(18, Buffer.alloc(0));                                    // pop_vlan
      case 4: return tl(23, Buffer.from([r.int(256)]));                          // set_nw_ttl
      case 5: return tl(24, Buffer.alloc(0));                                    // dec_nw_ttl
      case 6: {                                                                   // set_field
        const v = r.pick<Buffer>([oxm(B, 3, this.mac()), oxm(B, 4, this.mac()), oxm(N1, r.int(8), r.bytes(4)), oxm(B, 6, u16b(0x1000 | r.int(4096))), oxm(B, 11, r.bytes(4))]);
        return tl(25, v);
      }
      case 7: return nxAction(14, w().u16(0xfff8).u8(r.range(1, 10)).zeros(3).done());    // resubmit(,T)
      case 8: return nxAction(8, r.bytes(r.pick([6, 14])));                                 // note
      case 9: return nxAction(20, w().u16(r.pick([0xffff, 64])).u16(r.int(3)).u8(r.int(3)).u8(0).done());  // controller
      default: return nxAction(18, Buffer.alloc(6));                                        // dec_ttl
    }
  }

  action10(): Buffer {
    const r = this.rng;
    switch (r.int(9)) {
      case 0: case 1: case 2: return tl(0, w().u16(r.pick([1, 2, 0xfffb, 0xfffc, 0xfffa, 0xfffd, 0xfff8])).u16(r.pick([0, 0xffff])).done());
      case 3: return tl(1, w().u16(r.int(4096)).zeros(2).done());
      case 4: return tl(2, Buffer.from([r.int(8), 0, 0, 0]));
      case 5: return tl(3, Buffer.alloc(0));
      case 6: return tl(r.pick([4, 5]), Buffer.concat([this.mac(), Buffer.alloc(6)]));
      case 7: return tl(r.pick([6, 7]), r.bytes(4));
      default: return tl(r.pick([9, 10]), w().u16(r.u32()).zeros(2).done());
    }
  }

  /** An OF1.0 ofp_match (40 bytes); `loose`: mostly wildcards (stats requests). */
  match10(loose = false): Buffer {
    const r = this.rng;
    const wild = loose && r.chance(0.7) ? 0x3fffff : r.pick([0x3fffff, 0x3ffffe, 0x3820ef, 0x3000ff, 0, r.u32() & 0x3fffff]);
    return w().u32(wild).u16(r.pick([1, 2, 0xfffe])).bytes(this.mac()).bytes(this.mac()).u16(r.int(4096)).u8(r.int(8)).u8(0)
      .u16(r.pick([ETH_IP, ETH_ARP, ETH_IP6, 0])).u8(r.int(64) << 2).u8(r.pick([1, 6, 17])).zeros(2).bytes(r.bytes(8)).u16(r.u32()).u16(r.u32()).done();
  }

  /** Instructions in execution order; table ids only forward from `table`. */
  instructions(table: number): Buffer {
    const r = this.rng;
    const out: Buffer[] = [];
    if (r.chance(0.05)) out.push(tl(6, u32b(r.range(1, 10))));
    if (r.chance(0.6)) out.push(tl(4, Buffer.concat([Buffer.alloc(4), ...Array.from({ length: r.range(0, 4) }, () => this.action13())])));
    if (r.chance(0.08)) out.push(tl(5, Buffer.alloc(4)));
    if (r.chance(0.15)) out.push(tl(3, Buffer.concat([Buffer.alloc(4), ...Array.from({ length: r.range(1, 3) }, () => this.action13())])));
    if (r.chance(0.08)) out.push(tl(2, w().zeros(4).u64(r.u64()).u64(r.u64()).done()));
    if (r.chance(0.15) && table < 253) out.push(tl(1, Buffer.from([r.range(table + 1, Math.min(254, table + 5)), 0, 0, 0])));
    return Buffer.concat(out);
  }

  /** A valid OF1.3 FLOW_MOD body and its command. */
  flowMod13(parts: { match?: Buffer; instructions?: Buffer } = {}): { body: Buffer; cmd: number } {
    const r = this.rng;
    const cmd = r.weighted<number>([[10, 0], [3, 1], [2, 2], [3, 3], [2, 4]]);
    const table = cmd >= 3 && r.chance(0.5) ? 0xff : r.weighted<number>([[8, 0], [2, 1], [1, 2], [1, r.int(254)]]);
    const flags = r.chance(0.7) ? 0 : r.int(32) & (cmd === 0 ? 0x1f : 0x1d);
    const ww = w();
    ww.u64(r.chance(0.6) ? 0n : BigInt(r.u32())).u64(r.chance(0.8) ? 0n : 0xffffffffffffffffn).u8(table).u8(cmd)
      .u16(r.chance(0.92) ? 0 : r.range(1, 3)).u16(r.chance(0.95) ? 0 : r.range(1, 5)).u16(r.pick([0, 1, 100, 0x8000, 0xffff, r.u32() & 0xffff]))
      .u32(NO_BUFFER).u32(cmd >= 3 && r.chance(0.2) ? r.range(1, 3) : OFPP.ANY).u32(0xffffffff).u16(flags).zeros(2);
    ww.bytes(parts.match ?? ofpMatch(this.matchTlvs()));
    ww.bytes(parts.instructions ?? (cmd >= 3 ? Buffer.alloc(0) : this.instructions(table === 0xff ? 0 : table)));
    return { body: ww.done(), cmd };
  }

  groupMod(): Buffer {
    const r = this.rng;
    const cmd = r.weighted<number>([[5, 0], [2, 1], [2, 2]]);
    const type = r.int(4);
    const id = cmd === 2 && r.chance(0.3) ? 0xfffffffc : r.range(1, 20);
    const n = cmd === 2 ? 0 : type === 2 ? 1 : r.range(0, 4);
    const buckets = Array.from({ length: n }, () => {
      const acts = Buffer.concat(Array.from({ length: r.range(0, 3) }, () => this.action13()));
      const b = w().u16(16 + acts.length).u16(type === 1 ? r.range(1, 100) : 0).u32(type === 3 ? r.pick([1, 2]) : OFPP.ANY).u32(0xffffffff).zeros(4).done();
      return Buffer.concat([b, acts]);
    });
    return Buffer.concat([w().u16(cmd).u8(type).u8(0).u32(id).done(), ...buckets]);
  }

  meterMod(): Buffer {
    const r = this.rng;
    const cmd = r.weighted<number>([[5, 0], [2, 1], [2, 2]]);
    const flags = r.pick([1, 2, 5, 6, 9, 10]);
    const bands = cmd === 2 ? [] : Array.from({ length: r.range(1, 2) }, () => w().u16(1).u16(16).u32(r.range(1, 100000)).u32(r.int(1000)).zeros(4).done());
    return Buffer.concat([w().u16(cmd).u16(flags).u32(cmd === 2 && r.chance(0.3) ? 0xffffffff : r.range(1, 10)).done(), ...bands]);
  }

  /** A multipart request body (type, flags, pad, body) of any kind. */
  multipart13(flags: number): { body: Buffer; name: string } {
    const r = this.rng;
    const t = r.weighted<number>([[2, 0], [5, 1], [3, 2], [2, 3], [3, 4], [1, 5], [2, 6], [2, 7], [1, 8], [2, 9], [2, 10], [1, 11], [1, 12], [3, 13], [1, 0xffff]]);
    let body: Buffer;
    switch (t) {
      case 1: case 2:
        body = w().u8(r.pick([0xff, 0xff, 0, 1])).zeros(3).u32(r.chance(0.8) ? OFPP.ANY : r.range(1, 3)).u32(r.chance(0.9) ? 0xffffffff : r.range(1, 5))
          .zeros(4).u64(r.chance(0.8) ? 0n : BigInt(r.u32())).u64(r.chance(0.8) ? 0n : 0xffffffffffffffffn)
          .bytes(ofpMatch(r.chance(0.6) ? Buffer.alloc(0) : this.matchTlvs())).done();
        break;
      case 4: body = w().u32(r.pick([OFPP.ANY, 1, 2, OFPP.LOCAL])).zeros(4).done(); break;
      case 5: body = w().u32(OFPP.ANY).u32(0xffffffff).done(); break;
      case 6: body = w().u32(r.pick([0xfffffffc, 1, 2])).zeros(4).done(); break;
      case 9: case 10: body = w().u32(r.pick([0xffffffff, 1, 2])).zeros(4).done(); break;
      case 12: body = r.chance(0.7) ? Buffer.alloc(0) : this.tableFeatures(r.range(1, 3)); break;
      case 0xffff: body = Buffer.concat([u32b(r.pick([NX, r.u32()])), u32b(r.int(4)), r.bytes(r.skewed(32))]); break;
      default: body = Buffer.alloc(0);
    }
    return { body: Buffer.concat([u16b(t), u16b(flags), Buffer.alloc(4), body]), name: String(t) };
  }

  /** Table-features entries (a "set" request): name, metadata masks, a few properties. */
  tableFeatures(n: number, propsEach = 2): Buffer {
    const r = this.rng;
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const props: Buffer[] = [];
      for (let p = 0; p < propsEach; p++) {
        const type = r.pick([0, 2, 4, 6, 8, 10, 12, 14]);
        const data = type === 2 ? Buffer.from([1, 2, 3]) : type === 0 ? Buffer.from('0001000400040004', 'hex') : type >= 8 ? u32b(0x80000004) : Buffer.from('00000004', 'hex');
        const len = 4 + data.length;
        props.push(pad8(Buffer.concat([u16b(type), u16b(len), data])));
      }
      const ww = w();
      ww.u16(0).u8(r.pick([0, 1, i])).zeros(5).str(`t${i}`, 32).u64(0xffffffffffffffffn).u64(0xffffffffffffffffn).u32(3).u32(1000000);
      const entry = Buffer.concat([ww.done(), ...props]);
      entry.writeUInt16BE(entry.length, 0);
      out.push(entry);
    }
    return Buffer.concat(out);
  }

  /* ---- hostile, correctly framed ------------------------------------------ */

  hostile(): FuzzMsg[] {
    const r = this.rng;
    if (this.version === V10) {
      return [r.weighted<() => FuzzMsg>([
        [4, () => this.badActions10()], [2, () => this.unknownType()], [2, () => this.hugeCount()],
        [2, () => this.oddValues10()], [1, () => this.secondHello()],
      ])()];
    }
    return r.weighted<() => FuzzMsg[]>([
      [6, () => [this.badMatch()]], [6, () => [this.badActions13()]], [2, () => [this.unknownType()]],
      [2, () => [this.hugeCount()]], [4, () => [this.oddValues13()]], [1, () => [this.secondHello()]],
      [1, () => this.multipartContinuation()],
    ])();
  }

  /** A FLOW_MOD (or flow stats request) whose OXM match is wrong in one way. */
  badMatch(): FuzzMsg {
    const r = this.rng;
    const good = (): Buffer => this.matchTlvs();
    const [name, match] = r.weighted<() => [string, Buffer]>([
      [2, () => ['tlv-len', ofpMatch(oxm(B, 5, Buffer.from([8, 0, 0]), undefined))]],                       // eth_type with 3 bytes
      [2, () => ['tlv-len-lie', ofpMatch(Buffer.concat([good(), oxm(B, r.int(31), r.bytes(r.int(8)), undefined, { length: r.int(256) })]))]],
      [2, () => ['unknown-class', ofpMatch(oxm(r.pick([0x1234, 0x0002, 0x7fff, 0x8001]), r.int(128), r.bytes(r.range(1, 8))))]],
      [2, () => ['unknown-field', ofpMatch(oxm(B, r.range(40, 127), r.bytes(r.range(1, 16))))]],
      [1, () => ['bad-experimenter', ofpMatch(oxm(0xffff, r.int(128), u16b(1), undefined, { experimenter: r.u32() }))]],
      [1, () => ['experimenter-cut', ofpMatch(Buffer.from('ffff5402' + '4f4e', 'hex'))]],
      [2, () => ['mask-unmaskable', ofpMatch(r.pick<Buffer>([oxm(B, 0, u32b(1), u32b(0xffffffff)), Buffer.concat([oxm(B, 5, u16b(ETH_IP)), oxm(B, 10, Buffer.from([6]), Buffer.from([0xff]))]), oxm(B, 5, u16b(ETH_IP), u16b(0xff00))]))]],
      [2, () => ['dup', ofpMatch(Buffer.concat([oxm(B, 5, u16b(ETH_IP)), oxm(B, 5, u16b(r.pick([ETH_IP, ETH_ARP])))]))]],
      [1, () => ['dup-overlap', ofpMatch(Buffer.concat([oxm(B, 6, u16b(0x1005)), oxm(N0, 4, u16b(0x1005))]))]],
      [2, () => ['prereq', ofpMatch(r.pick<Buffer>([oxm(B, 13, u16b(80)), Buffer.concat([oxm(B, 5, u16b(ETH_IP)), oxm(B, 15, u16b(53))]), oxm(B, 11, r.bytes(4)), Buffer.concat([oxm(B, 5, u16b(ETH_ARP)), oxm(B, 10, Buffer.from([6]))]), oxm(B, 7, Buffer.from([3]))]))]],
      [1, () => ['prereq-order', ofpMatch(Buffer.concat([oxm(B, 10, Buffer.from([17])), oxm(B, 16, u16b(53)), oxm(B, 5, u16b(ETH_IP))]))]],
      [2, () => ['bad-value', ofpMatch(r.pick<Buffer>([oxm(B, 7, Buffer.from([8])), oxm(B, 6, u16b(0x2000)), Buffer.concat([oxm(B, 5, u16b(ETH_IP)), oxm(B, 8, Buffer.from([64]))]), oxm(B, 0, u32b(0xffffff00)), oxm(B, 0, u32b(0))]))]],
      [2, () => ['match-len-long', ofpMatch(good(), { length: r.pick([0xffff, 4 + r.int(600), 1000]) })]],
      [1, () => ['match-len-short', ofpMatch(Buffer.concat([oxm(B, 5, u16b(ETH_IP)), oxm(B, 12, r.bytes(4))]), { length: r.pick([0, 1, 3, 5, 6, 9]) })]],
      [1, () => ['match-type', ofpMatch(good(), { type: r.pick([0, 2, 0xffff]) })]],
      [1, () => ['standard-match', Buffer.concat([u16b(0), u16b(88), Buffer.alloc(84)])]],
      [1, () => ['tlv-cut', Buffer.concat([u16b(1), u16b(7), Buffer.from('80000a', 'hex'), Buffer.alloc(1)])]],
      [1, () => ['many-tlvs', ofpMatch(Buffer.concat(Array.from({ length: r.range(100, 4000) }, () => oxm(N1, r.int(8), r.bytes(4), r.bytes(4)))))]],
      [1, () => ['zero-len-tlv', ofpMatch(Buffer.concat([oxm(B, r.int(40), Buffer.alloc(0)), oxm(B, 5, u16b(ETH_IP))]))]],
    ])();
    const xid = this.nextXid();
    if (r.chance(0.85)) {
      const fm = this.flowMod13({ match, instructions: r.chance(0.5) ? Buffer.alloc(0) : undefined });
      return { bytes: frame(V13, T13.FLOW_MOD, xid, fm.body), kind: `bad-oxm:${name}` };
    }
    const body = Buffer.concat([u16b(r.pick([1, 2])), u16b(0), Buffer.alloc(4), w().u8(0xff).zeros(3).u32(OFPP.ANY).u32(0xffffffff).zeros(4).u64(0n).u64(0n).done(), match]);
    return { bytes: frame(V13, T13.MULTIPART_REQUEST, xid, body), kind: `bad-oxm-mp:${name}` };
  }

  /** Actions and instructions with bad lengths, types or arguments, in FLOW_MOD, PACKET_OUT or GROUP_MOD. */
  badActions13(): FuzzMsg {
    const r = this.rng;
    const good = (): Buffer => this.action13();
    const [name, acts] = r.weighted<() => [string, Buffer]>([
      [3, () => ['len-not-8', Buffer.concat([good(), tl(0, w().u32(1).u16(0).zeros(6).done(), r.pick([12, 10, 9, 15, 20]))])]],
      [3, () => ['len-zero', Buffer.concat([tl(r.pick([0, 17, 22, 25]), Buffer.alloc(4), 0), good()])]],
      [3, () => ['len-past-end', Buffer.concat([good(), tl(0, w().u32(1).u16(0).zeros(6).done(), r.pick([24, 64, 0xfff8, 0xffff]))])]],
      [1, () => ['len-4', Buffer.concat([tl(18, Buffer.alloc(4)).subarray(0, 4)].map((b) => { b.writeUInt16BE(4, 2); return b; }))]],
      [2, () => ['unknown-type', tl(r.pick([1, 2, 5, 11, 12, 15, 16, 19, 20, 21, 26, 27, 28, 99, 0xfffe]), r.bytes(4))]],
      [2, () => ['bad-port', tl(0, w().u32(r.pick([0, OFPP.ANY, 0xffffff00, 0xfffffff7])).u16(0).zeros(6).done())]],
      [2, () => ['set-field-bad', tl(25, r.pick<Buffer>([oxm(B, 63, r.bytes(2)), oxm(B, 5, r.bytes(3)), oxm(B, 3, this.mac(), this.mac()), oxm(B, 6, u16b(5)), oxm(B, 7, Buffer.from([9])), r.bytes(4)]))]],
      [1, () => ['set-field-long-tlv', tl(25, oxm(B, 3, this.mac(), undefined, { length: 200 }))]],
      [2, () => ['experimenter', r.pick<Buffer>([tl(0xffff, u32b(r.u32())), tl(0xffff, Buffer.concat([u32b(NX), u16b(r.range(100, 0xffff)), r.bytes(6)])), tl(0xffff, Buffer.alloc(0), 8), nxAction(7, r.bytes(18)), nxAction(33, oxm(B, 63, r.bytes(4)))])]],
      [1, () => ['controller-reason', nxAction(20, w().u16(0xffff).u16(0).u8(r.range(3, 255)).u8(0).done())]],
      [2, () => ['huge-list', Buffer.concat(Array.from({ length: r.range(500, 4000) }, () => tl(0, w().u32(r.range(1, 64)).u16(0).zeros(6).done())))]],
      [1, () => ['push-vlan-type', tl(17, u16b(r.pick([0x0800, 0, 0xffff])))]],
      [1, () => ['group-any', tl(22, u32b(r.pick([0xffffffff, 0xfffffffc, 0xffffff01])))]],
    ])();
    const xid = this.nextXid();
    const where = r.weighted<string>([[6, 'flow_mod'], [2, 'packet_out'], [2, 'group_mod'], [3, 'instruction']]);
    if (where === 'packet_out') {
      const alen = r.chance(0.8) ? acts.length : r.pick([acts.length + 8, acts.length - 4, 0xffff, 3]);
      return { bytes: frame(V13, T13.PACKET_OUT, xid, Buffer.concat([w().u32(NO_BUFFER).u32(OFPP.CONTROLLER).u16(alen).zeros(6).done(), acts, this.packet()])), kind: `bad-act-po:${name}` };
    }
    if (where === 'group_mod') {
      const blen = r.chance(0.8) ? 16 + acts.length : r.pick([0, 8, 15, 17, 24 + acts.length, 0xffff]);
      const body = Buffer.concat([w().u16(0).u8(0).u8(0).u32(r.range(1, 20)).done(), w().u16(blen).u16(0).u32(OFPP.ANY).u32(0xffffffff).zeros(4).done(), acts]);
      return { bytes: frame(V13, T13.GROUP_MOD, xid, body), kind: `bad-act-gm:${name}` };
    }
    let inst: Buffer;
    if (where === 'instruction') {
      const [iname, ib] = r.weighted<() => [string, Buffer]>([
        [3, () => ['inst-len', tl(4, Buffer.concat([Buffer.alloc(4), good()]), r.pick([0, 4, 7, 12, 0xfff8]))]],
        [2, () => ['inst-unknown', tl(r.pick([0, 7, 8, 0x7fff, 0xffff]), r.bytes(4))]],
        [2, () => ['inst-dup', Buffer.concat([tl(4, Buffer.concat([Buffer.alloc(4), good()])), tl(4, Buffer.concat([Buffer.alloc(4), good()]))])]],
        [2, () => ['goto-back', tl(1, Buffer.from([0, 0, 0, 0]))]],
        [1, () => ['goto-255', tl(1, Buffer.from([255, 0, 0, 0]))]],
        [2, () => ['nested-bad', tl(3, Buffer.concat([Buffer.alloc(4), acts]))]],
        [1, () => ['meter-0', tl(6, u32b(r.pick([0, 0xffffffff, 0xffff0001])))]],
        [1, () => ['metadata-short', tl(2, Buffer.alloc(4), 16)]],
        [1, () => ['order', Buffer.concat([tl(1, Buffer.from([3, 0, 0, 0])), tl(4, Buffer.concat([Buffer.alloc(4), good()]))])]],
      ])();
      inst = ib;
      const fm = this.flowMod13({ instructions: inst });
      return { bytes: frame(V13, T13.FLOW_MOD, xid, fm.body), kind: `bad-inst:${iname}` };
    }
    inst = tl(4, Buffer.concat([Buffer.alloc(4), acts]));
    const fm = this.flowMod13({ instructions: inst });
    return { bytes: frame(V13, T13.FLOW_MOD, xid, fm.body), kind: `bad-act:${name}` };
  }

  badActions10(): FuzzMsg {
    const r = this.rng;
    const acts = r.pick<Buffer>([
      tl(0, w().u16(1).u16(0).done(), r.pick([0, 4, 12, 16, 0xfff8])),
      tl(r.range(12, 0xfffe), r.bytes(4)),
      tl(1, w().u16(0x1000 + r.int(0xf000)).zeros(2).done()),
      tl(8, Buffer.from([0x03, 0, 0, 0])),
      tl(11, r.bytes(12)),
      tl(0, w().u16(r.pick([0, 0xff00, 0xffff])).u16(0).done()),
      Buffer.concat(Array.from({ length: r.range(500, 7000) }, () => tl(0, w().u16(r.range(1, 64)).u16(0).done()))),
    ]);
    const ww = w();
    ww.bytes(this.match10()).u64(0n).u16(0).u16(0).u16(0).u16(0x8000).u32(NO_BUFFER).u16(0xffff).u16(0).bytes(acts);
    return { bytes: frame(V10, T10.FLOW_MOD, this.nextXid(), ww.done()), kind: 'bad-act.v1' };
  }

  unknownType(): FuzzMsg {
    const r = this.rng;
    const t = this.version === V10 ? r.range(22, 255) : r.pick([22, 23, 30, 31, 32, 33, 34, 35, r.range(36, 255)]);
    return { bytes: frame(this.version, t, this.nextXid(), r.bytes(r.skewed(200))), kind: `unknown-type:${t}` };
  }

  /** Huge counts: long echo, thousand-bucket groups, thousand-band meters, many table features, big bitmaps. */
  hugeCount(): FuzzMsg {
    const r = this.rng;
    const xid = this.nextXid();
    const v = this.version;
    const which = v === V10 ? r.pick(['echo', 'hello-elems']) : r.pick(['echo', 'buckets', 'bands', 'table-features', 'hello-elems', 'port-stats']);
    let body: Buffer;
    let type: number;
    switch (which) {
      case 'echo': type = T13.ECHO_REQUEST; body = r.bytes(r.range(30000, 65527)); break;
      case 'buckets': {
        type = T13.GROUP_MOD;
        const one = w().u16(32).u16(1).u32(OFPP.ANY).u32(0xffffffff).zeros(4).bytes(tl(0, w().u32(1).u16(0).zeros(6).done())).done();
        body = Buffer.concat([w().u16(0).u8(r.pick([0, 1])).u8(0).u32(r.range(1, 20)).done(), ...Array(r.range(100, 2040)).fill(one)]);
        break;
      }
      case 'bands': {
        type = T13.METER_MOD;
        const one = w().u16(1).u16(16).u32(1000).u32(10).zeros(4).done();
        body = Buffer.concat([w().u16(0).u16(1).u32(r.range(1, 10)).done(), ...Array(r.range(100, 4090)).fill(one)]);
        break;
      }
      case 'table-features': {
        type = T13.MULTIPART_REQUEST;
        body = Buffer.concat([u16b(12), u16b(0), Buffer.alloc(4), this.tableFeatures(r.range(20, 255), 1)]).subarray(0, 65527);
        break;
      }
      case 'port-stats': {
        // A multipart request that asks the same thing many times over (body ignored by nobody).
        type = T13.MULTIPART_REQUEST;
        body = Buffer.concat([u16b(4), u16b(0), Buffer.alloc(4), ...Array(r.range(2, 4000)).fill(w().u32(OFPP.ANY).zeros(4).done())]);
        break;
      }
      default: {
        type = 0;
        const elems = Array.from({ length: r.range(10, 4000) }, () => pad8(Buffer.concat([u16b(r.pick([1, 2, 0xffff])), u16b(8), r.bytes(4)])));
        body = Buffer.concat(elems);
      }
    }
    return { bytes: frame(v, type, xid, body.subarray(0, 65527)), kind: `huge:${which}` };
  }

  /** Odd but well-formed values: bad commands, table ids, flags, buffer ids, ports, roles, group/meter ids. */
  oddValues13(): FuzzMsg {
    const r = this.rng;
    const xid = this.nextXid();
    const [name, type, body] = r.weighted<() => [string, number, Buffer]>([
      [2, () => { const b = this.flowMod13().body; b[17] = r.range(5, 255); return ['fm-command', T13.FLOW_MOD, b]; }],
      [2, () => { const b = this.flowMod13().body; b[16] = r.pick([0xfe, 0xff]); b[17] = 0; return ['fm-table', T13.FLOW_MOD, b]; }],
      [2, () => { const b = this.flowMod13().body; b.writeUInt16BE(r.range(0x20, 0xffff), 40); return ['fm-flags', T13.FLOW_MOD, b]; }],
      [2, () => { const b = this.flowMod13().body; b.writeUInt32BE(r.pick(EDGE32.filter((x) => x !== NO_BUFFER)), 28); return ['fm-buffer', T13.FLOW_MOD, b]; }],
      [1, () => { const b = this.flowMod13().body; b.writeUInt32BE(r.pick(EDGE32), 32); b.writeUInt32BE(r.pick(EDGE32), 36); return ['fm-out', T13.FLOW_MOD, b]; }],
      [1, () => { const b = this.flowMod13().body; b.writeUInt16BE(r.pick(EDGE16), 18); b.writeUInt16BE(r.pick(EDGE16), 20); return ['fm-timeouts', T13.FLOW_MOD, b]; }],
      [1, () => ['fm-empty', T13.FLOW_MOD, Buffer.alloc(r.pick([0, 8, 40, 47]))]],
      [2, () => ['gm-command', T13.GROUP_MOD, Buffer.concat([w().u16(r.range(3, 0xffff)).u8(0).u8(0).u32(1).done()])]],
      [2, () => ['gm-type', T13.GROUP_MOD, Buffer.concat([w().u16(0).u8(r.range(4, 255)).u8(0).u32(1).done()])]],
      [2, () => ['gm-id', T13.GROUP_MOD, Buffer.concat([w().u16(r.int(3)).u8(r.int(4)).u8(0).u32(r.pick([0xffffff01, 0xfffffffc, 0xffffffff, 0])).done()])]],
      [1, () => ['gm-indirect-2', T13.GROUP_MOD, Buffer.concat([w().u16(0).u8(2).u8(0).u32(r.range(1, 20)).done(), w().u16(16).u16(0).u32(OFPP.ANY).u32(0xffffffff).zeros(4).done(), w().u16(16).u16(0).u32(OFPP.ANY).u32(0xffffffff).zeros(4).done()])]],
      [1, () => ['gm-chain', T13.GROUP_MOD, Buffer.concat([w().u16(0).u8(0).u8(0).u32(r.range(1, 20)).done(), w().u16(24).u16(0).u32(OFPP.ANY).u32(0xffffffff).zeros(4).done(), tl(22, u32b(r.range(1, 20)))])]],
      [2, () => ['mm-id', T13.METER_MOD, Buffer.concat([w().u16(r.int(3)).u16(r.pick([0, 1, 3, 0xf, 0xffff])).u32(r.pick([0, 0xffff0000, 0xfffffffd, 0xfffffffe, 0xffffffff])).done()])]],
      [1, () => ['mm-band', T13.METER_MOD, Buffer.concat([w().u16(0).u16(1).u32(r.range(1, 10)).done(), w().u16(r.pick([0, 2, 3, 0xffff])).u16(r.pick([16, 8, 0, 24])).u32(0).u32(0).zeros(4).done()])]],
      [1, () => ['mm-command', T13.METER_MOD, w().u16(r.range(3, 0xffff)).u16(1).u32(1).done()]],
      [2, () => ['role', T13.ROLE_REQUEST, w().u32(r.pick([4, 5, 0xffffffff, 2, 3])).zeros(4).u64(r.u64()).done()]],
      [1, () => ['set-config', T13.SET_CONFIG, w().u16(r.pick([3, 4, 0xffff, 0x8000])).u16(r.pick(EDGE16)).done()]],
      [2, () => ['port-mod', T13.PORT_MOD, w().u32(r.pick([0, OFPP.ANY, OFPP.CONTROLLER, 0xffffff00, 99])).zeros(4).bytes(this.mac()).zeros(2).u32(r.u32()).u32(r.u32()).u32(r.u32()).zeros(4).done()]],
      [1, () => ['table-mod', T13.TABLE_MOD, w().u8(r.pick([254, 255, 77])).zeros(3).u32(r.u32()).done()]],
      [2, () => ['po-in-port', T13.PACKET_OUT, Buffer.concat([w().u32(r.pick([NO_BUFFER, 0, 1, 0x7fffffff])).u32(r.pick([0, OFPP.ANY, 0xffffff00, 0xfffffff7, OFPP.TABLE, OFPP.NORMAL])).u16(0).zeros(6).done(), this.packet()])]],
      [1, () => ['po-table-loop', T13.PACKET_OUT, Buffer.concat([w().u32(NO_BUFFER).u32(OFPP.CONTROLLER).u16(16).zeros(6).done(), tl(0, w().u32(OFPP.TABLE).u16(0).zeros(6).done()), this.packet()])]],
      [1, () => ['po-no-data', T13.PACKET_OUT, Buffer.concat([w().u32(NO_BUFFER).u32(OFPP.CONTROLLER).u16(16).zeros(6).done(), tl(0, w().u32(OFPP.FLOOD).u16(0).zeros(6).done())])]],
      [2, () => ['mp-type', T13.MULTIPART_REQUEST, Buffer.concat([u16b(r.pick([14, 15, 16, 17, 100, 0xfffe])), u16b(0), Buffer.alloc(4), r.bytes(r.skewed(40))])]],
      [1, () => ['mp-flags', T13.MULTIPART_REQUEST, Buffer.concat([u16b(r.pick([0, 3, 13])), u16b(r.pick([2, 0x8000, 0xffff])), Buffer.alloc(4)])]],
      [1, () => ['mp-body', T13.MULTIPART_REQUEST, Buffer.concat([u16b(r.pick([0, 3, 7, 8, 11, 13])), u16b(0), Buffer.alloc(4), r.bytes(r.range(1, 64))])]],
      [1, () => ['mp-short', T13.MULTIPART_REQUEST, r.bytes(r.range(0, 7))]],
      [1, () => ['fixed-size-wrong', r.pick([T13.FEATURES_REQUEST, T13.BARRIER_REQUEST, T13.GET_CONFIG_REQUEST, T13.ROLE_REQUEST, T13.SET_ASYNC, T13.GET_ASYNC_REQUEST, T13.SET_CONFIG, T13.TABLE_MOD, T13.PORT_MOD]), r.bytes(r.pick([1, 3, 4, 15, 17, 23, 25, 31, 33]))]],
      [1, () => ['switch-to-ctrl', r.pick([T13.FEATURES_REPLY, T13.GET_CONFIG_REPLY, T13.PACKET_IN, T13.FLOW_REMOVED, T13.PORT_STATUS, T13.MULTIPART_REPLY, T13.BARRIER_REPLY, T13.ROLE_REPLY, T13.GET_ASYNC_REPLY]), r.bytes(r.skewed(100))]],
      [1, () => ['error-short', T13.ERROR, r.bytes(r.int(4))]],
    ])();
    return { bytes: frame(V13, type, xid, body), kind: `odd:${name}` };
  }

  oddValues10(): FuzzMsg {
    const r = this.rng;
    const xid = this.nextXid();
    const [name, type, body] = r.weighted<() => [string, number, Buffer]>([
      [2, () => ['fm-command', T10.FLOW_MOD, w().bytes(this.match10()).u64(0n).u16(r.range(5, 0xffff)).zeros(6).u32(NO_BUFFER).u16(0xffff).u16(0).done()]],
      [2, () => ['fm-flags', T10.FLOW_MOD, w().bytes(this.match10()).u64(0n).u16(0).zeros(6).u32(NO_BUFFER).u16(0xffff).u16(r.range(4, 0xffff)).done()]],
      [1, () => ['fm-short', T10.FLOW_MOD, r.bytes(r.range(0, 63))]],
      [2, () => ['stats-type', T10.STATS_REQUEST, Buffer.concat([u16b(r.range(6, 0xfffe)), u16b(0), r.bytes(r.skewed(40))])]],
      [1, () => ['stats-body', T10.STATS_REQUEST, Buffer.concat([u16b(r.pick([0, 1, 3, 4])), u16b(r.pick([0, 1])), r.bytes(r.range(1, 60))])]],
      [1, () => ['po-len', T10.PACKET_OUT, Buffer.concat([w().u32(NO_BUFFER).u16(0xfffd).u16(r.pick([4, 7, 0xffff, 200])).done(), this.packet()])]],
      [1, () => ['po-port', T10.PACKET_OUT, Buffer.concat([w().u32(r.pick([NO_BUFFER, 5])).u16(r.pick([0, 0xff00, 0xffff, 0xfff7])).u16(0).done(), this.packet()])]],
      [1, () => ['port-mod', T10.PORT_MOD, w().u16(r.pick([0, 0xffff, 0xff00, 99])).bytes(this.mac()).u32(r.u32()).u32(r.u32()).u32(r.u32()).zeros(4).done()]],
      [1, () => ['fixed-size-wrong', r.pick([T10.FEATURES_REQUEST, T10.BARRIER_REQUEST, T10.GET_CONFIG_REQUEST, T10.SET_CONFIG, T10.PORT_MOD]), r.bytes(r.pick([1, 3, 5, 23, 25]))]],
      [1, () => ['v13-type-numbers', r.pick([20, 24, 29, 15, 17]), r.bytes(r.skewed(40))]],
    ])();
    return { bytes: frame(V10, type, xid, body), kind: `odd:${name}.v1` };
  }

  /** A request with a big reply: a 64 KB ECHO, or (1.3) every table's features. */
  bigReplyRequest(): FuzzMsg {
    const xid = this.nextXid();
    if (this.version === V13 && this.rng.chance(0.3)) return { bytes: frame(V13, T13.MULTIPART_REQUEST, xid, Buffer.concat([u16b(12), u16b(0), Buffer.alloc(4)])), kind: 'big-reply:table-features' };
    return { bytes: frame(this.version, T13.ECHO_REQUEST, xid, this.rng.bytes(65527)), kind: 'big-reply:echo' };
  }

  /** A HELLO in the middle of the conversation (same, other or no common version). */
  secondHello(): FuzzMsg {
    const r = this.rng;
    const b = r.weighted<() => Buffer>([
      [3, () => this.hello(this.version, this.version === V10 ? undefined : [1, 4])],
      [1, () => this.hello(r.pick([1, 4, 5, 6]), [r.pick([2, 3, 5, 6])])],
      [1, () => this.hello(r.pick([0x7f, 0xff]))],
      [1, () => frame(this.version, 0, this.nextXid(), Buffer.concat([u16b(1), u16b(r.pick([0, 2, 3, 200])), r.bytes(r.int(12))]))],
    ])();
    return { bytes: b, kind: 'hello-again' };
  }

  /** Multipart requests with MORE set and one xid, never finished. */
  multipartContinuation(): FuzzMsg[] {
    const r = this.rng;
    const xid = this.nextXid();
    const n = r.range(2, 40);
    const out: FuzzMsg[] = [];
    const sameType = r.chance(0.7);
    let first: Buffer | undefined;
    for (let i = 0; i < n; i++) {
      let body: Buffer;
      if (!first || !sameType) {
        body = r.chance(0.5) ? Buffer.concat([u16b(12), u16b(1), Buffer.alloc(4), this.tableFeatures(r.range(1, 4))]) : this.multipart13(1).body;
        first ??= body;
      } else body = first;
      out.push({ bytes: frame(V13, T13.MULTIPART_REQUEST, xid, body), kind: 'mp-more' });
    }
    return out;
  }

  /* ---- mutations of a seed (header length kept true) ---------------------- */

  mutate(seed: FuzzMsg): FuzzMsg {
    const r = this.rng;
    const hdr = seed.bytes.subarray(0, 8);
    let body: Buffer = Buffer.from(seed.bytes.subarray(8));
    const op = r.weighted<string>([[5, 'bitflip'], [3, 'insert'], [3, 'delete'], [3, 'truncate'], [2, 'extend'], [4, 'edge16'], [2, 'edge32'], [1, 'dup-chunk'], [2, 'splice']]);
    const at = (n = body.length): number => r.int(Math.max(1, n));
    switch (op) {
      case 'bitflip':
        for (let k = r.range(1, 4); k > 0 && body.length; k--) body[at()] ^= 1 << r.int(8);
        break;
      case 'insert': { const p = at(body.length + 1); body = Buffer.concat([body.subarray(0, p), r.bytes(r.range(1, 16)), body.subarray(p)]); break; }
      case 'delete': { const p = at(); body = Buffer.concat([body.subarray(0, p), body.subarray(p + r.range(1, 16))]); break; }
      case 'truncate': body = body.subarray(0, at()); break;
      case 'extend': body = Buffer.concat([body, r.chance(0.5) ? Buffer.alloc(r.range(1, 64)) : r.bytes(r.range(1, 64))]); break;
      case 'edge16': if (body.length >= 2) body.writeUInt16BE(r.pick(EDGE16), at(body.length - 1) & ~(r.chance(0.7) ? 1 : 0)); break;
      case 'edge32': if (body.length >= 4) body.writeUInt32BE(r.pick(EDGE32), at(body.length - 3) & ~(r.chance(0.7) ? 3 : 0)); break;
      case 'dup-chunk': { const p = at(), n = r.range(1, 32); body = Buffer.concat([body.subarray(0, p + n), body.subarray(p, p + n), body.subarray(p + n)]); break; }
      default: { const other = this.valid().bytes.subarray(8); const p = at(); body = Buffer.concat([body.subarray(0, p), other.subarray(r.int(Math.max(1, other.length)))]); }
    }
    body = body.subarray(0, 65527);
    return { bytes: frame(hdr[0], hdr[1], hdr.readUInt32BE(4), body), kind: `mut:${op}(${seed.kind})` };
  }

  /* ---- stream-level damage: the peer may close after these ---------------- */

  streamLevel(): FuzzMsg {
    const r = this.rng;
    const seed = this.valid();
    const b = Buffer.from(seed.bytes);
    const op = r.weighted<string>([[3, 'len-short'], [3, 'len-long'], [2, 'len-below-8'], [3, 'version'], [2, 'random'], [2, 'body-no-fix']]);
    switch (op) {
      case 'len-short': if (b.length > 8) b.writeUInt16BE(r.range(8, b.length - 1), 2); break;
      case 'len-long': b.writeUInt16BE(Math.min(0xffff, b.length + r.pick([1, 4, 8, r.range(1, 300), 0xffff])), 2); break;
      case 'len-below-8': b.writeUInt16BE(r.int(8), 2); break;
      case 'version': b[0] = r.pick([0, 2, 3, 5, 6, 0x7f, 0x80, 0xff, this.version === V13 ? V10 : V13]); break;
      case 'random': return { bytes: r.bytes(r.range(1, 2000)), kind: 'stream:random' };
      default: {
        const p = 8 + r.int(Math.max(1, b.length - 8));
        return { bytes: r.chance(0.5) ? Buffer.concat([b.subarray(0, p), r.bytes(r.range(1, 9)), b.subarray(p)]) : Buffer.concat([b.subarray(0, p), b.subarray(p + r.range(1, 9))]), kind: `stream:${op}(${seed.kind})` };
      }
    }
    return { bytes: b, kind: `stream:${op}(${seed.kind})` };
  }
}

/* ======================================================================
 * The peer's framing of what we send
 * ==================================================================== */

/** First bytes of one frame as the peer cut it. */
export interface PeerFrame {
  xid: number;
  /** The first HEAD bytes (for an unframeable header: the header and what followed it). */
  head: Buffer;
  /** Its header's length field. */
  length: number;
  /** A header with a length below 8: the stream ends there for the peer. */
  unframeable?: boolean;
}

/**
 * Frames our byte stream as the peer must (length at offset 2). Keeps the
 * first 64 bytes of every frame by xid (enough to check ERROR data), whether
 * the stream became unframeable (a length below 8) and how much of the
 * current frame is still missing.
 */
/** How much of each frame is kept for comparing with ERROR data (OVS sends the whole message back). */
const HEAD = 256;

export class PeerFramer {
  private partial: Buffer = Buffer.alloc(0);
  readonly byXid = new Map<number, PeerFrame[]>();
  readonly frames: Buffer[] = [];
  /** Bytes from the first unframeable header on (the first HEAD). */
  unframeable?: Buffer;
  framesSeen = 0;

  /** `keepFrames`: also keep whole frames (for the valid-request bookkeeping and replays). */
  constructor(private readonly keepFrames = true) {}

  push(data: Buffer): void {
    if (this.unframeable) {
      if (this.unframeable.length < HEAD) this.unframeable = Buffer.concat([this.unframeable, data]).subarray(0, HEAD);
      this.registerUnframeable();
      return;
    }
    let buf = this.partial.length ? Buffer.concat([this.partial, data]) : data;
    while (buf.length >= 4) {
      const len = buf.readUInt16BE(2);
      if (len < 8) {
        this.unframeable = Buffer.from(buf.subarray(0, HEAD));
        this.partial = Buffer.alloc(0);
        this.registerUnframeable();
        return;
      }
      if (buf.length < len) break;
      const f = buf.subarray(0, len);
      this.add(f.readUInt32BE(4), Buffer.from(f.subarray(0, HEAD)), len);
      if (this.keepFrames) this.frames.push(Buffer.from(f));
      this.framesSeen++;
      buf = buf.subarray(len);
    }
    this.partial = Buffer.from(buf);
  }

  /** The bad header is known by its xid once its 8 bytes are out (the peer may only say BAD_LEN with those). */
  private unframeableAdded = false;
  private registerUnframeable(): void {
    if (this.unframeableAdded || !this.unframeable || this.unframeable.length < 8) return;
    this.unframeableAdded = true;
    this.add(this.unframeable.readUInt32BE(4), this.unframeable, this.unframeable.readUInt16BE(2), true);
  }

  private add(xid: number, head: Buffer, length: number, unframeable = false): void {
    let l = this.byXid.get(xid);
    if (!l) this.byXid.set(xid, (l = []));
    // Desynchronised garbage repeats one message (and xids like 0) thousands of times: keep each distinct one once,
    // so a reply that lags far behind still finds its message; the most recent 512 distinct ones per xid.
    if (l.some((f) => f.length === length && !!f.unframeable === unframeable && f.head.equals(head))) return;
    if (l.length >= 512) l.shift();
    l.push(unframeable ? { xid, head, length, unframeable } : { xid, head, length });
  }

  /** Bytes that complete the current partial frame (none when aligned or unframeable). */
  filler(version: number): Buffer {
    if (this.unframeable || !this.partial.length) return Buffer.alloc(0);
    const p = this.partial;
    const out: number[] = [];
    const byteAt = (i: number): number => (i < p.length ? p[i] : out[i - p.length]);
    // Header bytes: make the length 8 (an empty ECHO_REQUEST) where we still can; otherwise keep what was sent.
    const tmpl = [version, T13.ECHO_REQUEST, 0, 8, 0xfe, 0xed, 0xfa, 0xce];
    for (let i = p.length; i < 4; i++) out.push(i === 3 && byteAt(2) !== 0 ? 0 : tmpl[i]);
    const len = (byteAt(2) << 8) | byteAt(3);
    for (let i = Math.max(p.length, 4); i < len; i++) out.push(i < 8 ? tmpl[i] : 0);
    return Buffer.from(out);
  }

  get aligned(): boolean { return !this.unframeable && this.partial.length === 0; }
}

/* ======================================================================
 * Checking what the peer sends
 * ==================================================================== */

export type ViolationKind =
  | 'malformed-reply' | 'reply-stream-unframeable' | 'bad-error-code' | 'error-data-mismatch' | 'error-without-data'
  | 'unexpected-xid' | 'reply-version' | 'echo-data' | 'missing-reply' | 'hang' | 'write-stall' | 'connect-failed'
  | 'witness' | 'no-hello' | 'daemon-died' | 'verify';

export interface Violation { kind: ViolationKind; conn: string; detail: string; reproHex?: string }

/** Highest code per error type, OpenFlow 1.3 and 1.0 numbering. */
const ERR13_MAX: Record<number, number> = { 0: 1, 1: 13, 2: 15, 3: 8, 4: 11, 5: 7, 6: 14, 7: 4, 8: 2, 9: 2, 10: 2, 11: 2, 12: 11, 13: 5 };
const ERR10_MAX: Record<number, number> = { 0: 1, 1: 8, 2: 8, 3: 5, 4: 1, 5: 2 };
const NXET_VENDOR = 0xb0c2;       // OVS's OpenFlow 1.0 vendor error (nx_vendor_error, then the message)

const ET13 = ['HELLO_FAILED', 'BAD_REQUEST', 'BAD_ACTION', 'BAD_INSTRUCTION', 'BAD_MATCH', 'FLOW_MOD_FAILED', 'GROUP_MOD_FAILED', 'PORT_MOD_FAILED', 'TABLE_MOD_FAILED', 'QUEUE_OP_FAILED', 'SWITCH_CONFIG_FAILED', 'ROLE_REQUEST_FAILED', 'METER_MOD_FAILED', 'TABLE_FEATURES_FAILED'];
const ET10 = ['HELLO_FAILED', 'BAD_REQUEST', 'BAD_ACTION', 'FLOW_MOD_FAILED', 'PORT_MOD_FAILED', 'QUEUE_OP_FAILED'];
const CODES13: Record<number, readonly string[]> = {
  0: ['INCOMPATIBLE', 'EPERM'],
  1: ['BAD_VERSION', 'BAD_TYPE', 'BAD_MULTIPART', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'EPERM', 'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN', 'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT', 'BAD_PACKET', 'MULTIPART_BUFFER_OVERFLOW'],
  2: ['BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT', 'EPERM', 'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER', 'BAD_TAG', 'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT'],
  3: ['UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA', 'UNSUP_METADATA_MASK', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM'],
  4: ['BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK', 'BAD_WILDCARDS', 'BAD_FIELD', 'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM'],
  5: ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS'],
  6: ['GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED', 'OUT_OF_GROUPS', 'OUT_OF_BUCKETS', 'CHAINING_UNSUPPORTED', 'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP', 'CHAINED_GROUP', 'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET', 'BAD_WATCH', 'EPERM'],
  7: ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM'],
  8: ['BAD_TABLE', 'BAD_CONFIG', 'EPERM'],
  9: ['BAD_PORT', 'BAD_QUEUE', 'EPERM'],
  10: ['BAD_FLAGS', 'BAD_LEN', 'EPERM'],
  11: ['STALE', 'UNSUP', 'BAD_ROLE'],
  12: ['UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER', 'BAD_COMMAND', 'BAD_FLAGS', 'BAD_RATE', 'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS', 'OUT_OF_BANDS'],
  13: ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM'],
};
const CODES10: Record<number, readonly string[]> = {
  0: ['INCOMPATIBLE', 'EPERM'],
  1: ['BAD_VERSION', 'BAD_TYPE', 'BAD_STAT', 'BAD_VENDOR', 'BAD_SUBTYPE', 'EPERM', 'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN'],
  2: ['BAD_TYPE', 'BAD_LEN', 'BAD_VENDOR', 'BAD_VENDOR_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT', 'EPERM', 'TOO_MANY', 'BAD_QUEUE'],
  3: ['ALL_TABLES_FULL', 'OVERLAP', 'EPERM', 'BAD_EMERG_TIMEOUT', 'BAD_COMMAND', 'UNSUPPORTED'],
  4: ['BAD_PORT', 'BAD_HW_ADDR'],
  5: ['BAD_PORT', 'BAD_QUEUE', 'EPERM'],
};

/** "BAD_MATCH/BAD_PREREQ (4/9)" in the numbering of `version`. */
export function errorName(version: number, type: number, code: number, experimenter?: number): string {
  if (type === 0xffff) return `EXPERIMENTER(0x${(experimenter ?? 0).toString(16)})/${code}`;
  if (type === NXET_VENDOR) return `NX_VENDOR/${code}`;
  const [ets, codes] = version === V10 ? [ET10, CODES10] : [ET13, CODES13];
  return `${ets[type] ?? `type${type}`}/${codes[type]?.[code] ?? `code${code}`}${version === V10 ? ' (1.0)' : ''}`;
}

/** Why an ERROR's type/code is not one its version defines, or undefined. */
function badErrorCode(version: number, e: of.ErrorMsg): string | undefined {
  if (e.errType === 0xffff) return version === V10 ? 'OFPET_EXPERIMENTER in OpenFlow 1.0' : undefined;
  if (version === V10 && e.errType === NXET_VENDOR) return undefined;
  const max = (version === V10 ? ERR10_MAX : ERR13_MAX)[e.errType];
  if (max === undefined) return `error type ${e.errType} does not exist in version ${version}`;
  if (e.code > max) return `error code ${e.code} does not exist for type ${e.errType} in version ${version}`;
  return undefined;
}

/* ======================================================================
 * Connections
 * ==================================================================== */

export type Target = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };
export const targetName = (t: Target): string => (t.kind === 'tcp' ? `tcp:${t.host}:${t.port}` : `unix:${t.path}`);

export function parseTarget(s: string): Target {
  const m = /^tcp:([^:]+):(\d+)$/.exec(s);
  if (m) return { kind: 'tcp', host: m[1], port: Number(m[2]) };
  if (s.startsWith('unix:')) return { kind: 'unix', path: s.slice(5) };
  throw new Error(`target ${s}: expected tcp:IP:PORT or unix:PATH`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function connect(t: Target, timeoutMs = 5000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = t.kind === 'tcp' ? net.connect({ host: t.host, port: t.port }) : net.connect({ path: t.path });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`connect to ${targetName(t)} timed out`)); }, timeoutMs);
    s.once('connect', () => { clearTimeout(timer); s.setNoDelay?.(true); resolve(s); });
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** Waits until `connect` succeeds (a listener appearing), or throws after `timeoutMs`. */
export async function waitListening(t: Target, timeoutMs = 10000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try { (await connect(t, 1000)).destroy(); return; } catch (e) {
      if (Date.now() > until) throw new Error(`${targetName(t)} is not accepting connections: ${(e as Error).message}`);
      await sleep(100);
    }
  }
}

/**
 * The receive side of a connection: frames and decodes everything, keeps
 * the decoded messages for waiters, notices the peer closing.
 */
export class OfClient {
  readonly framer = new of.OfFramer();
  closed = false;
  closedByPeer = false;
  /** Replies in arrival order (msg undefined: did not decode); only the undecodable ones unless `keep`. */
  readonly received: Array<{ raw: Buffer; msg?: of.OfMessage; err?: string }> = [];
  streamError?: string;
  private waiters: Array<{ pred: (m: of.OfMessage) => boolean; done: (m: of.OfMessage | 'closed') => void }> = [];
  private localClose = false;

  constructor(readonly sock: net.Socket, readonly onMessage?: (raw: Buffer, msg: of.OfMessage | undefined, err?: string) => void, private readonly keep = true) {
    sock.on('data', (d: Buffer) => this.onData(d));
    const closed = (): void => {
      if (!this.closed) { this.closed = true; this.closedByPeer = !this.localClose; }
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w.done('closed');
    };
    sock.on('end', closed);
    sock.on('close', closed);
    sock.on('error', () => closed());
  }

  private onData(d: Buffer): void {
    let frames: Buffer[];
    try { frames = this.framer.push(d); } catch (e) {
      this.streamError ??= `reply stream unframeable: ${(e as Error).message}`;
      this.sock.destroy();
      return;
    }
    for (const raw of frames) {
      let msg: of.OfMessage | undefined, err: string | undefined;
      try { msg = of.decodeMessage(raw); } catch (e) { err = (e as Error).message; }
      if (this.keep || !msg) this.received.push({ raw, msg, err });
      this.onMessage?.(raw, msg, err);
      if (msg && this.waiters.length) {
        const m = msg;
        const hit = this.waiters.filter((w) => w.pred(m));
        if (hit.length) { this.waiters = this.waiters.filter((w) => !hit.includes(w)); for (const w of hit) w.done(m); }
      }
    }
  }

  /**
   * The first message matching `pred`: among those already kept (from index
   * `from`, only with `keep`), else the next to arrive; or 'closed' / 'timeout'.
   */
  waitFor(pred: (m: of.OfMessage) => boolean, timeoutMs: number, from = 0): Promise<of.OfMessage | 'closed' | 'timeout'> {
    for (let i = from; i < this.received.length; i++) { const m = this.received[i].msg; if (m && pred(m)) return Promise.resolve(m); }
    if (this.closed) return Promise.resolve('closed');
    return new Promise((res) => {
      const w = { pred, done: (m: of.OfMessage | 'closed'): void => { clearTimeout(t); res(m); } };
      const t = setTimeout(() => { this.waiters = this.waiters.filter((x) => x !== w); res('timeout'); }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Writes and waits for the kernel to take it (backpressure): 'stall' if it did not within `timeoutMs`. */
  async write(b: Buffer, timeoutMs = 20000): Promise<'ok' | 'closed' | 'stall'> {
    if (this.closed || this.sock.destroyed) return 'closed';
    if (this.sock.write(b)) return 'ok';
    return this.waitDrain(timeoutMs);
  }

  /** Waits until what was written has gone to the kernel. */
  waitDrain(timeoutMs: number): Promise<'ok' | 'closed' | 'stall'> {
    if (this.closed || this.sock.destroyed) return Promise.resolve('closed');
    if (!this.sock.writableNeedDrain) return Promise.resolve('ok');
    return new Promise((res) => {
      const done = (v: 'ok' | 'closed' | 'stall'): void => { clearTimeout(t); this.sock.off('drain', onDrain); this.sock.off('close', onClose); res(v); };
      const onDrain = (): void => done('ok');
      const onClose = (): void => done('closed');
      const t = setTimeout(() => done('stall'), timeoutMs);
      this.sock.on('drain', onDrain);
      this.sock.on('close', onClose);
    });
  }

  close(): void { this.localClose = true; this.sock.destroy(); }
}

/** A HELLO exchange on a fresh well-behaved connection; returns the client and the negotiated version. */
export async function openSession(t: Target, versions: number[] = [V10, V13], timeoutMs = 5000): Promise<{ c: OfClient; version: number }> {
  const c = new OfClient(await connect(t, timeoutMs));
  const hw = w();
  of.encodeHelloBody(hw, { versions });
  await c.write(frame(Math.max(...versions), 0, 1, hw.done()));
  const h = await c.waitFor((m) => m.type === 'hello', timeoutMs);
  if (typeof h === 'string') { c.close(); throw new Error(`no HELLO from ${targetName(t)} (${h})`); }
  const version = of.negotiateVersion(versions, h.version, h as of.HelloMsg);
  if (version === undefined) { c.close(); throw new Error(`no common version with ${targetName(t)}`); }
  return { c, version };
}

/* ---- the witness ------------------------------------------------------ */

/**
 * One long-lived, well-behaved connection: each roundTrip() sends an ECHO
 * and a BARRIER and wants ECHO_REPLY (same xid and data) then BARRIER_REPLY
 * (same xid), in that order. It answers the peer's ECHO_REQUESTs (keepalive
 * probes) so an idle pause does not get it dropped.
 */
export class Witness {
  private xid = 0x77000000;
  readonly rtts: number[] = [];
  readonly problems: string[] = [];
  private constructor(readonly c: OfClient, readonly version: number, readonly name: string) {}

  static async open(t: Target): Promise<Witness> {
    const c = new OfClient(await connect(t), undefined, true);
    const hw = w();
    of.encodeHelloBody(hw, { versions: [V13] });
    await c.write(frame(V13, 0, 0x77000000, hw.done()));
    const h = await c.waitFor((m) => m.type === 'hello', 5000);
    if (typeof h === 'string') { c.close(); throw new Error(`witness: no HELLO (${h})`); }
    const wit = new Witness(c, V13, targetName(t));
    c.sock.on('data', () => wit.answerProbes());
    return wit;
  }

  private answered = 0;
  private answerProbes(): void {
    for (; this.answered < this.c.received.length; this.answered++) {
      const m = this.c.received[this.answered].msg;
      if (m?.type === 'echo_request') void this.c.write(of.encodeMessage({ type: 'echo_reply', version: m.version, xid: m.xid, data: m.data }));
    }
  }

  get alive(): boolean { return !this.c.closed; }

  /** One ECHO + BARRIER round trip; returns the time in ms or throws with what went wrong. */
  async roundTrip(timeoutMs = 10000): Promise<number> {
    const from = this.c.received.length;
    const x1 = ++this.xid, x2 = ++this.xid;
    const data = Buffer.from(x1.toString(16).padStart(8, '0'));
    const t0 = process.hrtime.bigint();
    const wr = await this.c.write(Buffer.concat([frame(this.version, T13.ECHO_REQUEST, x1, data), frame(this.version, T13.BARRIER_REQUEST, x2, Buffer.alloc(0))]));
    if (wr !== 'ok') throw new Error(`witness write: ${wr}`);
    const r2 = await this.c.waitFor((m) => m.type === 'barrier_reply' && m.xid === x2, timeoutMs, from);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r2 === 'closed') throw new Error('witness connection closed by the peer');
    if (r2 === 'timeout') throw new Error(`witness: no BARRIER_REPLY xid ${x2} within ${timeoutMs} ms`);
    // Everything that arrived for this round: the echo first, nothing naming other xids except async messages.
    let echoAt = -1, barrierAt = -1;
    for (let i = from; i < this.c.received.length; i++) {
      const { raw, msg, err } = this.c.received[i];
      if (!msg) throw new Error(`witness got a malformed message (${err}): ${raw.toString('hex')}`);
      if (msg.type === 'echo_reply' && msg.xid === x1) {
        if (!msg.data.equals(data)) throw new Error(`witness echo data ${msg.data.toString('hex')} != ${data.toString('hex')}`);
        echoAt = i;
      } else if (msg.type === 'barrier_reply' && msg.xid === x2) barrierAt = i;
      else if (!ASYNC.has(msg.type) && msg.type !== 'echo_request') throw new Error(`witness got unexpected ${msg.type} xid ${msg.xid}: ${raw.toString('hex').slice(0, 128)}`);
    }
    if (echoAt < 0) throw new Error(`witness: BARRIER_REPLY came but no ECHO_REPLY xid ${x1}`);
    if (echoAt > barrierAt) throw new Error('witness: ECHO_REPLY after the BARRIER_REPLY that followed it');
    this.rtts.push(ms);
    return ms;
  }

  close(): void { this.c.close(); }
}

/** Messages a switch sends on its own (xid unrelated to anything we sent). */
const ASYNC: ReadonlySet<string> = new Set(['packet_in', 'flow_removed', 'port_status', 'experimenter', 'echo_request']);

/* ---- one fuzz connection ------------------------------------------------ */

export interface ConnPlan {
  id: number;
  target: Target;
  /** The version its messages speak. */
  version: number;
  hello: 'normal' | 'none' | 'plain' | 'incompatible' | 'late' | 'garbage';
  /** 'paused': does not read its replies while it sends (and asks for big ones), as a stuck controller would. */
  reader: 'normal' | 'paused';
  messages: number;
  seed: number;
  fatalRate: number;
}

export interface ConnResult {
  plan: ConnPlan;
  sent: number;
  bytes: number;
  replies: number;
  errors: Map<string, number>;
  closedByPeer: boolean;
  answered: boolean;
  negotiated?: number;
  violations: Violation[];
  kinds: Map<string, number>;
  /** Well-formed requests left unanswered when the peer closed the connection (not a violation: see above). */
  unansweredBeforeClose: number;
}

/** A plan for connection `id` of run `seed`: everything derives from them. */
export function planConnection(seed: number, id: number, target: Target, messages: [number, number], fatalRate = 0.015): ConnPlan {
  const r = new Rng(deriveSeed(seed, id, 1));
  const version = r.chance(0.75) ? V13 : V10;
  const hello = r.weighted<ConnPlan['hello']>([[85, 'normal'], [4, 'plain'], [3, 'none'], [3, 'late'], [3, 'incompatible'], [2, 'garbage']]);
  const reader = r.chance(0.03) ? 'paused' : 'normal';
  return { id, target, version, hello, reader, messages: r.range(messages[0], messages[1]), seed: deriveSeed(seed, id, 2), fatalRate };
}

/** The HELLO part of a plan's byte stream. */
function helloBytes(p: ConnPlan, f: OfFuzzer): Buffer[] {
  switch (p.hello) {
    case 'normal': return [p.version === V13 ? f.hello(V13, f.rng.chance(0.5) ? [V10, V13] : [V13]) : f.hello(V10)];
    case 'plain': return [f.hello(p.version)];
    case 'incompatible': return [f.rng.chance(0.5) ? f.hello(f.rng.pick([4, 5, 6]), [f.rng.pick([2, 3, 5, 6])]) : f.hello(f.rng.pick([2, 3]))];
    case 'garbage': return [frame(p.version, 0, f.nextXid(), f.rng.bytes(f.rng.range(1, 40)))];
    default: return [];    // 'none' and 'late': the first message is something else
  }
}

/**
 * The exact bytes a plan sends (before the closing filler/ECHO), as items.
 * The sender cuts their concatenation into segments; a replay of the same
 * plan sends the same bytes.
 */
export function* planItems(p: ConnPlan): Generator<FuzzMsg> {
  const f = new OfFuzzer(new Rng(p.seed), p.version, (p.id & 0xfff) << 20, { fatalRate: p.fatalRate });
  for (const b of helloBytes(p, f)) yield { bytes: b, kind: 'hello' };
  let n = 0;
  while (n < p.messages) {
    if (p.hello === 'late' && n === 3) { yield { bytes: f.hello(p.version, p.version === V13 ? [V13] : undefined), kind: 'hello-late' }; }
    // A reader that does not read asks for big replies: 64 KB echoes and full table features.
    if (p.reader === 'paused' && f.rng.chance(0.3)) { yield f.bigReplyRequest(); n++; continue; }
    for (const m of f.next()) { yield m; n++; }
  }
}

/** Every byte a plan sends before the closing ECHO (for reproducers). */
export function connectionBytes(p: ConnPlan): Buffer {
  return Buffer.concat([...planItems(p)].map((m) => m.bytes));
}

export interface SendOptions {
  /** Probability of a pause after a write, and its maximum length (ms). */
  pauseRate?: number;
  maxPauseMs?: number;
  /** How long to wait for the closing ECHO_REPLY or the close. */
  syncTimeoutMs?: number;
  /** Keep every reply (for debugging); by default only counts are kept. */
  keepReplies?: boolean;
}

/** Segment sizes: single bytes, parts of a message, several messages. */
function segmentSize(r: Rng): number {
  return r.weighted<() => number>([
    [15, () => r.range(1, 7)], [25, () => r.range(8, 256)], [40, () => r.range(257, 4096)], [20, () => r.range(4097, 32768)],
  ])();
}

/**
 * Runs one fuzz connection: HELLO per plan, the plan's messages cut into
 * random segments with small random pauses, then re-aligns the stream (if a
 * length lie left a frame open) and sends an ECHO: the peer must answer it
 * or close the connection within syncTimeoutMs. Every message received is
 * checked as it arrives.
 */
export async function runFuzzConnection(p: ConnPlan, opts: SendOptions = {}): Promise<ConnResult> {
  const res: ConnResult = { plan: p, sent: 0, bytes: 0, replies: 0, errors: new Map(), closedByPeer: false, answered: false, violations: [], kinds: new Map(), unansweredBeforeClose: 0 };
  const name = `conn#${p.id}(${targetName(p.target)}, v${p.version}, hello=${p.hello}${p.reader === 'paused' ? ', paused reader' : ''})`;
  const viol = (kind: ViolationKind, detail: string): void => { if (res.violations.length < 20) res.violations.push({ kind, conn: name, detail }); };
  const segRng = new Rng(deriveSeed(p.seed, 7));
  const peer = new PeerFramer();
  let sock: net.Socket;
  try { sock = await connect(p.target); } catch (e) {
    viol('connect-failed', (e as Error).message);
    return res;
  }
  let peerHello: of.HelloMsg | undefined;
  let ourHello: { version: number; body: of.HelloBody } | undefined;
  const answeredXids = new Set<number>();      // xids of every reply and error (not async messages)
  const syncXid = 0x5ace0000 + (p.id & 0xffff);
  const negotiated = (): number | undefined => {
    if (!peerHello || !ourHello) return undefined;
    const ours = ourHello.body.versions ?? Array.from({ length: ourHello.version }, (_, i) => i + 1);
    const theirs = peerHello.versions ?? Array.from({ length: peerHello.version }, (_, i) => i + 1);
    if (ourHello.body.versions && peerHello.versions) {
      const common = ours.filter((v) => theirs.includes(v));
      return common.length ? Math.max(...common) : undefined;
    }
    const v = Math.min(ourHello.version, peerHello.version);
    return ours.includes(v) && theirs.includes(v) ? v : undefined;
  };

  const check = (raw: Buffer, msg: of.OfMessage | undefined, err?: string): void => {
    res.replies++;
    if (!msg) { viol('malformed-reply', `${err}: ${raw.toString('hex').slice(0, 256)}`); return; }
    if (msg.type === 'hello') { peerHello ??= msg; return; }
    if (!ASYNC.has(msg.type)) answeredXids.add(msg.xid);
    const nv = negotiated();
    if (msg.type === 'error') {
      const key = errorName(msg.version, msg.errType, msg.code, msg.experimenter);
      res.errors.set(key, (res.errors.get(key) ?? 0) + 1);
      const bad = badErrorCode(msg.version, msg);
      if (bad) viol('bad-error-code', `${bad}: ${raw.toString('hex').slice(0, 256)}`);
      if (msg.errType === 0 /* HELLO_FAILED: text */) return;
      let data = msg.data;
      if (msg.version === V10 && msg.errType === NXET_VENDOR) data = data.subarray(8);
      if (!data.length) { viol('error-without-data', `${key} xid ${msg.xid} carries no bytes of the offending message`); return; }
      // OpenFlow 1.3.5 7.4.4: the data is at least the first 64 bytes of the failed request (OVS sends all of it).
      const cands = peer.byXid.get(msg.xid) ?? [];
      const ok = cands.some((f) => {
        const n = Math.min(data.length, f.head.length);
        if (!f.head.subarray(0, n).equals(data.subarray(0, n))) return false;
        // An unframeable header has no "message" beyond its 8 bytes: those at least.
        if (f.unframeable) return data.length >= 8 && data.length <= f.head.length;
        return data.length <= f.length && data.length >= Math.min(64, f.length);
      });
      if (!ok) {
        viol('error-data-mismatch', `${key} xid 0x${msg.xid.toString(16)} data ${data.toString('hex').slice(0, 128)} is not the start of any message we sent with that xid` +
          (cands.length ? ` (sent: ${cands.map((f) => f.head.toString('hex').slice(0, 64)).join(', ')})` : ' (no message with that xid)'));
      }
    } else if (!ASYNC.has(msg.type)) {
      if (!peer.byXid.has(msg.xid) && msg.xid !== syncXid) viol('unexpected-xid', `${msg.type} xid 0x${msg.xid.toString(16)} answers nothing we sent`);
      if (msg.type === 'echo_reply') {
        // The data of some ECHO_REQUEST with this xid, as the peer framed it.
        const reqs = (peer.byXid.get(msg.xid) ?? []).filter((f) => f.head[1] === T13.ECHO_REQUEST && f.length >= 8);
        const same = (f: PeerFrame): boolean => f.length - 8 === msg.data.length && f.head.subarray(8).equals(msg.data.subarray(0, f.head.length - 8));
        if (reqs.length && !reqs.some(same)) {
          viol('echo-data', `echo_reply xid 0x${msg.xid.toString(16)} data ${msg.data.toString('hex').slice(0, 64)} (${msg.data.length} bytes) is not the data of the request (${reqs.map((f) => `${f.length - 8} bytes ${f.head.subarray(8).toString('hex').slice(0, 64)}`).join(', ')})`);
        }
      }
    }
    // A reply speaks the negotiated version, or (as OVS does for HELLO/ECHO/ERROR) that of the message it answers.
    // An error for a message in a version nobody speaks may fall back to 1.0 (OVS does).
    const answersVersion = (peer.byXid.get(msg.xid) ?? []).some((f) => f.head[0] === msg.version ||
      (msg.type === 'error' && msg.version === V10 && f.head[0] !== V13));
    if (nv !== undefined && msg.version !== nv && !answersVersion) viol('reply-version', `${msg.type} in version ${msg.version} on a connection that negotiated ${nv}: ${raw.toString('hex').slice(0, 128)}`);
  };
  const c = new OfClient(sock, check, opts.keepReplies ?? false);
  // A paused reader reads nothing until the peer pushes back (a write that does not drain) or the closing ECHO.
  let paused = p.reader === 'paused';
  if (paused) sock.pause();

  // Send: items into a byte queue, cut into segments.
  const pauseRate = opts.pauseRate ?? 0.05, maxPause = opts.maxPauseMs ?? 3;
  let queue: Buffer[] = [], queued = 0;
  let stopped = false;
  const boundaries: number[] = [];        // end offset of each item in the stream
  const flush = async (all: boolean): Promise<void> => {
    while (!stopped && queued > 0) {
      const want = segmentSize(segRng);
      if (!all && queued < want) return;
      const cat = queue.length === 1 ? queue[0] : Buffer.concat(queue);
      const seg = cat.subarray(0, Math.min(want, cat.length));
      const rest = cat.subarray(seg.length);
      queue = rest.length ? [rest] : [];
      queued = rest.length;
      peer.push(seg);
      let wr = await c.write(seg, paused ? 3000 : 20000);
      if (wr === 'stall' && paused) {
        // The peer stopped reading because we do not: fair (TCP backpressure). Read again and go on.
        paused = false;
        sock.resume();
        wr = await c.waitDrain(20000);
      }
      if (wr === 'stall') { viol('write-stall', `the peer stopped reading: ${res.bytes} bytes in, ${c.sock.writableLength} waiting`); stopped = true; return; }
      if (wr === 'closed') { stopped = true; return; }
      res.bytes += seg.length;
      while (res.sent < boundaries.length && boundaries[res.sent] <= res.bytes) res.sent++;
      if (segRng.chance(pauseRate)) await sleep(segRng.int(maxPause + 1));
    }
  };
  let total = 0;
  for (const item of planItems(p)) {
    if (stopped || c.closed) break;
    if (item.kind.startsWith('hello') && !ourHello && item.bytes.length >= 8 && item.bytes[1] === 0) {
      try { ourHello = { version: item.bytes[0], body: of.decodeHelloBody(new of.OfReader(item.bytes, 8, item.bytes.readUInt16BE(2) <= item.bytes.length ? item.bytes.readUInt16BE(2) : item.bytes.length), item.bytes[0]) }; } catch { ourHello = { version: item.bytes[0], body: {} }; }
    }
    const k = item.kind.replace(/\(.*$/, '').replace(/:\d+$/, '');
    res.kinds.set(k, (res.kinds.get(k) ?? 0) + 1);
    queue.push(item.bytes); queued += item.bytes.length; total += item.bytes.length;
    boundaries.push(total);
    await flush(false);
  }
  await flush(true);

  if (paused) { paused = false; sock.resume(); }
  // The closing ECHO: re-align first; an unframeable stream must be closed by the peer.
  if (!stopped && !c.closed) {
    const v = negotiated() ?? p.version;
    const fill = peer.filler(v);
    const echo = frame(v, T13.ECHO_REQUEST, syncXid, Buffer.from('fuzzsync'));
    if (!peer.unframeable) peer.push(Buffer.concat([fill, echo]));
    const wr = await c.write(Buffer.concat([fill, echo]));
    if (wr === 'stall') viol('write-stall', 'the peer stopped reading before the closing ECHO');
  }
  const timeout = opts.syncTimeoutMs ?? 15000;
  const got = await c.waitFor((m) => m.type === 'echo_reply' && m.xid === syncXid, timeout);
  if (got === 'timeout') {
    viol('hang', `neither ECHO_REPLY xid 0x${syncXid.toString(16)} nor a close within ${timeout} ms after ${res.bytes} bytes ` +
      `(stream ${peer.unframeable ? 'unframeable: the peer should have closed' : 'aligned'}, ${peer.framesSeen} frames)`);
  } else if (got !== 'closed') res.answered = true;
  if (c.streamError) viol('reply-stream-unframeable', c.streamError);
  res.closedByPeer = c.closedByPeer;
  res.negotiated = negotiated();
  if (!peerHello && !c.closedByPeer) viol('no-hello', 'the peer never sent HELLO');

  // Requests the peer must have answered: every well-formed ECHO/BARRIER/FEATURES/GET_CONFIG in the negotiated
  // version, on a connection that began with HELLO and answered the closing ECHO. On a connection the peer closed,
  // those before the first thing that justifies a close (an unframeable header, or a message in another version, on
  // which OVS closes) are only counted: OVS too loses replies it had queued when it drops a connection.
  if (res.negotiated !== undefined && (res.answered || res.closedByPeer) && peer.frames.length && peer.frames[0][1] === 0) {
    let end = peer.frames.length;
    if (!res.answered) {
      const other = peer.frames.findIndex((f) => f[0] !== res.negotiated && f[1] > 4);
      end = other >= 0 ? other : peer.unframeable ? peer.frames.length : 0;
    }
    for (const f of peer.frames.slice(1, end)) {
      if (f[0] !== res.negotiated) continue;
      let m: of.OfMessage;
      try { m = of.decodeMessage(f); } catch { continue; }
      if ((m.type === 'echo_request' || m.type === 'barrier_request' || m.type === 'features_request' || m.type === 'get_config_request') && !answeredXids.has(m.xid)) {
        if (!res.answered) { res.unansweredBeforeClose++; continue; }
        viol('missing-reply', `${m.type} xid 0x${m.xid.toString(16)} (${f.toString('hex').slice(0, 64)}) got no reply or error on a connection that answered the closing ECHO`);
      }
    }
  }
  c.close();
  return res;
}

/* ======================================================================
 * After the fuzz: a fresh connection must still add and dump a flow
 * ==================================================================== */

/**
 * FLOW_MOD add (cookie, priority, ip,nw_dst match, output:NORMAL) + BARRIER,
 * then a FLOW stats request for that cookie: the flow must be listed.
 * Deletes it again. Returns what went wrong, or undefined.
 */
export async function verifyFlowRoundTrip(t: Target, timeoutMs = 10000): Promise<string | undefined> {
  let s: { c: OfClient; version: number };
  try { s = await openSession(t, [V13]); } catch (e) { return (e as Error).message; }
  const { c } = s;
  try {
    const cookie = 0x0fa2f00dcafe0001n, priority = 0x7ace;
    const match = ofpMatch(Buffer.concat([oxm(B, 5, u16b(ETH_IP)), oxm(B, 12, Buffer.from([10, 99, 88, 77]))]));
    const inst = tl(4, Buffer.concat([Buffer.alloc(4), tl(0, w().u32(OFPP.NORMAL).u16(0).zeros(6).done())]));
    const fm = (cmd: number, xid: number): Buffer => frame(V13, T13.FLOW_MOD, xid, Buffer.concat([
      w().u64(cookie).u64(cmd === 0 ? 0n : 0xffffffffffffffffn).u8(cmd === 0 ? 0 : 0xff).u8(cmd).u16(0).u16(0).u16(priority)
        .u32(NO_BUFFER).u32(OFPP.ANY).u32(0xffffffff).u16(0).zeros(2).done(), match, cmd === 0 ? inst : Buffer.alloc(0)]));
    await c.write(Buffer.concat([fm(0, 0x71), frame(V13, T13.BARRIER_REQUEST, 0x72, Buffer.alloc(0))]));
    const b = await c.waitFor((m) => (m.type === 'barrier_reply' && m.xid === 0x72) || (m.type === 'error' && m.xid === 0x71), timeoutMs);
    if (typeof b === 'string') return `FLOW_MOD + BARRIER: ${b}`;
    if (b.type === 'error') return `FLOW_MOD add failed: ${errorName(V13, b.errType, b.code)}`;
    const req = Buffer.concat([u16b(1), u16b(0), Buffer.alloc(4), w().u8(0xff).zeros(3).u32(OFPP.ANY).u32(0xffffffff).zeros(4).u64(cookie).u64(0xffffffffffffffffn).done(), ofpMatch(Buffer.alloc(0))]);
    await c.write(frame(V13, T13.MULTIPART_REQUEST, 0x73, req));
    const flows: of.FlowStats[] = [];
    for (let from = 0; ;) {
      const r = await c.waitFor((m) => (m.type === 'multipart_reply' || m.type === 'error') && m.xid === 0x73, timeoutMs, from);
      if (typeof r === 'string') return `FLOW stats request: ${r}`;
      if (r.type === 'error') return `FLOW stats request failed: ${errorName(V13, r.errType, r.code)}`;
      const mp = r as of.MultipartReplyMsg;
      if (mp.body.mpType !== 'flow') return `FLOW stats request answered with ${mp.body.mpType}`;
      flows.push(...mp.body.flows);
      from = c.received.findIndex((x) => x.msg === r) + 1;
      if (!(mp.flags & of.OFPMPF_MORE)) break;
    }
    const mine = flows.filter((f) => f.cookie === cookie && f.priority === priority);
    if (mine.length !== 1) return `dumped ${flows.length} flows for cookie 0x${cookie.toString(16)}, ${mine.length} with priority 0x${priority.toString(16)}`;
    const acts = JSON.stringify(mine[0].actions, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    if (!/4294967290/.test(acts)) return `the dumped flow lost its output:NORMAL: ${acts}`;
    await c.write(Buffer.concat([fm(3, 0x74), frame(V13, T13.BARRIER_REQUEST, 0x75, Buffer.alloc(0))]));
    const d = await c.waitFor((m) => m.xid === 0x75 || (m.type === 'error' && m.xid === 0x74), timeoutMs);
    if (typeof d === 'string' || d.type === 'error') return `FLOW_MOD delete: ${typeof d === 'string' ? d : errorName(V13, d.errType, d.code)}`;
    return undefined;
  } finally {
    c.close();
  }
}

/* ======================================================================
 * A campaign: many fuzz connections, a witness, a liveness check
 * ==================================================================== */

export interface CampaignOptions {
  seed: number;
  /** Fuzz connections take turns over these. */
  targets: Target[];
  /** Where the witness connects (usually targets[0]), or a witness to use (kept open: its owner closes it). */
  witness: Target | Witness;
  /** Stop planning connections after this many messages... */
  totalMessages: number;
  /** ...or after this long. */
  timeBudgetMs?: number;
  concurrency: number;
  messagesPerConn: [number, number];
  fatalRate?: number;
  witnessIntervalMs?: number;
  /** The daemon is still running (checked after every connection and witness round). */
  alive?: () => boolean;
  send?: SendOptions;
  onProgress?: (s: CampaignStats) => void;
  /** Stop at the first violation (reproducing a bug); default false. */
  stopOnViolation?: boolean;
}

export interface CampaignStats {
  messages: number;
  bytes: number;
  connections: number;
  closedByPeer: number;
  answered: number;
  replies: number;
  errors: Map<string, number>;
  kinds: Map<string, number>;
  unansweredBeforeClose: number;
  violations: Array<Violation & { plan?: ConnPlan }>;
  witnessRtts: number[];
  durationMs: number;
  daemonDied: boolean;
}

const bump = (m: Map<string, number>, k: string, n = 1): void => { m.set(k, (m.get(k) ?? 0) + n); };

export async function runCampaign(o: CampaignOptions): Promise<CampaignStats> {
  const st: CampaignStats = {
    messages: 0, bytes: 0, connections: 0, closedByPeer: 0, answered: 0, replies: 0, errors: new Map(), kinds: new Map(), unansweredBeforeClose: 0,
    violations: [], witnessRtts: [], durationMs: 0, daemonDied: false,
  };
  const t0 = Date.now();
  const alive = o.alive ?? ((): boolean => true);
  const active = new Map<number, ConnPlan>();
  let inFlight = 0, nextId = 0, stop = false;      // inFlight: messages planned by running connections
  const died = (where: string): void => {
    if (st.daemonDied) return;
    st.daemonDied = true; stop = true;
    const plans = [...active.values()];
    st.violations.push({ kind: 'daemon-died', conn: plans.map((p) => `#${p.id}`).join(',') || '-', detail: `the daemon exited (noticed ${where}); connections in flight: ${plans.map((p) => `#${p.id} v${p.version} ${targetName(p.target)}`).join('; ') || 'none'}`, plan: plans[0] });
  };

  let witness: Witness | undefined;
  const ownWitness = !(o.witness instanceof Witness);
  try { witness = o.witness instanceof Witness ? o.witness : await Witness.open(o.witness); } catch (e) {
    st.violations.push({ kind: 'witness', conn: 'witness', detail: (e as Error).message });
    st.durationMs = Date.now() - t0;
    return st;
  }
  const witnessRound = async (): Promise<void> => {
    if (!witness || !witness.alive) return;
    try { st.witnessRtts.push(await witness.roundTrip()); } catch (e) {
      st.violations.push({ kind: 'witness', conn: 'witness', detail: `${(e as Error).message} (connections in flight: ${[...active.keys()].map((i) => `#${i}`).join(',')})` });
      if (!alive()) died('by the witness');
      if (ownWitness) witness.close();
      witness = undefined;
      if (o.stopOnViolation) stop = true;
    }
  };

  const worker = async (): Promise<void> => {
    // Messages sent count, not planned ones: a connection the peer closes early sends fewer than its plan.
    while (!stop && st.messages + inFlight < o.totalMessages && (!o.timeBudgetMs || Date.now() - t0 < o.timeBudgetMs)) {
      const id = nextId++;
      const p = planConnection(o.seed, id, o.targets[id % o.targets.length], o.messagesPerConn, o.fatalRate);
      p.messages = Math.min(p.messages, o.totalMessages - st.messages - inFlight);
      inFlight += p.messages;
      active.set(id, p);
      const r = await runFuzzConnection(p, o.send);
      active.delete(id);
      inFlight -= p.messages;
      st.connections++;
      st.messages += r.sent; st.bytes += r.bytes; st.replies += r.replies;
      if (r.closedByPeer) st.closedByPeer++;
      if (r.answered) st.answered++;
      st.unansweredBeforeClose += r.unansweredBeforeClose;
      for (const [k, n] of r.errors) bump(st.errors, k, n);
      for (const [k, n] of r.kinds) bump(st.kinds, k, n);
      for (const v of r.violations) st.violations.push({ ...v, plan: p });
      if (r.violations.length && o.stopOnViolation) stop = true;
      if (!alive()) died(`after conn #${id}`);
      o.onProgress?.(st);
    }
  };

  let witnessing = true;
  const witnessLoop = (async (): Promise<void> => {
    while (witnessing && !stop) {
      await sleep(o.witnessIntervalMs ?? 250);
      if (!witnessing) break;
      if (!alive()) { died('between witness rounds'); break; }
      await witnessRound();
    }
  })();
  await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
  witnessing = false;
  await witnessLoop;
  if (!st.daemonDied) {
    if (!alive()) died('at the end');
    else await witnessRound();        // the last round, after every fuzz connection is gone
  }
  if (ownWitness) witness?.close();
  st.durationMs = Date.now() - t0;
  return st;
}

/**
 * Lines of a daemon log that say the agent itself failed: ERR lines (an
 * exception in a handler is logged at ERR with its stack) and anything that
 * looks like a JavaScript error. Deduplicated by their first 160 characters
 * after the time and sequence fields.
 */
export function internalErrors(log: string): string[] {
  const seen = new Map<string, number>();
  for (const line of log.split('\n')) {
    if (!/\|ERR\||\|EMER\||(Type|Range|Reference|Syntax)Error|unhandled|Uncaught/i.test(line)) continue;
    const key = line.replace(/^[^|]*\|\d+\|/, '').slice(0, 160);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].map(([k, n]) => (n > 1 ? `${k} (x${n})` : k));
}

/** p-th percentile (0..100) of a list of numbers. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** A short text summary of a campaign (for test output and the script). */
export function summarize(st: CampaignStats): string {
  const lines = [
    `messages sent: ${st.messages}, bytes: ${st.bytes}, connections: ${st.connections} (closed by peer: ${st.closedByPeer}, answered closing ECHO: ${st.answered})`,
    `replies received: ${st.replies}, errors received: ${[...st.errors.values()].reduce((a, b) => a + b, 0)}, requests unanswered when the peer closed: ${st.unansweredBeforeClose}`,
    `witness round trips: ${st.witnessRtts.length}, p50 ${percentile(st.witnessRtts, 50).toFixed(2)} ms, p99 ${percentile(st.witnessRtts, 99).toFixed(2)} ms, max ${Math.max(0, ...st.witnessRtts).toFixed(2)} ms`,
    `daemon died: ${st.daemonDied ? 'YES' : 'no'}, violations: ${st.violations.length}, duration ${(st.durationMs / 1000).toFixed(1)} s`,
  ];
  return lines.join('\n');
}
