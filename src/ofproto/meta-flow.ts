/*
 * OpenFlow fields (OVS lib/meta-flow): every field a rule can match or
 * set_field can write, as a bit range of the OpenFlow flow.
 *
 * The OpenFlow flow is the 80-byte datapath key followed by pipeline-only
 * state (metadata, registers). Pipeline state is zero when a packet enters
 * table 0 and only constants are written to it, so it never widens or
 * narrows a megaflow: the megaflow mask is the first 80 bytes of the
 * wildcards.
 */
import { KEY_SIZE, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_RARP, isArpType, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6 } from '../dpif/flow-key';

export const OFS_METADATA = KEY_SIZE;        // 80: u64, network order
export const OFS_REGS = KEY_SIZE + 8;        // 88: reg0..reg7, u32 each, network order
export const N_REGS = 8;
export const FLOW_SIZE = OFS_REGS + 4 * N_REGS;   // 120 (a multiple of 4: the classifier works in 32-bit words)
export const FLOW_WORDS = FLOW_SIZE / 4;
export { ETH_TYPE_RARP };   // one definition, in the key's module

/**
 * Classifier stages (OVS staged lookup): a subtable is checked stage by stage,
 * and a miss at one stage un-wildcards only the fields of the stages so far.
 */
export enum Stage { METADATA = 0, L2 = 1, L3 = 2, L4 = 3 }
export const N_STAGES = 4;

/** Stage of each 32-bit word of the flow (layout in bpf/xvs_abi.h). */
export const WORD_STAGE: readonly Stage[] = (() => {
  const s: Stage[] = [];
  for (let w = 0; w < FLOW_WORDS; w++) {
    const b = w * 4;
    s.push(b < 4 || b >= KEY_SIZE ? Stage.METADATA : b < 20 ? Stage.L2 : b < 72 ? Stage.L3 : Stage.L4);
  }
  return s;
})();

export type Format = 'dec' | 'hex' | 'mac' | 'ipv4' | 'ipv6' | 'frag' | 'tcp_flags' | 'port' | 'ethertype';

/** What a match must pin before this field means anything (OVS mf_prereqs). */
export type Prereq = 'none' | 'arp' | 'ipv4' | 'ipv6' | 'ip' | 'tcp' | 'udp' | 'sctp' | 'l4' | 'icmp' | 'icmpv6';

export interface OxmId { cls: number; field: number; bytes: number }

export interface MfField {
  readonly name: string;          // OVS name as dump-flows prints it
  readonly aliases: readonly string[];
  readonly off: number;           // byte offset in the OpenFlow flow
  readonly len: number;           // bytes
  readonly bits: bigint;          // which bits of those bytes (big-endian view) belong to the field
  readonly shift: number;         // value = (raw & bits) >> shift
  readonly le?: boolean;          // stored little-endian (in_port)
  readonly maskable: boolean;
  readonly writable: boolean;     // set_field may write it (the datapath or the pipeline can)
  readonly prereq: Prereq;
  readonly format: Format;
  readonly oxm?: OxmId;
  readonly nbits: number;         // width of the value
}

const OXM_BASIC = 0x8000;
const NXM_0 = 0x0000;
const NXM_1 = 0x0001;
const ONF_EXP = 0xffff;   // experimenter class (tcp_flags in OF1.3 is ONF's)

const ones = (n: number): bigint => (1n << BigInt(n)) - 1n;

function f(name: string, off: number, len: number, o: Partial<MfField> & { prereq?: Prereq; format?: Format } = {}): MfField {
  const bits = o.bits ?? ones(len * 8);
  const shift = o.shift ?? 0;
  let nbits = 0;
  for (let b = bits >> BigInt(shift); b > 0n; b >>= 1n) nbits++;
  return {
    name, off, len, bits, shift, nbits,
    aliases: o.aliases ?? [], le: o.le, maskable: o.maskable ?? true, writable: o.writable ?? false,
    prereq: o.prereq ?? 'none', format: o.format ?? 'dec', oxm: o.oxm,
  };
}

const oxm = (field: number, bytes: number, cls = OXM_BASIC): OxmId => ({ cls, field, bytes });

