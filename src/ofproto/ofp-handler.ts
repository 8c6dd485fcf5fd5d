/*
 * What a bridge does with each OpenFlow message from a controller or
 * ovs-ofctl (OVS ofproto.c handle_openflow): state changes go to the
 * bridge's tables, queries are answered from them and from the kernel's
 * links. Errors are thrown as OfpError; the connection turns them into
 * OFPT_ERROR replies. Every FLOW_MOD is in the datapath before the BARRIER
 * reply that follows it.
 */
import {
  OfMessage, FlowModMsg, PacketOutMsg, MultipartRequestMsg, PortModMsg, GroupModMsg, MeterModMsg, RoleMsg,
  OfpError, OFPET, OFPBRC, OFPSCFC, OFPRRFC, OFPTMFC, OFPPMFC, OFPGMFC, OFPMMFC, OFPFMFC, OFP10_VERSION, OFP13_VERSION,
  FlowModCommand, ControllerRole, OFP_NO_BUFFER, OFPTT_ALL, OFPC13, OFPC_FRAG,
  MultipartReplyBody, OfPort, OFPPC, OFPPS, OFPPF, PortStats, TableStats, TableFeatures, TableFeatureProp, OFPTFPT,
  OFPAT13, OFPIT, OFPGC, OFPMC, OFPM, OFPMF, OFPMBT, Desc, FlowStatsRequest, GroupStats, MeterStats,
  toTablesOp, flowStatsFromRule, groupDescFromGroup, groupFromGroupMod, meterConfigFromMeter, meterFromMeterMod,
  splitMultipartReply, MultipartReplyMsg, of10Match, of10Actions, FlowStats,
} from '../openflow';
import { OXM_ENTRIES, oxmHeaderWord, OXM_CLASS } from '../openflow/oxm';
import { Bridge, PortState } from './ofproto';
import { Match } from './match';
import { OFPP } from './meta-flow';
import { Rule, N_TABLES, OFPG_ALL, GroupType } from './ofp-actions';
import { usesGroup } from './tables';
import { flowExtract } from '../dpif/flow-extract';
import { KEY_SIZE, parseMac } from '../dpif/flow-key';
import { duration } from '../openflow/convert';

const ETH_HLEN = 14;
import { FLOW_SIZE } from './meta-flow';
import type { OfConn } from './ofconn';
import { VERSION } from '../lib/version';
import { MAX_METERS } from '../dpif/xvs-abi';

/** What the handler needs from the connection manager: role arbitration across the bridge's connections. */
export interface RoleArbiter {
  setRole(conn: OfConn, role: ControllerRole, generationId: bigint): void;
  generationId(): bigint;
}

const OFPC_INVALID_TTL_TO_CONTROLLER = 4;
/** Veths report 10 Gb/s full duplex to ethtool; OVS shows them as 10GB-FD COPPER. */
const VETH_FEATURES = OFPPF['10GB_FD'] | OFPPF.COPPER;
const VETH_SPEED_KBPS = 10_000_000;
const OFPTFFC_EPERM = 5;
const OFPET_TABLE_FEATURES_FAILED = 13;

const isSlave = (c: OfConn): boolean => c.role === ControllerRole.SLAVE;

function checkWritable(c: OfConn): void {
  if (isSlave(c)) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.IS_SLAVE, 'a slave controller may not change the switch');
}

export class OfpHandler {
  constructor(private readonly br: Bridge, private readonly roles: RoleArbiter) {}

