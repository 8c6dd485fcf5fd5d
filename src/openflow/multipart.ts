/*
 * MULTIPART (1.3) / STATS (1.0) request and reply bodies. A body is tagged
 * by `mpType`; the message carries it with the flags (OFPMPF_*_MORE).
 * splitMultipartReply() cuts an array reply into messages of at most 65535
 * bytes, with MORE set on all but the last.
 */
import { OfpAction, GroupType, MeterBand } from '../ofproto/ofp-actions';
import { Match } from '../ofproto/match';
import { OfpError, OFPET, OFPBRC } from './errors';
import { OfReader, OfWriter } from './buf';
import { decodeOfpMatch, encodeOfpMatch, port16to32, port32to16 } from './oxm';
import { decodeOf10Match, encodeOf10Match } from './of10-match';
import { decodeActions, decodeInstructions, encodeRuleActions, ActionContext } from './actions';
import { OfPort, decodePort, encodePort, portLen } from './port';
import { OfBucket, decodeBuckets, encodeBuckets, decodeBands, encodeBands } from './group-meter';

/** OpenFlow 1.3 multipart types (1.0 stats types are the first six, with PORT = 4). */
export enum OFPMP {
  DESC = 0, FLOW = 1, AGGREGATE = 2, TABLE = 3, PORT_STATS = 4, QUEUE = 5, GROUP = 6, GROUP_DESC = 7, GROUP_FEATURES = 8,
  METER = 9, METER_CONFIG = 10, METER_FEATURES = 11, TABLE_FEATURES = 12, PORT_DESC = 13, EXPERIMENTER = 0xffff,
}
export const OFPMPF_MORE = 1;
export const DESC_STR_LEN = 256;
export const SERIAL_NUM_LEN = 32;
export const OFP_MAX_TABLE_NAME_LEN = 32;

export interface Desc { mfrDesc: string; hwDesc: string; swDesc: string; serialNum: string; dpDesc: string }

export interface FlowStatsRequest {
  tableId: number;         // 0xff: all tables
  outPort: number;         // OFPP_ANY: no filter
  outGroup: number;        // OFPG_ANY: no filter (1.0: always ANY)
  cookie: bigint;
  cookieMask: bigint;      // 1.0: always 0
  match: Match;
}

export interface FlowStats {
  tableId: number;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;           // 1.3 only (OFPFF_*)
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
  actions: OfpAction[];    // the flat list (instructions as items in 1.3)
}

export interface AggregateStats { packetCount: bigint; byteCount: bigint; flowCount: number }

export interface TableStats {
  tableId: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
  /** 1.0 only. */
  name?: string;
  wildcards?: number;
  maxEntries?: number;
}

export interface PortStats {
  portNo: number;
  rxPackets: bigint; txPackets: bigint; rxBytes: bigint; txBytes: bigint;
  rxDropped: bigint; txDropped: bigint; rxErrors: bigint; txErrors: bigint;
  rxFrameErr: bigint; rxOverErr: bigint; rxCrcErr: bigint; collisions: bigint;
  durationSec: number;     // 1.3 only
  durationNsec: number;
}

export interface BucketCounter { packetCount: bigint; byteCount: bigint }

export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  buckets: BucketCounter[];
}

export interface GroupDesc { type: GroupType; groupId: number; buckets: OfBucket[] }

export interface GroupFeatures {
  types: number;                    // bitmap of 1 << OFPGT_*
  capabilities: number;             // OFPGFC_*
  maxGroups: [number, number, number, number];
  actions: [number, number, number, number];   // bitmaps of 1 << OFPAT_*
}

export interface MeterStats {
  meterId: number;
  flowCount: number;
  packetInCount: bigint;
  byteInCount: bigint;
  durationSec: number;
  durationNsec: number;
  bands: BucketCounter[];
}

export interface MeterConfig { flags: number; meterId: number; bands: MeterBand[] }

export interface MeterFeatures { maxMeter: number; bandTypes: number; capabilities: number; maxBands: number; maxColor: number }

