/*
 * Binary codecs for the structures of bpf/xvs_abi.h other than the flow key
 * (see flow-key.ts). test/unit/abi.test.ts compiles the header and checks
 * every size and offset below against offsetof()/sizeof().
 */
import { FlowKey, KEY_SIZE } from './flow-key';
import type { MeterConfig, MeterStats } from './dpif';

export const MAX_MASKS = 64;
export const MAX_ACTIONS = 16;
export const MAX_FLOWS = 65536;
/**
 * The flow maps (flows[], flow_stats[], megaflows) are sized at load time:
 * by default for OVS's default flow-limit, at most MAX_FLOW_CAPACITY (a
 * flows[] slot is 264 bytes, a flow_stats[] slot 32 bytes per possible CPU,
 * a megaflow hash entry ~150 bytes: ~90 MB of kernel memory at 200 000 on 2 CPUs).
 */
export const DEFAULT_FLOW_CAPACITY = 200000;
export const MIN_FLOW_CAPACITY = 1024;
export const MAX_FLOW_CAPACITY = 1 << 20;
/** The maps sized by the flow capacity. */
export const FLOW_CAPACITY_MAPS = ['flows', 'flow_stats', 'megaflows'] as const;
export const EMC_ENTRIES = 8192;
export const MAX_PORTS = 1024;
export const UPCALL_MAX_PKT = 9216;
export const MAX_METERS = 1024;

export enum XvsAct {
  OUTPUT = 1, USERSPACE = 2, FLOOD = 3, SET_ETH_SRC = 4, SET_ETH_DST = 5, SET_IPV4_SRC = 6, SET_IPV4_DST = 7,
  SET_IPV4_TOS = 8, SET_IPV4_TTL = 9, SET_TP_SRC = 10, SET_TP_DST = 11, PUSH_VLAN = 12, POP_VLAN = 13,
  METER = 14, SET_IPV6_ADDR = 15, SET_IPV6_MASKED = 16,
}

export const FLOW_F_ALIVE = 0x1;
export const PORT_F_TC = 0x1;
export const CFG_F_BROADCAST = 0x1;
export const CFG_F_EMC = 0x2;
export const UPCALL_MISS = 1;
export const UPCALL_ACTION = 2;
export const HOOK_XDP = 1;
export const HOOK_TC = 2;
export const METER_F_VALID = 0x1;
export const METER_F_KBPS = 0x2;
export const METER_OP_EXEC = 1;
export const METER_OP_READ = 2;

/** Offsets/sizes the ABI test checks against the C header. */
export const LAYOUT = {
  xvs_flow_key: { size: KEY_SIZE },
  xvs_mask: { size: KEY_SIZE },
  xvs_mask_order: { size: 8 + 2 * MAX_MASKS, n: 0, ids: 8 },
  xvs_flow_ref: { size: 8, flow_id: 0, gen: 4 },
  xvs_action: { size: 16, type: 0, tpid: 2, arg: 4, data: 8 },
  xvs_flow: { size: 8 + 16 * MAX_ACTIONS, gen: 0, flags: 4, n_actions: 6, actions: 8 },
  xvs_flow_stats: { size: 32, packets: 0, bytes: 8, used_ns: 16, tcp_flags: 24 },
  xvs_dp_stats: { size: 64, emc_hit: 0, mf_hit: 8, missed: 16, lost: 24, masks_probed: 32, tx_errors: 40, slow_path: 48, parse_truncated: 56 },
  xvs_upcall: { size: 16 + KEY_SIZE, cmd: 0, hook: 1, pkt_len: 4, cap_len: 8, userdata: 12, key: 16 },
  xvs_port: { size: 8, ifindex: 0, flags: 4 },
  xvs_config: { size: 16, mask_order_sel: 0, flags: 4, emc_insert_inv_prob: 8 },
  xvs_meter: {
    size: 80, lock: 0, flags: 4, rate: 8, bucket_max: 16, max_delta_ns: 24, bucket: 32, last_ns: 40,
    packets: 48, bytes: 56, dropped: 64, dropped_bytes: 72,
  },
  xvs_meter_req: { size: 48, op: 0, id: 4, len: 8, verdict: 12, packets: 16, bytes: 24, dropped: 32, dropped_bytes: 40 },
} as const;