/** Every field, in OVS's canonical print order. */
export const FIELDS: readonly MfField[] = [
  f('in_port', 0, 4, { le: true, maskable: false, format: 'port', oxm: oxm(0, 4) }),
  f('metadata', OFS_METADATA, 8, { format: 'hex', writable: true, oxm: oxm(2, 8) }),
  ...Array.from({ length: N_REGS }, (_, i) => f(`reg${i}`, OFS_REGS + 4 * i, 4, { format: 'hex', writable: true, oxm: oxm(i, 4, NXM_1) })),
  f('dl_src', 4, 6, { aliases: ['eth_src'], format: 'mac', writable: true, oxm: oxm(4, 6) }),
  f('dl_dst', 10, 6, { aliases: ['eth_dst'], format: 'mac', writable: true, oxm: oxm(3, 6) }),
  f('dl_type', 16, 2, { aliases: ['eth_type'], maskable: false, format: 'ethertype', oxm: oxm(5, 2) }),
  f('vlan_tci', 18, 2, { format: 'hex', oxm: oxm(4, 2, NXM_0) }),
  // OF1.3 vlan_vid: 12-bit VID plus OFPVID_PRESENT (0x1000), which is our VLAN_PRESENT bit.
  f('vlan_vid', 18, 2, { bits: 0x1fffn, writable: true, oxm: oxm(6, 2) }),
  f('dl_vlan', 18, 2, { bits: 0x0fffn, maskable: false, writable: true }),
  f('vlan_pcp', 18, 2, { aliases: ['dl_vlan_pcp'], bits: 0xe000n, shift: 13, maskable: false, writable: true, oxm: oxm(7, 1) }),
  f('nw_proto', 20, 1, { aliases: ['ip_proto'], maskable: false, prereq: 'ip', oxm: oxm(10, 1) }),
  f('arp_op', 20, 1, { maskable: false, prereq: 'arp', oxm: oxm(21, 2) }),
  // OVS's nw_tos is the DSCP bits left in place; ip_dscp is the same bits shifted down.
  f('nw_tos', 21, 1, { bits: 0xfcn, maskable: false, writable: true, prereq: 'ip' }),
  f('ip_dscp', 21, 1, { bits: 0xfcn, shift: 2, maskable: false, writable: true, prereq: 'ip', oxm: oxm(8, 1) }),
  f('nw_ecn', 21, 1, { aliases: ['ip_ecn'], bits: 0x03n, maskable: false, writable: true, prereq: 'ip', oxm: oxm(9, 1) }),
  f('nw_ttl', 22, 1, { maskable: false, writable: true, prereq: 'ip', oxm: oxm(29, 1, NXM_1) }),
  f('nw_frag', 23, 1, { aliases: ['ip_frag'], bits: 0x03n, format: 'frag', prereq: 'ip', oxm: oxm(26, 1, NXM_1) }),
  f('ipv6_label', 24, 4, { bits: 0xfffffn, writable: true, prereq: 'ipv6', oxm: oxm(28, 4) }),
  f('nw_src', 28, 4, { aliases: ['ip_src', 'ipv4_src'], format: 'ipv4', writable: true, prereq: 'ipv4', oxm: oxm(11, 4) }),
  f('nw_dst', 44, 4, { aliases: ['ip_dst', 'ipv4_dst'], format: 'ipv4', writable: true, prereq: 'ipv4', oxm: oxm(12, 4) }),
  f('arp_spa', 28, 4, { format: 'ipv4', prereq: 'arp', oxm: oxm(22, 4) }),
  f('arp_tpa', 44, 4, { format: 'ipv4', prereq: 'arp', oxm: oxm(23, 4) }),
  f('ipv6_src', 28, 16, { format: 'ipv6', writable: true, prereq: 'ipv6', oxm: oxm(26, 16) }),
  f('ipv6_dst', 44, 16, { format: 'ipv6', writable: true, prereq: 'ipv6', oxm: oxm(27, 16) }),
  f('arp_sha', 60, 6, { format: 'mac', prereq: 'arp', oxm: oxm(24, 6) }),
  f('arp_tha', 66, 6, { format: 'mac', prereq: 'arp', oxm: oxm(25, 6) }),
  f('tcp_src', 72, 2, { writable: true, prereq: 'tcp', oxm: oxm(13, 2) }),
  f('tcp_dst', 74, 2, { writable: true, prereq: 'tcp', oxm: oxm(14, 2) }),
  f('udp_src', 72, 2, { writable: true, prereq: 'udp', oxm: oxm(15, 2) }),
  f('udp_dst', 74, 2, { writable: true, prereq: 'udp', oxm: oxm(16, 2) }),
  f('sctp_src', 72, 2, { prereq: 'sctp', oxm: oxm(17, 2) }),
  f('sctp_dst', 74, 2, { prereq: 'sctp', oxm: oxm(18, 2) }),
  // tp_src/tp_dst: OVS's protocol-independent names, printed for any L4.
  f('tp_src', 72, 2, { writable: true, prereq: 'l4' }),
  f('tp_dst', 74, 2, { writable: true, prereq: 'l4' }),
  f('icmp_type', 73, 1, { maskable: false, prereq: 'icmp', oxm: oxm(19, 1) }),
  f('icmp_code', 75, 1, { maskable: false, prereq: 'icmp', oxm: oxm(20, 1) }),
  f('icmpv6_type', 73, 1, { maskable: false, prereq: 'icmpv6', oxm: oxm(29, 1) }),
  f('icmpv6_code', 75, 1, { maskable: false, prereq: 'icmpv6', oxm: oxm(30, 1) }),
  f('tcp_flags', 76, 2, { bits: 0x0fffn, format: 'tcp_flags', prereq: 'tcp', oxm: oxm(34, 2, NXM_1) }),   // OF1.3 sends ONF experimenter field 42 (src/openflow/oxm.ts)
];

