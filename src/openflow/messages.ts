/*
 * OpenFlow messages: one typed object per message (tagged by `type`), for
 * OpenFlow 1.3 (version 4) and the 1.0 (version 1) equivalents of the basics.
 *
 * decodeMessage() takes exactly one framed message (OfFramer output) and
 * returns its object or throws OfpError: BAD_REQUEST/BAD_VERSION,
 * BAD_TYPE, BAD_LEN, BAD_MULTIPART for the message itself, BAD_MATCH/*,
 * BAD_ACTION/*, BAD_INSTRUCTION/*, FLOW_MOD_FAILED, GROUP_MOD_FAILED,
 * METER_MOD_FAILED for its contents. HELLO, ERROR and ECHO decode in any
 * version (their layout never changed), everything else only in 1.0 and 1.3.
 * errorReply() builds the ERROR for a message that failed.
 *
 * Values use OpenFlow 1.3 conventions whatever the version: 32-bit port
 * numbers (1.0's 0xfff8.. reserved ports become 0xfffffff8..), the 1.3 OFPPF
 * bits in ports. Raw per-version numbers are kept where there is no common
 * meaning (capabilities, config flags, error type/code in ERROR messages).
 */
import { OfpAction } from '../ofproto/ofp-actions';
import { Match } from '../ofproto/match';
import { FlowMod } from '../ofproto/tables';
import { OFPP, mfField } from '../ofproto/meta-flow';
import { GroupType, MeterBand, OFPG_ANY } from '../ofproto/ofp-actions';
import { OfpError, OFPET, OFPBRC, OFPFMFC, OFPGMFC, OFPMMFC, errorTo10, OFPET_EXPERIMENTER } from './errors';
import { OfReader, OfWriter } from './buf';
import { OFP10_VERSION, OFP13_VERSION, OFPT13, OFPT10, OFP_HEADER_LEN, OFP_MAX_MSG_LEN, decodeHeader, writeHeader, finishMessage, HelloBody, encodeHelloBody, decodeHelloBody } from './ofp-header';
import { decodeOfpMatch, encodeOfpMatch, port16to32, port32to16 } from './oxm';
import { decodeOf10Match, encodeOf10Match, OFP10_MATCH_LEN } from './of10-match';
import { decodeActions, decodeInstructions, encodeActions, encodeRuleActions } from './actions';
import { OfPort, decodePort, encodePort, portLen } from './port';
import { OfBucket, decodeBuckets, encodeBuckets, decodeBands, encodeBands } from './group-meter';
import {
  MultipartRequestBody, MultipartReplyBody, mpCode, decodeMultipartRequestBody, decodeMultipartReplyBody,
  encodeMultipartRequestBody, encodeMultipartReplyBody, packReplyBodies, OFPMPF_MORE,
} from './multipart';

export const OFP_NO_BUFFER = 0xffffffff;
export const OFPCML_NO_BUFFER = 0xffff;
export const OFPTT_ALL = 0xff;

export enum FlowModCommand { ADD = 0, MODIFY = 1, MODIFY_STRICT = 2, DELETE = 3, DELETE_STRICT = 4 }
export enum FlowRemovedReason { IDLE_TIMEOUT = 0, HARD_TIMEOUT = 1, DELETE = 2, GROUP_DELETE = 3, METER_DELETE = 4 }
export enum PortReason { ADD = 0, DELETE = 1, MODIFY = 2 }
export enum ControllerRole { NOCHANGE = 0, EQUAL = 1, MASTER = 2, SLAVE = 3 }
/** OFPC_* (get/set_config flags). */
export const OFPC_FRAG = { NORMAL: 0, DROP: 1, REASM: 2, MASK: 3 } as const;
/** OFPC_* capabilities (1.3 numbering; 1.0 has STP 8 and ARP_MATCH_IP 128 instead of GROUP_STATS and PORT_BLOCKED). */
export const OFPC13 = { FLOW_STATS: 1, TABLE_STATS: 2, PORT_STATS: 4, GROUP_STATS: 8, IP_REASM: 32, QUEUE_STATS: 64, PORT_BLOCKED: 256 } as const;

interface Base { version: number; xid: number }

/**
 * A flow_mod: every field of tables.ts's FlowMod, required, plus the command
 * and buffer id. It is a FlowMod, so `tables.add(fm)` etc. take it as is
 * (tableId 0xff = all tables for modify/delete).
 */
