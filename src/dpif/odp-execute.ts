/*
 * Executes datapath actions on a packet in userspace (OVS's odp-execute):
 * used for the upcalled first packet of a flow and for flows whose actions
 * the hook cannot run (slow path). Same semantics as the BPF actions.
 */
import { OdpAction } from './odp-netlink';
import { ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_VLAN, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 } from './flow-key';

interface L3L4 { l3: number; ethType: number; l4?: number; proto?: number; l4Len?: number }

/** Finds the IP and L4 headers of an Ethernet frame (one VLAN tag, no IPv6 extension headers). */
export function locate(pkt: Buffer): L3L4 | undefined {
  if (pkt.length < 14) return undefined;
  let off = 12;
  let ethType = pkt.readUInt16BE(off);
  if ((ethType === ETH_TYPE_VLAN || ethType === 0x88a8) && pkt.length >= 18) { off += 4; ethType = pkt.readUInt16BE(off); }
  const l3 = off + 2;
  if (ethType === ETH_TYPE_IP) {
    if (pkt.length < l3 + 20) return { l3, ethType };
    const ihl = (pkt[l3] & 0x0f) * 4;
    const total = pkt.readUInt16BE(l3 + 2);
    const fragOff = pkt.readUInt16BE(l3 + 6) & 0x1fff;
    if (ihl < 20 || pkt.length < l3 + ihl || fragOff !== 0 || (pkt[l3 + 6] & 0x20)) return { l3, ethType };
    const end = Math.min(pkt.length, l3 + total);
    return { l3, ethType, l4: l3 + ihl, proto: pkt[l3 + 9], l4Len: end - (l3 + ihl) };
  }
  if (ethType === ETH_TYPE_IPV6) {
    if (pkt.length < l3 + 40) return { l3, ethType };
    const end = Math.min(pkt.length, l3 + 40 + pkt.readUInt16BE(l3 + 4));
    return { l3, ethType, l4: l3 + 40, proto: pkt[l3 + 6], l4Len: end - (l3 + 40) };
  }
  return { l3, ethType };
}

function sum16(b: Buffer, start: number, end: number, acc = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) acc += b.readUInt16BE(i);
  if (i < end) acc += b[i] << 8;
  return acc;
}
const fold = (s: number): number => { while (s > 0xffff) s = (s & 0xffff) + (s >>> 16); return s; };

export function ipv4HeaderChecksum(pkt: Buffer, l3: number): number {
  const ihl = (pkt[l3] & 0x0f) * 4;
  return ~fold(sum16(pkt, l3, l3 + 10) + sum16(pkt, l3 + 12, l3 + ihl)) & 0xffff;
}

function pseudoSum(pkt: Buffer, p: L3L4): number {
  const len = p.l4Len!;
  if (p.ethType === ETH_TYPE_IP) return sum16(pkt, p.l3 + 12, p.l3 + 20) + p.proto! + len;
  return sum16(pkt, p.l3 + 8, p.l3 + 40) + p.proto! + len;
}

const csumOffset = (proto: number): number | undefined => (proto === IPPROTO_TCP ? 16 : proto === IPPROTO_UDP ? 6 : undefined);

/** Full L4 checksum of the packet as it is (the checksum field counted as zero). */
export function l4Checksum(pkt: Buffer, p: L3L4): number {
  const co = csumOffset(p.proto!)!;
  const s = pseudoSum(pkt, p) + sum16(pkt, p.l4!, p.l4! + co) + sum16(pkt, p.l4! + co + 2, p.l4! + p.l4Len!);
  const c = ~fold(s) & 0xffff;
  return p.proto === IPPROTO_UDP && c === 0 ? 0xffff : c;
}

function canFixL4(p: L3L4 | undefined): p is Required<L3L4> {
  return !!p && p.l4 !== undefined && p.proto !== undefined && csumOffset(p.proto) !== undefined &&
    p.l4Len! >= csumOffset(p.proto)! + 2;
}

function refreshL4(pkt: Buffer, p: L3L4 | undefined): void {
  if (!canFixL4(p)) return;
  const at = p.l4 + csumOffset(p.proto)!;
  if (p.proto === IPPROTO_UDP && pkt.readUInt16BE(at) === 0 && p.ethType === ETH_TYPE_IP) return; // no UDP checksum
  pkt.writeUInt16BE(l4Checksum(pkt, p), at);
}

