/*
 * OVS's text forms of matches, actions, flow stats and trace flows (lib/match.c
 * match_format, lib/ofp-actions.c format_*, lib/ofp-print.c
 * ofp_print_flow_stats, lib/flow.c flow_format), as ovs-ofctl and ovs-appctl
 * print them, so users' scripts and eyes carry over. Where OVS's output
 * depends on how a flow was encoded on the wire, this prints what
 * `ovs-ofctl -O <version> dump-flows` shows for a flow added with that version.
 */
import { Match } from './match';
import { FIELDS, MfField, mfField, mfGet, mfExact, FLOW_SIZE, OFPP_NAMES, ETH_TYPE_RARP } from './meta-flow';
import { OfpAction, Rule, OFPFF, PacketInReason } from './ofp-actions';
import {
  KEY_SIZE, macToString, ipv6ToString, FRAG_ANY, FRAG_LATER, VLAN_PRESENT,
  ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMPV6,
} from '../dpif/flow-key';

export type OfVersion = 'OpenFlow13' | 'OpenFlow10';

export interface FormatOptions {
  /** Port names to print instead of numbers (ovs-ofctl --names). */
  portNames?: Map<number, string>;
}

export const OFP_DEFAULT_PRIORITY = 32768;
const ETH_TYPE_MPLS = 0x8847;
const ETH_TYPE_MPLS_MCAST = 0x8848;
const IPPROTO_IGMP = 2;
/** Highest ordinary port number OVS prints as `output:N` (OF1.0 OFPP_MAX). */
const OFPP10_MAX = 0xff00;

/* ---- small value formatters ------------------------------------------ */

/** C's "%#x": 0 prints as "0", anything else with a 0x prefix. */
export const hex0 = (v: bigint | number): string => (BigInt(v) === 0n ? '0' : `0x${v.toString(16)}`);

export function bigToBuf(v: bigint, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--) { b[i] = Number(v & 0xffn); v >>= 8n; }
  return b;
}

export function formatPort(port: number, opts: FormatOptions = {}): string {
  return OFPP_NAMES[port] ?? opts.portNames?.get(port) ?? String(port);
}

const ipv4Str = (b: Buffer): string => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;

/** glibc inet_ntop: IPv4-mapped and IPv4-compatible addresses keep a dotted tail. */
export function ipv6Str(b: Buffer): string {
  const w = (i: number): number => b.readUInt16BE(2 * i);
  if ([0, 1, 2, 3, 4].every((i) => w(i) === 0) && (w(5) === 0xffff || (w(5) === 0 && w(6) !== 0))) {
    return `::${w(5) ? 'ffff:' : ''}${ipv4Str(b.subarray(12))}`;
  }
  return ipv6ToString(b);
}

/** Number of leading one bits if `mask` (bytes) is a CIDR prefix, else -1. */
function cidrBits(mask: Buffer): number {
  let n = 0, i = 0;
  while (i < mask.length && mask[i] === 0xff) { n += 8; i++; }
  if (i < mask.length) {
    const b = mask[i];
    if (((~b & 0xff) & ((~b & 0xff) + 1)) !== 0) return -1;   // not 1...10...0
    for (let x = b; x & 0x80; x = (x << 1) & 0xff) n++;
    i++;
  }
  for (; i < mask.length; i++) if (mask[i] !== 0) return -1;
  return n;
}

function addrMasked(v: Buffer, m: Buffer, str: (b: Buffer) => string): string {
  if (m.every((x) => x === 0xff)) return str(v);
  const n = cidrBits(m);
  return `${str(v)}/${n >= 0 ? n : str(m)}`;
}

const ethMasked = (v: Buffer, m: Buffer): string =>
  (m.every((x) => x === 0xff) ? macToString(v) : `${macToString(v)}/${macToString(m)}`);

/** format_be16_masked: decimal when exact, else hex value/mask. */
const be16Masked = (v: number, m: number): string => (m === 0xffff ? String(v) : `0x${v.toString(16)}/0x${m.toString(16)}`);

export const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns', '[200]', '[400]', '[800]'];
export const TCP_FLAGS_MASK = 0x0fff;