export interface OfFlowMod extends FlowMod {
  command: FlowModCommand;
  cookie: bigint;
  cookieMask: bigint;
  tableId: number;
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  bufferId: number;
  outPort: number;
  outGroup: number;
  flags: number;
  match: Match;
  actions: OfpAction[];
}

export interface HelloMsg extends Base, HelloBody { type: 'hello' }
/** errType/code are as the peer's version numbers them (see errors.errorFrom10); experimenter errors carry expType in `code`. */
export interface ErrorMsg extends Base { type: 'error'; errType: number; code: number; experimenter?: number; data: Buffer }
export interface EchoMsg extends Base { type: 'echo_request' | 'echo_reply'; data: Buffer }
/** 1.3 EXPERIMENTER / 1.0 VENDOR (no expType in 1.0). */
export interface ExperimenterMsg extends Base { type: 'experimenter'; experimenter: number; expType?: number; data: Buffer }
export interface EmptyMsg extends Base { type: 'features_request' | 'get_config_request' | 'barrier_request' | 'barrier_reply' | 'get_async_request' }
export interface FeaturesReplyMsg extends Base {
  type: 'features_reply';
  datapathId: bigint;
  nBuffers: number;
  nTables: number;
  auxiliaryId: number;          // 1.3 (0 from 1.0)
  capabilities: number;         // OFPC_* of the message's version
  reserved?: number;            // 1.3
  actionsBitmap?: number;       // 1.0: supported OFPAT10 actions
  ports?: OfPort[];             // 1.0 only (1.3 uses PORT_DESC)
}
export interface SwitchConfigMsg extends Base { type: 'get_config_reply' | 'set_config'; flags: number; missSendLen: number }
export interface PacketInMsg extends Base {
  type: 'packet_in';
  bufferId: number;
  totalLen: number;
  reason: number;               // PacketInReason
  tableId: number;              // 1.0: 0
  cookie: bigint;               // 1.0: 0
  match: Match;                 // in_port (and pipeline fields); 1.0 carries in_port only
  data: Buffer;
}
export interface FlowRemovedMsg extends Base {
  type: 'flow_removed';
  cookie: bigint;
  priority: number;
  reason: FlowRemovedReason;
  tableId: number;
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  hardTimeout: number;          // 1.0: 0
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
}
export interface PortStatusMsg extends Base { type: 'port_status'; reason: PortReason; port: OfPort }
export interface PacketOutMsg extends Base { type: 'packet_out'; bufferId: number; inPort: number; actions: OfpAction[]; data: Buffer }
export interface FlowModMsg extends Base, OfFlowMod { type: 'flow_mod' }
export interface GroupModMsg extends Base { type: 'group_mod'; command: number; groupType: GroupType; groupId: number; buckets: OfBucket[] }
export interface PortModMsg extends Base { type: 'port_mod'; portNo: number; hwAddr: Buffer; config: number; mask: number; advertise: number }
export interface TableModMsg extends Base { type: 'table_mod'; tableId: number; config: number }
export interface MultipartRequestMsg extends Base { type: 'multipart_request'; flags: number; body: MultipartRequestBody }
export interface MultipartReplyMsg extends Base { type: 'multipart_reply'; flags: number; body: MultipartReplyBody }
export interface RoleMsg extends Base { type: 'role_request' | 'role_reply'; role: ControllerRole; generationId: bigint }
export interface AsyncConfigMsg extends Base {
  type: 'get_async_reply' | 'set_async';
  packetInMask: [number, number];       // [master/equal, slave]
  portStatusMask: [number, number];
  flowRemovedMask: [number, number];
}
export interface MeterModMsg extends Base { type: 'meter_mod'; command: number; flags: number; meterId: number; bands: MeterBand[] }

export type OfMessage =
  | HelloMsg | ErrorMsg | EchoMsg | ExperimenterMsg | EmptyMsg | FeaturesReplyMsg | SwitchConfigMsg
  | PacketInMsg | FlowRemovedMsg | PortStatusMsg | PacketOutMsg | FlowModMsg | GroupModMsg | PortModMsg | TableModMsg
  | MultipartRequestMsg | MultipartReplyMsg | RoleMsg | AsyncConfigMsg | MeterModMsg;

