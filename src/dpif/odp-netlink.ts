/*
 * OVS datapath generic-netlink messages (linux/openvswitch.h): the form every
 * dpif operation takes. dpif-xdp decodes them onto BPF maps; a dpif-netlink
 * would send the same bytes to openvswitch.ko.
 */
import {
  formatAttribute, parseAttributes, formatMessage, parseMessage, formatGenlHeader, parseGenlHeader, pad,
  GENL_HEADER_LENGTH, HEADER_LENGTH,
} from 'netlink';
import {
  FlowKey, FRAG_ANY, FRAG_LATER, VLAN_PRESENT, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, ETH_TYPE_VLAN,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6,
} from './flow-key';

export const OVS_FLOW_FAMILY = 'ovs_flow';
export const OVS_PACKET_FAMILY = 'ovs_packet';
export const OVS_DATAPATH_VERSION = 2;

export enum FlowCmd { NEW = 1, DEL = 2, GET = 3, SET = 4 }
export enum PacketCmd { MISS = 1, ACTION = 2, EXECUTE = 3 }

export enum FlowAttr { KEY = 1, ACTIONS = 2, STATS = 3, TCP_FLAGS = 4, USED = 5, CLEAR = 6, MASK = 7, PROBE = 8, UFID = 9, UFID_FLAGS = 10 }
export enum PacketAttr { PACKET = 1, KEY = 2, ACTIONS = 3, USERDATA = 4, LEN = 10 }
export enum KeyAttr {
  ENCAP = 1, PRIORITY = 2, IN_PORT = 3, ETHERNET = 4, VLAN = 5, ETHERTYPE = 6, IPV4 = 7, IPV6 = 8,
  TCP = 9, UDP = 10, ICMP = 11, ICMPV6 = 12, ARP = 13, ND = 14, SKB_MARK = 15, TUNNEL = 16, SCTP = 17,
  TCP_FLAGS = 18, DP_HASH = 19, RECIRC_ID = 20,
}
export enum ActionAttr { OUTPUT = 1, USERSPACE = 2, SET = 3, PUSH_VLAN = 4, POP_VLAN = 5, SET_MASKED = 11 }
export enum UserspaceAttr { PID = 1, USERDATA = 2 }
export enum FragType { NONE = 0, FIRST = 1, LATER = 2 }

const NLM_F_REQUEST = 1;

/** Fields a set action can write, named as in OVS's set(...) output. */
export type SetField =
  | 'eth_src' | 'eth_dst' | 'ipv4_src' | 'ipv4_dst' | 'ipv4_tos' | 'ipv4_ttl'
  | 'tcp_src' | 'tcp_dst' | 'udp_src' | 'udp_dst';

export type OdpAction =
  | { type: 'output'; port: number }
  | { type: 'userspace'; pid: number; userdata?: Buffer }
  | { type: 'set'; field: SetField; value: Buffer }
  | { type: 'push_vlan'; tpid: number; tci: number }   // tci without VLAN_PRESENT
  | { type: 'pop_vlan' };

export interface FlowStats { packets: bigint; bytes: bigint }

export interface OvsFlowMsg {
  cmd: FlowCmd;
  dpIfindex: number;
  ufid?: Buffer;
  key?: FlowKey;
  mask?: FlowKey;
  actions?: OdpAction[];
  stats?: FlowStats;
  used?: bigint;       // ms of CLOCK_MONOTONIC, 0 = never
  tcpFlags?: number;
  clear?: boolean;
  probe?: boolean;
}

export interface OvsPacketMsg {
  cmd: PacketCmd;
  dpIfindex: number;
  packet: Buffer;
  key: FlowKey;
  actions?: OdpAction[];
  userdata?: Buffer;
  len?: number;        // length before truncation
}

/* ---- attribute helpers -------------------------------------------------- */

type Bytes = Uint8Array[];
/** One attribute, padded to 4 bytes (formatAttribute leaves padding to the caller). */
const attr = (type: number, data: Uint8Array | Uint8Array[], nested = false): Bytes =>
  pad(formatAttribute({ type, data, nested }));
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const be16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v & 0xffff); return b; };
const u64 = (v: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; };
const cat = (parts: Bytes[]): Bytes => parts.flat();
const flat = (b: Bytes): Buffer => Buffer.concat(b);