/**
 * A packet taken from the TC hook may carry CHECKSUM_PARTIAL state: its L4
 * checksum field holds only the folded pseudo-header sum, to be completed by
 * the NIC. Complete it (only in that exact case) so the copy we re-send is valid.
 */
export function completePartialChecksum(pkt: Buffer): boolean {
  const p = locate(pkt);
  if (!canFixL4(p)) return false;
  const at = p.l4 + csumOffset(p.proto)!;
  const field = pkt.readUInt16BE(at);
  if (field === l4Checksum(pkt, p)) return false;
  if (field !== fold(pseudoSum(pkt, p)) && field !== (~fold(pseudoSum(pkt, p)) & 0xffff)) return false;
  pkt.writeUInt16BE(l4Checksum(pkt, p), at);
  return true;
}

export interface ExecuteSink {
  output(port: number, frame: Buffer): void;
  userspace?(a: Extract<OdpAction, { type: 'userspace' }>, frame: Buffer): void;
  /** Charges a `len`-byte packet to meter `id`; true when its band drops it. Absent: meters pass everything. */
  meter?(id: number, len: number): boolean;
}

/** Applies `actions` to a copy of `packet`, handing each output a snapshot. */
export function odpExecute(packet: Buffer, actions: OdpAction[], sink: ExecuteSink): void {
  let pkt = Buffer.from(packet);
  for (const a of actions) {
    switch (a.type) {
      case 'meter':
        if (sink.meter?.(a.id, pkt.length)) return;   // dropped by the band: nothing after it runs
        break;
      case 'output': sink.output(a.port, Buffer.from(pkt)); break;
      case 'userspace': sink.userspace?.(a, Buffer.from(pkt)); break;
      case 'push_vlan': {
        if (pkt.length < 14) break;
        const tag = Buffer.alloc(4);
        tag.writeUInt16BE(a.tpid, 0); tag.writeUInt16BE(a.tci & 0xefff, 2);
        pkt = Buffer.concat([pkt.subarray(0, 12), tag, pkt.subarray(12)]);
        break;
      }
      case 'pop_vlan': {
        if (pkt.length >= 18 && [ETH_TYPE_VLAN, 0x88a8].includes(pkt.readUInt16BE(12))) {
          pkt = Buffer.concat([pkt.subarray(0, 12), pkt.subarray(16)]);
        }
        break;
      }
      case 'set': applySet(pkt, a.field, a.value); break;
    }
  }
}

function applySet(pkt: Buffer, field: string, value: Buffer): void {
  if (field === 'eth_src') { if (pkt.length >= 12) value.copy(pkt, 6); return; }
  if (field === 'eth_dst') { if (pkt.length >= 6) value.copy(pkt, 0); return; }
  if (field.startsWith('ipv6_')) { setIpv6(pkt, field, value); return; }
  const p = locate(pkt);
  if (!p) return;
  if (field.startsWith('ipv4_')) {
    if (p.ethType !== ETH_TYPE_IP || pkt.length < p.l3 + 20) return;
    const off = { ipv4_src: 12, ipv4_dst: 16, ipv4_tos: 1, ipv4_ttl: 8 }[field]!;
    value.copy(pkt, p.l3 + off);
    pkt.writeUInt16BE(ipv4HeaderChecksum(pkt, p.l3), p.l3 + 10);
    if (field === 'ipv4_src' || field === 'ipv4_dst') refreshL4(pkt, p);
    return;
  }
  const [proto, which] = field.split('_');
  const want = proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
  if (p.proto !== want || p.l4 === undefined || p.l4Len! < 4) return;
  value.copy(pkt, p.l4 + (which === 'src' ? 0 : 2));
  refreshL4(pkt, p);
}

/* ---- IPv6 sets: the same steps and arithmetic as the BPF actions ----------- */

const IPV6_EXT = new Set([0, 43, 60, 51, 44]);   // hop-by-hop, routing, dst opts, AH, fragment
const MAX_HDR_OFF = 1024;                         // bpf/xvs_parse.h XVS_MAX_HDR_OFF

interface V6 { l3: number; l4?: number; proto: number; rh: boolean }