/** format_flags_masked for TCP flags: "syn|ack" when exact, "+syn-ack" when partly masked. */
export function formatTcpFlags(v: number, m: number): string {
  if (m === TCP_FLAGS_MASK) {
    if (!v) return '0';
    return TCP_FLAG_NAMES.filter((_, i) => v & (1 << i)).join('|');
  }
  return TCP_FLAG_NAMES.map((n, i) => (m & (1 << i) ? `${v & (1 << i) ? '+' : '-'}${n}` : '')).join('');
}

export const FRAG_NAMES: Record<string, { value: number; mask: number }> = {
  no: { value: 0, mask: FRAG_ANY | FRAG_LATER }, first: { value: FRAG_ANY, mask: FRAG_ANY | FRAG_LATER },
  later: { value: FRAG_ANY | FRAG_LATER, mask: FRAG_ANY | FRAG_LATER }, yes: { value: FRAG_ANY, mask: FRAG_ANY },
  not_later: { value: 0, mask: FRAG_LATER },
};

function fragStr(v: number, m: number): string | undefined {
  switch (m & 3) {
    case 3: return v & FRAG_ANY ? (v & FRAG_LATER ? 'later' : 'first') : v & FRAG_LATER ? '<error>' : 'no';
    case FRAG_ANY: return v & FRAG_ANY ? 'yes' : 'no';
    case FRAG_LATER: return v & FRAG_LATER ? 'later' : 'not_later';
    default: return undefined;
  }
}

/* ---- match_format ----------------------------------------------------- */

const fld = (n: string): MfField => mfField(n);
const MF = {
  inPort: fld('in_port'), metadata: fld('metadata'), dlSrc: fld('dl_src'), dlDst: fld('dl_dst'), dlType: fld('dl_type'),
  vlanTci: fld('vlan_tci'), nwProto: fld('nw_proto'), nwTos: fld('nw_tos'), nwEcn: fld('nw_ecn'), nwTtl: fld('nw_ttl'),
  nwFrag: fld('nw_frag'), label: fld('ipv6_label'), nwSrc: fld('nw_src'), nwDst: fld('nw_dst'),
  v6Src: fld('ipv6_src'), v6Dst: fld('ipv6_dst'), arpSha: fld('arp_sha'), arpTha: fld('arp_tha'),
  tpSrc: fld('tp_src'), tpDst: fld('tp_dst'), tcpFlags: fld('tcp_flags'),
};
const REGS = FIELDS.filter((f) => /^reg\d$/.test(f.name));

const bytesOf = (buf: Buffer, f: MfField): Buffer => buf.subarray(f.off, f.off + f.len);