function attrsOf(buf: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  parseAttributes(buf, (a) => { m.set(a.type & 0x3fff, a.data); });
  return m;
}

function need(b: Buffer | undefined, len: number, what: string): Buffer {
  if (!b || b.length < len) throw new RangeError(`${what}: attribute needs ${len} bytes, got ${b ? b.length : 0}`);
  return b;
}

/* ---- flow key <-> OVS_KEY_ATTR_* --------------------------------------- */

function fragType(nwFrag: number): number {
  if (!(nwFrag & FRAG_ANY)) return FragType.NONE;
  return nwFrag & FRAG_LATER ? FragType.LATER : FragType.FIRST;
}
function fragFromType(t: number): number {
  return t === FragType.NONE ? 0 : t === FragType.FIRST ? FRAG_ANY : FRAG_ANY | FRAG_LATER;
}
/** In a mask, frag type bits are all-or-nothing (OVS masks it as a whole byte). */
const fragOut = (k: FlowKey, isMask: boolean): number => (isMask ? (k.nwFrag ? 0xff : 0) : fragType(k.nwFrag));
const fragIn = (v: number, isMask: boolean): number => (isMask ? (v ? FRAG_ANY | FRAG_LATER : 0) : fragFromType(v));

/**
 * Encodes a key (or, with `shape`, a mask shaped like that key) as OVS key
 * attributes. Which L3/L4 attributes appear follows the key's eth_type and
 * nw_proto, as in OVS's odp_flow_key_from_flow.
 */
export function encodeKey(k: FlowKey, shape?: FlowKey): Bytes {
  const isMask = shape !== undefined;
  const s = shape ?? k;
  if (isMask) checkMaskPrerequisites(k, s);
  const out: Bytes[] = [];
  out.push(attr(KeyAttr.IN_PORT, u32(k.inPort)));
  out.push(attr(KeyAttr.ETHERNET, Buffer.concat([k.ethSrc, k.ethDst])));
  const inner: Bytes[] = [];
  const vlan = (s.vlanTci & VLAN_PRESENT) !== 0;
  if (vlan) {
    out.push(attr(KeyAttr.ETHERTYPE, be16(isMask ? 0xffff : ETH_TYPE_VLAN)));
    out.push(attr(KeyAttr.VLAN, be16(k.vlanTci)));
  }
  const l3 = vlan ? inner : out;
  l3.push(attr(KeyAttr.ETHERTYPE, be16(k.ethType)));
  if (s.ethType === ETH_TYPE_IP) {
    const b = Buffer.alloc(12);
    k.bytes('nw_src').copy(b, 0, 0, 4);
    k.bytes('nw_dst').copy(b, 4, 0, 4);
    b[8] = k.nwProto; b[9] = k.nwTos; b[10] = k.nwTtl; b[11] = fragOut(k, isMask);
    l3.push(attr(KeyAttr.IPV4, b));
  } else if (s.ethType === ETH_TYPE_IPV6) {
    const b = Buffer.alloc(40);
    k.bytes('nw_src').copy(b, 0); k.bytes('nw_dst').copy(b, 16);
    b.writeUInt32BE(k.ipv6Label, 32);
    b[36] = k.nwProto; b[37] = k.nwTos; b[38] = k.nwTtl; b[39] = fragOut(k, isMask);
    l3.push(attr(KeyAttr.IPV6, b));
  } else if (s.ethType === ETH_TYPE_ARP) {
    const b = Buffer.alloc(24);
    k.bytes('nw_src').copy(b, 0, 0, 4); k.bytes('nw_dst').copy(b, 4, 0, 4);
    b.writeUInt16BE(isMask ? (k.nwProto ? 0xffff : 0) : k.nwProto, 8);
    k.bytes('arp_sha').copy(b, 10); k.bytes('arp_tha').copy(b, 16);
    l3.push(attr(KeyAttr.ARP, b));
  }
  const isIp = s.ethType === ETH_TYPE_IP || s.ethType === ETH_TYPE_IPV6;
  if (isIp && !(s.nwFrag & FRAG_LATER)) {
    const ports = Buffer.concat([be16(k.tpSrc), be16(k.tpDst)]);
    const proto = s.nwProto;
    if (proto === IPPROTO_TCP) {
      l3.push(attr(KeyAttr.TCP, ports));
      l3.push(attr(KeyAttr.TCP_FLAGS, be16(k.tcpFlags)));
    } else if (proto === IPPROTO_UDP) l3.push(attr(KeyAttr.UDP, ports));
    else if (proto === IPPROTO_SCTP) l3.push(attr(KeyAttr.SCTP, ports));
    else if (proto === IPPROTO_ICMP && s.ethType === ETH_TYPE_IP) l3.push(attr(KeyAttr.ICMP, Buffer.from([k.tpSrc, k.tpDst])));
    else if (proto === IPPROTO_ICMPV6 && s.ethType === ETH_TYPE_IPV6) l3.push(attr(KeyAttr.ICMPV6, Buffer.from([k.tpSrc, k.tpDst])));
  }
  if (vlan) out.push(attr(KeyAttr.ENCAP, cat(inner), true));
  return cat(out);
}

