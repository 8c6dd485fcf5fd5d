/*
 * OpenFlow messages as ovs-ofctl 3.1 prints them (OVS lib/ofp-print.c
 * ofp_to_string and the ofputil_*_format functions it calls): the header
 * line `NAME (OF1.3) (xid=0x2):`, features, port descriptions, port and
 * table statistics, flow stats lines, packet-ins, flow-removed and
 * port-status messages, errors with the request they answer, hex dumps.
 * Flow matches and actions come from src/ofproto/ofp-print.ts.
 */
import { Match } from '../ofproto/match';
import { FLOW_SIZE, OFPP, mfField } from '../ofproto/meta-flow';
import { OFPFF } from '../ofproto/ofp-actions';
import { OfVersion, formatActions, formatFlow, formatMatch, formatMatchWithPriority, formatPort } from '../ofproto/ofp-print';
import { flowExtract } from '../dpif/flow-extract';
import { KEY_SIZE, macToString, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_VLAN, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../dpif/flow-key';
import { OfpError, OFPET, OFPET_EXPERIMENTER } from './errors';
import { OFP10_VERSION, OFPT10, OFPT13, OFP_HEADER_LEN } from './ofp-header';
import { port32to16 } from './oxm';
import { OfPort } from './port';
import { FlowStats, PortStats, TableStats, OFPMP, OFPMPF_MORE, MultipartReplyBody, MultipartRequestBody } from './multipart';
import {
  OfMessage, ErrorMsg, FeaturesReplyMsg, FlowModMsg, FlowRemovedMsg, PacketInMsg, PacketOutMsg, PortStatusMsg, SwitchConfigMsg,
  FlowModCommand, OFP_NO_BUFFER, decodeMessage,
} from './messages';

export interface PrintOptions {
  /** Port names to show (already quoted as OVS shows them), as ovs-ofctl --names. */
  portNames?: Map<number, string>;
  /** Table names to show. */
  tableNames?: Map<number, string>;
  /** ovs-ofctl's verbosity: 1 for replies, 2 for monitor and errors (packet contents). */
  verbosity?: number;
}

export const ofVersionName = (v: number): OfVersion => (v === OFP10_VERSION ? 'OpenFlow10' : 'OpenFlow13');

/* ---- names ------------------------------------------------------------- */

const T13_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(OFPT13).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, `OFPT_${k}`]));
const T10_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(OFPT10).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, `OFPT_${k}`]));
const MP_NAMES: Record<number, string> = {
  [OFPMP.DESC]: 'DESC', [OFPMP.FLOW]: 'FLOW', [OFPMP.AGGREGATE]: 'AGGREGATE', [OFPMP.TABLE]: 'TABLE', [OFPMP.PORT_STATS]: 'PORT',
  [OFPMP.QUEUE]: 'QUEUE', [OFPMP.GROUP]: 'GROUP', [OFPMP.GROUP_DESC]: 'GROUP_DESC', [OFPMP.GROUP_FEATURES]: 'GROUP_FEATURES',
  [OFPMP.METER]: 'METER', [OFPMP.METER_CONFIG]: 'METER_CONFIG', [OFPMP.METER_FEATURES]: 'METER_FEATURES',
  [OFPMP.TABLE_FEATURES]: 'TABLE_FEATURES', [OFPMP.PORT_DESC]: 'PORT_DESC',
};
/** Nicira extension messages we may send or see (NXT_* subtypes). */
const NXT_NAMES: Record<number, string> = { 12: 'NXT_SET_FLOW_FORMAT', 15: 'NXT_FLOW_MOD_TABLE_ID', 16: 'NXT_SET_PACKET_IN_FORMAT', 17: 'NXT_PACKET_IN', 30: 'NXT_PACKET_IN2' };
const NX_VENDOR = 0x2320;

/** OVS's name for the message in `raw` (ofpraw_get_name), undefined if it has none. */
export function messageName(raw: Buffer): string | undefined {
  const version = raw[0], type = raw[1];
  const v10 = version === OFP10_VERSION;
  const stats = v10 ? (type === OFPT10.STATS_REQUEST || type === OFPT10.STATS_REPLY) : (type === OFPT13.MULTIPART_REQUEST || type === OFPT13.MULTIPART_REPLY);
  if (stats) {
    if (raw.length < 12) return undefined;
    const mp = MP_NAMES[raw.readUInt16BE(8)];
    const reply = type === (v10 ? OFPT10.STATS_REPLY : OFPT13.MULTIPART_REPLY);
    return mp && `OFPST_${mp} ${reply ? 'reply' : 'request'}`;
  }
  if (type === 4 && raw.length >= 16 && raw.readUInt32BE(8) === NX_VENDOR) return NXT_NAMES[raw.readUInt32BE(12)];
  if (type <= 3) return T13_NAMES[type];
  return v10 ? T10_NAMES[type] : T13_NAMES[type];
}