  async handle(c: OfConn, m: OfMessage): Promise<void> {
    const v = c.version!;
    switch (m.type) {
      case 'hello': case 'echo_reply': return;
      case 'error':
        return;                                   // a controller's complaint about something we sent: nothing to undo
      case 'echo_request': c.send({ type: 'echo_reply', version: v, xid: m.xid, data: m.data }); return;
      case 'features_request': c.send(await this.features(v, m.xid)); return;
      case 'get_config_request':
        c.send({ type: 'get_config_reply', version: v, xid: m.xid, flags: this.br.ctx.invalidTtlToController ? OFPC_INVALID_TTL_TO_CONTROLLER : 0, missSendLen: c.missSendLen });
        return;
      case 'set_config': {
        const frag = m.flags & OFPC_FRAG.MASK;
        if (frag !== OFPC_FRAG.NORMAL || (m.flags & ~(OFPC_FRAG.MASK | OFPC_INVALID_TTL_TO_CONTROLLER))) {
          throw new OfpError(OFPET.SWITCH_CONFIG_FAILED, OFPSCFC.BAD_FLAGS, `config flags 0x${m.flags.toString(16)}: only frags=normal and invalid_ttl_to_controller`);
        }
        this.br.ctx.invalidTtlToController = (m.flags & OFPC_INVALID_TTL_TO_CONTROLLER) !== 0;
        c.missSendLen = m.missSendLen;
        return;
      }
      case 'flow_mod': checkWritable(c); this.flowMod(m); return;
      case 'packet_out': checkWritable(c); this.packetOut(m); return;
      case 'barrier_request':
        this.br.sync();                           // megaflows the changes made wrong are gone before the reply
        c.send({ type: 'barrier_reply', version: v, xid: m.xid });
        return;
      case 'multipart_request':
        for (const buf of await this.multipart(m)) c.send(buf);
        return;
      case 'role_request': c.send(this.role(c, m)); return;
      case 'get_async_request': {
        const a = c.asyncConfig;
        c.send({ type: 'get_async_reply', version: v, xid: m.xid, packetInMask: [...a.packetIn], portStatusMask: [...a.portStatus], flowRemovedMask: [...a.flowRemoved] });
        return;
      }
      case 'set_async':
        c.asyncConfig = { packetIn: [...m.packetInMask], portStatus: [...m.portStatusMask], flowRemoved: [...m.flowRemovedMask] };
        return;
      case 'group_mod': checkWritable(c); this.groupMod(m); return;
      case 'meter_mod': checkWritable(c); this.meterMod(m); return;
      case 'port_mod': checkWritable(c); await this.portMod(m); return;
      case 'table_mod':
        checkWritable(c);
        if (m.tableId >= N_TABLES && m.tableId !== OFPTT_ALL) throw new OfpError(OFPET.TABLE_MOD_FAILED, OFPTMFC.BAD_TABLE, `table ${m.tableId} does not exist`);
        if (m.config & ~3) throw new OfpError(OFPET.TABLE_MOD_FAILED, OFPTMFC.BAD_CONFIG, `table config 0x${m.config.toString(16)}`);
        return;                                   // OF1.3's only table config bits are deprecated: nothing to change
      case 'experimenter':
        throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_EXPERIMENTER, `experimenter 0x${m.experimenter.toString(16)} messages are not supported`);
      default:
        // Switch-to-controller messages (replies, PACKET_IN, ...) make no sense in this direction.
        throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, `${m.type} is a message a switch sends, not one it accepts`);
    }
  }

  /* ---- flow_mod / packet_out --------------------------------------------- */

  private flowMod(m: FlowModMsg): void {
    const { op, strict, fm } = toTablesOp(m);
    if (fm.tableId !== undefined && fm.tableId >= N_TABLES) {
      throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID, `table ${fm.tableId} does not exist (0-${N_TABLES - 1})`);
    }
    const t = this.br.tables;
    if (op === 'add') t.add(fm);
    else if (op === 'modify') {
      const changed = t.modify(fm, strict);
      // OpenFlow 1.0: a modify that selects nothing adds the flow (OVS modify_may_add_flow).
      if (!changed.length && m.version === OFP10_VERSION && !m.cookieMask) t.add({ ...fm, tableId: fm.tableId ?? 0 });
    } else t.delete(fm, strict);
    // We keep no packet buffers (every PACKET_IN says NO_BUFFER), so a buffer id is always unknown; the change stands.
    if (m.bufferId !== OFP_NO_BUFFER && m.command <= FlowModCommand.MODIFY_STRICT) {
      throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN, `buffer ${m.bufferId} does not exist (this switch does not buffer packets)`);
    }
  }

  private packetOut(m: PacketOutMsg): void {
    if (m.bufferId !== OFP_NO_BUFFER) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN, `buffer ${m.bufferId} does not exist (this switch does not buffer packets)`);
    if (m.data.length < ETH_HLEN) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PACKET, `packet of ${m.data.length} bytes is shorter than an Ethernet header`);
    const inPort = m.inPort;
    const fromNowhere = inPort === OFPP.CONTROLLER || inPort === OFPP.ANY || inPort === OFPP.LOCAL;
    if (!fromNowhere && !this.br.portByNumber(inPort)) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `in_port ${inPort} is not a port of ${this.br.name}`);
    const port = fromNowhere ? OFPP.CONTROLLER : inPort;
    // Actions are checked against the packet's own headers (set_field prerequisites).
    const flow = Buffer.alloc(FLOW_SIZE);
    flowExtract(m.data, port).buf.copy(flow, 0, 0, KEY_SIZE);
    this.br.tables.checkActions(m.actions, Match.exact(flow), 0);
    this.br.sync();
    this.br.packetOut(m.data, port, m.actions);
  }

  /* ---- features, config, roles ------------------------------------------- */

  private async features(v: number, xid: number): Promise<OfMessage> {
    const base = { type: 'features_reply' as const, version: v, xid, datapathId: this.br.datapathId, nBuffers: 0, nTables: N_TABLES, auxiliaryId: 0 };
    if (v >= OFP13_VERSION) {
      return { ...base, capabilities: OFPC13.FLOW_STATS | OFPC13.TABLE_STATS | OFPC13.PORT_STATS | OFPC13.GROUP_STATS, reserved: 0 };
    }
    // OpenFlow 1.0: FLOW_STATS TABLE_STATS PORT_STATS ARP_MATCH_IP; actions output..set_tp_dst (no enqueue); ports inline.
    return { ...base, capabilities: 0x1 | 0x2 | 0x4 | 0x80, actionsBitmap: 0x7ff, ports: (await this.br.portStates()).map(ofPort) };
  }

  private role(c: OfConn, m: RoleMsg): OfMessage {
    if (m.role !== ControllerRole.NOCHANGE) {
      if (m.role > ControllerRole.SLAVE) throw new OfpError(OFPET.ROLE_REQUEST_FAILED, OFPRRFC.BAD_ROLE, `role ${m.role}`);
      this.roles.setRole(c, m.role, m.generationId);
    }
    return { type: 'role_reply', version: m.version, xid: m.xid, role: c.role, generationId: this.roles.generationId() };
  }

  /* ---- group_mod / meter_mod / port_mod ---------------------------------- */

  private groupMod(m: GroupModMsg): void {
    const t = this.br.tables;
    switch (m.command) {
      case OFPGC.ADD: t.addGroup(groupFromGroupMod(m)); return;
      case OFPGC.MODIFY: t.addGroup(groupFromGroupMod(m), true); return;
      case OFPGC.DELETE: t.deleteGroup(m.groupId); return;
      default: throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_COMMAND, `group_mod command ${m.command}`);
    }
  }

  private meterMod(m: MeterModMsg): void {
    const t = this.br.tables;
    switch (m.command) {
      case OFPMC.ADD: t.addMeter(meterFromMeterMod(m)); return;
      case OFPMC.MODIFY: t.addMeter(meterFromMeterMod(m), true); return;
      case OFPMC.DELETE:
        if (m.meterId === OFPM.ALL) { for (const id of [...t.meters.keys()]) t.deleteMeter(id); return; }
        t.deleteMeter(m.meterId);
        return;
      default: throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_COMMAND, `meter_mod command ${m.command}`);
    }
  }

  private async portMod(m: PortModMsg): Promise<void> {
    const p = (await this.br.portStates()).find((x) => x.ofport === m.portNo);
    if (!p) throw new OfpError(OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_PORT, `port ${m.portNo} does not exist`);
    if (p.link?.mac && parseMac(p.link.mac).compare(m.hwAddr) !== 0) throw new OfpError(OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_HW_ADDR, `port ${m.portNo} has address ${p.link.mac}`);
    if (m.mask & ~OFPPC.PORT_DOWN) throw new OfpError(OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_CONFIG, `port config bits 0x${(m.mask & ~OFPPC.PORT_DOWN).toString(16)}: only PORT_DOWN can be changed`);
    if (m.mask & OFPPC.PORT_DOWN) await this.br.setPortAdminUp(m.portNo, (m.config & OFPPC.PORT_DOWN) === 0);
  }

  /* ---- multipart ---------------------------------------------------------- */

  private async multipart(m: MultipartRequestMsg): Promise<Buffer[]> {
    if (m.flags & 1) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.MULTIPART_BUFFER_OVERFLOW, 'multipart requests in several messages are not supported');
    const body = await this.multipartBody(m);
    const reply: MultipartReplyMsg = { type: 'multipart_reply', version: m.version, xid: m.xid, flags: 0, body };
    return splitMultipartReply(reply);
  }

  private async multipartBody(m: MultipartRequestMsg): Promise<MultipartReplyBody> {
    const b = m.body;
    const t = this.br.tables;
    const now = Date.now();
    switch (b.mpType) {
      case 'desc': return { mpType: 'desc', desc: this.desc() };
      case 'flow': {
        const flows = this.selectFlows(b).map((r) => flowStatsFromRule(r, now));
        return { mpType: 'flow', flows: m.version === OFP10_VERSION ? flows.map(of10FlowStats) : flows };
      }
      case 'aggregate': {
        const rules = this.selectFlows(b);
        return { mpType: 'aggregate', stats: { packetCount: sum(rules.map((r) => r.nPackets)), byteCount: sum(rules.map((r) => r.nBytes)), flowCount: rules.length } };
      }
      case 'table': {
        const tables: TableStats[] = t.tableStats().map((s) => ({
          tableId: s.tableId, activeCount: s.active, lookupCount: s.lookups, matchedCount: s.matched,
          name: `table${s.tableId}`, wildcards: 0x3fffff, maxEntries: 1000000,
        }));
        // OpenFlow 1.0 has one table as far as a 1.0 controller can address.
        return { mpType: 'table', tables: m.version === OFP10_VERSION ? tables.slice(0, 1) : tables };
      }
      case 'port_stats': {
        const ports = await this.br.portStates();
        const sel = b.portNo === OFPP.ANY ? ports : ports.filter((p) => p.ofport === b.portNo);
        if (!sel.length && b.portNo !== OFPP.ANY) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `port ${b.portNo} does not exist`);
        return { mpType: 'port_stats', ports: sel.map((p) => portStats(p, now)) };
      }
      case 'port_desc': return { mpType: 'port_desc', ports: (await this.br.portStates()).map(ofPort) };
      case 'group': {
        const ids = b.groupId === OFPG_ALL ? [...t.groups.keys()].sort((x, y) => x - y) : t.groups.has(b.groupId) ? [b.groupId] : [];
        return { mpType: 'group', groups: ids.map((id) => this.groupStats(id, now)) };
      }
      case 'group_desc': return { mpType: 'group_desc', groups: [...t.groups.values()].sort((x, y) => x.id - y.id).map(groupDescFromGroup) };
      case 'group_features': {
        const acts = actionBitmap();
        return { mpType: 'group_features', features: {
          types: (1 << GroupType.ALL) | (1 << GroupType.SELECT) | (1 << GroupType.INDIRECT) | (1 << GroupType.FF),
          capabilities: 1 /* SELECT_WEIGHT */ | 4 /* CHAINING */ | 8 /* CHAINING_CHECKS */,
          maxGroups: [65536, 65536, 65536, 65536], actions: [acts, acts, acts, acts],
        } };
      }
      case 'meter': {
        const ids = b.meterId === OFPM.ALL ? [...t.meters.keys()].sort((x, y) => x - y) : t.meters.has(b.meterId) ? [b.meterId] : [];
        return { mpType: 'meter', meters: ids.map((id) => this.meterStats(id, now)) };
      }
      case 'meter_config': {
        const ms = [...t.meters.values()].filter((x) => b.meterId === OFPM.ALL || x.id === b.meterId).sort((x, y) => x.id - y.id);
        return { mpType: 'meter_config', meters: ms.map(meterConfigFromMeter) };
      }
      case 'meter_features':
        return { mpType: 'meter_features', features: {
          maxMeter: MAX_METERS, bandTypes: 1 << OFPMBT.DROP, capabilities: OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS, maxBands: 1, maxColor: 0,
        } };
      case 'table_features':
        if (b.tables.length) throw new OfpError(OFPET_TABLE_FEATURES_FAILED, OFPTFFC_EPERM, 'table features cannot be changed');
        return { mpType: 'table_features', tables: tableFeatures() };
    }
  }

  private selectFlows(b: FlowStatsRequest): Rule[] {
    if (b.tableId !== OFPTT_ALL && b.tableId >= N_TABLES) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_TABLE_ID, `table ${b.tableId} does not exist`);
    return this.br.tables.query({
      tableId: b.tableId === OFPTT_ALL ? undefined : b.tableId, match: b.match, cookie: b.cookie, cookieMask: b.cookieMask,
      outPort: b.outPort, outGroup: b.outGroup,
    });
  }

  private desc(): Desc {
    return { mfrDesc: 'xdp-vswitch', hwDesc: 'XDP/eBPF datapath', swDesc: VERSION, serialNum: 'None', dpDesc: `bridge ${this.br.name}` };
  }

  private groupStats(id: number, now: number): GroupStats {
    const g = this.br.tables.groups.get(id)!;
    let refs = 0;
    for (const r of this.br.tables.rules()) if (usesGroup(r.actions, id)) refs++;
    return {
      groupId: id, refCount: refs, packetCount: g.nPackets, byteCount: g.nBytes, ...duration(g.created, now),
      buckets: g.buckets.map((x) => ({ packetCount: x.nPackets, byteCount: x.nBytes })),
    };
  }

  private meterStats(id: number, now: number): MeterStats {
    const m = this.br.tables.meters.get(id)!;
    const s = this.br.meterStats(id);
    let flows = 0;
    for (const r of this.br.tables.rules()) if (r.actions.some((a) => a.type === 'meter' && a.meterId === id)) flows++;
    return {
      meterId: id, flowCount: flows, packetInCount: s?.packets ?? 0n, byteInCount: s?.bytes ?? 0n, ...duration(m.created, now),
      bands: [{ packetCount: s?.dropped ?? 0n, byteCount: s?.droppedBytes ?? 0n }],
    };
  }
}