const L4_FIELDS = ['tp_src', 'tp_dst', 'tcp_flags'] as const;
const L3_FIELDS = ['nw_src', 'nw_dst', 'nw_proto', 'nw_tos', 'nw_ttl', 'nw_frag', 'ipv6_label', 'arp_sha', 'arp_tha'] as const;

/**
 * OVS key attributes can carry mask bits only for the headers the key has:
 * L4 bits need an IP key with a known L4 protocol, L3 bits a known eth_type.
 * A mask breaking that would silently widen the megaflow, so refuse it
 * (translation adds these prerequisites, as OVS's match prerequisites do).
 */
function checkMaskPrerequisites(m: FlowKey, key: FlowKey): void {
  const ip = key.ethType === ETH_TYPE_IP || key.ethType === ETH_TYPE_IPV6;
  const l4 = ip && !(key.nwFrag & FRAG_LATER) && [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6].includes(key.nwProto);
  if (L4_FIELDS.some((f) => !m.isZero(f)) && !(l4 && m.nwProto === 0xff && m.ethType === 0xffff)) {
    throw new RangeError('mask matches L4 fields without an exact IP eth_type and L4 nw_proto (prerequisites not met)');
  }
  if (L3_FIELDS.some((f) => !m.isZero(f)) && !((ip || key.ethType === ETH_TYPE_ARP) && m.ethType === 0xffff)) {
    throw new RangeError('mask matches L3 fields without an exact IPv4/IPv6/ARP eth_type (prerequisites not met)');
  }
}