export type OfMessageType = OfMessage['type'];

const CODE13: Record<OfMessageType, number> = {
  hello: OFPT13.HELLO, error: OFPT13.ERROR, echo_request: OFPT13.ECHO_REQUEST, echo_reply: OFPT13.ECHO_REPLY,
  experimenter: OFPT13.EXPERIMENTER, features_request: OFPT13.FEATURES_REQUEST, features_reply: OFPT13.FEATURES_REPLY,
  get_config_request: OFPT13.GET_CONFIG_REQUEST, get_config_reply: OFPT13.GET_CONFIG_REPLY, set_config: OFPT13.SET_CONFIG,
  packet_in: OFPT13.PACKET_IN, flow_removed: OFPT13.FLOW_REMOVED, port_status: OFPT13.PORT_STATUS, packet_out: OFPT13.PACKET_OUT,
  flow_mod: OFPT13.FLOW_MOD, group_mod: OFPT13.GROUP_MOD, port_mod: OFPT13.PORT_MOD, table_mod: OFPT13.TABLE_MOD,
  multipart_request: OFPT13.MULTIPART_REQUEST, multipart_reply: OFPT13.MULTIPART_REPLY,
  barrier_request: OFPT13.BARRIER_REQUEST, barrier_reply: OFPT13.BARRIER_REPLY, role_request: OFPT13.ROLE_REQUEST,
  role_reply: OFPT13.ROLE_REPLY, get_async_request: OFPT13.GET_ASYNC_REQUEST, get_async_reply: OFPT13.GET_ASYNC_REPLY,
  set_async: OFPT13.SET_ASYNC, meter_mod: OFPT13.METER_MOD,
};
const CODE10: Partial<Record<OfMessageType, number>> = {
  hello: OFPT10.HELLO, error: OFPT10.ERROR, echo_request: OFPT10.ECHO_REQUEST, echo_reply: OFPT10.ECHO_REPLY,
  experimenter: OFPT10.VENDOR, features_request: OFPT10.FEATURES_REQUEST, features_reply: OFPT10.FEATURES_REPLY,
  get_config_request: OFPT10.GET_CONFIG_REQUEST, get_config_reply: OFPT10.GET_CONFIG_REPLY, set_config: OFPT10.SET_CONFIG,
  packet_in: OFPT10.PACKET_IN, flow_removed: OFPT10.FLOW_REMOVED, port_status: OFPT10.PORT_STATUS, packet_out: OFPT10.PACKET_OUT,
  flow_mod: OFPT10.FLOW_MOD, port_mod: OFPT10.PORT_MOD, multipart_request: OFPT10.STATS_REQUEST, multipart_reply: OFPT10.STATS_REPLY,
  barrier_request: OFPT10.BARRIER_REQUEST, barrier_reply: OFPT10.BARRIER_REPLY,
};
const NAME13 = new Map<number, OfMessageType>(Object.entries(CODE13).map(([k, v]) => [v, k as OfMessageType]));
const NAME10 = new Map<number, OfMessageType>(Object.entries(CODE10).map(([k, v]) => [v!, k as OfMessageType]));

/** The wire type of a message in `version`; BAD_REQUEST/BAD_TYPE if the version has no such message. */
export function messageCode(type: OfMessageType, version: number): number {
  const c = version === OFP10_VERSION ? CODE10[type] : CODE13[type];
  if (c === undefined) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, `OpenFlow 1.0 has no ${type} message`);
  return c;
}

/** Versions whose HELLO/ERROR/ECHO we decode: all. Everything else: these. */
const isSupported = (v: number): boolean => v === OFP10_VERSION || v === OFP13_VERSION;
const universal = (t: number): boolean => t <= OFPT13.ECHO_REPLY;    // HELLO, ERROR, ECHO_*: the same in every version

const badLen = (msg: string): OfpError => new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, msg);
const end = (r: OfReader, what: string): void => { if (!r.atEnd) throw badLen(`${r.remaining} extra bytes in ${what}`); };
const exact = (r: OfReader, n: number, what: string): void => { if (r.remaining !== n) throw badLen(`${what} body is ${r.remaining} bytes, expected ${n}`); };

/* ======================================================================
 * Encoding
 * ==================================================================== */