/* ---- helpers -------------------------------------------------------------- */

/** A flow as an OpenFlow 1.0 dump can show it (of10-compat). */
function of10FlowStats(f: FlowStats): FlowStats {
  return { ...f, match: of10Match(f.match), actions: of10Actions(f.actions, f.match) };
}

function sum(xs: bigint[]): bigint { return xs.reduce((a, b) => a + b, 0n); }


/** A port as OpenFlow describes it (PORT_DESC, PORT_STATUS, 1.0 FEATURES_REPLY). */
export function ofPort(p: PortState): OfPort {
  const veth = p.link?.kind === 'veth';
  return {
    portNo: p.ofport, hwAddr: p.link?.mac ? parseMac(p.link.mac) : Buffer.alloc(6), name: p.name.slice(0, 15),
    config: p.link && !p.link.up ? OFPPC.PORT_DOWN : 0,
    state: p.live ? OFPPS.LIVE : OFPPS.LINK_DOWN,
    curr: veth ? VETH_FEATURES : 0, advertised: 0, supported: 0, peer: 0, currSpeed: veth ? VETH_SPEED_KBPS : 0, maxSpeed: 0,
  };
}

function portStats(p: PortState, now: number): PortStats {
  const s = p.link?.stats;
  const z = 0n;
  return {
    portNo: p.ofport, rxPackets: s?.rxPackets ?? z, txPackets: s?.txPackets ?? z, rxBytes: s?.rxBytes ?? z, txBytes: s?.txBytes ?? z,
    rxDropped: s?.rxDropped ?? z, txDropped: s?.txDropped ?? z, rxErrors: s?.rxErrors ?? z, txErrors: s?.txErrors ?? z,
    rxFrameErr: z, rxOverErr: z, rxCrcErr: z, collisions: z, ...duration(p.addedAt, now),
  };
}