export interface XvsAction {
  type: XvsAct;
  tpid?: number;     // PUSH_VLAN
  arg?: number;      // OUTPUT port, PUSH_VLAN tci, USERSPACE userdata, METER id, SET_IPV6_* header offset
  data?: Buffer;     // SET_* value, network order
}

export function encodeFlow(gen: number, flags: number, actions: XvsAction[]): Buffer {
  if (actions.length > MAX_ACTIONS) throw new RangeError(`at most ${MAX_ACTIONS} datapath actions per flow`);
  const L = LAYOUT.xvs_flow, A = LAYOUT.xvs_action;
  const b = Buffer.alloc(L.size);
  b.writeUInt32LE(gen >>> 0, L.gen);
  b.writeUInt16LE(flags, L.flags);
  b.writeUInt16LE(actions.length, L.n_actions);
  actions.forEach((a, i) => {
    const o = L.actions + i * A.size;
    b[o + A.type] = a.type;
    b.writeUInt16BE(a.tpid ?? 0, o + A.tpid);
    b.writeUInt32LE((a.arg ?? 0) >>> 0, o + A.arg);
    if (a.data) a.data.copy(b, o + A.data, 0, Math.min(8, a.data.length));
  });
  return b;
}

const METER_UNIT = 1_000_000_000n;   // bucket units per packet, or per kbit (bpf/xvs_abi.h)

/**
 * A fresh struct xvs_meter (full bucket, zero stats), written with
 * BPF_F_LOCK. Burst 0 means one second's worth of the rate, as dpif-netdev.
 */
export function encodeMeter(m: MeterConfig): Buffer {
  const L = LAYOUT.xvs_meter;
  if (!Number.isInteger(m.rate) || m.rate <= 0 || m.rate > 0xffffffff) throw new RangeError(`meter rate ${m.rate} out of range 1..2^32-1`);
  if (!Number.isInteger(m.burst) || m.burst < 0 || m.burst > 0xffffffff) throw new RangeError(`meter burst ${m.burst} out of range 0..2^32-1`);
  const rate = BigInt(m.rate), max = BigInt(m.burst || m.rate) * METER_UNIT;
  const b = Buffer.alloc(L.size);
  b.writeUInt32LE(METER_F_VALID | (m.kbps ? METER_F_KBPS : 0), L.flags);
  b.writeBigUInt64LE(rate, L.rate);
  b.writeBigUInt64LE(max, L.bucket_max);
  b.writeBigUInt64LE((max + rate - 1n) / rate, L.max_delta_ns);
  b.writeBigUInt64LE(max, L.bucket);
  return b;
}

export function encodeMeterReq(op: number, id: number, len = 0): Buffer {
  const L = LAYOUT.xvs_meter_req;
  const b = Buffer.alloc(L.size);
  b.writeUInt32LE(op, L.op);
  b.writeUInt32LE(id >>> 0, L.id);
  b.writeUInt32LE(len >>> 0, L.len);
  return b;
}

export function decodeMeterReq(b: Buffer): { verdict: number } & MeterStats {
  const L = LAYOUT.xvs_meter_req;
  return {
    verdict: b.readUInt32LE(L.verdict), packets: b.readBigUInt64LE(L.packets), bytes: b.readBigUInt64LE(L.bytes),
    dropped: b.readBigUInt64LE(L.dropped), droppedBytes: b.readBigUInt64LE(L.dropped_bytes),
  };
}

export function encodeFlowRef(flowId: number, gen: number): Buffer {
  const b = Buffer.alloc(LAYOUT.xvs_flow_ref.size);
  b.writeUInt32LE(flowId, 0);
  b.writeUInt32LE(gen >>> 0, 4);
  return b;
}

export function decodeFlowRef(b: Buffer): { flowId: number; gen: number } {
  return { flowId: b.readUInt32LE(0), gen: b.readUInt32LE(4) };
}

export interface FlowStatsSum { packets: bigint; bytes: bigint; usedNs: bigint; tcpFlags: number }

