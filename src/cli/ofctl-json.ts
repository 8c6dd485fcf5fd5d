/*
 * xdp-ofctl --format json: the same replies as plain data. Counters are
 * 64-bit, so they are written as exact JSON numbers (never rounded through
 * a double); matches and actions are OVS flow syntax strings.
 */
import { FlowStats, PortStats, TableStats } from '../openflow/multipart';
import { OfPort } from '../openflow/port';
import { FeaturesReplyMsg, FlowRemovedMsg, PacketInMsg, PortStatusMsg, SwitchConfigMsg } from '../openflow/messages';
import {
  PrintOptions, ofVersionName, portView, capabilityNames, actions10Names, formatPacket, wildcardFields10,
} from '../openflow/ofp-print-msg';
import { formatActions, formatMatch, formatPort } from '../ofproto/ofp-print';
import { macToString } from '../dpif/flow-key';
import { OFP10_VERSION } from '../openflow/ofp-header';

export type Json = string | number | bigint | boolean | null | Json[] | { [k: string]: Json | undefined };

/** JSON text with bigints as exact numbers; undefined members are left out. */
export function toJson(v: Json | undefined, indent = 2, depth = 0): string {
  const pad = (d: number): string => (indent ? `\n${' '.repeat(indent * d)}` : '');
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return `[${v.map((x) => pad(depth + 1) + toJson(x, indent, depth + 1)).join(',')}${pad(depth)}]`;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  if (!entries.length) return '{}';
  const sep = indent ? ': ' : ':';
  return `{${entries.map(([k, x]) => `${pad(depth + 1)}${JSON.stringify(k)}${sep}${toJson(x, indent, depth + 1)}`).join(',')}${pad(depth)}}`;
}

const seconds = (sec: number, nsec: number): number => sec + nsec / 1e9;

const CONFIG = ['PORT_DOWN', 'NO_STP', 'NO_RECV', 'NO_RECV_STP', 'NO_FLOOD', 'NO_FWD', 'NO_PACKET_IN'];
const STATE = ['LINK_DOWN', 'BLOCKED', 'LIVE'];
const FEATURES = ['10MB-HD', '10MB-FD', '100MB-HD', '100MB-FD', '1GB-HD', '1GB-FD', '10GB-FD', '40GB-FD', '100GB-FD', '1TB-FD',
  'OTHER', 'COPPER', 'FIBER', 'AUTO_NEG', 'AUTO_PAUSE', 'AUTO_PAUSE_ASYM'];
const bits = (v: number, names: string[]): string[] => names.filter((_, i) => v & (1 << i));

export function flowJson(f: FlowStats, version: number, opts: PrintOptions): Json {
  const flags = ['send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts'].filter((_, i) => f.flags & (1 << i));
  return {
    table: f.tableId, priority: f.priority, cookie: `0x${f.cookie.toString(16)}`, duration: seconds(f.durationSec, f.durationNsec),
    n_packets: f.packetCount, n_bytes: f.byteCount, idle_timeout: f.idleTimeout, hard_timeout: f.hardTimeout,
    flags: version === OFP10_VERSION ? undefined : flags,
    match: formatMatch(f.match, opts), actions: formatActions(f.actions, ofVersionName(version), { ...opts, match: f.match }),
  };
}

export function portDescJson(port: OfPort, version: number): Json {
  const p = portView(port, version);
  const stp = p.state & 0x300;
  return {
    port_no: p.portNo, port: formatPort(p.portNo), name: p.name, hw_addr: macToString(p.hwAddr),
    config: bits(p.config, CONFIG), state: [...bits(p.state, STATE), ...(stp ? [['', 'STP_LEARN', 'STP_FORWARD', 'STP_BLOCK'][stp >> 8]] : [])],
    current: bits(p.curr, FEATURES), advertised: bits(p.advertised, FEATURES), supported: bits(p.supported, FEATURES),
    peer: bits(p.peer, FEATURES), curr_speed_kbps: p.currSpeed, max_speed_kbps: p.maxSpeed,
  };
}

export function portStatsJson(p: PortStats, version: number, opts: PrintOptions): Json {
  return {
    port_no: p.portNo, port: formatPort(p.portNo, opts),
    rx_packets: p.rxPackets, rx_bytes: p.rxBytes, rx_dropped: p.rxDropped, rx_errors: p.rxErrors,
    rx_frame_err: p.rxFrameErr, rx_over_err: p.rxOverErr, rx_crc_err: p.rxCrcErr,
    tx_packets: p.txPackets, tx_bytes: p.txBytes, tx_dropped: p.txDropped, tx_errors: p.txErrors, collisions: p.collisions,
    duration: version === OFP10_VERSION || p.durationSec === 0xffffffff ? undefined : seconds(p.durationSec, p.durationNsec),
  };
}

export function tableJson(t: TableStats, version: number): Json {
  const v10 = version === OFP10_VERSION;
  return {
    table_id: t.tableId, active_count: t.activeCount, lookup_count: t.lookupCount, matched_count: t.matchedCount,
    name: v10 ? t.name : undefined, max_entries: v10 ? t.maxEntries : undefined,
    wildcards: v10 ? wildcardFields10(t.wildcards ?? 0) : undefined,
  };
}

export function featuresJson(m: FeaturesReplyMsg): Json {
  return {
    datapath_id: m.datapathId.toString(16).padStart(16, '0'), n_tables: m.nTables, n_buffers: m.nBuffers,
    auxiliary_id: m.version === OFP10_VERSION ? undefined : m.auxiliaryId,
    capabilities: capabilityNames(m.capabilities, m.version),
    actions: m.version === OFP10_VERSION ? actions10Names(m.actionsBitmap ?? 0) : undefined,
  };
}

export function configJson(m: SwitchConfigMsg): Json {
  return { frags: ['normal', 'drop', 'reassemble', 'nx-match'][m.flags & 3], miss_send_len: m.missSendLen };
}

/** One line of `monitor --format json`. */
export function asyncJson(m: PacketInMsg | FlowRemovedMsg | PortStatusMsg, opts: PrintOptions): Json {
  const base = { version: ofVersionName(m.version), xid: m.xid };
  switch (m.type) {
    case 'packet_in':
      return {
        type: 'packet_in', ...base, table_id: m.tableId, cookie: m.version === OFP10_VERSION ? undefined : `0x${m.cookie.toString(16)}`,
        total_len: m.totalLen, match: formatMatch(m.match, opts), reason: ['no_match', 'action', 'invalid_ttl'][m.reason] ?? m.reason,
        buffer_id: m.bufferId === 0xffffffff ? undefined : m.bufferId, data_len: m.data.length,
        packet: m.data.toString('hex'), flow: formatPacket(m.data).trimEnd(),
      };
    case 'flow_removed':
      return {
        type: 'flow_removed', ...base, table_id: m.version === OFP10_VERSION ? undefined : m.tableId, priority: m.priority,
        cookie: `0x${m.cookie.toString(16)}`, match: formatMatch(m.match, opts),
        reason: ['idle', 'hard', 'delete', 'group_delete', 'meter_delete', 'eviction'][m.reason] ?? m.reason,
        duration: seconds(m.durationSec, m.durationNsec), idle_timeout: m.idleTimeout, hard_timeout: m.hardTimeout,
        n_packets: m.packetCount, n_bytes: m.byteCount,
      };
    case 'port_status':
      return { type: 'port_status', ...base, reason: ['add', 'delete', 'modify'][m.reason] ?? m.reason, port: portDescJson(m.port, m.version) };
  }
}

