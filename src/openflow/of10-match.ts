/*
 * The OpenFlow 1.0 ofp_match (40 bytes: a wildcards bitfield, CIDR prefix
 * lengths for nw_src/nw_dst, fixed fields) to and from a Match, with OVS's
 * conversions (lib/ofp-match.c): dl_vlan=0xffff means "no tag", an L3/L4
 * field whose prerequisites the match does not pin is dropped on decode (OVS
 * normalises 1.0 matches the same way), and for ICMP tp_src/tp_dst are the
 * type and code.
 */
import { Match } from '../ofproto/match';
import { mfField, MfField, mfGet, mfSet } from '../ofproto/meta-flow';
import { ETH_TYPE_IP, ETH_TYPE_ARP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, VLAN_PRESENT } from '../dpif/flow-key';
import { OfpError, OFPET, OFPBMC_ALL } from './errors';
import { OfReader, OfWriter } from './buf';
import { fieldOnes, port16to32, port32to16 } from './oxm';

export const OFP10_MATCH_LEN = 40;
export const OFP10_VLAN_NONE = 0xffff;
const ETH_TYPE_RARP = 0x8035;

export const OFPFW10 = {
  IN_PORT: 1 << 0, DL_VLAN: 1 << 1, DL_SRC: 1 << 2, DL_DST: 1 << 3, DL_TYPE: 1 << 4, NW_PROTO: 1 << 5,
  TP_SRC: 1 << 6, TP_DST: 1 << 7, NW_SRC_SHIFT: 8, NW_SRC_MASK: 0x3f << 8, NW_DST_SHIFT: 14, NW_DST_MASK: 0x3f << 14,
  DL_VLAN_PCP: 1 << 20, NW_TOS: 1 << 21, ALL: (1 << 22) - 1,
} as const;

const F = (n: string): MfField => mfField(n);

/** Prefix length of a 32-bit mask, or undefined if it is not a CIDR mask. */
function cidrLen(mask: number): number | undefined {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return undefined;   // inv must be 0...01...1
  return 32 - Math.log2(inv + 1);
}

const cidrMask = (wildBits: number): number => (wildBits >= 32 ? 0 : (0xffffffff << wildBits) >>> 0);

/** L4 fields for the protocol a 1.0 match pins (undefined: tp_src/tp_dst mean nothing). */
function l4Fields(ethType: number | undefined, proto: number | undefined): [MfField, MfField] | undefined {
  if (ethType !== ETH_TYPE_IP) return undefined;
  if (proto === IPPROTO_ICMP) return [F('icmp_type'), F('icmp_code')];
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) return [F('tp_src'), F('tp_dst')];
  return undefined;
}