function checkPort16(p: number, what: string): number {
  const v = port32to16(p);
  if (v === undefined) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `${what} ${p} has no OpenFlow 1.0 number`);
  return v;
}

function writeBody(w: OfWriter, m: OfMessage): void {
  const v13 = m.version >= OFP13_VERSION;
  switch (m.type) {
    case 'hello': encodeHelloBody(w, m); return;
    case 'error':
      w.u16(m.errType).u16(m.code);
      if (m.errType === OFPET_EXPERIMENTER) w.u32(m.experimenter ?? 0);
      w.bytes(m.data);
      return;
    case 'echo_request': case 'echo_reply': w.bytes(m.data); return;
    case 'experimenter':
      w.u32(m.experimenter);
      if (v13) w.u32(m.expType ?? 0);
      w.bytes(m.data);
      return;
    case 'features_request': case 'get_config_request': case 'barrier_request': case 'barrier_reply': case 'get_async_request': return;
    case 'features_reply':
      w.u64(m.datapathId).u32(m.nBuffers).u8(m.nTables);
      if (v13) { w.u8(m.auxiliaryId).zeros(2).u32(m.capabilities).u32(m.reserved ?? 0); return; }
      w.zeros(3).u32(m.capabilities).u32(m.actionsBitmap ?? 0);
      for (const p of m.ports ?? []) encodePort(w, p, m.version);
      return;
    case 'get_config_reply': case 'set_config': w.u16(m.flags).u16(m.missSendLen); return;
    case 'packet_in':
      if (v13) {
        w.u32(m.bufferId).u16(m.totalLen).u8(m.reason).u8(m.tableId).u64(m.cookie);
        encodeOfpMatch(w, m.match);
        w.zeros(2).bytes(m.data);
      } else {
        const inPort = m.match.isExact(mfField('in_port')) ? Number(m.match.get(mfField('in_port')).value) : OFPP.ANY;
        w.u32(m.bufferId).u16(m.totalLen).u16(checkPort16(inPort, 'in_port')).u8(m.reason).u8(0).bytes(m.data);
      }
      return;
    case 'flow_removed':
      if (v13) {
        w.u64(m.cookie).u16(m.priority).u8(m.reason).u8(m.tableId).u32(m.durationSec).u32(m.durationNsec);
        w.u16(m.idleTimeout).u16(m.hardTimeout).u64(m.packetCount).u64(m.byteCount);
        encodeOfpMatch(w, m.match);
      } else {
        encodeOf10Match(w, m.match);
        w.u64(m.cookie).u16(m.priority).u8(m.reason).u8(0).u32(m.durationSec).u32(m.durationNsec);
        w.u16(m.idleTimeout).zeros(2).u64(m.packetCount).u64(m.byteCount);
      }
      return;
    case 'port_status': w.u8(m.reason).zeros(7); encodePort(w, m.port, m.version); return;
    case 'packet_out': {
      w.u32(m.bufferId);
      if (v13) w.u32(m.inPort); else w.u16(checkPort16(m.inPort, 'in_port'));
      const lenAt = w.hole16();
      if (v13) w.zeros(6);
      const start = w.off;
      encodeActions(w, m.actions, m.version);
      w.patch16(lenAt, w.off - start);
      w.bytes(m.data);
      return;
    }
    case 'flow_mod': {
      const ctx = { match: m.match };
      if (v13) {
        w.u64(m.cookie).u64(m.cookieMask).u8(m.tableId).u8(m.command).u16(m.idleTimeout).u16(m.hardTimeout).u16(m.priority);
        w.u32(m.bufferId).u32(m.outPort).u32(m.outGroup).u16(m.flags).zeros(2);
        encodeOfpMatch(w, m.match);
        encodeRuleActions(w, m.actions, m.version, ctx);
        return;
      }
      encodeOf10Match(w, m.match);
      // 1.0 has one table; OVS's table-id extension carries another one in the command's high byte.
      const defTable = m.command === FlowModCommand.ADD ? 0 : OFPTT_ALL;
      const cmd = m.tableId === defTable ? m.command : ((m.tableId & 0xff) << 8) | m.command;
      w.u64(m.cookie).u16(cmd).u16(m.idleTimeout).u16(m.hardTimeout).u16(m.priority);
      w.u32(m.bufferId).u16(checkPort16(m.outPort, 'out_port')).u16(m.flags & 3);
      encodeRuleActions(w, m.actions, m.version, ctx);
      return;
    }
    case 'group_mod': w.u16(m.command).u8(m.groupType).u8(0).u32(m.groupId); encodeBuckets(w, m.buckets); return;
    case 'port_mod':
      if (m.hwAddr.length !== 6) throw badLen('port_mod hardware address is not 6 bytes');
      if (v13) w.u32(m.portNo).zeros(4).bytes(m.hwAddr).zeros(2).u32(m.config).u32(m.mask).u32(m.advertise).zeros(4);
      else w.u16(checkPort16(m.portNo, 'port')).bytes(m.hwAddr).u32(m.config).u32(m.mask).u32(m.advertise).zeros(4);
      return;
    case 'table_mod': w.u8(m.tableId).zeros(3).u32(m.config); return;
    case 'multipart_request':
      w.u16(mpCode(m.body.mpType, m.version)).u16(m.flags);
      if (v13) w.zeros(4);
      encodeMultipartRequestBody(w, m.body, m.version);
      return;
    case 'multipart_reply':
      w.u16(mpCode(m.body.mpType, m.version)).u16(m.flags);
      if (v13) w.zeros(4);
      encodeMultipartReplyBody(w, m.body, m.version);
      return;
    case 'role_request': case 'role_reply': w.u32(m.role).zeros(4).u64(m.generationId); return;
    case 'get_async_reply': case 'set_async':
      for (const pair of [m.packetInMask, m.portStatusMask, m.flowRemovedMask]) w.u32(pair[0]).u32(pair[1]);
      return;
    case 'meter_mod': w.u16(m.command).u16(m.flags).u32(m.meterId); encodeBands(w, m.bands); return;
  }
}