/** OFPTFPT_* property types. */
export const OFPTFPT = {
  INSTRUCTIONS: 0, INSTRUCTIONS_MISS: 1, NEXT_TABLES: 2, NEXT_TABLES_MISS: 3, WRITE_ACTIONS: 4, WRITE_ACTIONS_MISS: 5,
  APPLY_ACTIONS: 6, APPLY_ACTIONS_MISS: 7, MATCH: 8, WILDCARDS: 10, WRITE_SETFIELD: 12, WRITE_SETFIELD_MISS: 13,
  APPLY_SETFIELD: 14, APPLY_SETFIELD_MISS: 15, EXPERIMENTER: 0xfffe, EXPERIMENTER_MISS: 0xffff,
} as const;

/** An instruction or action id in a table-features property: its type, and any bytes after type+len (experimenter ids). */
export interface TfId { type: number; data?: Buffer }
/** An OXM id: the 32-bit header, with the experimenter id for class 0xffff. */
export interface TfOxmId { header: number; experimenter?: number }

export type TableFeatureProp =
  | { type: number; kind: 'instructions'; ids: TfId[] }
  | { type: number; kind: 'next_tables'; tables: number[] }
  | { type: number; kind: 'actions'; ids: TfId[] }
  | { type: number; kind: 'oxm'; oxms: TfOxmId[] }
  | { type: number; kind: 'experimenter'; experimenter: number; expType: number; data: Buffer }
  | { type: number; kind: 'unknown'; data: Buffer };

export interface TableFeatures {
  tableId: number;
  name: string;
  metadataMatch: bigint;
  metadataWrite: bigint;
  config: number;
  maxEntries: number;
  properties: TableFeatureProp[];
}

export type MultipartRequestBody =
  | { mpType: 'desc' }
  | ({ mpType: 'flow' } & FlowStatsRequest)
  | ({ mpType: 'aggregate' } & FlowStatsRequest)
  | { mpType: 'table' }
  | { mpType: 'port_stats'; portNo: number }
  | { mpType: 'port_desc' }
  | { mpType: 'group'; groupId: number }
  | { mpType: 'group_desc' }
  | { mpType: 'group_features' }
  | { mpType: 'meter'; meterId: number }
  | { mpType: 'meter_config'; meterId: number }
  | { mpType: 'meter_features' }
  | { mpType: 'table_features'; tables: TableFeatures[] };

export type MultipartReplyBody =
  | { mpType: 'desc'; desc: Desc }
  | { mpType: 'flow'; flows: FlowStats[] }
  | { mpType: 'aggregate'; stats: AggregateStats }
  | { mpType: 'table'; tables: TableStats[] }
  | { mpType: 'port_stats'; ports: PortStats[] }
  | { mpType: 'port_desc'; ports: OfPort[] }
  | { mpType: 'group'; groups: GroupStats[] }
  | { mpType: 'group_desc'; groups: GroupDesc[] }
  | { mpType: 'group_features'; features: GroupFeatures }
  | { mpType: 'meter'; meters: MeterStats[] }
  | { mpType: 'meter_config'; meters: MeterConfig[] }
  | { mpType: 'meter_features'; features: MeterFeatures }
  | { mpType: 'table_features'; tables: TableFeatures[] };

export type MpType = MultipartRequestBody['mpType'];

const MP_CODE: Record<MpType, OFPMP> = {
  desc: OFPMP.DESC, flow: OFPMP.FLOW, aggregate: OFPMP.AGGREGATE, table: OFPMP.TABLE, port_stats: OFPMP.PORT_STATS,
  port_desc: OFPMP.PORT_DESC, group: OFPMP.GROUP, group_desc: OFPMP.GROUP_DESC, group_features: OFPMP.GROUP_FEATURES,
  meter: OFPMP.METER, meter_config: OFPMP.METER_CONFIG, meter_features: OFPMP.METER_FEATURES, table_features: OFPMP.TABLE_FEATURES,
};
const MP_NAME = new Map<number, MpType>(Object.entries(MP_CODE).map(([k, v]) => [v, k as MpType]));
/** OpenFlow 1.0 stats; PORT_DESC (13) is OVS's 1.0 extension, which ovs-ofctl -O OpenFlow10 show/dump-ports-desc use. */
const V10_TYPES: ReadonlySet<MpType> = new Set(['desc', 'flow', 'aggregate', 'table', 'port_stats', 'port_desc']);