/** Decodes OVS key attributes into a FlowKey (a mask when isMask). */
export function decodeKey(buf: Buffer, isMask = false): FlowKey {
  const k = new FlowKey();
  const walk = (b: Buffer, encap: boolean): void => {
    const a = attrsOf(b);
    const inPort = a.get(KeyAttr.IN_PORT);
    if (inPort) k.inPort = need(inPort, 4, 'in_port').readUInt32LE(0);
    const eth = a.get(KeyAttr.ETHERNET);
    if (eth) { need(eth, 12, 'eth'); k.setField('eth_src', eth.subarray(0, 6)); k.setField('eth_dst', eth.subarray(6, 12)); }
    const vlan = a.get(KeyAttr.VLAN);
    if (vlan && !encap) k.setField('vlan_tci', need(vlan, 2, 'vlan').readUInt16BE(0));
    const et = a.get(KeyAttr.ETHERTYPE);
    const enc = a.get(KeyAttr.ENCAP);
    if (et && !(enc && !encap)) k.setField('eth_type', need(et, 2, 'eth_type').readUInt16BE(0));
    const v4 = a.get(KeyAttr.IPV4);
    if (v4) {
      need(v4, 12, 'ipv4');
      const src = Buffer.alloc(16), dst = Buffer.alloc(16);
      v4.copy(src, 0, 0, 4); v4.copy(dst, 0, 4, 8);
      k.setField('nw_src', src).setField('nw_dst', dst);
      k.setField('nw_proto', v4[8]).setField('nw_tos', v4[9]).setField('nw_ttl', v4[10]).setField('nw_frag', fragIn(v4[11], isMask));
    }
    const v6 = a.get(KeyAttr.IPV6);
    if (v6) {
      need(v6, 40, 'ipv6');
      k.setField('nw_src', v6.subarray(0, 16)).setField('nw_dst', v6.subarray(16, 32));
      k.setField('ipv6_label', v6.readUInt32BE(32));
      k.setField('nw_proto', v6[36]).setField('nw_tos', v6[37]).setField('nw_ttl', v6[38]).setField('nw_frag', fragIn(v6[39], isMask));
    }
    const arp = a.get(KeyAttr.ARP);
    if (arp) {
      need(arp, 24, 'arp');
      const src = Buffer.alloc(16), dst = Buffer.alloc(16);
      arp.copy(src, 0, 0, 4); arp.copy(dst, 0, 4, 8);
      k.setField('nw_src', src).setField('nw_dst', dst).setField('nw_proto', arp.readUInt16BE(8) & 0xff);
      k.setField('arp_sha', arp.subarray(10, 16)).setField('arp_tha', arp.subarray(16, 22));
    }
    for (const t of [KeyAttr.TCP, KeyAttr.UDP, KeyAttr.SCTP]) {
      const p = a.get(t);
      if (p) { need(p, 4, 'l4'); k.setField('tp_src', p.readUInt16BE(0)).setField('tp_dst', p.readUInt16BE(2)); }
    }
    for (const t of [KeyAttr.ICMP, KeyAttr.ICMPV6]) {
      const p = a.get(t);
      if (p) { need(p, 2, 'icmp'); k.setField('tp_src', p[0]).setField('tp_dst', p[1]); }
    }
    const tf = a.get(KeyAttr.TCP_FLAGS);
    if (tf) k.setField('tcp_flags', need(tf, 2, 'tcp_flags').readUInt16BE(0));
    if (enc && !encap) walk(enc, true);
  };
  walk(buf, false);
  // As in the kernel datapath: a mask that matches eth_type but carries no
  // VLAN attribute means "untagged only", so the TCI is matched exactly.
  if (isMask && k.ethType !== 0 && !sawVlan(buf)) k.setField('vlan_tci', 0xffff);
  return k;
}

function sawVlan(buf: Buffer): boolean {
  return attrsOf(buf).has(KeyAttr.VLAN);
}

/* ---- actions ------------------------------------------------------------- */

const SET_FIELDS: Record<SetField, { attr: KeyAttr; size: number; off: number; len: number }> = {
  eth_src: { attr: KeyAttr.ETHERNET, size: 12, off: 0, len: 6 },
  eth_dst: { attr: KeyAttr.ETHERNET, size: 12, off: 6, len: 6 },
  ipv4_src: { attr: KeyAttr.IPV4, size: 12, off: 0, len: 4 },
  ipv4_dst: { attr: KeyAttr.IPV4, size: 12, off: 4, len: 4 },
  ipv4_tos: { attr: KeyAttr.IPV4, size: 12, off: 9, len: 1 },
  ipv4_ttl: { attr: KeyAttr.IPV4, size: 12, off: 10, len: 1 },
  tcp_src: { attr: KeyAttr.TCP, size: 4, off: 0, len: 2 },
  tcp_dst: { attr: KeyAttr.TCP, size: 4, off: 2, len: 2 },
  udp_src: { attr: KeyAttr.UDP, size: 4, off: 0, len: 2 },
  udp_dst: { attr: KeyAttr.UDP, size: 4, off: 2, len: 2 },
};

export function setFieldInfo(f: SetField): { attr: KeyAttr; off: number; len: number } {
  return SET_FIELDS[f];
}

/** One field per set action, sent as OVS_ACTION_ATTR_SET_MASKED (value then mask). */
export function encodeActions(actions: OdpAction[]): Bytes {
  return cat(actions.map((a): Bytes => {
    switch (a.type) {
      case 'output': return attr(ActionAttr.OUTPUT, u32(a.port));
      case 'userspace': return attr(ActionAttr.USERSPACE, cat([
        attr(UserspaceAttr.PID, u32(a.pid)),
        ...(a.userdata ? [attr(UserspaceAttr.USERDATA, a.userdata)] : []),
      ]), true);
      case 'set': {
        const f = SET_FIELDS[a.field];
        if (a.value.length !== f.len) throw new RangeError(`set(${a.field}) takes ${f.len} bytes`);
        const v = Buffer.alloc(f.size), m = Buffer.alloc(f.size);
        a.value.copy(v, f.off); m.fill(0xff, f.off, f.off + f.len);
        return attr(ActionAttr.SET_MASKED, attr(f.attr, Buffer.concat([v, m])), true);
      }
      case 'push_vlan': {
        const b = Buffer.alloc(4);
        b.writeUInt16BE(a.tpid, 0); b.writeUInt16BE((a.tci | VLAN_PRESENT) & 0xffff, 2);
        return attr(ActionAttr.PUSH_VLAN, b);
      }
      case 'pop_vlan': return attr(ActionAttr.POP_VLAN, []);
    }
  }));
}