/** Encodes one message. OfpError if it does not exist in its version or exceeds 65535 bytes. */
export function encodeMessage(m: OfMessage): Buffer {
  if (!isSupported(m.version) && !universal(CODE13[m.type])) {
    throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION, `cannot encode ${m.type} for OpenFlow version 0x${m.version.toString(16)}`);
  }
  const w = new OfWriter(128);
  writeHeader(w, m.version, messageCode(m.type, m.version), m.xid);
  writeBody(w, m);
  return finishMessage(w);
}

/**
 * A multipart reply as messages of at most 65535 bytes: an array reply
 * (flows, ports, tables...) is cut between items and every message but the
 * last has OFPMPF_REPLY_MORE.
 */
export function splitMultipartReply(m: MultipartReplyMsg): Buffer[] {
  const hdr = m.version >= OFP13_VERSION ? 16 : 12;
  const bodies = packReplyBodies(m.body, m.version, OFP_MAX_MSG_LEN - hdr);
  return bodies.map((body, i) => {
    const w = new OfWriter(hdr + body.length);
    writeHeader(w, m.version, messageCode('multipart_reply', m.version), m.xid);
    w.u16(mpCode(m.body.mpType, m.version)).u16(i < bodies.length - 1 ? m.flags | OFPMPF_MORE : m.flags & ~OFPMPF_MORE);
    if (m.version >= OFP13_VERSION) w.zeros(4);
    w.bytes(body);
    return finishMessage(w);
  });
}

/* ======================================================================
 * Decoding
 * ==================================================================== */

