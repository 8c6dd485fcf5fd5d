/*
 * OXM/NXM TLVs and the OpenFlow 1.3 ofp_match, to and from a Match.
 *
 * A TLV is a 32-bit header (class:16, field:7, hasmask:1, length:8), then
 * the value and, with hasmask, a mask of the same width; experimenter-class
 * TLVs (0xffff) put a 32-bit experimenter id before the value and count it in
 * the length. OVS speaks three classes inside one ofp_match and we accept all
 * of them: OpenFlow basic (0x8000), Nicira NXM_0 (0x0000) and NXM_1 (0x0001,
 * registers and the NX fields) and ONF's experimenter (tcp_flags).
 *
 * The header table is ours rather than meta-flow's `oxm` ids: meta-flow gives
 * vlan_tci as NXM_1/4 (that is reg4; NXM_OF_VLAN_TCI is NXM_0/4) and
 * tcp_flags as NXM_1/42 (NXM_NX_TCP_FLAGS is NXM_1/34; OF1.3 OVS sends ONF's
 * experimenter field 42). Every other meta-flow id agrees with this table
 * (test/unit/openflow-codec.test.ts checks).
 *
 * Encoding follows OVS's nx_put_raw() order and choices (vlan_vid+vlan_pcp
 * for the 802.1Q tag when they can say it, exact TLVs when the mask is all
 * ones), so a match OVS sent re-encodes to the same bytes.
 */
import { Match } from '../ofproto/match';
import { MfField, mfField, mfGet, mfSet, prereqOk, FLOW_SIZE, OFPP } from '../ofproto/meta-flow';
import { ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6, VLAN_PRESENT } from '../dpif/flow-key';
import { OfpError, OFPET, OFPBMC_ALL } from './errors';
import { OfReader, OfWriter, lenError } from './buf';

export const OXM_CLASS = { NXM_0: 0x0000, NXM_1: 0x0001, OPENFLOW_BASIC: 0x8000, EXPERIMENTER: 0xffff } as const;
export const ONF_EXPERIMENTER_ID = 0x4f4e4600;
export const OFPVID_PRESENT = 0x1000;
export const OFPVID_NONE = 0x0000;
export const OFPMT_STANDARD = 0;
export const OFPMT_OXM = 1;
const ETH_TYPE_RARP = 0x8035;

/** One TLV kind: its header and where its value lands in the flow. */
export interface OxmEntry {
  readonly name: string;         // OXM_OF_IN_PORT, NXM_NX_REG0...
  readonly cls: number;
  readonly field: number;
  readonly experimenter?: number;
  readonly bytes: number;        // value width on the wire
  readonly fld: MfField;
  /** NXM_OF_IN_PORT: a 16-bit OpenFlow 1.0 port number. */
  readonly port16?: boolean;
}

const E = (name: string, cls: number, field: number, bytes: number, fieldName: string, extra: Partial<OxmEntry> = {}): OxmEntry =>
  ({ name, cls, field, bytes, fld: mfField(fieldName), ...extra });
const B = OXM_CLASS.OPENFLOW_BASIC, N0 = OXM_CLASS.NXM_0, N1 = OXM_CLASS.NXM_1;