/**
 * The IPv6 header and its L4 header as the BPF parser finds them: one
 * 802.1Q tag at most, the payload inside the frame, at most 6 extension
 * headers, no L4 in a later fragment or behind a cut chain.
 */
function parseIpv6(pkt: Buffer): V6 | undefined {
  if (pkt.length < 14) return undefined;
  let l3 = 14, type = pkt.readUInt16BE(12);
  if (type === ETH_TYPE_VLAN) {
    if (pkt.length < 18) return undefined;
    type = pkt.readUInt16BE(16); l3 = 18;
  }
  if (type !== ETH_TYPE_IPV6 || pkt.length < l3 + 40) return undefined;
  const end = l3 + 40 + pkt.readUInt16BE(l3 + 4);
  if (end > pkt.length) return undefined;
  let nh = pkt[l3 + 6], off = l3 + 40, rh = false;
  for (let i = 0; i < 6 && IPV6_EXT.has(nh) && off <= MAX_HDR_OFF; i++) {
    if (off + 8 > end) return { l3, proto: 0, rh };
    if (nh === 44) {
      const offlg = pkt.readUInt16BE(off + 2);
      nh = pkt[off]; off += 8;
      if (offlg & 0xfff8) return { l3, proto: 44, rh };   // later fragment
    } else if (nh === 51) {
      nh = pkt[off]; off += (pkt[off + 1] + 2) * 4;
    } else {
      if (nh === 43 && pkt[off + 3]) rh = true;             // routing header with segments left
      nh = pkt[off]; off += (pkt[off + 1] + 1) * 8;
    }
  }
  const need = nh === IPPROTO_TCP ? 20 : nh === IPPROTO_UDP || nh === IPPROTO_ICMPV6 ? 8 : 0;
  if (!need || off > MAX_HDR_OFF || off + need > end) return { l3, proto: nh, rh };
  return { l3, l4: off, proto: nh, rh };
}

/** RFC 1624 HC' = ~(~HC + ~m + m') for a 32-bit word, folded as xvs_csum_replace4. */
function csumReplace4(sum: number, from: number, to: number): number {
  let c = (~sum & 0xffff) + (~(from >>> 16) & 0xffff) + (~from & 0xffff) + (to >>> 16) + (to & 0xffff);
  c = (c & 0xffff) + (c >>> 16);
  c = (c & 0xffff) + (c >>> 16);
  return ~c & 0xffff;
}

function setIpv6(pkt: Buffer, field: string, value: Buffer): void {
  const p = parseIpv6(pkt);
  if (!p) return;
  if (field === 'ipv6_src' || field === 'ipv6_dst') {
    const dst = field === 'ipv6_dst';
    const co = p.proto === IPPROTO_TCP ? 16 : p.proto === IPPROTO_UDP ? 6 : p.proto === IPPROTO_ICMPV6 ? 2 : -1;
    const fixL4 = p.l4 !== undefined && co >= 0 && !(dst && p.rh);
    for (const half of [0, 8]) {   // two 8-byte steps, as the two datapath actions
      const at = p.l3 + (dst ? 24 : 8) + half;
      const from = [pkt.readUInt32BE(at), pkt.readUInt32BE(at + 4)];
      const to = [value.readUInt32BE(half), value.readUInt32BE(half + 4)];
      value.copy(pkt, at, half, half + 8);
      if (!fixL4) continue;
      const udp = p.proto === IPPROTO_UDP, ca = p.l4! + co;
      let c = pkt.readUInt16BE(ca);
      if (udp && c === 0) continue;   // no UDP checksum: stays 0
      c = csumReplace4(csumReplace4(c, from[0], to[0]), from[1], to[1]);
      pkt.writeUInt16BE(udp && c === 0 ? 0xffff : c, ca);
    }
    return;
  }
  // traffic class, flow label, hop limit: masked writes of the first two words
  const [off, mask, val] = field === 'ipv6_tclass' ? [0, 0x0ff00000, value[0] << 20]
    : field === 'ipv6_label' ? [0, 0x000fffff, value.readUInt32BE(0)] : [4, 0xff, value[0]];
  const w = pkt.readUInt32BE(p.l3 + off);
  pkt.writeUInt32BE(((w & ~mask) | (val & mask)) >>> 0, p.l3 + off);
}