/** The comma-separated items of OVS match_format for a value/mask pair of 120-byte flows (priority excluded). */
function matchItems(value: Buffer, mask: Buffer, opts: FormatOptions): string[] {
  const v = (f: MfField): bigint => mfGet(value, f);
  const m = (f: MfField): bigint => mfGet(mask, f);
  const n = (f: MfField): number => Number(v(f));
  const out: string[] = [];
  const dlType = n(MF.dlType), proto = n(MF.nwProto);
  const isArp = dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP;
  let skipType = false, skipProto = false;
  if (m(MF.dlType)) {
    skipType = true;
    const l4 = (names: Record<number, string>, plain: string): string => {
      if (!m(MF.nwProto) || !names[proto]) return plain;
      skipProto = true;
      return names[proto];
    };
    if (dlType === ETH_TYPE_IP) out.push(l4({ [IPPROTO_ICMP]: 'icmp', [IPPROTO_IGMP]: 'igmp', [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', [IPPROTO_SCTP]: 'sctp' }, 'ip'));
    else if (dlType === ETH_TYPE_IPV6) out.push(l4({ [IPPROTO_ICMPV6]: 'icmp6', [IPPROTO_TCP]: 'tcp6', [IPPROTO_UDP]: 'udp6', [IPPROTO_SCTP]: 'sctp6' }, 'ipv6'));
    else if (dlType === ETH_TYPE_ARP) out.push('arp');
    else if (dlType === ETH_TYPE_RARP) out.push('rarp');
    else if (dlType === ETH_TYPE_MPLS) out.push('mpls');
    else if (dlType === ETH_TYPE_MPLS_MCAST) out.push('mplsm');
    else skipType = false;
  }
  const u32Masked = (name: string, f: MfField): void => {
    const mk = m(f);
    if (mk) out.push(`${name}=${hex0(v(f))}${mk === (1n << BigInt(f.nbits)) - 1n ? '' : `/${hex0(mk)}`}`);
  };
  for (const r of REGS) u32Masked(r.name, r);
  u32Masked('metadata', MF.metadata);
  if (m(MF.inPort)) out.push(`in_port=${formatPort(n(MF.inPort), opts)}`);

  const tciM = Number(m(MF.vlanTci));
  if (tciM) {
    const tci = n(MF.vlanTci);
    const vidM = tciM & 0x0fff, pcpM = tciM & 0xe000;
    if (tciM & VLAN_PRESENT && tci & VLAN_PRESENT && (!vidM || vidM === 0x0fff) && (!pcpM || pcpM === 0xe000) && (vidM || pcpM)) {
      if (vidM) out.push(`dl_vlan=${tci & 0x0fff}`);
      if (pcpM) out.push(`dl_vlan_pcp=${tci >> 13}`);
    } else if (tciM === 0xffff) {
      out.push(`vlan_tci=0x${tci.toString(16).padStart(4, '0')}`);
    } else {
      out.push(`vlan_tci=0x${tci.toString(16).padStart(4, '0')}/0x${tciM.toString(16).padStart(4, '0')}`);
    }
  }
  const eth = (name: string, f: MfField): void => {
    if (m(f)) out.push(`${name}=${ethMasked(bytesOf(value, f), bytesOf(mask, f))}`);
  };
  eth('dl_src', MF.dlSrc);
  eth('dl_dst', MF.dlDst);
  if (!skipType && m(MF.dlType)) out.push(`dl_type=0x${dlType.toString(16).padStart(4, '0')}`);

  const addr = (name: string, f: MfField, str: (b: Buffer) => string): void => {
    if (m(f)) out.push(`${name}=${addrMasked(bytesOf(value, f), bytesOf(mask, f), str)}`);
  };
  if (dlType === ETH_TYPE_IPV6) {
    addr('ipv6_src', MF.v6Src, ipv6Str);
    addr('ipv6_dst', MF.v6Dst, ipv6Str);
    const lm = Number(m(MF.label));
    if (lm) {
      const hex5 = (x: number): string => `0x${x.toString(16).padStart(5, '0')}`;
      out.push(`ipv6_label=${hex5(n(MF.label))}${lm === 0xfffff ? '' : `/${hex5(lm)}`}`);
    }
  } else {
    addr(isArp ? 'arp_spa' : 'nw_src', MF.nwSrc, ipv4Str);
    addr(isArp ? 'arp_tpa' : 'nw_dst', MF.nwDst, ipv4Str);
  }
  if (!skipProto && m(MF.nwProto)) out.push(`${isArp ? 'arp_op' : 'nw_proto'}=${proto}`);
  if (isArp) { eth('arp_sha', MF.arpSha); eth('arp_tha', MF.arpTha); }
  if (m(MF.nwTos)) out.push(`nw_tos=${n(MF.nwTos)}`);
  if (m(MF.nwEcn)) out.push(`nw_ecn=${n(MF.nwEcn)}`);
  if (m(MF.nwTtl)) out.push(`nw_ttl=${n(MF.nwTtl)}`);
  const frag = fragStr(n(MF.nwFrag), Number(m(MF.nwFrag)));
  if (frag) out.push(`nw_frag=${frag}`);

  const tp = (name: string, f: MfField, icmp: boolean): void => {
    const mk = Number(m(f));
    if (!mk) return;
    // ICMP type/code are the low byte of tp_src/tp_dst: a match on that byte alone is exact.
    out.push(`${name}=${icmp && (mk & 0xff) === 0xff ? n(f) : be16Masked(n(f), mk)}`);
  };
  if (dlType === ETH_TYPE_IP && proto === IPPROTO_ICMP) { tp('icmp_type', MF.tpSrc, true); tp('icmp_code', MF.tpDst, true); }
  else if (dlType === ETH_TYPE_IP && proto === IPPROTO_IGMP) { tp('igmp_type', MF.tpSrc, true); tp('igmp_code', MF.tpDst, true); }
  else if (dlType === ETH_TYPE_IPV6 && proto === IPPROTO_ICMPV6) {
    tp('icmp_type', MF.tpSrc, true); tp('icmp_code', MF.tpDst, true);
    eth('nd_sll', MF.arpSha); eth('nd_tll', MF.arpTha);
  } else { tp('tp_src', MF.tpSrc, false); tp('tp_dst', MF.tpDst, false); }
  if ((dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6) && proto === IPPROTO_TCP && m(MF.tcpFlags)) {
    out.push(`tcp_flags=${formatTcpFlags(n(MF.tcpFlags), Number(m(MF.tcpFlags)))}`);
  }
  return out;
}

/** A rule's match as dump-flows prints it, without the priority. */
export function formatMatch(m: Match, opts: FormatOptions = {}): string {
  return matchItems(m.value, m.mask, opts).join(',');
}

/** `priority=N,` prefix rules: OVS leaves out the default priority. */
export function formatMatchWithPriority(m: Match, priority: number, opts: FormatOptions = {}): string {
  const items = matchItems(m.value, m.mask, opts);
  if (priority !== OFP_DEFAULT_PRIORITY) items.unshift(`priority=${priority}`);
  return items.join(',');
}

/**
 * The `Flow:` line of ofproto/trace (flow_format): every header field the
 * packet has, context fields (in_port, metadata, registers) only when nonzero.
 */
export function formatFlow(flow: Buffer, opts: FormatOptions = {}): string {
  if (flow.length !== FLOW_SIZE) throw new RangeError(`a flow is ${FLOW_SIZE} bytes`);
  const mask = Buffer.alloc(FLOW_SIZE);
  const ex = (...fs: MfField[]): void => fs.forEach((f) => mfExact(mask, f));
  for (const f of [MF.inPort, MF.metadata, ...REGS]) if (mfGet(flow, f)) ex(f);
  ex(MF.dlSrc, MF.dlDst, MF.dlType, MF.vlanTci);
  const dlType = Number(mfGet(flow, MF.dlType));
  if (dlType === ETH_TYPE_IP) ex(MF.nwSrc, MF.nwDst);
  else if (dlType === ETH_TYPE_IPV6) ex(MF.v6Src, MF.v6Dst, MF.label);
  else if (dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP) ex(MF.nwSrc, MF.nwDst, MF.nwProto, MF.arpSha, MF.arpTha);
  if (dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6) {
    ex(MF.nwFrag, MF.nwTos, MF.nwEcn, MF.nwTtl, MF.nwProto);
    const proto = Number(mfGet(flow, MF.nwProto));
    // No L4 header in later fragments; IGMP's fields are not in the key.
    const l4 = [IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP].includes(proto);
    if (!(Number(mfGet(flow, MF.nwFrag)) & FRAG_LATER) && l4) {
      ex(MF.tpSrc, MF.tpDst);
      if (proto === IPPROTO_TCP) ex(MF.tcpFlags);
    }
  }
  const value = Buffer.from(flow);
  for (let i = 0; i < FLOW_SIZE; i++) value[i] &= mask[i];
  return matchItems(value, mask, opts).join(',');
}

/**
 * The `Megaflow:` line of ofproto/trace: the datapath key under its mask,
 * after OVS's recirc_id and packet type (this datapath has neither, so they
 * are always 0 and Ethernet).
 */
export function formatMegaflow(key: Buffer, mask: Buffer, opts: FormatOptions = {}): string {
  if (key.length < KEY_SIZE || mask.length < KEY_SIZE) throw new RangeError(`datapath keys are ${KEY_SIZE} bytes`);
  const v = Buffer.alloc(FLOW_SIZE), m = Buffer.alloc(FLOW_SIZE);
  // tuple_id (the last 2 key bytes) is datapath bookkeeping, not a header field.
  mask.copy(m, 0, 0, KEY_SIZE - 2);
  for (let i = 0; i < KEY_SIZE - 2; i++) v[i] = key[i] & m[i];
  return ['recirc_id=0', 'eth', ...matchItems(v, m, opts)].join(',');
}

/* ---- actions ------------------------------------------------------------ */

/** NXM/OXM names (version 0 names, as OVS's load: prints subfields). */
export const NXM_NAMES: Readonly<Record<string, string>> = {
  in_port: 'NXM_OF_IN_PORT', metadata: 'OXM_OF_METADATA',
  ...Object.fromEntries(REGS.map((r) => [r.name, `NXM_NX_${r.name.toUpperCase()}`])),
  dl_src: 'NXM_OF_ETH_SRC', dl_dst: 'NXM_OF_ETH_DST', dl_type: 'NXM_OF_ETH_TYPE', vlan_tci: 'NXM_OF_VLAN_TCI',
  vlan_vid: 'OXM_OF_VLAN_VID', vlan_pcp: 'OXM_OF_VLAN_PCP', nw_proto: 'NXM_OF_IP_PROTO', arp_op: 'NXM_OF_ARP_OP',
  nw_tos: 'NXM_OF_IP_TOS', ip_dscp: 'OXM_OF_IP_DSCP', nw_ecn: 'NXM_NX_IP_ECN', nw_ttl: 'NXM_NX_IP_TTL',
  nw_frag: 'NXM_NX_IP_FRAG', ipv6_label: 'NXM_NX_IPV6_LABEL', nw_src: 'NXM_OF_IP_SRC', nw_dst: 'NXM_OF_IP_DST',
  arp_spa: 'NXM_OF_ARP_SPA', arp_tpa: 'NXM_OF_ARP_TPA', ipv6_src: 'NXM_NX_IPV6_SRC', ipv6_dst: 'NXM_NX_IPV6_DST',
  arp_sha: 'NXM_NX_ARP_SHA', arp_tha: 'NXM_NX_ARP_THA', tcp_src: 'NXM_OF_TCP_SRC', tcp_dst: 'NXM_OF_TCP_DST',
  udp_src: 'NXM_OF_UDP_SRC', udp_dst: 'NXM_OF_UDP_DST', sctp_src: 'OXM_OF_SCTP_SRC', sctp_dst: 'OXM_OF_SCTP_DST',
  tp_src: 'NXM_OF_TCP_SRC', tp_dst: 'NXM_OF_TCP_DST', icmp_type: 'NXM_OF_ICMP_TYPE', icmp_code: 'NXM_OF_ICMP_CODE',
  icmpv6_type: 'NXM_NX_ICMPV6_TYPE', icmpv6_code: 'NXM_NX_ICMPV6_CODE', tcp_flags: 'NXM_NX_TCP_FLAGS',
};

/** OVS's own names where this field table's canonical name is the OF1.0-era one. */
const OVS_FIELD_NAME: Readonly<Record<string, string>> = {
  dl_src: 'eth_src', dl_dst: 'eth_dst', dl_type: 'eth_type', nw_src: 'ip_src', nw_dst: 'ip_dst',
  nw_proto: 'ip_proto', nw_frag: 'ip_frag', tp_src: 'tcp_src', tp_dst: 'tcp_dst',
};

/** mf_format: a field value in the field's own syntax. */
export function formatFieldValue(f: MfField, v: bigint, opts: FormatOptions = {}): string {
  switch (f.format) {
    case 'mac': return macToString(bigToBuf(v, 6));
    case 'ipv4': return ipv4Str(bigToBuf(v, 4));
    case 'ipv6': return ipv6Str(bigToBuf(v, 16));
    case 'hex': return hex0(v);
    case 'port': return formatPort(Number(v), opts);
    case 'tcp_flags': return formatTcpFlags(Number(v), TCP_FLAGS_MASK);
    default: return v.toString();
  }
}

/** NXAST_REG_LOAD form: one load per contiguous run of mask bits (next_load_segment). */
function formatLoads(f: MfField, value: bigint, mask: bigint): string {
  const name = NXM_NAMES[f.name] ?? f.name;
  const out: string[] = [];
  for (let ofs = 0; ofs < f.nbits; ) {
    if (!((mask >> BigInt(ofs)) & 1n)) { ofs++; continue; }
    let n = 0;
    while (ofs + n < f.nbits && (mask >> BigInt(ofs + n)) & 1n) n++;
    const seg = (value >> BigInt(ofs)) & ((1n << BigInt(n)) - 1n);
    const range = n === f.nbits ? '' : n === 1 ? `${ofs}` : `${ofs}..${ofs + n - 1}`;
    out.push(`load:${hex0(seg)}->${name}[${range}]`);
    ofs += n;
  }
  return out.join(',');
}

function formatSetField(a: Extract<OfpAction, { type: 'set_field' }>, version: OfVersion, opts: FormatOptions): string {
  const f = a.field;
  const full = f.bits >> BigInt(f.shift);
  if (a.mask !== undefined && a.mask !== full) return formatLoads(f, a.value & a.mask, a.mask);
  const val = formatFieldValue(f, a.value, opts);
  if (version === 'OpenFlow13') {
    // OVS keeps mod_nw_ttl as OF1.1's SET_NW_TTL action rather than a set_field.
    if (f.name === 'nw_ttl') return `mod_nw_ttl:${val}`;
    return `set_field:${val}->${OVS_FIELD_NAME[f.name] ?? f.name}`;
  }
  // OF1.0: the legacy action where one exists, else NXAST_REG_LOAD.
  switch (f.name) {
    case 'dl_src': return `mod_dl_src:${val}`;
    case 'dl_dst': return `mod_dl_dst:${val}`;
    case 'nw_src': return `mod_nw_src:${val}`;
    case 'nw_dst': return `mod_nw_dst:${val}`;
    case 'nw_tos': return `mod_nw_tos:${val}`;
    case 'ip_dscp': return `mod_nw_tos:${a.value << 2n}`;
    case 'tcp_src': case 'udp_src': case 'sctp_src': case 'tp_src': return `mod_tp_src:${val}`;
    case 'tcp_dst': case 'udp_dst': case 'sctp_dst': case 'tp_dst': return `mod_tp_dst:${val}`;
    case 'vlan_vid': case 'dl_vlan': return `mod_vlan_vid:${a.value & 0xfffn}`;
    case 'vlan_pcp': return `mod_vlan_pcp:${val}`;
    default: return formatLoads(f, a.value, full);
  }
}

const REASON_NAMES: Record<number, string> = {
  [PacketInReason.NO_MATCH]: 'no_match', [PacketInReason.ACTION]: 'action', [PacketInReason.INVALID_TTL]: 'invalid_ttl',
};

function formatController(a: Extract<OfpAction, { type: 'controller' }>): string {
  const reason = a.reason ?? PacketInReason.ACTION;
  if (reason === PacketInReason.ACTION && !a.controllerId) return `CONTROLLER:${a.maxLen}`;
  const args: string[] = [];
  if (reason !== PacketInReason.ACTION) args.push(`reason=${REASON_NAMES[reason] ?? reason}`);
  if (a.maxLen !== 0xffff) args.push(`max_len=${a.maxLen}`);
  if (a.controllerId) args.push(`id=${a.controllerId}`);
  return `controller(${args.join(',')})`;
}

/** Note data as OVS prints it after encoding: padded so the action is a multiple of 8 bytes. */
function formatNote(data: Buffer): string {
  const len = Math.ceil((data.length + 10) / 8) * 8 - 10;
  const padded = Buffer.alloc(len);
  data.copy(padded);
  return `note:${Array.from(padded, (b) => b.toString(16).padStart(2, '0')).join('.')}`;
}

function formatList(actions: OfpAction[], version: OfVersion, opts: FormatOptions, vlan: { present: boolean }): string[] {
  const out: string[] = [];
  for (const a of actions) {
    switch (a.type) {
      case 'output':
        out.push(a.port < OFPP10_MAX ? `output:${formatPort(a.port, opts)}` : formatPort(a.port, opts));
        break;
      case 'controller': out.push(formatController(a)); break;
      case 'set_field':
        out.push(formatSetField(a, version, opts));
        break;
      case 'push_vlan':
        out.push(`push_vlan:${hex0(a.ethertype)}`);
        vlan.present = true;
        break;
      case 'pop_vlan':
        out.push(version === 'OpenFlow13' ? 'pop_vlan' : 'strip_vlan');
        vlan.present = false;
        break;
      case 'set_vlan_vid': case 'set_vlan_pcp': {
        const pcp = a.type === 'set_vlan_pcp';
        const n = pcp ? a.pcp : a.vid;
        if (version === 'OpenFlow10') out.push(`mod_vlan_${pcp ? 'pcp' : 'vid'}:${n}`);
        else {
          // OF1.1+ has no "push if needed": OVS encodes a push_vlan when the match has no tag.
          if (a.push && !vlan.present) out.push('push_vlan:0x8100');
          out.push(pcp ? `set_field:${n}->vlan_pcp` : `set_field:${n | VLAN_PRESENT}->vlan_vid`);
        }
        if (a.push) vlan.present = true;
        break;
      }
      case 'dec_ttl': out.push('dec_ttl'); break;
      case 'resubmit':
        if (a.port !== undefined && a.table === undefined) out.push(`resubmit:${formatPort(a.port, opts)}`);
        else out.push(`resubmit(${a.port !== undefined ? formatPort(a.port, opts) : ''},${a.table ?? ''})`);
        break;
      case 'group': out.push(`group:${a.groupId}`); break;
      case 'note': out.push(formatNote(a.data)); break;
      case 'meter': out.push(`meter:${a.meterId}`); break;
      case 'clear_actions': out.push('clear_actions'); break;
      case 'write_actions':
        if (a.actions.length) out.push(`write_actions(${formatList(a.actions, version, opts, { ...vlan }).join(',')})`);
        break;
      case 'write_metadata': {
        const allOnes = a.mask === 0xffffffffffffffffn;
        out.push(`write_metadata:${hex0(a.value)}${allOnes ? '' : `/${hex0(a.mask)}`}`);
        break;
      }
      case 'goto_table': out.push(version === 'OpenFlow13' ? `goto_table:${a.table}` : `resubmit(,${a.table})`); break;
    }
  }
  return out;
}

const vlanPresent = (m: Match): boolean => {
  const { value, mask } = m.get(MF.vlanTci);
  return (value & mask & BigInt(VLAN_PRESENT)) !== 0n;
};

/**
 * An action list as ovs-ofctl prints it. `match` (the rule's) decides, as in
 * OVS, whether mod_vlan_vid/mod_vlan_pcp needed a push_vlan in OF1.3.
 */
export function formatActions(actions: OfpAction[], version: OfVersion = 'OpenFlow13', opts: FormatOptions & { match?: Match } = {}): string {
  const items = formatList(actions, version, opts, { present: opts.match ? vlanPresent(opts.match) : false });
  return items.length ? items.join(',') : 'drop';
}

/* ---- dump-flows ------------------------------------------------------------ */

/** ofp_print_duration for a millisecond clock: "5s", "3.796s". */
export function formatDuration(ms: number): string {
  const t = Math.max(0, Math.floor(ms));
  const sec = Math.floor(t / 1000), frac = t % 1000;
  return frac ? `${sec}.${String(frac).padStart(3, '0')}s` : `${sec}s`;
}

/** The flags OVS keeps with a rule and reports (OFPUTIL_FF_STATE), in its print order. */
const STATE_FLAGS: [number, string][] = [
  [OFPFF.SEND_FLOW_REM, 'send_flow_rem'], [OFPFF.NO_PKT_COUNTS, 'no_packet_counts'], [OFPFF.NO_BYT_COUNTS, 'no_byte_counts'],
];

/**
 * One rule as a line of `ovs-ofctl dump-flows` (with its leading space).
 * OpenFlow10 is OVS's default NXST_FLOW reply: it carries idle/hard ages but
 * no flags; OpenFlow13's OFPST_FLOW carries flags but no ages. Neither
 * carries importance (OF1.4+).
 */
export function formatFlowStats(rule: Rule, now: number, opts: FormatOptions & { noStats?: boolean; version: OfVersion }): string {
  const show = !opts.noStats;
  const parts: string[] = [];
  if (show || rule.cookie) parts.push(`cookie=0x${rule.cookie.toString(16)}`);
  const durSec = Math.floor(Math.max(0, now - rule.created) / 1000);
  if (show) parts.push(`duration=${formatDuration(now - rule.created)}`);
  if (show || rule.tableId) parts.push(`table=${rule.tableId}`);
  if (show) parts.push(`n_packets=${rule.nPackets}`, `n_bytes=${rule.nBytes}`);
  if (rule.idleTimeout) parts.push(`idle_timeout=${rule.idleTimeout}`);
  if (rule.hardTimeout) parts.push(`hard_timeout=${rule.hardTimeout}`);
  let s = ' ' + parts.map((p) => `${p}, `).join('');
  if (opts.version === 'OpenFlow13') for (const [bit, name] of STATE_FLAGS) if (rule.flags & bit) s += `${name} `;
  if (show && opts.version === 'OpenFlow10') {
    const age = (t: number): number => Math.floor(Math.max(0, now - t) / 1000);
    s += `idle_age=${age(Math.max(rule.usedAt, rule.created))}, `;
    const hardAge = age(rule.modified);
    if (hardAge !== durSec) s += `hard_age=${hardAge}, `;
  }
  const match = formatMatchWithPriority(rule.match, rule.priority, opts);
  if (match) s += `${match} `;
  return `${s}actions=${formatActions(rule.actions, opts.version, { ...opts, match: rule.match })}`;
}