/** OpenFlow basic class (OF1.2+). */
const BASIC: OxmEntry[] = [
  E('OXM_OF_IN_PORT', B, 0, 4, 'in_port'),
  E('OXM_OF_METADATA', B, 2, 8, 'metadata'),
  E('OXM_OF_ETH_DST', B, 3, 6, 'dl_dst'),
  E('OXM_OF_ETH_SRC', B, 4, 6, 'dl_src'),
  E('OXM_OF_ETH_TYPE', B, 5, 2, 'dl_type'),
  E('OXM_OF_VLAN_VID', B, 6, 2, 'vlan_vid'),
  E('OXM_OF_VLAN_PCP', B, 7, 1, 'vlan_pcp'),
  E('OXM_OF_IP_DSCP', B, 8, 1, 'ip_dscp'),
  E('OXM_OF_IP_ECN', B, 9, 1, 'nw_ecn'),
  E('OXM_OF_IP_PROTO', B, 10, 1, 'nw_proto'),
  E('OXM_OF_IPV4_SRC', B, 11, 4, 'nw_src'),
  E('OXM_OF_IPV4_DST', B, 12, 4, 'nw_dst'),
  E('OXM_OF_TCP_SRC', B, 13, 2, 'tcp_src'),
  E('OXM_OF_TCP_DST', B, 14, 2, 'tcp_dst'),
  E('OXM_OF_UDP_SRC', B, 15, 2, 'udp_src'),
  E('OXM_OF_UDP_DST', B, 16, 2, 'udp_dst'),
  E('OXM_OF_SCTP_SRC', B, 17, 2, 'sctp_src'),
  E('OXM_OF_SCTP_DST', B, 18, 2, 'sctp_dst'),
  E('OXM_OF_ICMPV4_TYPE', B, 19, 1, 'icmp_type'),
  E('OXM_OF_ICMPV4_CODE', B, 20, 1, 'icmp_code'),
  E('OXM_OF_ARP_OP', B, 21, 2, 'arp_op'),
  E('OXM_OF_ARP_SPA', B, 22, 4, 'arp_spa'),
  E('OXM_OF_ARP_TPA', B, 23, 4, 'arp_tpa'),
  E('OXM_OF_ARP_SHA', B, 24, 6, 'arp_sha'),
  E('OXM_OF_ARP_THA', B, 25, 6, 'arp_tha'),
  E('OXM_OF_IPV6_SRC', B, 26, 16, 'ipv6_src'),
  E('OXM_OF_IPV6_DST', B, 27, 16, 'ipv6_dst'),
  E('OXM_OF_IPV6_FLABEL', B, 28, 4, 'ipv6_label'),
  E('OXM_OF_ICMPV6_TYPE', B, 29, 1, 'icmpv6_type'),
  E('OXM_OF_ICMPV6_CODE', B, 30, 1, 'icmpv6_code'),
];

/** Nicira NXM (OF1.0 extension; OVS also accepts these inside OXM matches and as REG_LOAD targets). */
const NXM: OxmEntry[] = [
  E('NXM_OF_IN_PORT', N0, 0, 2, 'in_port', { port16: true }),
  E('NXM_OF_ETH_DST', N0, 1, 6, 'dl_dst'),
  E('NXM_OF_ETH_SRC', N0, 2, 6, 'dl_src'),
  E('NXM_OF_ETH_TYPE', N0, 3, 2, 'dl_type'),
  E('NXM_OF_VLAN_TCI', N0, 4, 2, 'vlan_tci'),
  E('NXM_OF_IP_TOS', N0, 5, 1, 'nw_tos'),
  E('NXM_OF_IP_PROTO', N0, 6, 1, 'nw_proto'),
  E('NXM_OF_IP_SRC', N0, 7, 4, 'nw_src'),
  E('NXM_OF_IP_DST', N0, 8, 4, 'nw_dst'),
  E('NXM_OF_TCP_SRC', N0, 9, 2, 'tcp_src'),
  E('NXM_OF_TCP_DST', N0, 10, 2, 'tcp_dst'),
  E('NXM_OF_UDP_SRC', N0, 11, 2, 'udp_src'),
  E('NXM_OF_UDP_DST', N0, 12, 2, 'udp_dst'),
  E('NXM_OF_ICMP_TYPE', N0, 13, 1, 'icmp_type'),
  E('NXM_OF_ICMP_CODE', N0, 14, 1, 'icmp_code'),
  E('NXM_OF_ARP_OP', N0, 15, 2, 'arp_op'),
  E('NXM_OF_ARP_SPA', N0, 16, 4, 'arp_spa'),
  E('NXM_OF_ARP_TPA', N0, 17, 4, 'arp_tpa'),
  ...Array.from({ length: 8 }, (_, i) => E(`NXM_NX_REG${i}`, N1, i, 4, `reg${i}`)),
  E('NXM_NX_ARP_SHA', N1, 17, 6, 'arp_sha'),
  E('NXM_NX_ARP_THA', N1, 18, 6, 'arp_tha'),
  E('NXM_NX_IPV6_SRC', N1, 19, 16, 'ipv6_src'),
  E('NXM_NX_IPV6_DST', N1, 20, 16, 'ipv6_dst'),
  E('NXM_NX_ICMPV6_TYPE', N1, 21, 1, 'icmpv6_type'),
  E('NXM_NX_ICMPV6_CODE', N1, 22, 1, 'icmpv6_code'),
  E('NXM_NX_IP_FRAG', N1, 26, 1, 'nw_frag'),
  E('NXM_NX_IPV6_LABEL', N1, 27, 4, 'ipv6_label'),
  E('NXM_NX_IP_ECN', N1, 28, 1, 'nw_ecn'),
  E('NXM_NX_IP_TTL', N1, 29, 1, 'nw_ttl'),
  E('NXM_NX_TCP_FLAGS', N1, 34, 2, 'tcp_flags'),
];