/** " (OF1.3) (xid=0x2):" — OpenFlow 1.0 carries no version tag. */
export function versionXid(version: number, xid: number): string {
  const tag = version === OFP10_VERSION ? '' : version >= 2 && version <= 7 ? ` (OF1.${version - 1})` : ` (OF 0x${version.toString(16).padStart(2, '0')})`;
  return `${tag} (xid=0x${xid.toString(16)}):`;
}

const ERR_TYPES13 = ['HELLO_FAILED', 'BAD_REQUEST', 'BAD_ACTION', 'BAD_INSTRUCTION', 'BAD_MATCH', 'FLOW_MOD_FAILED', 'GROUP_MOD_FAILED',
  'PORT_MOD_FAILED', 'TABLE_MOD_FAILED', 'QUEUE_OP_FAILED', 'SWITCH_CONFIG_FAILED', 'ROLE_REQUEST_FAILED', 'METER_MOD_FAILED', 'TABLE_FEATURES_FAILED'];
const BRC = ['BAD_VERSION', 'BAD_TYPE', 'BAD_STAT', 'BAD_VENDOR', 'BAD_SUBTYPE', 'EPERM', 'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN',
  'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT', 'BAD_PACKET', 'MULTIPART_BUFFER_OVERFLOW'];
const BAC = ['BAD_TYPE', 'BAD_LEN', 'BAD_VENDOR', 'BAD_VENDOR_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT', 'EPERM', 'TOO_MANY', 'BAD_QUEUE',
  'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER', 'BAD_TAG', 'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT'];