/** The wire code of a body type in `version`; OfpError(BAD_REQUEST, BAD_MULTIPART) if the version has none. */
export function mpCode(t: MpType, version: number): number {
  if (version < 4 && !V10_TYPES.has(t)) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART, `OpenFlow 1.0 has no ${t} statistics`);
  return MP_CODE[t];
}

function mpName(code: number, version: number): MpType {
  const t = MP_NAME.get(code);
  if (!t || (version < 4 && !V10_TYPES.has(t))) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART, `unsupported multipart type ${code}`);
  return t;
}

const badLen = (msg: string): OfpError => new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, msg);
const exactly = (r: OfReader, n: number, what: string): void => { if (r.remaining !== n) throw badLen(`${what} body is ${r.remaining} bytes, expected ${n}`); };
const empty = (r: OfReader, what: string): void => exactly(r, 0, what);

/* ---- requests -------------------------------------------------------- */

function encodeFlowStatsRequest(w: OfWriter, q: FlowStatsRequest, version: number): void {
  if (version >= 4) {
    w.u8(q.tableId).zeros(3).u32(q.outPort).u32(q.outGroup).zeros(4).u64(q.cookie).u64(q.cookieMask);
    encodeOfpMatch(w, q.match);
    return;
  }
  encodeOf10Match(w, q.match);
  const p = port32to16(q.outPort);
  if (p === undefined) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `port ${q.outPort} has no OpenFlow 1.0 number`);
  w.u8(q.tableId).u8(0).u16(p);
}

function decodeFlowStatsRequest(r: OfReader, version: number): FlowStatsRequest {
  if (version >= 4) {
    r.need(32, 'flow stats request');
    const tableId = r.u8();
    r.skip(3);
    const outPort = r.u32(), outGroup = r.u32();
    r.skip(4);
    const cookie = r.u64(), cookieMask = r.u64();
    const match = decodeOfpMatch(r);
    if (!r.atEnd) throw badLen(`${r.remaining} bytes after the flow stats request match`);
    return { tableId, outPort, outGroup, cookie, cookieMask, match };
  }
  exactly(r, 44, 'flow stats request');
  const match = decodeOf10Match(r);
  const tableId = r.u8();
  r.skip(1);
  const outPort = port16to32(r.u16());
  return { tableId, outPort, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match };
}

function encodeTableFeatures(w: OfWriter, t: TableFeatures): void {
  const start = w.off;
  w.u16(0).u8(t.tableId).zeros(5).str(t.name, OFP_MAX_TABLE_NAME_LEN);
  w.u64(t.metadataMatch).u64(t.metadataWrite).u32(t.config).u32(t.maxEntries);
  for (const p of t.properties) {
    const ps = w.off;
    w.u16(p.type).u16(0);
    switch (p.kind) {
      case 'instructions':
      case 'actions':
        for (const id of p.ids) w.u16(id.type).u16(4 + (id.data?.length ?? 0)).bytes(id.data ?? Buffer.alloc(0));
        break;
      case 'next_tables': for (const x of p.tables) w.u8(x); break;
      case 'oxm':
        for (const o of p.oxms) { w.u32(o.header); if (o.header >>> 16 === 0xffff) w.u32(o.experimenter ?? 0); }
        break;
      case 'experimenter': w.u32(p.experimenter).u32(p.expType).bytes(p.data); break;
      case 'unknown': w.bytes(p.data); break;
    }
    w.patch16(ps + 2, w.off - ps);
    w.pad8(ps);
  }
  if (w.off - start > 0xffff) throw badLen(`table ${t.tableId} features exceed 65535 bytes`);
  w.patch16(start, w.off - start);
}