const EXPERIMENTER: OxmEntry[] = [
  E('ONFOXM_ET_TCP_FLAGS', OXM_CLASS.EXPERIMENTER, 42, 2, 'tcp_flags', { experimenter: ONF_EXPERIMENTER_ID }),
];

export const OXM_ENTRIES: readonly OxmEntry[] = [...BASIC, ...NXM, ...EXPERIMENTER];

const key = (cls: number, field: number, exp = 0): number => cls * 0x10000000000 + field * 0x100000000 + exp;
const BY_HEADER = new Map<number, OxmEntry>();
for (const e of OXM_ENTRIES) BY_HEADER.set(key(e.cls, e.field, e.experimenter), e);

/** The entry for a header (experimenter: with its id), or undefined. */
export function oxmLookup(cls: number, field: number, experimenter?: number): OxmEntry | undefined {
  return BY_HEADER.get(key(cls, field, cls === OXM_CLASS.EXPERIMENTER ? experimenter ?? 0 : 0));
}

const BY_NAME = new Map<string, OxmEntry>(OXM_ENTRIES.map((e) => [e.name, e]));
const byName = (n: string): OxmEntry => BY_NAME.get(n)!;

/**
 * The header set_field (and a match) uses for a field in OpenFlow 1.3: its
 * OXM when there is one, else its NXM (OVS does the same: nw_ttl is sent as
 * NXM_NX_IP_TTL inside an OF1.3 SET_FIELD). nw_tos goes as NXM_OF_IP_TOS
 * (same bits). Fields with no header (dl_vlan, tp_src...) are undefined.
 */
export function oxmForField(fld: MfField): OxmEntry | undefined {
  return PRIMARY.get(fld.name);
}
const PRIMARY = new Map<string, OxmEntry>();
for (const e of [...NXM, ...EXPERIMENTER, ...BASIC]) if (!e.port16) PRIMARY.set(e.fld.name, e);   // later wins: basic, then ONF, then NXM

/** The header NXAST_REG_LOAD names a field by: NXM when there is one, else OXM basic (never experimenter). */
export function nxmForField(fld: MfField): OxmEntry | undefined {
  return NXM_PREF.get(fld.name);
}
const NXM_PREF = new Map<string, OxmEntry>();
for (const e of [...BASIC, ...NXM]) if (!e.port16) NXM_PREF.set(e.fld.name, e);

/* ---- TLV header ------------------------------------------------------ */

export interface OxmHeader { cls: number; field: number; hasMask: boolean; length: number; experimenter?: number }

/** 32-bit header value (no experimenter id). */
export const oxmHeaderWord = (cls: number, field: number, hasMask: boolean, length: number): number =>
  ((cls << 16) | (field << 9) | (hasMask ? 0x100 : 0) | length) >>> 0;

/** Reads a TLV header (and an experimenter id); `length` then counts only the value/mask bytes. */
export function readOxmHeader(r: OfReader): OxmHeader {
  const w = r.u32();
  const h: OxmHeader = { cls: w >>> 16, field: (w >>> 9) & 0x7f, hasMask: (w & 0x100) !== 0, length: w & 0xff };
  if (h.cls === OXM_CLASS.EXPERIMENTER) {
    if (h.length < 4) throw r.err(`experimenter OXM length ${h.length} is below 4`);
    h.experimenter = r.u32();
    h.length -= 4;
  }
  return h;
}

export function writeOxmHeader(w: OfWriter, e: OxmEntry, hasMask: boolean): void {
  const n = e.bytes * (hasMask ? 2 : 1) + (e.experimenter !== undefined ? 4 : 0);
  w.u32(oxmHeaderWord(e.cls, e.field, hasMask, n));
  if (e.experimenter !== undefined) w.u32(e.experimenter);
}

/* ---- wire value <-> field value -------------------------------------- */