const BY_NAME = new Map<string, MfField>();
for (const fld of FIELDS) for (const n of [fld.name, ...fld.aliases]) BY_NAME.set(n, fld);

export function mfByName(name: string): MfField | undefined { return BY_NAME.get(name); }

export function mfField(name: string): MfField {
  const fld = BY_NAME.get(name);
  if (!fld) throw new Error(`unknown field ${name}`);
  return fld;
}

/* ---- reading and writing a field in a 120-byte flow/mask buffer ------- */

function readRaw(buf: Buffer, fld: MfField): bigint {
  if (fld.le) return BigInt(buf.readUInt32LE(fld.off));
  let v = 0n;
  for (let i = 0; i < fld.len; i++) v = (v << 8n) | BigInt(buf[fld.off + i]);
  return v;
}

function writeRaw(buf: Buffer, fld: MfField, v: bigint): void {
  if (fld.le) { buf.writeUInt32LE(Number(v & 0xffffffffn), fld.off); return; }
  for (let i = fld.len - 1; i >= 0; i--) { buf[fld.off + i] = Number(v & 0xffn); v >>= 8n; }
}

/** The field's value in `buf` (a flow, or a mask: then the field's mask bits). */
export function mfGet(buf: Buffer, fld: MfField): bigint {
  return (readRaw(buf, fld) & fld.bits) >> BigInt(fld.shift);
}

/** Writes the field's bits; other bits sharing its bytes are kept. */
export function mfSet(buf: Buffer, fld: MfField, value: bigint): void {
  const raw = readRaw(buf, fld);
  writeRaw(buf, fld, (raw & ~fld.bits) | ((value << BigInt(fld.shift)) & fld.bits));
}

/** All bits of the field in a mask buffer. */
export function mfExact(mask: Buffer, fld: MfField): void {
  writeRaw(mask, fld, readRaw(mask, fld) | fld.bits);
}

/** Does the value fit in the field? */
export function mfValid(fld: MfField, v: bigint): boolean {
  return v >= 0n && v <= ones(fld.nbits);
}

export function mfAllOnes(fld: MfField): bigint { return ones(fld.nbits); }

/* ---- prerequisites --------------------------------------------------- */

/** The ethertypes / IP protocols a prerequisite pins (OVS mf_are_prereqs_ok). */
export function prereqOk(p: Prereq, flow: Buffer, mask?: Buffer): boolean {
  const ethType = flow.readUInt16BE(16);
  const ethExact = !mask || mask.readUInt16BE(16) === 0xffff;
  const protoExact = !mask || mask[20] === 0xff;
  const isIp = ethExact && (ethType === ETH_TYPE_IP || ethType === ETH_TYPE_IPV6);
  const l4 = (proto: number, eth?: number): boolean => isIp && protoExact && flow[20] === proto && (eth === undefined || ethType === eth);
  switch (p) {
    case 'none': return true;
    case 'arp': return ethExact && isArpType(ethType);
    case 'ipv4': return ethExact && ethType === ETH_TYPE_IP;
    case 'ipv6': return ethExact && ethType === ETH_TYPE_IPV6;
    case 'ip': return isIp;
    case 'tcp': return l4(IPPROTO_TCP);
    case 'udp': return l4(IPPROTO_UDP);
    case 'sctp': return l4(IPPROTO_SCTP);
    case 'l4': return l4(IPPROTO_TCP) || l4(IPPROTO_UDP) || l4(IPPROTO_SCTP);
    case 'icmp': return l4(IPPROTO_ICMP, ETH_TYPE_IP);
    case 'icmpv6': return l4(IPPROTO_ICMPV6, ETH_TYPE_IPV6);
  }
}

/** OpenFlow reserved port numbers (OF1.3, 32-bit). */
export const OFPP = {
  MAX: 0xffffff00,
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
} as const;

export const OFPP_NAMES: Record<number, string> = {
  [OFPP.IN_PORT]: 'IN_PORT', [OFPP.TABLE]: 'TABLE', [OFPP.NORMAL]: 'NORMAL', [OFPP.FLOOD]: 'FLOOD',
  [OFPP.ALL]: 'ALL', [OFPP.CONTROLLER]: 'CONTROLLER', [OFPP.LOCAL]: 'LOCAL', [OFPP.ANY]: 'ANY',
};