function propKind(type: number): TableFeatureProp['kind'] {
  if (type === OFPTFPT.INSTRUCTIONS || type === OFPTFPT.INSTRUCTIONS_MISS) return 'instructions';
  if (type === OFPTFPT.NEXT_TABLES || type === OFPTFPT.NEXT_TABLES_MISS) return 'next_tables';
  if (type >= OFPTFPT.WRITE_ACTIONS && type <= OFPTFPT.APPLY_ACTIONS_MISS) return 'actions';
  if (type === OFPTFPT.MATCH || type === OFPTFPT.WILDCARDS || (type >= OFPTFPT.WRITE_SETFIELD && type <= OFPTFPT.APPLY_SETFIELD_MISS)) return 'oxm';
  if (type === OFPTFPT.EXPERIMENTER || type === OFPTFPT.EXPERIMENTER_MISS) return 'experimenter';
  return 'unknown';
}

function decodeTableFeatureProp(type: number, r: OfReader): TableFeatureProp {
  const kind = propKind(type);
  switch (kind) {
    case 'instructions':
    case 'actions': {
      const ids: TfId[] = [];
      while (!r.atEnd) {
        const t = r.u16(), len = r.u16();
        if (len < 4) throw badLen(`table feature id length ${len}`);
        const id: TfId = { type: t };
        if (len > 4) id.data = r.bytes(len - 4);
        ids.push(id);
      }
      return { type, kind, ids };
    }
    case 'next_tables': {
      const tables: number[] = [];
      while (!r.atEnd) tables.push(r.u8());
      return { type, kind, tables };
    }
    case 'oxm': {
      const oxms: TfOxmId[] = [];
      while (!r.atEnd) {
        const header = r.u32();
        oxms.push(header >>> 16 === 0xffff ? { header, experimenter: r.u32() } : { header });
      }
      return { type, kind, oxms };
    }
    case 'experimenter': {
      const experimenter = r.u32(), expType = r.u32();
      return { type, kind, experimenter, expType, data: r.rest() };
    }
    default:
      return { type, kind: 'unknown', data: r.rest() };
  }
}

function decodeTableFeatures(r: OfReader): TableFeatures {
  if (r.remaining < 64) throw badLen(`${r.remaining} bytes cannot hold table features`);
  const len = r.peekU16();
  if (len < 64 || len > r.remaining) throw badLen(`table features length ${len} (have ${r.remaining})`);
  const t = r.sub(len);
  t.skip(2);
  const tableId = t.u8();
  t.skip(5);
  const name = t.str(OFP_MAX_TABLE_NAME_LEN);
  const metadataMatch = t.u64(), metadataWrite = t.u64(), config = t.u32(), maxEntries = t.u32();
  const properties: TableFeatureProp[] = [];
  while (!t.atEnd) {
    if (t.remaining < 4) throw badLen(`${t.remaining} stray bytes after the last table feature property`);
    const type = t.u16(), plen = t.u16();
    if (plen < 4 || plen - 4 > t.remaining) throw badLen(`table feature property length ${plen}`);
    properties.push(decodeTableFeatureProp(type, t.sub(plen - 4)));
    t.skip(Math.min(((plen + 7) & ~7) - plen, t.remaining));
  }
  return { tableId, name, metadataMatch, metadataWrite, config, maxEntries, properties };
}

export function encodeMultipartRequestBody(w: OfWriter, b: MultipartRequestBody, version: number): void {
  switch (b.mpType) {
    case 'desc': case 'table': case 'port_desc': case 'group_desc': case 'group_features': case 'meter_features': return;
    case 'flow': case 'aggregate': encodeFlowStatsRequest(w, b, version); return;
    case 'port_stats': {
      if (version >= 4) { w.u32(b.portNo).zeros(4); return; }
      const p = port32to16(b.portNo);
      if (p === undefined) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `port ${b.portNo} has no OpenFlow 1.0 number`);
      w.u16(p).zeros(6);
      return;
    }
    case 'group': w.u32(b.groupId).zeros(4); return;
    case 'meter': case 'meter_config': w.u32(b.meterId).zeros(4); return;
    case 'table_features': for (const t of b.tables) encodeTableFeatures(w, t); return;
  }
}