const fieldBits = (fld: MfField): bigint => fld.bits >> BigInt(fld.shift);
/** Does `v` use only the bits the field has? */
export const fitsField = (fld: MfField, v: bigint): boolean => v >= 0n && (v & ~fieldBits(fld)) === 0n;
export const fieldOnes = (fld: MfField): bigint => fieldBits(fld);

/** OF1.0 16-bit port -> OF1.3 32-bit port (reserved ports 0xff00.. move up). */
export const port16to32 = (p: number): number => (p >= 0xff00 ? (p + 0xffff0000) >>> 0 : p);
/** OF1.3 32-bit port -> OF1.0 16-bit port; undefined if 1.0 cannot name it. */
export const port32to16 = (p: number): number | undefined => (p >= OFPP.MAX ? p - 0xffff0000 : p < 0xff00 ? p : undefined);

/** A wire value (of entry.bytes bytes) in field units; undefined if it does not fit. */
export function wireToField(e: OxmEntry, v: bigint): bigint | undefined {
  if (e.port16) return BigInt(port16to32(Number(v)));
  return fitsField(e.fld, v) ? v : undefined;
}

/** A field value as the entry's wire value. */
export function fieldToWire(e: OxmEntry, v: bigint): bigint {
  if (e.port16) return BigInt(port32to16(Number(v)) ?? 0);
  return v;
}

/* ---- Match -> TLVs -------------------------------------------------- */

/** Writes the TLVs of `m` (no ofp_match header). Throws BAD_MATCH if some matched bits have no TLV. */
export function encodeOxmFields(w: OfWriter, m: Match): void {
  const covered = Buffer.alloc(FLOW_SIZE);
  const put = (e: OxmEntry, value: bigint, mask: bigint): void => {
    if (mask === 0n) return;
    const exact = mask === fieldOnes(e.fld);
    writeOxmHeader(w, e, !exact);
    w.uint(value & mask, e.bytes);
    if (!exact) w.uint(mask, e.bytes);
    mfSet(covered, e.fld, mfGet(covered, e.fld) | mask);
  };
  const emit = (name: string): void => {
    const e = byName(name);
    const f = e.fld;
    let any = 0;
    for (let i = f.off; i < f.off + f.len; i++) any |= m.mask[i];
    if (!any) return;                                  // fast path: most fields are not matched
    const { value, mask } = m.get(f);
    put(e, value, mask);
  };
  const exactValue = (name: string): number | undefined => {
    const { value, mask } = m.get(mfField(name));
    return mask === fieldOnes(mfField(name)) ? Number(value) : undefined;
  };

  emit('OXM_OF_IN_PORT');
  emit('OXM_OF_ETH_SRC');
  emit('OXM_OF_ETH_DST');
  emit('OXM_OF_ETH_TYPE');

  // 802.1Q: vlan_vid (+vlan_pcp with a tag) when that says exactly the tci mask, else NXM_OF_VLAN_TCI.
  const tci = m.get(mfField('vlan_tci'));
  if (tci.mask) {
    const vidMask = tci.mask & 0x1fffn, pcpMask = tci.mask & 0xe000n;
    const tagged = (tci.mask & BigInt(VLAN_PRESENT)) !== 0n && (tci.value & BigInt(VLAN_PRESENT)) !== 0n;
    if (pcpMask === 0n || (pcpMask === 0xe000n && tagged)) {
      put(byName('OXM_OF_VLAN_VID'), tci.value & 0x1fffn, vidMask);
      if (pcpMask) put(byName('OXM_OF_VLAN_PCP'), (tci.value >> 13n) & 7n, 7n);
    } else {
      put(byName('NXM_OF_VLAN_TCI'), tci.value, tci.mask);
    }
  }

  const ethType = exactValue('dl_type');
  if (ethType === ETH_TYPE_IP || ethType === ETH_TYPE_IPV6) {
    if (ethType === ETH_TYPE_IP) { emit('OXM_OF_IPV4_SRC'); emit('OXM_OF_IPV4_DST'); }
    else { emit('OXM_OF_IPV6_SRC'); emit('OXM_OF_IPV6_DST'); }
    emit('NXM_NX_IP_FRAG');
    emit('OXM_OF_IP_DSCP');
    emit('OXM_OF_IP_ECN');
    emit('NXM_NX_IP_TTL');
    emit('OXM_OF_IPV6_FLABEL');
    if (m.has(mfField('nw_proto'))) {
      emit('OXM_OF_IP_PROTO');
      const proto = exactValue('nw_proto');
      if (proto === IPPROTO_TCP) { emit('OXM_OF_TCP_SRC'); emit('OXM_OF_TCP_DST'); emit('ONFOXM_ET_TCP_FLAGS'); }
      else if (proto === IPPROTO_UDP) { emit('OXM_OF_UDP_SRC'); emit('OXM_OF_UDP_DST'); }
      else if (proto === IPPROTO_SCTP) { emit('OXM_OF_SCTP_SRC'); emit('OXM_OF_SCTP_DST'); }
      else if (proto === IPPROTO_ICMP && ethType === ETH_TYPE_IP) { emit('OXM_OF_ICMPV4_TYPE'); emit('OXM_OF_ICMPV4_CODE'); }
      else if (proto === IPPROTO_ICMPV6 && ethType === ETH_TYPE_IPV6) { emit('OXM_OF_ICMPV6_TYPE'); emit('OXM_OF_ICMPV6_CODE'); }
    }
  } else if (ethType === ETH_TYPE_ARP || ethType === ETH_TYPE_RARP) {
    emit('OXM_OF_ARP_OP');
    emit('OXM_OF_ARP_SPA');
    emit('OXM_OF_ARP_TPA');
    emit('OXM_OF_ARP_SHA');
    emit('OXM_OF_ARP_THA');
  }
  for (let i = 0; i < 8; i++) emit(`NXM_NX_REG${i}`);
  emit('OXM_OF_METADATA');

  for (let i = 0; i < FLOW_SIZE; i++) {
    if (m.mask[i] & ~covered[i]) {
      const missing = m.missingPrereqs();
      if (missing.length) throw new OfpError(OFPET.BAD_MATCH, OFPBMC_ALL.BAD_PREREQ, `cannot encode ${missing.map((f) => f.name).join(', ')} without its prerequisites`);
      throw new OfpError(OFPET.BAD_MATCH, OFPBMC_ALL.BAD_FIELD, `matched bits at flow byte ${i} have no OXM field`);
    }
  }
}

