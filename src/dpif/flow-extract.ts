/*
 * Flow key extraction in userspace (OVS flow_extract): the same rules as
 * bpf/xvs_parse.h, line for line, for packets that never went through the
 * fast path — packet-out from a controller, `ofproto/trace` with a packet in
 * hex. test/integration/flow-extract.test.ts compares both on the same frames.
 */
import { FlowKey, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, ETH_TYPE_VLAN, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP,
  IPPROTO_ICMP, IPPROTO_ICMPV6, FRAG_ANY, FRAG_LATER, VLAN_PRESENT } from './flow-key';

const ETH_TYPE_RARP = 0x8035;
const DL_TYPE_NONE = 0x05ff;
const ETH_P_802_3_MIN = 0x0600;
const IPV6_MAX_EXT = 6;
const MAX_HDR_OFF = 1024;
const IPPROTO_HOPOPTS = 0, IPPROTO_ROUTING = 43, IPPROTO_FRAGMENT = 44, IPPROTO_AH = 51, IPPROTO_DSTOPTS = 60;

/** The key of `frame` arriving on datapath port `inPort`. Never throws; short frames key what fits. */
export function flowExtract(frame: Buffer, inPort: number): FlowKey {
  const k = new FlowKey();
  k.inPort = inPort;
  const b = k.buf;
  const end = frame.length;
  if (end < 14) return k;
  frame.copy(b, 4, 6, 12);           // eth_src
  frame.copy(b, 10, 0, 6);           // eth_dst
  let off = 14;
  let type = frame.readUInt16BE(12);
  if (type === ETH_TYPE_VLAN) {
    if (off + 4 > end) { k.setField('eth_type', type); return k; }
    k.setField('vlan_tci', frame.readUInt16BE(off) | VLAN_PRESENT);
    type = frame.readUInt16BE(off + 2);
    off += 4;
  }
  if (type < ETH_P_802_3_MIN) {
    const snap = off + 8 <= end && frame[off] === 0xaa && frame[off + 1] === 0xaa && frame[off + 2] === 3 &&
      !frame[off + 3] && !frame[off + 4] && !frame[off + 5] && frame.readUInt16BE(off + 6) >= ETH_P_802_3_MIN;
    if (snap) { type = frame.readUInt16BE(off + 6); off += 8; } else type = DL_TYPE_NONE;
  }
  k.setField('eth_type', type);
  if (type === ETH_TYPE_IP) ipv4(frame, off, k);
  else if (type === ETH_TYPE_IPV6) ipv6(frame, off, k);
  else if (type === ETH_TYPE_ARP || type === ETH_TYPE_RARP) arp(frame, off, k);
  return k;
}

function ipv4(f: Buffer, off: number, k: FlowKey): void {
  if (off + 20 > f.length) return;
  const ihl = (f[off] & 0x0f) * 4;
  const tot = f.readUInt16BE(off + 2);
  if (f[off] >> 4 !== 4 || ihl < 20 || tot < ihl || off + tot > f.length) return;
  const b = k.buf;
  f.copy(b, 28, off + 12, off + 16);
  f.copy(b, 44, off + 16, off + 20);
  b[20] = f[off + 9]; b[21] = f[off + 1]; b[22] = f[off + 8];
  const frag = f.readUInt16BE(off + 6);
  if (frag & 0x3fff) {
    b[23] = FRAG_ANY;
    if (frag & 0x1fff) { b[23] |= FRAG_LATER; return; }
  }
  l4(f, off + ihl, off + tot, b[20], false, k);
}

function ipv6(f: Buffer, off: number, k: FlowKey): void {
  if (off + 40 > f.length) return;
  let p = off + 40;
  const end = p + f.readUInt16BE(off + 4);
  if (end > f.length) return;
  const b = k.buf;
  f.copy(b, 28, off + 8, off + 40);
  let nh = f[off + 6];
  let frag = 0;
  const isExt = (n: number): boolean => n === IPPROTO_HOPOPTS || n === IPPROTO_ROUTING || n === IPPROTO_DSTOPTS || n === IPPROTO_AH || n === IPPROTO_FRAGMENT;
  for (let i = 0; i < IPV6_MAX_EXT && isExt(nh); i++) {
    if (p > MAX_HDR_OFF) break;
    if (p + 8 > end) return;              // chain cut short: addresses only
    if (nh === IPPROTO_FRAGMENT) {
      const offlg = f.readUInt16BE(p + 2);
      nh = f[p];
      p += 8;
      if (offlg) {
        frag = FRAG_ANY;
        if (offlg & 0xfff8) { frag |= FRAG_LATER; nh = IPPROTO_FRAGMENT; break; }
      }
    } else if (nh === IPPROTO_AH) { nh = f[p]; p += (f[p + 1] + 2) * 4; }
    else { nh = f[p]; p += (f[p + 1] + 1) * 8; }
  }
  const word = f.readUInt32BE(off);
  b.writeUInt32BE(word & 0x000fffff, 24);
  b[21] = (word >>> 20) & 0xff;
  b[22] = f[off + 7];
  b[20] = nh;
  b[23] = frag;
  if (!(frag & FRAG_LATER)) l4(f, p, end, nh, true, k);
}

function l4(f: Buffer, p: number, l3End: number, proto: number, v6: boolean, k: FlowKey): void {
  if (p > MAX_HDR_OFF) return;
  const fits = (n: number): boolean => p + n <= l3End && p + n <= f.length;
  if (proto === IPPROTO_TCP) {
    if (!fits(20)) return;
    k.setField('tp_src', f.readUInt16BE(p)).setField('tp_dst', f.readUInt16BE(p + 2)).setField('tcp_flags', f.readUInt16BE(p + 12) & 0x0fff);
  } else if (proto === IPPROTO_UDP || proto === IPPROTO_SCTP) {
    if (!fits(proto === IPPROTO_UDP ? 8 : 12)) return;
    k.setField('tp_src', f.readUInt16BE(p)).setField('tp_dst', f.readUInt16BE(p + 2));
  } else if (v6 ? proto === IPPROTO_ICMPV6 : proto === IPPROTO_ICMP) {
    if (!fits(8)) return;
    k.setField('tp_src', f[p]).setField('tp_dst', f[p + 1]);
  }
}

function arp(f: Buffer, off: number, k: FlowKey): void {
  if (off + 28 > f.length) return;
  if (f.readUInt16BE(off) !== 1 || f.readUInt16BE(off + 2) !== ETH_TYPE_IP || f[off + 4] !== 6 || f[off + 5] !== 4) return;
  const b = k.buf;
  f.copy(b, 28, off + 14, off + 18);
  f.copy(b, 44, off + 24, off + 28);
  const op = f.readUInt16BE(off + 6);
  if (op <= 0xff) b[20] = op;
  f.copy(b, 60, off + 8, off + 14);
  f.copy(b, 66, off + 18, off + 24);
}