export function decodeMultipartRequestBody(code: number, r: OfReader, version: number): MultipartRequestBody {
  const mpType = mpName(code, version);
  switch (mpType) {
    case 'desc': case 'table': case 'port_desc': case 'group_desc': case 'group_features': case 'meter_features':
      empty(r, mpType);
      return { mpType };
    case 'flow': case 'aggregate': return { mpType, ...decodeFlowStatsRequest(r, version) };
    case 'port_stats': {
      exactly(r, 8, mpType);
      if (version >= 4) return { mpType, portNo: r.u32() };
      return { mpType, portNo: port16to32(r.u16()) };
    }
    case 'group': exactly(r, 8, mpType); return { mpType, groupId: r.u32() };
    case 'meter': case 'meter_config': exactly(r, 8, mpType); return { mpType, meterId: r.u32() };
    case 'table_features': {
      const tables: TableFeatures[] = [];
      while (!r.atEnd) tables.push(decodeTableFeatures(r));
      return { mpType, tables };
    }
  }
}

/* ---- replies: one item at a time ------------------------------------ */

function encodeFlowStats(w: OfWriter, f: FlowStats, version: number): void {
  const start = w.off;
  const ctx: ActionContext = { match: f.match };
  if (version >= 4) {
    w.u16(0).u8(f.tableId).u8(0).u32(f.durationSec).u32(f.durationNsec);
    w.u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout).u16(f.flags).zeros(4);
    w.u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
    encodeOfpMatch(w, f.match);
  } else {
    w.u16(0).u8(f.tableId).u8(0);
    encodeOf10Match(w, f.match);
    w.u32(f.durationSec).u32(f.durationNsec).u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout).zeros(6);
    w.u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
  }
  encodeRuleActions(w, f.actions, version, ctx);
  if (w.off - start > 0xffff) throw badLen('flow stats entry exceeds 65535 bytes');
  w.patch16(start, w.off - start);
}

function decodeFlowStats(r: OfReader, version: number): FlowStats {
  const min = version >= 4 ? 56 : 88;
  if (r.remaining < min) throw badLen(`${r.remaining} bytes cannot hold flow stats`);
  const len = r.peekU16();
  if (len < min || len > r.remaining) throw badLen(`flow stats length ${len} (have ${r.remaining})`);
  const f = r.sub(len);
  f.skip(2);
  const tableId = f.u8();
  f.skip(1);
  if (version >= 4) {
    const durationSec = f.u32(), durationNsec = f.u32(), priority = f.u16(), idleTimeout = f.u16(), hardTimeout = f.u16(), flags = f.u16();
    f.skip(4);
    const cookie = f.u64(), packetCount = f.u64(), byteCount = f.u64();
    const match = decodeOfpMatch(f);
    return { tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags, cookie, packetCount, byteCount, match, actions: decodeInstructions(f) };
  }
  const match = decodeOf10Match(f);
  const durationSec = f.u32(), durationNsec = f.u32(), priority = f.u16(), idleTimeout = f.u16(), hardTimeout = f.u16();
  f.skip(6);
  const cookie = f.u64(), packetCount = f.u64(), byteCount = f.u64();
  return { tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags: 0, cookie, packetCount, byteCount, match, actions: decodeActions(f, version) };
}

const PORT_STATS_KEYS = ['rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxDropped', 'txDropped', 'rxErrors', 'txErrors', 'rxFrameErr', 'rxOverErr', 'rxCrcErr', 'collisions'] as const;

function encodePortStats(w: OfWriter, p: PortStats, version: number): void {
  if (version >= 4) w.u32(p.portNo).zeros(4);
  else {
    const n = port32to16(p.portNo);
    if (n === undefined) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `port ${p.portNo} has no OpenFlow 1.0 number`);
    w.u16(n).zeros(6);
  }
  for (const k of PORT_STATS_KEYS) w.u64(p[k]);
  if (version >= 4) w.u32(p.durationSec).u32(p.durationNsec);
}

function decodePortStats(r: OfReader, version: number): PortStats {
  const portNo = version >= 4 ? r.u32() : port16to32(r.u16());
  r.skip(version >= 4 ? 4 : 6);
  const p = { portNo } as PortStats;
  for (const k of PORT_STATS_KEYS) p[k] = r.u64();
  p.durationSec = version >= 4 ? r.u32() : 0;
  p.durationNsec = version >= 4 ? r.u32() : 0;
  return p;
}