/** Writes an OpenFlow 1.3 ofp_match (type OXM, length, TLVs, zero padding to 8). */
export function encodeOfpMatch(w: OfWriter, m: Match): void {
  const start = w.off;
  w.u16(OFPMT_OXM);
  const len = w.hole16();
  encodeOxmFields(w, m);
  w.lengthFrom(len, start);
  w.pad8(start);
}

/* ---- TLVs -> Match -------------------------------------------------- */

const matchErr = lenError(OFPET.BAD_MATCH, OFPBMC_ALL.BAD_LEN);
const bm = (code: number, msg: string): OfpError => new OfpError(OFPET.BAD_MATCH, code, msg);

/** The bits of its field's bytes an entry covers (cached: the decoder checks them per TLV). */
const CLAIMS = new Map<OxmEntry, Uint8Array>();
function claimOf(e: OxmEntry): Uint8Array {
  let c = CLAIMS.get(e);
  if (!c) {
    const b = Buffer.alloc(FLOW_SIZE);
    mfSet(b, e.fld, fieldOnes(e.fld));
    c = new Uint8Array(b.subarray(e.fld.off, e.fld.off + e.fld.len));
    CLAIMS.set(e, c);
  }
  return c;
}

/** Reads TLVs to the end of `r` into a Match; BAD_MATCH errors for anything malformed. */
export function decodeOxmFields(r: OfReader): Match {
  const inner = new OfReader(r.buf, r.off, r.end, matchErr);
  r.off = r.end;
  const m = new Match();
  const claimed = new Uint8Array(FLOW_SIZE);
  let pcp: bigint | undefined;
  let vid: { value: bigint; mask: bigint } | undefined;
  const seen: OxmEntry[] = [];
  while (!inner.atEnd) {
    const h = readOxmHeader(inner);
    const e = oxmLookup(h.cls, h.field, h.experimenter);
    if (!e) {
      inner.skip(h.length);           // length-checks the unknown TLV first: truncation is BAD_LEN
      throw bm(OFPBMC_ALL.BAD_FIELD, `unknown OXM field class 0x${h.cls.toString(16)} field ${h.field}${h.experimenter !== undefined ? ` experimenter 0x${h.experimenter.toString(16)}` : ''}`);
    }
    if (h.length !== e.bytes * (h.hasMask ? 2 : 1)) throw bm(OFPBMC_ALL.BAD_LEN, `${e.name} length ${h.length}, expected ${e.bytes * (h.hasMask ? 2 : 1)}`);
    const wireValue = inner.uint(e.bytes);
    const wireMask = h.hasMask ? inner.uint(e.bytes) : undefined;
    if (h.hasMask && (!e.fld.maskable || e.port16)) throw bm(OFPBMC_ALL.BAD_MASK, `${e.name} cannot be masked`);
    const value = wireToField(e, wireValue);
    if (value === undefined || (e.fld.name === 'in_port' && value >= BigInt(OFPP.MAX) && value < BigInt(OFPP.IN_PORT))) {
      throw bm(OFPBMC_ALL.BAD_VALUE, `${e.name} value 0x${wireValue.toString(16)} is out of range`);
    }
    let mask = fieldOnes(e.fld);
    if (wireMask !== undefined) {
      if (!fitsField(e.fld, wireMask)) throw bm(OFPBMC_ALL.BAD_MASK, `${e.name} mask 0x${wireMask.toString(16)} is out of range`);
      mask = wireMask;
    }
    // A field twice, or two fields over the same bits (tcp_src and udp_src, vlan_tci and vlan_vid): DUP_FIELD.
    const claim = claimOf(e);
    for (let i = 0; i < claim.length; i++) {
      const at = e.fld.off + i;
      if (claim[i] & claimed[at]) throw bm(OFPBMC_ALL.DUP_FIELD, `${e.name} repeats a field already in the match`);
      claimed[at] |= claim[i];
    }
    seen.push(e);
    if (e.fld.name === 'vlan_pcp') { pcp = value; continue; }
    if (e.fld.name === 'vlan_vid') vid = { value, mask };
    m.set(e.fld, value, mask);
  }
  if (pcp !== undefined) {
    // OXM_OF_VLAN_PCP needs a tag (VLAN_VID != NONE): it matches the tag's presence too, as in OVS.
    if (vid && (vid.mask & BigInt(OFPVID_PRESENT)) && !(vid.value & BigInt(OFPVID_PRESENT))) {
      throw bm(OFPBMC_ALL.BAD_PREREQ, 'vlan_pcp on packets without a VLAN tag (vlan_vid=NONE)');
    }
    const tci = m.get(mfField('vlan_tci'));
    m.set(mfField('vlan_tci'), tci.value | (pcp << 13n) | BigInt(VLAN_PRESENT), tci.mask | 0xe000n | BigInt(VLAN_PRESENT));
  }
  // Each TLV's own prerequisites (Match.missingPrereqs() alone would accept ipv4_src on an IPv6 match:
  // those bits are also ipv6_src's).
  for (const e of seen) {
    if (!prereqOk(e.fld.prereq, m.value, m.mask)) throw bm(OFPBMC_ALL.BAD_PREREQ, `prerequisites not met for ${e.name}`);
  }
  return m;
}