/** OFPAT13 types our actions cover (group features, table features). */
const ACTION_TYPES: number[] = [OFPAT13.OUTPUT, OFPAT13.PUSH_VLAN, OFPAT13.POP_VLAN, OFPAT13.GROUP, OFPAT13.DEC_NW_TTL, OFPAT13.SET_FIELD];
const actionBitmap = (): number => ACTION_TYPES.reduce((a: number, t) => (a | (1 << t)) >>> 0, 0);

let featuresCache: TableFeatures[] | undefined;

/** TABLE_FEATURES: the same capabilities in every table (255 tables, any field, any instruction). */
function tableFeatures(): TableFeatures[] {
  if (featuresCache) return featuresCache;
  const basic = OXM_ENTRIES.filter((e) => e.cls === OXM_CLASS.OPENFLOW_BASIC);
  const oxms = basic.map((e) => ({ header: oxmHeaderWord(e.cls, e.field, e.fld.maskable, e.fld.maskable ? 2 * e.bytes : e.bytes) }));
  const wild = basic.map((e) => ({ header: oxmHeaderWord(e.cls, e.field, false, e.bytes) }));
  const settable = basic.filter((e) => e.fld.writable).map((e) => ({ header: oxmHeaderWord(e.cls, e.field, false, e.bytes) }));
  const insts = [OFPIT.GOTO_TABLE, OFPIT.WRITE_METADATA, OFPIT.WRITE_ACTIONS, OFPIT.APPLY_ACTIONS, OFPIT.CLEAR_ACTIONS, OFPIT.METER].map((type) => ({ type }));
  const acts = ACTION_TYPES.map((type) => ({ type }));
  featuresCache = Array.from({ length: N_TABLES }, (_, id): TableFeatures => {
    const later = Array.from({ length: N_TABLES - id - 1 }, (_x, i) => id + 1 + i);
    const props: TableFeatureProp[] = [
      { type: OFPTFPT.INSTRUCTIONS, kind: 'instructions', ids: later.length ? insts : insts.filter((i) => i.type !== OFPIT.GOTO_TABLE) },
      { type: OFPTFPT.NEXT_TABLES, kind: 'next_tables', tables: later },
      { type: OFPTFPT.WRITE_ACTIONS, kind: 'actions', ids: acts },
      { type: OFPTFPT.APPLY_ACTIONS, kind: 'actions', ids: acts },
      { type: OFPTFPT.MATCH, kind: 'oxm', oxms },
      { type: OFPTFPT.WILDCARDS, kind: 'oxm', oxms: wild },
      { type: OFPTFPT.WRITE_SETFIELD, kind: 'oxm', oxms: settable },
      { type: OFPTFPT.APPLY_SETFIELD, kind: 'oxm', oxms: settable },
    ];
    return { tableId: id, name: `table${id}`, metadataMatch: 0xffffffffffffffffn, metadataWrite: 0xffffffffffffffffn, config: 0, maxEntries: 1000000, properties: props };
  });
  return featuresCache;
}