function encodeTableStats(w: OfWriter, t: TableStats, version: number): void {
  if (version >= 4) { w.u8(t.tableId).zeros(3).u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount); return; }
  w.u8(t.tableId).zeros(3).str(t.name ?? `table${t.tableId}`, OFP_MAX_TABLE_NAME_LEN).u32(t.wildcards ?? 0x3fffff).u32(t.maxEntries ?? 1000000);
  w.u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
}

function decodeTableStats(r: OfReader, version: number): TableStats {
  const tableId = r.u8();
  r.skip(3);
  if (version >= 4) return { tableId, activeCount: r.u32(), lookupCount: r.u64(), matchedCount: r.u64() };
  const name = r.str(OFP_MAX_TABLE_NAME_LEN), wildcards = r.u32(), maxEntries = r.u32();
  return { tableId, name, wildcards, maxEntries, activeCount: r.u32(), lookupCount: r.u64(), matchedCount: r.u64() };
}

function encodeGroupStats(w: OfWriter, g: GroupStats): void {
  w.u16(40 + 16 * g.buckets.length).zeros(2).u32(g.groupId).u32(g.refCount).zeros(4);
  w.u64(g.packetCount).u64(g.byteCount).u32(g.durationSec).u32(g.durationNsec);
  for (const b of g.buckets) w.u64(b.packetCount).u64(b.byteCount);
}

function decodeGroupStats(r: OfReader): GroupStats {
  if (r.remaining < 40) throw badLen(`${r.remaining} bytes cannot hold group stats`);
  const len = r.peekU16();
  if (len < 40 || (len - 40) % 16 !== 0 || len > r.remaining) throw badLen(`group stats length ${len}`);
  const g = r.sub(len);
  g.skip(4);
  const groupId = g.u32(), refCount = g.u32();
  g.skip(4);
  const packetCount = g.u64(), byteCount = g.u64(), durationSec = g.u32(), durationNsec = g.u32();
  const buckets: BucketCounter[] = [];
  while (!g.atEnd) buckets.push({ packetCount: g.u64(), byteCount: g.u64() });
  return { groupId, refCount, packetCount, byteCount, durationSec, durationNsec, buckets };
}

function encodeGroupDesc(w: OfWriter, g: GroupDesc): void {
  const start = w.off;
  w.u16(0).u8(g.type).u8(0).u32(g.groupId);
  encodeBuckets(w, g.buckets);
  w.patch16(start, w.off - start);
}

function decodeGroupDesc(r: OfReader): GroupDesc {
  if (r.remaining < 8) throw badLen(`${r.remaining} bytes cannot hold a group description`);
  const len = r.peekU16();
  if (len < 8 || len > r.remaining) throw badLen(`group description length ${len}`);
  const g = r.sub(len);
  g.skip(2);
  const type = g.u8() as GroupType;
  g.skip(1);
  const groupId = g.u32();
  return { type, groupId, buckets: decodeBuckets(g) };
}

function encodeMeterStats(w: OfWriter, m: MeterStats): void {
  w.u32(m.meterId).u16(40 + 16 * m.bands.length).zeros(6).u32(m.flowCount).u64(m.packetInCount).u64(m.byteInCount);
  w.u32(m.durationSec).u32(m.durationNsec);
  for (const b of m.bands) w.u64(b.packetCount).u64(b.byteCount);
}

function decodeMeterStats(r: OfReader): MeterStats {
  if (r.remaining < 40) throw badLen(`${r.remaining} bytes cannot hold meter stats`);
  const len = r.peekU16(4);
  if (len < 40 || (len - 40) % 16 !== 0 || len > r.remaining) throw badLen(`meter stats length ${len}`);
  const m = r.sub(len);
  const meterId = m.u32();
  m.skip(8);
  const flowCount = m.u32(), packetInCount = m.u64(), byteInCount = m.u64(), durationSec = m.u32(), durationNsec = m.u32();
  const bands: BucketCounter[] = [];
  while (!m.atEnd) bands.push({ packetCount: m.u64(), byteCount: m.u64() });
  return { meterId, flowCount, packetInCount, byteInCount, durationSec, durationNsec, bands };
}