/**
 * Reads an OpenFlow 1.3 ofp_match (and its padding) from `r`. A match
 * running past `r` is BAD_MATCH/BAD_LEN; type STANDARD (OF1.1) is BAD_TYPE.
 */
export function decodeOfpMatch(r: OfReader): Match {
  if (r.remaining < 4) throw bm(OFPBMC_ALL.BAD_LEN, `ofp_match needs 4 bytes, have ${r.remaining}`);
  const type = r.u16();
  const len = r.u16();
  if (type !== OFPMT_OXM) {
    throw bm(OFPBMC_ALL.BAD_TYPE, `ofp_match type ${type} is not OXM`);
  }
  if (len < 4 || len - 4 > r.remaining) throw bm(OFPBMC_ALL.BAD_LEN, `ofp_match length ${len} (have ${r.remaining + 4})`);
  const fields = r.sub(len - 4, matchErr);
  const padLen = ((len + 7) & ~7) - len;
  if (padLen > r.remaining) throw bm(OFPBMC_ALL.BAD_LEN, `ofp_match padding runs past the message`);
  r.skip(padLen);
  return decodeOxmFields(fields);
}

/** The encoded size of `m` as an ofp_match (with padding). */
export function ofpMatchSize(m: Match): number {
  const w = new OfWriter(128);
  encodeOfpMatch(w, m);
  return w.off;
}