export function decodeActions(buf: Buffer): OdpAction[] {
  const out: OdpAction[] = [];
  parseAttributes(buf, ({ type, data }) => {
    switch (type & 0x3fff) {
      case ActionAttr.OUTPUT: out.push({ type: 'output', port: need(data, 4, 'output').readUInt32LE(0) }); break;
      case ActionAttr.USERSPACE: {
        const a = attrsOf(data);
        out.push({ type: 'userspace', pid: need(a.get(UserspaceAttr.PID), 4, 'userspace pid').readUInt32LE(0), userdata: a.get(UserspaceAttr.USERDATA) });
        break;
      }
      case ActionAttr.SET_MASKED: {
        let found = false;
        parseAttributes(data, (inner) => {
          const t = inner.type & 0x3fff;
          for (const [name, f] of Object.entries(SET_FIELDS) as [SetField, (typeof SET_FIELDS)[SetField]][]) {
            if (f.attr !== t || inner.data.length < 2 * f.size) continue;
            const mask = inner.data.subarray(f.size + f.off, f.size + f.off + f.len);
            if (mask.some((x) => x !== 0)) {
              out.push({ type: 'set', field: name, value: Buffer.from(inner.data.subarray(f.off, f.off + f.len)) });
              found = true;
            }
          }
        });
        if (!found) throw new RangeError('set action: unsupported or empty field');
        break;
      }
      case ActionAttr.PUSH_VLAN: {
        need(data, 4, 'push_vlan');
        out.push({ type: 'push_vlan', tpid: data.readUInt16BE(0), tci: data.readUInt16BE(2) & ~VLAN_PRESENT & 0xffff });
        break;
      }
      case ActionAttr.POP_VLAN: out.push({ type: 'pop_vlan' }); break;
      default: throw new RangeError(`unsupported datapath action ${type & 0x3fff}`);
    }
  });
  return out;
}

/* ---- whole messages ----------------------------------------------------- */

/** Family ids: resolved from the kernel by dpif-netlink; fixed for dpif-xdp. */
export const XDP_FAMILY_IDS = { ovs_flow: 0x7f01, ovs_packet: 0x7f02 } as const;

function genlMessage(familyId: number, cmd: number, dpIfindex: number, attrs: Bytes, seq = 0): Buffer {
  const ovsHeader = Buffer.alloc(4);
  ovsHeader.writeInt32LE(dpIfindex);
  return flat(formatMessage({
    type: familyId, flags: NLM_F_REQUEST, seq, port: 0,
    data: [formatGenlHeader({ cmd, version: OVS_DATAPATH_VERSION }), ovsHeader, ...attrs],
  }));
}

function parseGenl(buf: Buffer, familyId: number): { cmd: number; dpIfindex: number; attrs: Map<number, Buffer> } {
  if (buf.length < HEADER_LENGTH + GENL_HEADER_LENGTH + 4) throw new RangeError(`OVS message truncated (${buf.length} bytes)`);
  const { x: msg } = parseMessage(buf);
  if (msg.type !== familyId) throw new RangeError(`unexpected netlink family ${msg.type}`);
  const { x: genl, consumed } = parseGenlHeader(msg.data);
  const dpIfindex = msg.data.readInt32LE(consumed);
  return { cmd: genl.cmd, dpIfindex, attrs: attrsOf(msg.data.subarray(consumed + 4)) };
}