function encodeMeterConfig(w: OfWriter, m: MeterConfig): void {
  const start = w.off;
  w.u16(0).u16(m.flags).u32(m.meterId);
  encodeBands(w, m.bands);
  w.patch16(start, w.off - start);
}

function decodeMeterConfig(r: OfReader): MeterConfig {
  if (r.remaining < 8) throw badLen(`${r.remaining} bytes cannot hold a meter config`);
  const len = r.peekU16();
  if (len < 8 || len > r.remaining) throw badLen(`meter config length ${len}`);
  const m = r.sub(len);
  m.skip(2);
  const flags = m.u16(), meterId = m.u32();
  return { flags, meterId, bands: decodeBands(m) };
}

/** Array replies: the items of a body, each encoded on its own (for splitting). */
type ArrayReply = Extract<MultipartReplyBody, { mpType: 'flow' | 'table' | 'port_stats' | 'port_desc' | 'group' | 'group_desc' | 'meter' | 'meter_config' | 'table_features' }>;

function replyItems(b: ArrayReply): unknown[] {
  switch (b.mpType) {
    case 'flow': return b.flows;
    case 'table': case 'table_features': return b.tables;
    case 'port_stats': case 'port_desc': return b.ports;
    case 'group': case 'group_desc': return b.groups;
    case 'meter': case 'meter_config': return b.meters;
  }
}

function encodeItem(w: OfWriter, t: ArrayReply['mpType'], item: unknown, version: number): void {
  switch (t) {
    case 'flow': encodeFlowStats(w, item as FlowStats, version); return;
    case 'table': encodeTableStats(w, item as TableStats, version); return;
    case 'port_stats': encodePortStats(w, item as PortStats, version); return;
    case 'port_desc': encodePort(w, item as OfPort, version); return;
    case 'group': encodeGroupStats(w, item as GroupStats); return;
    case 'group_desc': encodeGroupDesc(w, item as GroupDesc); return;
    case 'meter': encodeMeterStats(w, item as MeterStats); return;
    case 'meter_config': encodeMeterConfig(w, item as MeterConfig); return;
    case 'table_features': encodeTableFeatures(w, item as TableFeatures); return;
  }
}

const isArrayReply = (b: MultipartReplyBody): b is ArrayReply =>
  b.mpType !== 'desc' && b.mpType !== 'aggregate' && b.mpType !== 'group_features' && b.mpType !== 'meter_features';

export function encodeMultipartReplyBody(w: OfWriter, b: MultipartReplyBody, version: number): void {
  switch (b.mpType) {
    case 'desc':
      w.str(b.desc.mfrDesc, DESC_STR_LEN).str(b.desc.hwDesc, DESC_STR_LEN).str(b.desc.swDesc, DESC_STR_LEN);
      w.str(b.desc.serialNum, SERIAL_NUM_LEN).str(b.desc.dpDesc, DESC_STR_LEN);
      return;
    case 'aggregate': w.u64(b.stats.packetCount).u64(b.stats.byteCount).u32(b.stats.flowCount).zeros(4); return;
    case 'group_features': {
      const f = b.features;
      w.u32(f.types).u32(f.capabilities);
      for (const x of f.maxGroups) w.u32(x);
      for (const x of f.actions) w.u32(x);
      return;
    }
    case 'meter_features': {
      const f = b.features;
      w.u32(f.maxMeter).u32(f.bandTypes).u32(f.capabilities).u8(f.maxBands).u8(f.maxColor).zeros(2);
      return;
    }
    default:
      for (const item of replyItems(b)) encodeItem(w, b.mpType, item, version);
  }
}