/** Sums a per-CPU flow_stats value (nCPU records, each 8-byte aligned). */
export function sumFlowStats(percpu: Buffer): FlowStatsSum {
  const L = LAYOUT.xvs_flow_stats;
  const s: FlowStatsSum = { packets: 0n, bytes: 0n, usedNs: 0n, tcpFlags: 0 };
  for (let o = 0; o + L.size <= percpu.length; o += L.size) {
    s.packets += percpu.readBigUInt64LE(o + L.packets);
    s.bytes += percpu.readBigUInt64LE(o + L.bytes);
    const used = percpu.readBigUInt64LE(o + L.used_ns);
    if (used > s.usedNs) s.usedNs = used;
    s.tcpFlags |= percpu.readUInt16LE(o + L.tcp_flags);
  }
  return s;
}

export interface DpStats {
  emcHit: bigint; mfHit: bigint; missed: bigint; lost: bigint; masksProbed: bigint;
  txErrors: bigint; slowPath: bigint; parseTruncated: bigint;
}

export function sumDpStats(percpu: Buffer): DpStats {
  const L = LAYOUT.xvs_dp_stats;
  const s: DpStats = { emcHit: 0n, mfHit: 0n, missed: 0n, lost: 0n, masksProbed: 0n, txErrors: 0n, slowPath: 0n, parseTruncated: 0n };
  for (let o = 0; o + L.size <= percpu.length; o += L.size) {
    s.emcHit += percpu.readBigUInt64LE(o + L.emc_hit);
    s.mfHit += percpu.readBigUInt64LE(o + L.mf_hit);
    s.missed += percpu.readBigUInt64LE(o + L.missed);
    s.lost += percpu.readBigUInt64LE(o + L.lost);
    s.masksProbed += percpu.readBigUInt64LE(o + L.masks_probed);
    s.txErrors += percpu.readBigUInt64LE(o + L.tx_errors);
    s.slowPath += percpu.readBigUInt64LE(o + L.slow_path);
    s.parseTruncated += percpu.readBigUInt64LE(o + L.parse_truncated);
  }
  return s;
}

export function sumU64(percpu: Buffer): bigint {
  let s = 0n;
  for (let o = 0; o + 8 <= percpu.length; o += 8) s += percpu.readBigUInt64LE(o);
  return s;
}

export function encodeMaskOrder(ids: number[]): Buffer {
  const L = LAYOUT.xvs_mask_order;
  const b = Buffer.alloc(L.size);
  b.writeUInt32LE(ids.length, L.n);
  ids.forEach((id, i) => b.writeUInt16LE(id, L.ids + 2 * i));
  return b;
}

export function encodePort(ifindex: number, flags: number): Buffer {
  const b = Buffer.alloc(LAYOUT.xvs_port.size);
  b.writeUInt32LE(ifindex, 0);
  b.writeUInt32LE(flags, 4);
  return b;
}

export function encodeConfig(sel: number, flags: number, emcInsertInvProb: number): Buffer {
  const b = Buffer.alloc(LAYOUT.xvs_config.size);
  b.writeUInt32LE(sel, 0);
  b.writeUInt32LE(flags, 4);
  b.writeUInt32LE(emcInsertInvProb, 8);
  return b;
}

export interface UpcallRecord {
  cmd: number;
  hook: number;
  pktLen: number;
  userdata: number;
  key: FlowKey;
  packet: Buffer;
}

/**
 * Decodes one perf sample: struct xvs_upcall followed by cap_len packet
 * bytes (perf pads the raw sample, so cap_len, not the sample size, counts).
 * Throws on a record too short for what it claims.
 */
export function decodeUpcall(raw: Buffer): UpcallRecord {
  const L = LAYOUT.xvs_upcall;
  if (raw.length < L.size) throw new RangeError(`upcall record truncated: ${raw.length} < ${L.size} bytes`);
  const capLen = raw.readUInt32LE(L.cap_len);
  if (capLen > UPCALL_MAX_PKT || L.size + capLen > raw.length) {
    throw new RangeError(`upcall record claims ${capLen} packet bytes, has ${raw.length - L.size}`);
  }
  return {
    cmd: raw[L.cmd],
    hook: raw[L.hook],
    pktLen: raw.readUInt32LE(L.pkt_len),
    userdata: raw.readUInt32LE(L.userdata),
    key: new FlowKey(raw.subarray(L.key, L.key + KEY_SIZE)),
    packet: Buffer.from(raw.subarray(L.size, L.size + capLen)),
  };
}