export function encodeFlowMsg(m: OvsFlowMsg, familyId: number = XDP_FAMILY_IDS.ovs_flow): Buffer {
  const a: Bytes[] = [];
  if (m.key) a.push(attr(FlowAttr.KEY, encodeKey(m.key), true));
  if (m.mask) a.push(attr(FlowAttr.MASK, encodeKey(m.mask, m.key ?? m.mask), true));
  if (m.actions) a.push(attr(FlowAttr.ACTIONS, encodeActions(m.actions), true));
  if (m.stats) a.push(attr(FlowAttr.STATS, Buffer.concat([u64(m.stats.packets), u64(m.stats.bytes)])));
  if (m.tcpFlags !== undefined) a.push(attr(FlowAttr.TCP_FLAGS, Buffer.from([m.tcpFlags & 0xff])));
  if (m.used !== undefined) a.push(attr(FlowAttr.USED, u64(m.used)));
  if (m.clear) a.push(attr(FlowAttr.CLEAR, []));
  if (m.probe) a.push(attr(FlowAttr.PROBE, []));
  if (m.ufid) a.push(attr(FlowAttr.UFID, m.ufid));
  return genlMessage(familyId, m.cmd, m.dpIfindex, cat(a));
}

export function decodeFlowMsg(buf: Buffer, familyId: number = XDP_FAMILY_IDS.ovs_flow): OvsFlowMsg {
  const { cmd, dpIfindex, attrs } = parseGenl(buf, familyId);
  if (!(cmd in FlowCmd)) throw new RangeError(`unknown OVS_FLOW_CMD ${cmd}`);
  const m: OvsFlowMsg = { cmd, dpIfindex };
  const key = attrs.get(FlowAttr.KEY), mask = attrs.get(FlowAttr.MASK), acts = attrs.get(FlowAttr.ACTIONS);
  if (key) m.key = decodeKey(key);
  if (mask) m.mask = decodeKey(mask, true);
  if (acts) m.actions = decodeActions(acts);
  const st = attrs.get(FlowAttr.STATS);
  if (st) { need(st, 16, 'stats'); m.stats = { packets: st.readBigUInt64LE(0), bytes: st.readBigUInt64LE(8) }; }
  const tf = attrs.get(FlowAttr.TCP_FLAGS);
  if (tf) m.tcpFlags = need(tf, 1, 'tcp_flags')[0];
  const used = attrs.get(FlowAttr.USED);
  if (used) m.used = need(used, 8, 'used').readBigUInt64LE(0);
  if (attrs.has(FlowAttr.CLEAR)) m.clear = true;
  if (attrs.has(FlowAttr.PROBE)) m.probe = true;
  const ufid = attrs.get(FlowAttr.UFID);
  if (ufid) m.ufid = Buffer.from(ufid);
  return m;
}

export function encodePacketMsg(m: OvsPacketMsg, familyId: number = XDP_FAMILY_IDS.ovs_packet): Buffer {
  const a: Bytes[] = [attr(PacketAttr.PACKET, m.packet), attr(PacketAttr.KEY, encodeKey(m.key), true)];
  if (m.actions) a.push(attr(PacketAttr.ACTIONS, encodeActions(m.actions), true));
  if (m.userdata) a.push(attr(PacketAttr.USERDATA, m.userdata));
  if (m.len !== undefined) a.push(attr(PacketAttr.LEN, u32(m.len)));
  return genlMessage(familyId, m.cmd, m.dpIfindex, cat(a));
}

export function decodePacketMsg(buf: Buffer, familyId: number = XDP_FAMILY_IDS.ovs_packet): OvsPacketMsg {
  const { cmd, dpIfindex, attrs } = parseGenl(buf, familyId);
  if (!(cmd in PacketCmd)) throw new RangeError(`unknown OVS_PACKET_CMD ${cmd}`);
  const packet = attrs.get(PacketAttr.PACKET), key = attrs.get(PacketAttr.KEY);
  if (!packet || !key) throw new RangeError('OVS packet message without PACKET or KEY');
  const m: OvsPacketMsg = { cmd, dpIfindex, packet: Buffer.from(packet), key: decodeKey(key) };
  const acts = attrs.get(PacketAttr.ACTIONS);
  if (acts) m.actions = decodeActions(acts);
  const ud = attrs.get(PacketAttr.USERDATA);
  if (ud) m.userdata = Buffer.from(ud);
  const len = attrs.get(PacketAttr.LEN);
  if (len) m.len = need(len, 4, 'len').readUInt32LE(0);
  return m;
}