function decodeFlowMod(r: OfReader, version: number, base: Base): FlowModMsg {
  if (version >= OFP13_VERSION) {
    r.need(48, 'flow_mod');
    const cookie = r.u64(), cookieMask = r.u64(), tableId = r.u8(), command = r.u8();
    const idleTimeout = r.u16(), hardTimeout = r.u16(), priority = r.u16();
    const bufferId = r.u32(), outPort = r.u32(), outGroup = r.u32(), flags = r.u16();
    r.skip(2);
    if (command > FlowModCommand.DELETE_STRICT) throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_COMMAND, `flow_mod command ${command}`);
    if (flags & ~0x1f) throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_FLAGS, `flow_mod flags 0x${flags.toString(16)}`);
    const match = decodeOfpMatch(r);
    const actions = decodeInstructions(r);
    return { version: base.version, xid: base.xid, type: 'flow_mod', command, cookie, cookieMask, tableId, idleTimeout, hardTimeout, priority, bufferId, outPort, outGroup, flags, match, actions };
  }
  r.need(OFP10_MATCH_LEN + 24, 'flow_mod');
  const match = decodeOf10Match(r);
  const cookie = r.u64(), rawCommand = r.u16(), idleTimeout = r.u16(), hardTimeout = r.u16(), priority = r.u16();
  const bufferId = r.u32(), outPort = port16to32(r.u16()), flags = r.u16();
  const command = rawCommand & 0xff;
  if (command > FlowModCommand.DELETE_STRICT) throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_COMMAND, `flow_mod command ${command}`);
  if (flags & ~3) throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_FLAGS, `OpenFlow 1.0 flow_mod flags 0x${flags.toString(16)} (emergency flows are not supported)`);
  const tableId = rawCommand >> 8 || (command === FlowModCommand.ADD ? 0 : OFPTT_ALL);
  const actions = decodeActions(r, version);
  return {
    version: base.version, xid: base.xid, type: 'flow_mod', command, cookie, cookieMask: 0n, tableId, idleTimeout, hardTimeout, priority, bufferId,
    outPort, outGroup: OFPG_ANY, flags, match, actions,
  };
}

