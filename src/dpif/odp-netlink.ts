/*
 * OVS datapath generic-netlink messages (linux/openvswitch.h): the form every
 * dpif operation takes. dpif-xdp decodes them onto BPF maps; a dpif-netlink
 * would send the same bytes to openvswitch.ko.
 */
import { NlWriter, nlAttrs, nlAttrList } from './nlattr';
import {
  FlowKey, FRAG_ANY, FRAG_LATER, VLAN_PRESENT, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, ETH_TYPE_VLAN, isArpType,
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
export enum ActionAttr { OUTPUT = 1, USERSPACE = 2, SET = 3, PUSH_VLAN = 4, POP_VLAN = 5, SET_MASKED = 11, METER = 19 }
export enum UserspaceAttr { PID = 1, USERDATA = 2 }
export enum FragType { NONE = 0, FIRST = 1, LATER = 2 }

const NLM_F_REQUEST = 1;
const NLMSG_HDRLEN = 16, GENL_HDRLEN = 4, OVS_HDRLEN = 4;

/** Fields a set action can write, named as in OVS's set(...) output. */
export type SetField =
  | 'eth_src' | 'eth_dst' | 'ipv4_src' | 'ipv4_dst' | 'ipv4_tos' | 'ipv4_ttl'
  | 'ipv6_src' | 'ipv6_dst' | 'ipv6_tclass' | 'ipv6_hlimit' | 'ipv6_label'
  | 'tcp_src' | 'tcp_dst' | 'udp_src' | 'udp_dst';

export type OdpAction =
  | { type: 'output'; port: number }
  | { type: 'userspace'; pid: number; userdata?: Buffer }
  | { type: 'set'; field: SetField; value: Buffer }
  | { type: 'push_vlan'; tpid: number; tci: number }   // tci without VLAN_PRESENT
  | { type: 'pop_vlan' }
  | { type: 'meter'; id: number };                     // the band's drop ends the actions

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
export function encodeKey(k: FlowKey, shape?: FlowKey): Buffer {
  const w = new NlWriter(256);
  writeKey(w, k, shape);
  return w.done();
}

function writeKey(w: NlWriter, k: FlowKey, shape?: FlowKey): void {
  const isMask = shape !== undefined;
  const s = shape ?? k;
  if (isMask) checkMaskPrerequisites(k, s);
  w.u32(KeyAttr.IN_PORT, k.inPort);
  const kb = k.buf;   // offsets are struct xvs_flow_key's (flow-key.ts KEY_FIELDS)
  const eth = w.attr(KeyAttr.ETHERNET, 12);
  kb.copy(w.buf, eth, 4, 16);                       // eth_src, eth_dst
  const vlan = (s.vlanTci & VLAN_PRESENT) !== 0;
  let encap = -1;
  if (vlan) {
    w.be16(KeyAttr.ETHERTYPE, isMask ? 0xffff : ETH_TYPE_VLAN);
    w.be16(KeyAttr.VLAN, k.vlanTci);
    encap = w.begin(KeyAttr.ENCAP);
  }
  w.be16(KeyAttr.ETHERTYPE, k.ethType);
  if (s.ethType === ETH_TYPE_IP) {
    const o = w.attr(KeyAttr.IPV4, 12), b = w.buf;
    kb.copy(b, o, 28, 32); kb.copy(b, o + 4, 44, 48);
    b[o + 8] = k.nwProto; b[o + 9] = k.nwTos; b[o + 10] = k.nwTtl; b[o + 11] = fragOut(k, isMask);
  } else if (s.ethType === ETH_TYPE_IPV6) {
    const o = w.attr(KeyAttr.IPV6, 40), b = w.buf;
    kb.copy(b, o, 28, 60);                            // nw_src, nw_dst
    b.writeUInt32BE(k.ipv6Label, o + 32);
    b[o + 36] = k.nwProto; b[o + 37] = k.nwTos; b[o + 38] = k.nwTtl; b[o + 39] = fragOut(k, isMask);
  } else if (isArpType(s.ethType)) {
    const o = w.attr(KeyAttr.ARP, 24), b = w.buf;
    kb.copy(b, o, 28, 32); kb.copy(b, o + 4, 44, 48);
    b.writeUInt16BE(isMask ? (k.nwProto ? 0xffff : 0) : k.nwProto, o + 8);
    kb.copy(b, o + 10, 60, 72);                       // arp_sha, arp_tha
  }
  const isIp = s.ethType === ETH_TYPE_IP || s.ethType === ETH_TYPE_IPV6;
  if (isIp && !(s.nwFrag & FRAG_LATER)) {
    const ports = (type: KeyAttr): void => { const o = w.attr(type, 4); w.buf.writeUInt16BE(k.tpSrc, o); w.buf.writeUInt16BE(k.tpDst, o + 2); };
    const icmp = (type: KeyAttr): void => { const o = w.attr(type, 2); w.buf[o] = k.tpSrc; w.buf[o + 1] = k.tpDst; };
    const proto = s.nwProto;
    if (proto === IPPROTO_TCP) { ports(KeyAttr.TCP); w.be16(KeyAttr.TCP_FLAGS, k.tcpFlags); }
    else if (proto === IPPROTO_UDP) ports(KeyAttr.UDP);
    else if (proto === IPPROTO_SCTP) ports(KeyAttr.SCTP);
    else if (proto === IPPROTO_ICMP && s.ethType === ETH_TYPE_IP) icmp(KeyAttr.ICMP);
    else if (proto === IPPROTO_ICMPV6 && s.ethType === ETH_TYPE_IPV6) icmp(KeyAttr.ICMPV6);
  }
  if (encap >= 0) w.end(encap);
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
  if (L3_FIELDS.some((f) => !m.isZero(f)) && !((ip || isArpType(key.ethType)) && m.ethType === 0xffff)) {
    throw new RangeError('mask matches L3 fields without an exact IPv4/IPv6/ARP eth_type (prerequisites not met)');
  }
}

/**
 * `mask` as the datapath gets it through OVS_FLOW_ATTR_MASK: only what the
 * key's attributes can carry, in their canonical form (throws when the mask
 * breaks the prerequisites, as encoding does).
 */
export function odpMask(key: FlowKey, mask: FlowKey): FlowKey {
  return decodeKey(encodeKey(mask, key), true);
}

/** Decodes OVS key attributes into a FlowKey (a mask when isMask). */
export function decodeKey(buf: Buffer, isMask = false): FlowKey {
  const k = new FlowKey();
  const kb = k.buf;   // offsets are struct xvs_flow_key's (flow-key.ts KEY_FIELDS)
  let sawVlanAttr = false;
  const walk = (b: Buffer, encap: boolean): void => {
    const a = nlAttrs(b);
    const inPort = a.get(KeyAttr.IN_PORT);
    if (inPort) k.inPort = need(inPort, 4, 'in_port').readUInt32LE(0);
    const eth = a.get(KeyAttr.ETHERNET);
    if (eth) need(eth, 12, 'eth').copy(kb, 4, 0, 12);
    const vlan = a.get(KeyAttr.VLAN);
    if (vlan && !encap) { need(vlan, 2, 'vlan').copy(kb, 18, 0, 2); sawVlanAttr = true; }
    const et = a.get(KeyAttr.ETHERTYPE);
    const enc = a.get(KeyAttr.ENCAP);
    if (et && !(enc && !encap)) need(et, 2, 'eth_type').copy(kb, 16, 0, 2);
    const v4 = a.get(KeyAttr.IPV4);
    if (v4) {
      need(v4, 12, 'ipv4');
      v4.copy(kb, 28, 0, 4); v4.copy(kb, 44, 4, 8);
      kb[20] = v4[8]; kb[21] = v4[9]; kb[22] = v4[10]; kb[23] = fragIn(v4[11], isMask);
    }
    const v6 = a.get(KeyAttr.IPV6);
    if (v6) {
      need(v6, 40, 'ipv6');
      v6.copy(kb, 28, 0, 32); v6.copy(kb, 24, 32, 36);
      kb[20] = v6[36]; kb[21] = v6[37]; kb[22] = v6[38]; kb[23] = fragIn(v6[39], isMask);
    }
    const arp = a.get(KeyAttr.ARP);
    if (arp) {
      need(arp, 24, 'arp');
      arp.copy(kb, 28, 0, 4); arp.copy(kb, 44, 4, 8);
      kb[20] = arp.readUInt16BE(8) & 0xff;
      arp.copy(kb, 60, 10, 22);
    }
    for (const t of [KeyAttr.TCP, KeyAttr.UDP, KeyAttr.SCTP]) {
      const p = a.get(t);
      if (p) need(p, 4, 'l4').copy(kb, 72, 0, 4);
    }
    for (const t of [KeyAttr.ICMP, KeyAttr.ICMPV6]) {
      const p = a.get(t);
      if (p) { need(p, 2, 'icmp'); kb.writeUInt16BE(p[0], 72); kb.writeUInt16BE(p[1], 74); }
    }
    const tf = a.get(KeyAttr.TCP_FLAGS);
    if (tf) need(tf, 2, 'tcp_flags').copy(kb, 76, 0, 2);
    if (enc && !encap) walk(enc, true);
  };
  walk(buf, false);
  // As in the kernel datapath: a mask that matches eth_type but carries no
  // VLAN attribute means "untagged only", so the TCI is matched exactly.
  if (isMask && k.ethType !== 0 && !sawVlanAttr) k.setField('vlan_tci', 0xffff);
  return k;
}


/* ---- actions ------------------------------------------------------------- */

/** Where a set field sits in its OVS_KEY_ATTR_* struct; `mask` when not all of its bytes. */
interface SetFieldInfo { attr: KeyAttr; size: number; off: number; len: number; mask?: Buffer }

const SET_FIELDS: Record<SetField, SetFieldInfo> = {
  eth_src: { attr: KeyAttr.ETHERNET, size: 12, off: 0, len: 6 },
  eth_dst: { attr: KeyAttr.ETHERNET, size: 12, off: 6, len: 6 },
  ipv4_src: { attr: KeyAttr.IPV4, size: 12, off: 0, len: 4 },
  ipv4_dst: { attr: KeyAttr.IPV4, size: 12, off: 4, len: 4 },
  ipv4_tos: { attr: KeyAttr.IPV4, size: 12, off: 9, len: 1 },
  ipv4_ttl: { attr: KeyAttr.IPV4, size: 12, off: 10, len: 1 },
  // struct ovs_key_ipv6: src[16] dst[16] label(be32) proto tclass hlimit frag
  ipv6_src: { attr: KeyAttr.IPV6, size: 40, off: 0, len: 16 },
  ipv6_dst: { attr: KeyAttr.IPV6, size: 40, off: 16, len: 16 },
  // OVS masks the label's 20 bits only: the kernel's set_ipv6_fl() would
  // otherwise write the traffic class nibble that shares its first byte.
  ipv6_label: { attr: KeyAttr.IPV6, size: 40, off: 32, len: 4, mask: Buffer.from([0, 0x0f, 0xff, 0xff]) },
  ipv6_tclass: { attr: KeyAttr.IPV6, size: 40, off: 37, len: 1 },
  ipv6_hlimit: { attr: KeyAttr.IPV6, size: 40, off: 38, len: 1 },
  tcp_src: { attr: KeyAttr.TCP, size: 4, off: 0, len: 2 },
  tcp_dst: { attr: KeyAttr.TCP, size: 4, off: 2, len: 2 },
  udp_src: { attr: KeyAttr.UDP, size: 4, off: 0, len: 2 },
  udp_dst: { attr: KeyAttr.UDP, size: 4, off: 2, len: 2 },
};

export function setFieldInfo(f: SetField): { attr: KeyAttr; off: number; len: number } {
  return SET_FIELDS[f];
}

/** One field per set action, sent as OVS_ACTION_ATTR_SET_MASKED (value then mask). */
export function encodeActions(actions: OdpAction[]): Buffer {
  const w = new NlWriter(128);
  writeActions(w, actions);
  return w.done();
}

function writeActions(w: NlWriter, actions: OdpAction[]): void {
  for (const a of actions) {
    switch (a.type) {
      case 'output': w.u32(ActionAttr.OUTPUT, a.port); break;
      case 'userspace': {
        const n = w.begin(ActionAttr.USERSPACE);
        w.u32(UserspaceAttr.PID, a.pid);
        if (a.userdata) w.bytes(UserspaceAttr.USERDATA, a.userdata);
        w.end(n);
        break;
      }
      case 'set': {
        const f = SET_FIELDS[a.field];
        if (a.value.length !== f.len) throw new RangeError(`set(${a.field}) takes ${f.len} bytes`);
        // the kernel wants the value's unmasked bits zero
        if (f.mask && a.value.some((x, i) => (x & ~f.mask![i]) !== 0)) throw new RangeError(`set(${a.field}) value has bits outside the field`);
        const n = w.begin(ActionAttr.SET_MASKED);
        const o = w.attr(f.attr, 2 * f.size);
        a.value.copy(w.buf, o + f.off);
        if (f.mask) f.mask.copy(w.buf, o + f.size + f.off);
        else w.buf.fill(0xff, o + f.size + f.off, o + f.size + f.off + f.len);
        w.end(n);
        break;
      }
      case 'push_vlan': {
        const o = w.attr(ActionAttr.PUSH_VLAN, 4);
        w.buf.writeUInt16BE(a.tpid, o); w.buf.writeUInt16BE((a.tci | VLAN_PRESENT) & 0xffff, o + 2);
        break;
      }
      case 'pop_vlan': w.flag(ActionAttr.POP_VLAN); break;
      case 'meter': w.u32(ActionAttr.METER, a.id); break;
    }
  }
}

export function decodeActions(buf: Buffer): OdpAction[] {
  const out: OdpAction[] = [];
  for (const { type, data } of nlAttrList(buf)) {
    switch (type) {
      case ActionAttr.OUTPUT: out.push({ type: 'output', port: need(data, 4, 'output').readUInt32LE(0) }); break;
      case ActionAttr.USERSPACE: {
        const a = nlAttrs(data);
        out.push({ type: 'userspace', pid: need(a.get(UserspaceAttr.PID), 4, 'userspace pid').readUInt32LE(0), userdata: a.get(UserspaceAttr.USERDATA) });
        break;
      }
      case ActionAttr.SET_MASKED: {
        let found = false;
        for (const inner of nlAttrList(data)) {
          const t = inner.type;
          for (const [name, f] of Object.entries(SET_FIELDS) as [SetField, (typeof SET_FIELDS)[SetField]][]) {
            if (f.attr !== t || inner.data.length < 2 * f.size) continue;
            const mask = inner.data.subarray(f.size + f.off, f.size + f.off + f.len);
            if (mask.some((x) => x !== 0)) {
              out.push({ type: 'set', field: name, value: Buffer.from(inner.data.subarray(f.off, f.off + f.len)) });
              found = true;
            }
          }
        }
        if (!found) throw new RangeError('set action: unsupported or empty field');
        break;
      }
      case ActionAttr.PUSH_VLAN: {
        need(data, 4, 'push_vlan');
        out.push({ type: 'push_vlan', tpid: data.readUInt16BE(0), tci: data.readUInt16BE(2) & ~VLAN_PRESENT & 0xffff });
        break;
      }
      case ActionAttr.POP_VLAN: out.push({ type: 'pop_vlan' }); break;
      case ActionAttr.METER: out.push({ type: 'meter', id: need(data, 4, 'meter').readUInt32LE(0) }); break;
      default: throw new RangeError(`unsupported datapath action ${type}`);
    }
  }
  return out;
}

/* ---- whole messages ----------------------------------------------------- */

/** Family ids: resolved from the kernel by dpif-netlink; fixed for dpif-xdp. */
export const XDP_FAMILY_IDS = { ovs_flow: 0x7f01, ovs_packet: 0x7f02 } as const;

/** nlmsghdr + genlmsghdr + ovs_header; returns the writer positioned for attributes. */
function genlBegin(familyId: number, cmd: number, dpIfindex: number): NlWriter {
  const w = new NlWriter(256);
  const h = w.raw(NLMSG_HDRLEN + GENL_HDRLEN + OVS_HDRLEN);
  w.buf.writeUInt16LE(familyId, h + 4);
  w.buf.writeUInt16LE(NLM_F_REQUEST, h + 6);
  w.buf[h + NLMSG_HDRLEN] = cmd;
  w.buf[h + NLMSG_HDRLEN + 1] = OVS_DATAPATH_VERSION;
  w.buf.writeInt32LE(dpIfindex, h + NLMSG_HDRLEN + GENL_HDRLEN);
  return w;
}

function genlEnd(w: NlWriter): Buffer {
  w.buf.writeUInt32LE(w.off, 0);
  return w.done();
}

function parseGenl(buf: Buffer, familyId: number): { cmd: number; dpIfindex: number; attrs: Map<number, Buffer> } {
  const hdr = NLMSG_HDRLEN + GENL_HDRLEN + OVS_HDRLEN;
  if (buf.length < hdr) throw new RangeError(`OVS message truncated (${buf.length} bytes)`);
  const len = buf.readUInt32LE(0);
  if (len < hdr || len > buf.length) throw new RangeError(`OVS message length ${len} does not fit ${buf.length} bytes`);
  if (buf.readUInt16LE(4) !== familyId) throw new RangeError(`unexpected netlink family ${buf.readUInt16LE(4)}`);
  return { cmd: buf[NLMSG_HDRLEN], dpIfindex: buf.readInt32LE(NLMSG_HDRLEN + GENL_HDRLEN), attrs: nlAttrs(buf.subarray(hdr, len)) };
}

export function encodeFlowMsg(m: OvsFlowMsg, familyId: number = XDP_FAMILY_IDS.ovs_flow): Buffer {
  const w = genlBegin(familyId, m.cmd, m.dpIfindex);
  if (m.key) { const n = w.begin(FlowAttr.KEY); writeKey(w, m.key); w.end(n); }
  if (m.mask) { const n = w.begin(FlowAttr.MASK); writeKey(w, m.mask, m.key ?? m.mask); w.end(n); }
  if (m.actions) { const n = w.begin(FlowAttr.ACTIONS); writeActions(w, m.actions); w.end(n); }
  if (m.stats) { const o = w.attr(FlowAttr.STATS, 16); w.buf.writeBigUInt64LE(m.stats.packets, o); w.buf.writeBigUInt64LE(m.stats.bytes, o + 8); }
  if (m.tcpFlags !== undefined) { const o = w.attr(FlowAttr.TCP_FLAGS, 1); w.buf[o] = m.tcpFlags & 0xff; }
  if (m.used !== undefined) w.u64(FlowAttr.USED, m.used);
  if (m.clear) w.flag(FlowAttr.CLEAR);
  if (m.probe) w.flag(FlowAttr.PROBE);
  if (m.ufid) w.bytes(FlowAttr.UFID, m.ufid);
  return genlEnd(w);
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
  const w = genlBegin(familyId, m.cmd, m.dpIfindex);
  w.bytes(PacketAttr.PACKET, m.packet);
  const n = w.begin(PacketAttr.KEY); writeKey(w, m.key); w.end(n);
  if (m.actions) { const a = w.begin(PacketAttr.ACTIONS); writeActions(w, m.actions); w.end(a); }
  if (m.userdata) w.bytes(PacketAttr.USERDATA, m.userdata);
  if (m.len !== undefined) w.u32(PacketAttr.LEN, m.len);
  return genlEnd(w);
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