export function decodeOf10Match(r: OfReader): Match {
  if (r.remaining < OFP10_MATCH_LEN) throw new OfpError(OFPET.BAD_MATCH, OFPBMC_ALL.BAD_LEN, `ofp10_match needs 40 bytes, have ${r.remaining}`);
  const wc = r.u32();
  const inPort = r.u16();
  const dlSrc = r.uint(6), dlDst = r.uint(6);
  const dlVlan = r.u16();
  const dlVlanPcp = r.u8();
  r.skip(1);
  const dlType = r.u16();
  const nwTos = r.u8();
  const nwProto = r.u8();
  r.skip(2);
  const nwSrc = r.u32(), nwDst = r.u32();
  const tpSrc = r.u16(), tpDst = r.u16();

  const m = new Match();
  const has = (bit: number): boolean => !(wc & bit);
  if (has(OFPFW10.IN_PORT)) {
    // 0xff00-0xfff7 are neither ports nor reserved ports; 1.3 has no number for them either (OXM decode refuses them too).
    if (inPort >= 0xff00 && inPort < 0xfff8) throw new OfpError(OFPET.BAD_MATCH, OFPBMC_ALL.BAD_VALUE, `in_port 0x${inPort.toString(16)} is not a port`);
    m.set(F('in_port'), BigInt(port16to32(inPort)));
  }
  if (has(OFPFW10.DL_SRC)) m.set(F('dl_src'), dlSrc);
  if (has(OFPFW10.DL_DST)) m.set(F('dl_dst'), dlDst);
  if (has(OFPFW10.DL_TYPE)) m.set(F('dl_type'), BigInt(dlType));

  // VLAN (ofputil_match_from_ofp10_match).
  if (has(OFPFW10.DL_VLAN) && dlVlan === OFP10_VLAN_NONE) {
    m.set(F('vlan_tci'), 0n, 0xffffn);
  } else {
    let mask = 0;
    if (has(OFPFW10.DL_VLAN)) mask |= 0x0fff | VLAN_PRESENT;
    if (has(OFPFW10.DL_VLAN_PCP)) mask |= 0xe000 | VLAN_PRESENT;
    const tci = (dlVlan & 0x0fff) | ((dlVlanPcp << 13) & 0xe000) | VLAN_PRESENT;
    if (mask) m.set(F('vlan_tci'), BigInt(tci & mask), BigInt(mask));
  }

  const ethType = has(OFPFW10.DL_TYPE) ? dlType : undefined;
  const isIp = ethType === ETH_TYPE_IP;
  const isArp = ethType === ETH_TYPE_ARP || ethType === ETH_TYPE_RARP;
  if (isIp || isArp) {
    const srcWild = Math.min((wc & OFPFW10.NW_SRC_MASK) >>> OFPFW10.NW_SRC_SHIFT, 32);
    const dstWild = Math.min((wc & OFPFW10.NW_DST_MASK) >>> OFPFW10.NW_DST_SHIFT, 32);
    if (srcWild < 32) m.set(F(isIp ? 'nw_src' : 'arp_spa'), BigInt(nwSrc), BigInt(cidrMask(srcWild)));
    if (dstWild < 32) m.set(F(isIp ? 'nw_dst' : 'arp_tpa'), BigInt(nwDst), BigInt(cidrMask(dstWild)));
    // ARP opcodes above 255 cannot be in a 1.0 match (nw_proto is 8 bits): nothing to check.
    if (has(OFPFW10.NW_PROTO)) m.set(F(isIp ? 'nw_proto' : 'arp_op'), BigInt(nwProto));
    if (isIp && has(OFPFW10.NW_TOS)) m.set(F('nw_tos'), BigInt(nwTos & 0xfc));
  }
  const l4 = l4Fields(ethType, has(OFPFW10.NW_PROTO) ? nwProto : undefined);
  if (l4) {
    if (has(OFPFW10.TP_SRC)) m.set(l4[0], BigInt(tpSrc) & fieldOnes(l4[0]));
    if (has(OFPFW10.TP_DST)) m.set(l4[1], BigInt(tpDst) & fieldOnes(l4[1]));
  }
  return m;
}

/**
 * Writes `m` as an ofp10_match. What 1.0 cannot say (registers, metadata,
 * IPv6, partial masks other than CIDR prefixes, ARP hardware addresses...)
 * is OfpError(BAD_MATCH, BAD_FIELD / BAD_WILDCARDS / BAD_NW_ADDR_MASK).
 */