function decodeBody(type: OfMessageType, r: OfReader, base: Base): OfMessage {
  const version = base.version;
  const v13 = version >= OFP13_VERSION;
  switch (type) {
    case 'hello': return { version: base.version, xid: base.xid, type, ...decodeHelloBody(r, version) };
    case 'error': {
      r.need(4, 'error');
      const errType = r.u16(), code = r.u16();
      if (errType === OFPET_EXPERIMENTER) {
        r.need(4, 'experimenter error');
        const experimenter = r.u32();
        return { version: base.version, xid: base.xid, type, errType, code, experimenter, data: r.rest() };
      }
      return { version: base.version, xid: base.xid, type, errType, code, data: r.rest() };
    }
    case 'echo_request': case 'echo_reply': return { version: base.version, xid: base.xid, type, data: r.rest() };
    case 'experimenter': {
      r.need(v13 ? 8 : 4, 'experimenter');
      const experimenter = r.u32();
      return v13 ? { version: base.version, xid: base.xid, type, experimenter, expType: r.u32(), data: r.rest() } : { version: base.version, xid: base.xid, type, experimenter, data: r.rest() };
    }
    case 'features_request': case 'get_config_request': case 'barrier_request': case 'barrier_reply': case 'get_async_request':
      exact(r, 0, type);
      return { version: base.version, xid: base.xid, type };
    case 'features_reply': {
      if (v13) {
        exact(r, 24, type);
        const datapathId = r.u64(), nBuffers = r.u32(), nTables = r.u8(), auxiliaryId = r.u8();
        r.skip(2);
        return { version: base.version, xid: base.xid, type, datapathId, nBuffers, nTables, auxiliaryId, capabilities: r.u32(), reserved: r.u32() };
      }
      r.need(24, type);
      if ((r.remaining - 24) % portLen(version) !== 0) throw badLen(`features_reply ports of ${r.remaining - 24} bytes`);
      const datapathId = r.u64(), nBuffers = r.u32(), nTables = r.u8();
      r.skip(3);
      const capabilities = r.u32(), actionsBitmap = r.u32();
      const ports: OfPort[] = [];
      while (!r.atEnd) ports.push(decodePort(r, version));
      return { version: base.version, xid: base.xid, type, datapathId, nBuffers, nTables, auxiliaryId: 0, capabilities, actionsBitmap, ports };
    }
    case 'get_config_reply': case 'set_config':
      exact(r, 4, type);
      return { version: base.version, xid: base.xid, type, flags: r.u16(), missSendLen: r.u16() };
    case 'packet_in': {
      if (v13) {
        r.need(16, type);
        const bufferId = r.u32(), totalLen = r.u16(), reason = r.u8(), tableId = r.u8(), cookie = r.u64();
        const match = decodeOfpMatch(r);
        r.skip(2);
        return { version: base.version, xid: base.xid, type, bufferId, totalLen, reason, tableId, cookie, match, data: r.rest() };
      }
      r.need(10, type);
      const bufferId = r.u32(), totalLen = r.u16(), inPort = port16to32(r.u16()), reason = r.u8();
      r.skip(1);
      const match = new Match().set(mfField('in_port'), BigInt(inPort));
      return { version: base.version, xid: base.xid, type, bufferId, totalLen, reason, tableId: 0, cookie: 0n, match, data: r.rest() };
    }
    case 'flow_removed': {
      if (v13) {
        r.need(40, type);
        const cookie = r.u64(), priority = r.u16(), reason = r.u8(), tableId = r.u8(), durationSec = r.u32(), durationNsec = r.u32();
        const idleTimeout = r.u16(), hardTimeout = r.u16(), packetCount = r.u64(), byteCount = r.u64();
        const match = decodeOfpMatch(r);
        end(r, type);
        return { version: base.version, xid: base.xid, type, cookie, priority, reason, tableId, durationSec, durationNsec, idleTimeout, hardTimeout, packetCount, byteCount, match };
      }
      exact(r, 80, type);
      const match = decodeOf10Match(r);
      const cookie = r.u64(), priority = r.u16(), reason = r.u8();
      r.skip(1);
      const durationSec = r.u32(), durationNsec = r.u32(), idleTimeout = r.u16();
      r.skip(2);
      return { version: base.version, xid: base.xid, type, cookie, priority, reason, tableId: 0, durationSec, durationNsec, idleTimeout, hardTimeout: 0, packetCount: r.u64(), byteCount: r.u64(), match };
    }
    case 'port_status': {
      exact(r, 8 + portLen(version), type);
      const reason = r.u8();
      r.skip(7);
      return { version: base.version, xid: base.xid, type, reason, port: decodePort(r, version) };
    }
    case 'packet_out': {
      r.need(v13 ? 16 : 8, type);
      const bufferId = r.u32();
      const inPort = v13 ? r.u32() : port16to32(r.u16());
      const actionsLen = r.u16();
      if (v13) r.skip(6);
      if (inPort >= OFPP.MAX && inPort < OFPP.IN_PORT) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `packet_out in_port 0x${inPort.toString(16)}`);
      if (actionsLen > r.remaining) throw badLen(`packet_out actions_len ${actionsLen} exceeds the ${r.remaining} bytes left`);
      const actions = decodeActions(r.sub(actionsLen), version);
      return { version: base.version, xid: base.xid, type, bufferId, inPort, actions, data: r.rest() };
    }
    case 'flow_mod': return decodeFlowMod(r, version, base);
    case 'group_mod': {
      r.need(8, type);
      const command = r.u16(), groupType = r.u8();
      r.skip(1);
      const groupId = r.u32();
      if (command > 2) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_COMMAND, `group_mod command ${command}`);
      if (groupType > GroupType.FF) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_TYPE, `group type ${groupType}`);
      return { version: base.version, xid: base.xid, type, command, groupType, groupId, buckets: decodeBuckets(r) };
    }
    case 'port_mod': {
      exact(r, v13 ? 32 : 24, type);
      const portNo = v13 ? r.u32() : port16to32(r.u16());
      if (v13) r.skip(4);
      const hwAddr = r.bytes(6);
      if (v13) r.skip(2);
      return { version: base.version, xid: base.xid, type, portNo, hwAddr, config: r.u32(), mask: r.u32(), advertise: r.u32() };
    }
    case 'table_mod': {
      exact(r, 8, type);
      const tableId = r.u8();
      r.skip(3);
      return { version: base.version, xid: base.xid, type, tableId, config: r.u32() };
    }
    case 'multipart_request': case 'multipart_reply': {
      r.need(v13 ? 8 : 4, type);
      const code = r.u16(), flags = r.u16();
      if (v13) r.skip(4);
      return type === 'multipart_request'
        ? { version: base.version, xid: base.xid, type, flags, body: decodeMultipartRequestBody(code, r, version) }
        : { version: base.version, xid: base.xid, type, flags, body: decodeMultipartReplyBody(code, r, version) };
    }
    case 'role_request': case 'role_reply': {
      exact(r, 16, type);
      const role = r.u32();
      r.skip(4);
      return { version: base.version, xid: base.xid, type, role, generationId: r.u64() };
    }
    case 'get_async_reply': case 'set_async': {
      exact(r, 24, type);
      const pair = (): [number, number] => [r.u32(), r.u32()];
      return { version: base.version, xid: base.xid, type, packetInMask: pair(), portStatusMask: pair(), flowRemovedMask: pair() };
    }
    case 'meter_mod': {
      r.need(8, type);
      const command = r.u16(), flags = r.u16(), meterId = r.u32();
      if (command > 2) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_COMMAND, `meter_mod command ${command}`);
      if (flags & ~0xf) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_FLAGS, `meter flags 0x${flags.toString(16)}`);
      return { version: base.version, xid: base.xid, type, command, flags, meterId, bands: decodeBands(r) };
    }
  }
}