/** OVS's ofperr names by OpenFlow 1.3 (type, code). */
const ERR_CODES13: Record<number, [string, string[]]> = {
  [OFPET.HELLO_FAILED]: ['OFPHFC', ['INCOMPATIBLE', 'EPERM']],
  [OFPET.BAD_REQUEST]: ['OFPBRC', BRC],
  [OFPET.BAD_ACTION]: ['OFPBAC', BAC],
  [OFPET.BAD_INSTRUCTION]: ['OFPBIC', ['UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA', 'UNSUP_METADATA_MASK', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM']],
  [OFPET.BAD_MATCH]: ['OFPBMC', ['BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK', 'BAD_WILDCARDS', 'BAD_FIELD', 'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM']],
  [OFPET.FLOW_MOD_FAILED]: ['OFPFMFC', ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS']],
  [OFPET.GROUP_MOD_FAILED]: ['OFPGMFC', ['GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED', 'OUT_OF_GROUPS', 'OUT_OF_BUCKETS', 'CHAINING_UNSUPPORTED',
    'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP', 'CHAINED_GROUP', 'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET', 'BAD_WATCH', 'EPERM']],
  [OFPET.PORT_MOD_FAILED]: ['OFPPMFC', ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM']],
  [OFPET.TABLE_MOD_FAILED]: ['OFPTMFC', ['BAD_TABLE', 'BAD_CONFIG', 'EPERM']],
  [OFPET.QUEUE_OP_FAILED]: ['OFPQOFC', ['BAD_PORT', 'BAD_QUEUE', 'EPERM']],
  [OFPET.SWITCH_CONFIG_FAILED]: ['OFPSCFC', ['BAD_FLAGS', 'BAD_LEN', 'EPERM']],
  [OFPET.ROLE_REQUEST_FAILED]: ['OFPRRFC', ['STALE', 'UNSUP', 'BAD_ROLE']],
  [OFPET.METER_MOD_FAILED]: ['OFPMMFC', ['UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER', 'BAD_COMMAND', 'BAD_FLAGS', 'BAD_RATE',
    'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS', 'OUT_OF_BANDS']],
  [OFPET.TABLE_FEATURES_FAILED]: ['OFPTFFC', ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM']],
};
/** OpenFlow 1.0 numbers its errors differently. */
const ERR_CODES10: Record<number, [string, string[], string]> = {
  0: ['OFPHFC', ['INCOMPATIBLE', 'EPERM'], 'HELLO_FAILED'],
  1: ['OFPBRC', BRC.slice(0, 9), 'BAD_REQUEST'],
  2: ['OFPBAC', BAC.slice(0, 9), 'BAD_ACTION'],
  3: ['OFPFMFC', ['TABLE_FULL', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'UNSUPPORTED'], 'FLOW_MOD_FAILED'],
  4: ['OFPPMFC', ['BAD_PORT', 'BAD_HW_ADDR'], 'PORT_MOD_FAILED'],
  5: ['OFPQOFC', ['BAD_PORT', 'BAD_QUEUE', 'EPERM'], 'QUEUE_OP_FAILED'],
};

/** OVS's name for an error (ofperr_get_name), e.g. OFPBMC_BAD_PREREQ; a readable form for codes OVS does not know. */
export function errorName(version: number, type: number, code: number, experimenter?: number): string {
  if (type === OFPET_EXPERIMENTER) return `OFPET_EXPERIMENTER(experimenter=0x${(experimenter ?? 0).toString(16)},exp_type=${code})`;
  if (version === OFP10_VERSION) {
    const t = ERR_CODES10[type];
    return t?.[1][code] ? `${t[0]}_${t[1][code]}` : t ? `OFPET_${t[2]}(code=${code})` : `OFPET(type=${type},code=${code})`;
  }
  const t = ERR_CODES13[type];
  return t?.[1][code] ? `${t[0]}_${t[1][code]}` : t ? `OFPET_${ERR_TYPES13[type]}(code=${code})` : `OFPET(type=${type},code=${code})`;
}

/* ---- small pieces ---------------------------------------------------------- */

const UINT64_MAX = 0xffffffffffffffffn;

/** ds_put_hex_dump: 16 bytes a line, offset, a '-' after the 8th byte, optional ASCII column. */
export function hexDump(buf: Buffer, ascii = true): string {
  let out = '';
  for (let ofs = 0; ofs < buf.length; ofs += 16) {
    const line = buf.subarray(ofs, ofs + 16);
    let s = `${ofs.toString(16).padStart(8, '0')}  `;
    line.forEach((b, i) => { s += `${b.toString(16).padStart(2, '0')}${i === 7 ? '-' : ' '}`; });
    if (ascii) {
      s += '   '.repeat(16 - line.length) + '|';
      for (const b of line) s += b >= 32 && b < 127 ? String.fromCharCode(b) : '.';
      s += ' '.repeat(16 - line.length) + '|';
    } else s = s.trimEnd();
    out += `${s}\n`;
  }
  return out;
}

/** ofp_print_duration: seconds, then 3 decimals when the fraction is whole milliseconds, else as many as needed. */
export function formatDurationNs(sec: number, nsec: number): string {
  let s = String(sec);
  if (nsec > 0) s += nsec % 1e6 === 0 ? `.${String(nsec / 1e6).padStart(3, '0')}` : `.${String(nsec).padStart(9, '0').replace(/0+$/, '')}`;
  return `${s}s`;
}

/** ofp_print_bit_names: names of the set bits in ascending order, unknown bits as hex, "0" for none. */
function bitNames(bits: number, names: Record<number, string>, sep = ' '): string {
  if (!bits) return '0';
  const out: string[] = [];
  let rest = bits >>> 0;
  for (let i = 0; i < 32; i++) {
    const bit = (1 << i) >>> 0;
    if (rest & bit && names[bit]) { out.push(names[bit]); rest = (rest & ~bit) >>> 0; }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out.join(sep);
}

/** A 32-bit (OpenFlow 1.3) port number as OVS's 16-bit ofp_port_t, for sorting and padding. */
const portU16 = (p: number): number => port32to16(p) ?? p;

/** A table as ovs-ofctl shows it: its name when it has one and names are shown. */
export const formatTable = (id: number, opts: PrintOptions = {}): string => opts.tableNames?.get(id) ?? String(id);

/* ---- ports -------------------------------------------------------------------- */

const CONFIG_NAMES: Record<number, string> = { 1: 'PORT_DOWN', 2: 'NO_STP', 4: 'NO_RECV', 8: 'NO_RECV_STP', 16: 'NO_FLOOD', 32: 'NO_FWD', 64: 'NO_PACKET_IN' };
const STATE_NAMES: Record<number, string> = { 1: 'LINK_DOWN', 2: 'BLOCKED', 4: 'LIVE' };
const FEATURE_NAMES: Record<number, string> = {
  [1 << 0]: '10MB-HD', [1 << 1]: '10MB-FD', [1 << 2]: '100MB-HD', [1 << 3]: '100MB-FD', [1 << 4]: '1GB-HD', [1 << 5]: '1GB-FD',
  [1 << 6]: '10GB-FD', [1 << 7]: '40GB-FD', [1 << 8]: '100GB-FD', [1 << 9]: '1TB-FD', [1 << 10]: 'OTHER', [1 << 11]: 'COPPER',
  [1 << 12]: 'FIBER', [1 << 13]: 'AUTO_NEG', [1 << 14]: 'AUTO_PAUSE', [1 << 15]: 'AUTO_PAUSE_ASYM',
};
const STP_MASK = 0x300;

/** netdev_features_to_bps / 1000: what OVS reports as the speed of an OpenFlow 1.0 port (kbps). */
function speedFromFeatures(f: number): number {
  const kbps: [number, number][] = [[1 << 9, 1e9], [1 << 8, 1e8], [1 << 7, 4e7], [1 << 6, 1e7], [0x30, 1e6], [0x0c, 1e5], [0x03, 1e4]];
  return kbps.find(([bits]) => f & bits)?.[1] ?? 0;
}

/** A port as OVS decodes it for `version`: its config/state bits, and speeds computed from features in 1.0. */
export function portView(p: OfPort, version: number): OfPort {
  if (version === OFP10_VERSION) {
    return { ...p, config: p.config & 0x7f, state: p.state & 0x301, curr: p.curr & 0xffff, advertised: p.advertised & 0xffff,
      supported: p.supported & 0xffff, peer: p.peer & 0xffff, currSpeed: speedFromFeatures(p.curr), maxSpeed: speedFromFeatures(p.supported) };
  }
  return { ...p, config: p.config & 0x65, state: p.state & 0x7, curr: p.curr & 0xffff, advertised: p.advertised & 0xffff,
    supported: p.supported & 0xffff, peer: p.peer & 0xffff };
}

function portState(state: number): string {
  const stp = state & STP_MASK;
  if (!stp) return bitNames(state, STATE_NAMES);
  const rest = state & ~STP_MASK;
  // As OVS: the STP state and any other bits, without a separator.
  return (stp === 0x100 ? 'STP_LEARN' : stp === 0x200 ? 'STP_FORWARD' : 'STP_BLOCK') + (rest ? bitNames(rest, STATE_NAMES) : '');
}

/** ofputil_phy_port_format: " 1(eth0): addr:..." and its config, state, features and speed lines. */
export function formatPhyPort(port: OfPort, version: number): string {
  const p = portView(port, version);
  let name = '';
  for (const ch of p.name.slice(0, 15)) {
    const c = ch.charCodeAt(0);
    if (c < 32 || c > 126) break;
    name += ch;
  }
  let s = ` ${formatPort(p.portNo)}(${name}): addr:${macToString(p.hwAddr)}\n`;
  s += `     config:     ${bitNames(p.config, CONFIG_NAMES)}\n`;
  s += `     state:      ${portState(p.state)}\n`;
  const feat = (label: string, f: number): void => { if (f) s += `     ${label}${bitNames(f, FEATURE_NAMES)}\n`; };
  feat('current:    ', p.curr);
  feat('advertised: ', p.advertised);
  feat('supported:  ', p.supported);
  feat('peer:       ', p.peer);
  s += `     speed: ${Math.floor(p.currSpeed / 1000)} Mbps now, ${Math.floor(p.maxSpeed / 1000)} Mbps max\n`;
  return s;
}

/** Ports sorted by number, as OVS prints a features reply or a port description reply. */
export function formatPhyPorts(ports: OfPort[], version: number): string {
  return [...ports].sort((a, b) => portU16(a.portNo) - portU16(b.portNo)).map((p) => formatPhyPort(p, version)).join('');
}

/* ---- switch features and config --------------------------------------------- */

const CAP_NAMES: Record<number, string> = {
  1: 'FLOW_STATS', 2: 'TABLE_STATS', 4: 'PORT_STATS', 8: 'STP', 16: 'GROUP_STATS', 32: 'IP_REASM', 64: 'QUEUE_STATS',
  128: 'ARP_MATCH_IP', 256: 'PORT_BLOCKED',
};
/** OFPAT10_* bits in the order OVS lists their actions (its ofpact order). */
const ACTIONS10: [number, string][] = [[0, 'output'], [11, 'enqueue'], [1, 'set_vlan_vid'], [2, 'set_vlan_pcp'], [3, 'strip_vlan'],
  [4, 'mod_dl_src'], [5, 'mod_dl_dst'], [6, 'mod_nw_src'], [7, 'mod_nw_dst'], [8, 'mod_nw_tos'], [9, 'mod_tp_src'], [10, 'mod_tp_dst']];

/** The capabilities in OVS's own bit numbering (OFPUTIL_C_*): GROUP_STATS moves, STP exists in 1.0 only. */
export function capabilityNames(raw: number, version: number): string[] {
  const util = version === OFP10_VERSION ? raw & 0xef : (raw & 0x167) | (raw & 8 ? 16 : 0);
  const s = bitNames(util, CAP_NAMES);
  return s === '0' ? [] : s.split(' ');
}

export function actions10Names(bitmap: number): string[] {
  return ACTIONS10.filter(([bit]) => bitmap & (1 << bit)).map(([, n]) => n);
}

function formatFeatures(m: FeaturesReplyMsg): string {
  let s = ` dpid:${m.datapathId.toString(16).padStart(16, '0')}\n`;
  s += `n_tables:${m.nTables}, n_buffers:${m.nBuffers}${m.auxiliaryId ? `, auxiliary_id:${m.auxiliaryId}` : ''}\n`;
  const caps = capabilityNames(m.capabilities, m.version);
  s += `capabilities: ${caps.length ? caps.join(' ') : '0'}\n`;
  if (m.version === OFP10_VERSION) {
    const acts = actions10Names(m.actionsBitmap ?? 0);
    s += `actions: ${acts.length ? acts.join(' ') : '<none>'}\n`;
    s += formatPhyPorts(m.ports ?? [], m.version);
  }
  return s;
}

const FRAG_NAMES = ['normal', 'drop', 'reassemble', 'nx-match'];

function formatSwitchConfig(m: SwitchConfigMsg): string {
  const ttl = m.version === OFP10_VERSION && m.flags & 4 ? ' invalid_ttl_to_controller' : '';
  return ` frags=${FRAG_NAMES[m.flags & 3]}${ttl} miss_send_len=${m.missSendLen}`;
}

/* ---- flows ------------------------------------------------------------------ */

const FLOW_FLAG_NAMES: [number, string][] = [
  [OFPFF.SEND_FLOW_REM, 'send_flow_rem'], [OFPFF.CHECK_OVERLAP, 'check_overlap'], [OFPFF.RESET_COUNTS, 'reset_counts'],
  [OFPFF.NO_PKT_COUNTS, 'no_packet_counts'], [OFPFF.NO_BYT_COUNTS, 'no_byte_counts'],
];
/** ofputil_flow_mod_flags_format: each flag name followed by a space. */
const flowFlags = (flags: number): string => FLOW_FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => `${n} `).join('');

export interface FlowLineOptions extends PrintOptions { noStats?: boolean }

/** ofputil_flow_stats_format: one flow of a flow stats reply (without the leading space). */
export function formatFlowStatsEntry(f: FlowStats, version: number, opts: FlowLineOptions = {}): string {
  const show = !opts.noStats;
  let s = '';
  if (show || f.cookie) s += `cookie=0x${f.cookie.toString(16)}, `;
  if (show) s += `duration=${formatDurationNs(f.durationSec, f.durationNsec)}, `;
  if (show || f.tableId || opts.tableNames?.has(f.tableId)) s += `table=${formatTable(f.tableId, opts)}, `;
  if (show) s += `n_packets=${f.packetCount}, n_bytes=${f.byteCount}, `;
  if (f.idleTimeout) s += `idle_timeout=${f.idleTimeout}, `;
  if (f.hardTimeout) s += `hard_timeout=${f.hardTimeout}, `;
  if (version !== OFP10_VERSION) s += flowFlags(f.flags);
  const match = formatMatchWithPriority(f.match, f.priority, opts);
  if (match) s += `${match} `;
  return `${s}actions=${formatActions(f.actions, ofVersionName(version), { ...opts, match: f.match })}`;
}

/** ofputil_flow_mod_format (for the request an error answers). */
function formatFlowMod(m: FlowModMsg, opts: PrintOptions): string {
  const names = ['ADD', 'MOD', 'MOD_STRICT', 'DEL', 'DEL_STRICT'];
  let s = ` ${names[m.command] ?? `cmd:${m.command}`}`;
  // OVS decodes an OpenFlow 1.0 flow_mod's table from the command's high byte: 0 unless one was given.
  const table = m.version === OFP10_VERSION && m.tableId === (m.command === FlowModCommand.ADD ? 0 : 0xff) ? 0 : m.tableId;
  if (table !== 0 || opts.tableNames?.has(table)) s += ` table:${formatTable(table, opts)}`;
  s += ' ';
  const match = formatMatchWithPriority(m.match, m.priority, opts);
  if (match) s += `${match} `;
  if (m.version === OFP10_VERSION && m.cookie !== 0n && m.cookie !== UINT64_MAX) s += `cookie:0x${m.cookie.toString(16)} `;
  else if (m.version !== OFP10_VERSION && m.command === FlowModCommand.ADD && m.cookie) s += `cookie:0x${m.cookie.toString(16)} `;
  if (m.cookieMask) s += `cookie:0x${m.cookie.toString(16)}/0x${m.cookieMask.toString(16)} `;
  if (m.idleTimeout) s += `idle:${m.idleTimeout} `;
  if (m.hardTimeout) s += `hard:${m.hardTimeout} `;
  if (m.bufferId !== OFP_NO_BUFFER) s += `buf:0x${m.bufferId.toString(16)} `;
  if (m.outPort !== OFPP.ANY) s += `out_port:${formatPort(m.outPort, opts)} `;
  s += flowFlags(m.version === OFP10_VERSION ? m.flags & ~OFPFF.RESET_COUNTS : m.flags);
  return `${s}actions=${formatActions(m.actions, ofVersionName(m.version), { ...opts, match: m.match })}`;
}

/* ---- packets ---------------------------------------------------------------- */

/** Where the L4 header starts and ends, as OVS's flow_extract sets l4_ofs (IPv4/IPv6 only). */
function l4Span(frame: Buffer): { start: number; end: number; proto: number } | undefined {
  let off = 12;
  if (frame.length < 14) return undefined;
  let type = frame.readUInt16BE(off);
  off += 2;
  if (type === ETH_TYPE_VLAN && frame.length >= off + 4) { type = frame.readUInt16BE(off + 2); off += 4; }
  if (type === ETH_TYPE_IP) {
    if (frame.length < off + 20) return undefined;
    const ihl = (frame[off] & 0xf) * 4, tot = frame.readUInt16BE(off + 2);
    if (frame[off] >> 4 !== 4 || ihl < 20 || tot < ihl || off + tot > frame.length) return undefined;
    return { start: off + ihl, end: off + tot, proto: frame[off + 9] };
  }
  if (type === ETH_TYPE_IPV6) {
    if (frame.length < off + 40) return undefined;
    const end = Math.min(frame.length, off + 40 + frame.readUInt16BE(off + 4));
    let next = frame[off + 6], p = off + 40;
    for (let i = 0; i < 6 && [0, 43, 44, 51, 60].includes(next) && p + 8 <= end; i++) {
      const len = next === 44 ? 8 : next === 51 ? (frame[p + 1] + 2) * 4 : (frame[p + 1] + 1) * 8;
      next = frame[p];
      p += len;
    }
    return p <= end ? { start: p, end, proto: next } : undefined;
  }
  return undefined;
}

/** ofp_packet_to_string: the packet's flow as OVS prints it, then its L4 checksum. */
export function formatPacket(frame: Buffer): string {
  const flow = Buffer.alloc(FLOW_SIZE);
  flowExtract(frame, 0).buf.copy(flow, 0, 0, KEY_SIZE);
  flow.fill(0, KEY_SIZE - 2, KEY_SIZE);           // tuple_id is datapath bookkeeping
  let s = formatFlow(flow);
  const l4 = l4Span(frame);
  if (l4) {
    const size = l4.end - l4.start, at = (o: number): number => frame.readUInt16BE(l4.start + o);
    if (l4.proto === IPPROTO_TCP && size >= 20) s += ` tcp_csum:${at(16).toString(16)}`;
    else if (l4.proto === IPPROTO_UDP && size >= 8) s += ` udp_csum:${at(6).toString(16)}`;
    else if (l4.proto === IPPROTO_SCTP && size >= 12) s += ` sctp_csum:${frame.readUInt32BE(l4.start + 8).toString(16)}`;
    else if (l4.proto === IPPROTO_ICMP && size >= 8) s += ` icmp_csum:${at(2).toString(16)}`;
    else if (l4.proto === IPPROTO_ICMPV6 && size >= 4) s += ` icmp6_csum:${at(2).toString(16)}`;
  }
  return `${s}\n`;
}

const PIN_REASONS = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];

function formatPacketIn(m: PacketInMsg, opts: PrintOptions): string {
  let s = '';
  if (m.tableId || opts.tableNames?.has(m.tableId)) s += ` table_id=${formatTable(m.tableId, opts)}`;
  if (m.version !== OFP10_VERSION && m.cookie !== UINT64_MAX) s += ` cookie=0x${m.cookie.toString(16)}`;
  s += ` total_len=${m.totalLen} ${formatMatch(m.match, opts)}`;
  s += ` (via ${PIN_REASONS[m.reason] ?? m.reason}) data_len=${m.data.length}`;
  if (m.bufferId === OFP_NO_BUFFER) s += ` (unbuffered)${m.totalLen !== m.data.length ? ' (***total_len != data_len***)' : ''}`;
  else s += ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}${m.totalLen < m.data.length ? ' (***total_len < data_len***)' : ''}`;
  s += '\n';
  if ((opts.verbosity ?? 1) > 0) s += formatPacket(m.data);
  if ((opts.verbosity ?? 1) > 2) s += hexDump(m.data, false);
  return s;
}

function formatPacketOut(m: PacketOutMsg, opts: PrintOptions): string {
  const inPort = new Match().set(mfField('in_port'), BigInt(m.inPort));
  let s = ` ${formatMatch(inPort, opts)} actions=${formatActions(m.actions, ofVersionName(m.version), opts)}`;
  if (m.bufferId !== OFP_NO_BUFFER) return `${s} buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
  s += ` data_len=${m.data.length}`;
  if ((opts.verbosity ?? 1) > 0 && m.data.length) s += `\n${formatPacket(m.data)}`;
  return s;
}

const REMOVED_REASONS = ['idle', 'hard', 'delete', 'group_delete', 'meter_delete', 'eviction'];

function formatFlowRemoved(m: FlowRemovedMsg, opts: PrintOptions): string {
  let s = ` ${formatMatchWithPriority(m.match, m.priority, opts)} reason=${REMOVED_REASONS[m.reason] ?? m.reason}`;
  // OpenFlow 1.0 carries no table: OVS decodes it as 255 and leaves it out.
  if (m.version !== OFP10_VERSION && m.tableId !== 255) s += ` table_id=${formatTable(m.tableId, opts)}`;
  if (m.cookie) s += ` cookie:0x${m.cookie.toString(16)}`;
  s += ` duration${formatDurationNs(m.durationSec, m.durationNsec)} idle${m.idleTimeout}`;
  if (m.hardTimeout) s += ` hard${m.hardTimeout}`;
  return `${s} pkts${m.packetCount} bytes${m.byteCount}\n`;
}

function formatPortStatus(m: PortStatusMsg): string {
  const reason = ['ADD', 'DEL', 'MOD'][m.reason];
  return `${reason ? ` ${reason}:` : ''}${formatPhyPort(m.port, m.version)}`;
}

/* ---- statistics ----------------------------------------------------------------- */

const stat = (v: bigint): string => (v === UINT64_MAX ? '?' : v.toString());

/** One port of a port stats reply (ofp_print_ofpst_port_reply's loop body). */
export function formatPortStats(p: PortStats, version: number, opts: PrintOptions = {}): string {
  let s = `  port ${portU16(p.portNo) < 10 ? ' ' : ''}${formatPort(p.portNo, opts)}: rx `;
  s += `pkts=${stat(p.rxPackets)}, bytes=${stat(p.rxBytes)}, drop=${stat(p.rxDropped)}, errs=${stat(p.rxErrors)}, `;
  s += `frame=${stat(p.rxFrameErr)}, over=${stat(p.rxOverErr)}, crc=${stat(p.rxCrcErr)}\n`;
  s += `           tx pkts=${stat(p.txPackets)}, bytes=${stat(p.txBytes)}, drop=${stat(p.txDropped)}, errs=${stat(p.txErrors)}, coll=${stat(p.collisions)}\n`;
  if (version !== OFP10_VERSION && p.durationSec !== 0xffffffff) s += `           duration=${formatDurationNs(p.durationSec, p.durationNsec)}\n`;
  return s;
}

/** OpenFlow 1.0 wildcard bits and OVS's names for the fields they cover, in OVS's field order. */
const WC10_FIELDS: [number, string][] = [
  [1 << 0, 'in_port'], [1 << 2, 'eth_src'], [1 << 3, 'eth_dst'], [1 << 4, 'eth_type'], [1 << 1, 'vlan_vid'], [1 << 20, 'vlan_pcp'],
  [0x3f << 8, 'ip_src'], [0x3f << 14, 'ip_dst'], [1 << 5, 'nw_proto'], [1 << 21, 'nw_tos'], [1 << 6, 'tcp_src'], [1 << 7, 'tcp_dst'],
];

/** The fields an OpenFlow 1.0 table can wildcard (OVS's mf_bitmap_from_of10). */
export const wildcardFields10 = (wildcards: number): string[] => WC10_FIELDS.filter(([bits]) => wildcards & bits).map(([, n]) => n);

/** Consecutive names sharing a prefix before '_' as OVS groups them: eth_{src,dst,type}. */
function groupNames(names: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < names.length;) {
    const prefix = names[i].split('_')[0];
    let j = i + 1;
    while (j < names.length && names[j].includes('_') && names[j].split('_')[0] === prefix) j++;
    out.push(j - i > 1 && names[i].includes('_') ? `${prefix}_{${names.slice(i, j).map((n) => n.slice(prefix.length + 1)).join(',')}}` : names[i]);
    i = j;
  }
  return out.join(' ');
}

interface TableView { id: number; name: string; stats: TableStats; maxEntries: number; match: string[] }

function tableView(t: TableStats, version: number): TableView {
  const v10 = version === OFP10_VERSION;
  return { id: t.tableId, name: v10 ? t.name ?? '' : '', stats: t, maxEntries: v10 ? t.maxEntries ?? 0 : 0, match: v10 ? wildcardFields10(t.wildcards ?? 0) : [] };
}

const sameStats = (a: TableStats, b: TableStats): boolean =>
  a.activeCount === b.activeCount && a.lookupCount === b.lookupCount && a.matchedCount === b.matchedCount;
const sameFeatures = (a: TableView, b: TableView): boolean => a.maxEntries === b.maxEntries && a.match.join() === b.match.join();
const emptyFeatures = (t: TableView): boolean => !t.maxEntries && !t.match.length;

/** ofp_print_table_stats_reply: each table, "(same features)" and runs of identical tables as "ditto". */
export function formatTableStats(tables: TableStats[], version: number): string {
  let s = '';
  let first = -1, last = -1;
  let prev: TableView | undefined;
  const finish = (): void => {
    if (first < 0) return;
    s += first === last ? `\n  table ${first}: ditto\n` : `\n  tables ${first}...${last}: ditto\n`;
    first = -1;
  };
  for (const t of tables.map((x) => tableView(x, version))) {
    const stats = !!prev && sameStats(t.stats, prev.stats);
    const features = !!prev && sameFeatures(t, prev);
    if (stats && features && !t.name) {
      if (first < 0) first = t.id;
      last = t.id;
      prev = t;
      continue;
    }
    finish();
    s += `\n  table ${t.id}${t.name ? ` ("${t.name}")` : ''}:`;
    if (stats && features) {
      s += ' ditto';
    } else {
      s += `\n    active=${t.stats.activeCount}, lookup=${t.stats.lookupCount}, matched=${t.stats.matchedCount}\n`;
      if (features) {
        if (!emptyFeatures(t)) s += '    (same features)\n';
      } else {
        if (t.maxEntries) s += `    max_entries=${t.maxEntries}\n`;
        if (t.match.length) {
          if (prev && prev.match.join() === t.match.join()) s += '    (same matching)\n';
          else s += `    matching:\n      exact match or wildcard: ${groupNames(t.match)}\n`;
        }
      }
    }
    prev = t;
  }
  finish();
  return s;
}

function formatReplyBody(b: MultipartReplyBody, version: number, opts: PrintOptions): string {
  switch (b.mpType) {
    case 'flow': return b.flows.map((f) => `\n ${formatFlowStatsEntry(f, version, opts)}`).join('');
    case 'port_stats': return ` ${b.ports.length} ports\n${b.ports.map((p) => formatPortStats(p, version, opts)).join('')}`;
    case 'port_desc': return `\n${formatPhyPorts(b.ports, version)}`;
    case 'table': return formatTableStats(b.tables, version);
    case 'aggregate': return ` packet_count=${b.stats.packetCount} byte_count=${b.stats.byteCount} flow_count=${b.stats.flowCount}`;
    case 'desc':
      return `\nManufacturer: ${b.desc.mfrDesc}\nHardware: ${b.desc.hwDesc}\nSoftware: ${b.desc.swDesc}\nSerial Num: ${b.desc.serialNum}\nDP Description: ${b.desc.dpDesc}\n`;
    default: return '';
  }
}

function formatRequestBody(b: MultipartRequestBody, opts: PrintOptions): string {
  switch (b.mpType) {
    case 'flow': case 'aggregate': {
      let s = ' ';
      if (b.tableId !== 0xff) s += `table=${formatTable(b.tableId, opts)} `;
      if (b.outPort !== OFPP.ANY) s += `out_port=${formatPort(b.outPort, opts)} `;
      return s + formatMatch(b.match, opts);
    }
    case 'port_stats': return ` port_no=${formatPort(b.portNo, opts)}`;
    case 'port_desc': return ' port=ANY';
    default: return '';
  }
}

/* ---- whole messages ------------------------------------------------------------ */

function formatError(m: ErrorMsg, opts: PrintOptions): string {
  let s = ` ${errorName(m.version, m.errType, m.code, m.experimenter)}\n`;
  const helloFailed = m.version === OFP10_VERSION ? m.errType === 0 : m.errType === OFPET.HELLO_FAILED;
  if (helloFailed) s += m.data.toString('latin1').replace(/[^\x20-\x7e\n]/g, '.');
  else if (m.data.length) s += formatMessage(m.data, { ...opts, verbosity: 1 });
  return s;
}

function formatBody(m: OfMessage, raw: Buffer, opts: PrintOptions): string {
  switch (m.type) {
    case 'hello': return `\n version bitmap: ${(m.versions ?? Array.from({ length: m.version }, (_, i) => i + 1)).map((v) => `0x${v.toString(16).padStart(2, '0')}`).join(', ')}`;
    case 'error': return formatError(m, opts);
    case 'echo_request': case 'echo_reply':
      return ` ${m.data.length} bytes of payload\n${(opts.verbosity ?? 1) > 1 ? hexDump(m.data) : ''}`;
    case 'features_reply': return formatFeatures(m);
    case 'get_config_reply': case 'set_config': return formatSwitchConfig(m);
    case 'packet_in': return formatPacketIn(m, opts);
    case 'packet_out': return formatPacketOut(m, opts);
    case 'flow_removed': return formatFlowRemoved(m, opts);
    case 'port_status': return formatPortStatus(m);
    case 'flow_mod': return formatFlowMod(m, opts);
    case 'experimenter': return m.experimenter === NX_VENDOR && raw.length >= 17 && raw.readUInt32BE(12) === 15 ? ` ${raw[16] ? 'enable' : 'disable'}` : '';
    case 'multipart_request': case 'multipart_reply': {
      const more = m.flags & OFPMPF_MORE && (m.type === 'multipart_reply' || m.version > OFP10_VERSION) ? ' flags=[more]' : '';
      return more + (m.type === 'multipart_reply' ? formatReplyBody(m.body, m.version, opts) : formatRequestBody(m.body, opts));
    }
    default: return '';
  }
}

const addNewline = (s: string): string => (s && !s.endsWith('\n') ? `${s}\n` : s);

/**
 * ofp_to_string: one message as ovs-ofctl prints it, ending in a newline.
 * A message that does not decode gets OVS's "***decode error***" line and
 * a hex dump; a truncated one (an error's copy of a request) its header and
 * a hex dump.
 */
export function formatMessage(raw: Buffer, opts: PrintOptions = {}): string {
  if (!raw.length) return 'OpenFlow message is empty\n';
  if (raw.length < OFP_HEADER_LEN) return `OpenFlow packet too short (only ${raw.length} bytes):\n${hexDump(raw)}`;
  const len = raw.readUInt16BE(2), xid = raw.readUInt32BE(4), name = messageName(raw);
  if (len > raw.length) {
    return `${name ? `${name}${versionXid(raw[0], xid)}\n` : ''}(***truncated to ${raw.length} bytes from ${len}***)\n${hexDump(raw)}`;
  }
  if (len < raw.length) return `(***only uses ${len} bytes out of ${raw.length}***)\n${hexDump(raw)}`;
  if (!name) return `***decode error: OFPBRC_BAD_TYPE***\n${hexDump(raw)}`;
  let s = name + versionXid(raw[0], xid);
  const headerLen = s.length;
  try {
    s += formatBody(decodeMessage(raw), raw, opts);
    s = s.replace(/ +$/, '');
  } catch (e) {
    if (!(e instanceof OfpError)) throw e;
    s = s.length > headerLen ? addNewline(s.replace(/ +$/, '')) : `${s} `;
    s += `***decode error: ${errorName(4, e.type, e.code)}***\n${hexDump(raw)}`;      // OfpError uses 1.3 numbering
  }
  return addNewline(s);
}

/** The ports in a reply, for name maps (features reply in 1.0, port description in 1.3). */
export function portsOf(m: OfMessage): OfPort[] {
  if (m.type === 'features_reply') return m.ports ?? [];
  if (m.type === 'multipart_reply' && m.body.mpType === 'port_desc') return m.body.ports;
  return [];
}