/** Items one after another until the body ends; fixed-size items must fill it exactly. */
function items<T>(r: OfReader, size: number | undefined, what: string, one: (r: OfReader) => T): T[] {
  if (size !== undefined && r.remaining % size !== 0) throw badLen(`${what} body of ${r.remaining} bytes is not a multiple of ${size}`);
  const out: T[] = [];
  while (!r.atEnd) out.push(size !== undefined ? one(r.sub(size)) : one(r));
  return out;
}

export function decodeMultipartReplyBody(code: number, r: OfReader, version: number): MultipartReplyBody {
  const mpType = mpName(code, version);
  const v13 = version >= 4;
  switch (mpType) {
    case 'desc': {
      exactly(r, 4 * DESC_STR_LEN + SERIAL_NUM_LEN, mpType);
      const mfrDesc = r.str(DESC_STR_LEN), hwDesc = r.str(DESC_STR_LEN), swDesc = r.str(DESC_STR_LEN);
      const serialNum = r.str(SERIAL_NUM_LEN), dpDesc = r.str(DESC_STR_LEN);
      return { mpType, desc: { mfrDesc, hwDesc, swDesc, serialNum, dpDesc } };
    }
    case 'flow': return { mpType, flows: items(r, undefined, mpType, (x) => decodeFlowStats(x, version)) };
    case 'aggregate': {
      exactly(r, 24, mpType);
      const packetCount = r.u64(), byteCount = r.u64(), flowCount = r.u32();
      return { mpType, stats: { packetCount, byteCount, flowCount } };
    }
    case 'table': return { mpType, tables: items(r, v13 ? 24 : 64, mpType, (x) => decodeTableStats(x, version)) };
    case 'port_stats': return { mpType, ports: items(r, v13 ? 112 : 104, mpType, (x) => decodePortStats(x, version)) };
    case 'port_desc': return { mpType, ports: items(r, portLen(version), mpType, (x) => decodePort(x, version)) };
    case 'group': return { mpType, groups: items(r, undefined, mpType, decodeGroupStats) };
    case 'group_desc': return { mpType, groups: items(r, undefined, mpType, decodeGroupDesc) };
    case 'group_features': {
      exactly(r, 40, mpType);
      const types = r.u32(), capabilities = r.u32();
      const maxGroups = [r.u32(), r.u32(), r.u32(), r.u32()] as GroupFeatures['maxGroups'];
      const actions = [r.u32(), r.u32(), r.u32(), r.u32()] as GroupFeatures['actions'];
      return { mpType, features: { types, capabilities, maxGroups, actions } };
    }
    case 'meter': return { mpType, meters: items(r, undefined, mpType, decodeMeterStats) };
    case 'meter_config': return { mpType, meters: items(r, undefined, mpType, decodeMeterConfig) };
    case 'meter_features': {
      exactly(r, 16, mpType);
      const maxMeter = r.u32(), bandTypes = r.u32(), capabilities = r.u32(), maxBands = r.u8(), maxColor = r.u8();
      return { mpType, features: { maxMeter, bandTypes, capabilities, maxBands, maxColor } };
    }
    case 'table_features': return { mpType, tables: items(r, undefined, mpType, decodeTableFeatures) };
  }
}

/**
 * Encodes each item of an array reply on its own and packs them into bodies
 * that fit `maxBody` bytes (65535 minus the headers). Non-array replies are
 * one body. Used by messages.splitMultipartReply().
 */
export function packReplyBodies(b: MultipartReplyBody, version: number, maxBody: number): Buffer[] {
  if (!isArrayReply(b)) {
    const w = new OfWriter(64);
    encodeMultipartReplyBody(w, b, version);
    return [w.done()];
  }
  const bodies: Buffer[] = [];
  let w = new OfWriter(1024);
  for (const item of replyItems(b)) {
    const iw = new OfWriter(256);
    encodeItem(iw, b.mpType, item, version);
    if (iw.off > maxBody) throw badLen(`one ${b.mpType} reply item of ${iw.off} bytes exceeds a message`);
    if (w.off + iw.off > maxBody) { bodies.push(w.done()); w = new OfWriter(1024); }
    w.bytes(iw.buf.subarray(0, iw.off));
  }
  bodies.push(w.done());
  return bodies;
}


export type { OfPort, OfBucket };