export function encodeOf10Match(w: OfWriter, m: Match): void {
  const g = (n: string): { value: bigint; mask: bigint } => m.get(F(n));
  const exact = (n: string): boolean => g(n).mask === fieldOnes(F(n));
  const bad = (code: number, msg: string): OfpError => new OfpError(OFPET.BAD_MATCH, code, msg);
  const consumed = Buffer.alloc(m.mask.length);
  const use = (n: string): void => { const f = F(n); mfSet(consumed, f, mfGet(consumed, f) | fieldOnes(f)); };
  let wc = 0;
  const need = (n: string, bit: number): bigint => {
    const { value, mask } = g(n);
    if (mask === 0n) { wc |= bit; return 0n; }
    if (!exact(n)) throw bad(OFPBMC_ALL.BAD_WILDCARDS, `OpenFlow 1.0 cannot match ${n} with a mask`);
    use(n);
    return value;
  };

  const inPort32 = Number(need('in_port', OFPFW10.IN_PORT));
  const inPort = port32to16(inPort32);
  if (inPort === undefined) throw bad(OFPBMC_ALL.BAD_VALUE, `port ${inPort32} has no OpenFlow 1.0 number`);
  const dlSrc = need('dl_src', OFPFW10.DL_SRC), dlDst = need('dl_dst', OFPFW10.DL_DST);
  const dlType = need('dl_type', OFPFW10.DL_TYPE);
  const ethType = m.has(F('dl_type')) ? Number(dlType) : undefined;

  // VLAN (ofputil_match_to_ofp10_match).
  const tci = g('vlan_tci');
  let dlVlan = 0, dlVlanPcp = 0;
  const present = BigInt(VLAN_PRESENT);
  if (tci.mask === 0n) wc |= OFPFW10.DL_VLAN | OFPFW10.DL_VLAN_PCP;
  else if ((tci.mask & present) && !(tci.value & present)) {
    // An untagged packet's TCI is all zeros: any other matched bits must be zero too (vlan_tci=0/0x1fff is dl_vlan=0xffff).
    if (tci.value !== 0n) throw bad(OFPBMC_ALL.BAD_WILDCARDS, 'OpenFlow 1.0 cannot say this vlan_tci match');
    dlVlan = OFP10_VLAN_NONE;
  } else {
    const vid = tci.mask & 0x0fffn, pcp = tci.mask & 0xe000n;
    // 1.0 matches the VID and/or the PCP of a tagged packet: "any tag", partial fields or fields without the tag bit cannot be said.
    if ((vid && vid !== 0x0fffn) || (pcp && pcp !== 0xe000n) || (!vid && !pcp) || !(tci.mask & present)) {
      throw bad(OFPBMC_ALL.BAD_WILDCARDS, 'OpenFlow 1.0 cannot say this vlan_tci match');
    }
    if (!vid) wc |= OFPFW10.DL_VLAN; else dlVlan = Number(tci.value & 0x0fffn);
    if (!pcp) wc |= OFPFW10.DL_VLAN_PCP; else dlVlanPcp = Number((tci.value >> 13n) & 7n);
  }
  use('vlan_tci');

  const isIp = ethType === ETH_TYPE_IP;
  const isArp = ethType === ETH_TYPE_ARP || ethType === ETH_TYPE_RARP;
  const cidr = (n: string, shift: number): number => {
    const { value, mask } = g(n);
    const len = cidrLen(Number(mask));
    if (len === undefined) throw bad(OFPBMC_ALL.BAD_NW_ADDR_MASK, `${n} mask is not a CIDR prefix`);
    wc |= (32 - len) << shift;
    use(n);
    return Number(value);
  };
  let nwSrc = 0, nwDst = 0, nwProto = 0, nwTos = 0;
  if (isIp || isArp) {
    nwSrc = cidr(isIp ? 'nw_src' : 'arp_spa', OFPFW10.NW_SRC_SHIFT);
    nwDst = cidr(isIp ? 'nw_dst' : 'arp_tpa', OFPFW10.NW_DST_SHIFT);
    nwProto = Number(need(isIp ? 'nw_proto' : 'arp_op', OFPFW10.NW_PROTO));
  } else {
    wc |= OFPFW10.NW_PROTO | (32 << OFPFW10.NW_SRC_SHIFT) | (32 << OFPFW10.NW_DST_SHIFT);
  }
  if (isIp && m.has(F('nw_tos'))) nwTos = Number(need('nw_tos', OFPFW10.NW_TOS));
  else wc |= OFPFW10.NW_TOS;
  let tpSrc = 0, tpDst = 0;
  const l4 = l4Fields(ethType, m.has(F('nw_proto')) && isIp ? nwProto : undefined);
  if (l4) {
    tpSrc = Number(need(l4[0].name, OFPFW10.TP_SRC));
    tpDst = Number(need(l4[1].name, OFPFW10.TP_DST));
  } else {
    wc |= OFPFW10.TP_SRC | OFPFW10.TP_DST;
  }
  for (let i = 0; i < consumed.length; i++) {
    if (m.mask[i] & ~consumed[i]) throw bad(OFPBMC_ALL.BAD_FIELD, `OpenFlow 1.0 cannot match flow byte ${i} (register, metadata, IPv6, TTL, ECN...)`);
  }

  w.u32(wc).u16(inPort);
  w.uint(dlSrc, 6).uint(dlDst, 6);
  w.u16(dlVlan).u8(dlVlanPcp).u8(0).u16(Number(dlType));
  w.u8(nwTos).u8(nwProto).u16(0);
  w.u32(nwSrc).u32(nwDst).u16(tpSrc).u16(tpDst);
}