/**
 * Decodes exactly one message (its header's length must be the buffer's).
 * Throws only OfpError.
 */
export function decodeMessage(buf: Buffer): OfMessage {
  const h = decodeHeader(buf);
  if (h.length !== buf.length) throw badLen(`header says ${h.length} bytes, message has ${buf.length}`);
  if (!isSupported(h.version) && !universal(h.type)) {
    throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION, `OpenFlow version 0x${h.version.toString(16)} is not supported`);
  }
  if (h.version === 0) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION, 'OpenFlow version 0');
  const type = (h.version === OFP10_VERSION ? NAME10 : NAME13).get(h.type);
  if (!type) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, `unknown or unsupported message type ${h.type} for version 0x${h.version.toString(16)}`);
  const r = new OfReader(buf, OFP_HEADER_LEN, buf.length);
  return decodeBody(type, r, { version: h.version, xid: h.xid });
}

/* ======================================================================
 * Errors and helpers
 * ==================================================================== */

/**
 * The ERROR to send for `offending` (a framed message, or at least its
 * header) that raised `err`: same version and xid, data = its first 64
 * bytes (HELLO_FAILED carries the reason as text, as the spec asks). For a
 * 1.0 peer the error is renumbered (errors.errorTo10). `version` overrides
 * the message's own (e.g. the negotiated version for an unsupported one).
 */
export function errorReply(offending: Buffer, err: OfpError, version?: number): Buffer {
  const xid = offending.length >= 8 ? offending.readUInt32BE(4) : 0;
  let v = version ?? (offending.length ? offending[0] : OFP13_VERSION);
  if (!isSupported(v)) v = OFP13_VERSION;
  const tc = v === OFP10_VERSION ? errorTo10(err.type, err.code) : { type: err.type, code: err.code };
  const data = err.type === OFPET.HELLO_FAILED ? Buffer.from(err.message, 'ascii') : offending.subarray(0, 64);
  return encodeMessage({ type: 'error', version: v, xid, errType: tc.type, code: tc.code, data: Buffer.from(data) });
}

/** A flow_mod with OpenFlow's defaults for everything not given (table: 0, all tables for deletes, as ovs-ofctl sends). */
export function newFlowMod(command: FlowModCommand, f: Partial<OfFlowMod> = {}): OfFlowMod {
  const del = command === FlowModCommand.DELETE || command === FlowModCommand.DELETE_STRICT;
  return {
    command, cookie: 0n, cookieMask: 0n, tableId: del ? OFPTT_ALL : 0,
    idleTimeout: 0, hardTimeout: 0, priority: 0x8000, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG_ANY,
    flags: 0, match: new Match(), actions: [], ...f,
  };
}

/** What tables.ts needs from a flow_mod: the FlowMod, and which operation with which strictness. */
export function toTablesOp(fm: OfFlowMod): { op: 'add' | 'modify' | 'delete'; strict: boolean; fm: FlowMod } {
  const op = fm.command === FlowModCommand.ADD ? 'add' : fm.command <= FlowModCommand.MODIFY_STRICT ? 'modify' : 'delete';
  const strict = fm.command === FlowModCommand.MODIFY_STRICT || fm.command === FlowModCommand.DELETE_STRICT;
  const out: FlowMod = {
    tableId: fm.tableId === OFPTT_ALL && op !== 'add' ? undefined : fm.tableId, priority: fm.priority, match: fm.match, actions: fm.actions,
    cookie: fm.cookie, cookieMask: fm.cookieMask, idleTimeout: fm.idleTimeout, hardTimeout: fm.hardTimeout, flags: fm.flags,
    outPort: fm.outPort, outGroup: fm.outGroup,
  };
  if (fm.importance !== undefined) out.importance = fm.importance;
  return { op, strict, fm: out };
}
