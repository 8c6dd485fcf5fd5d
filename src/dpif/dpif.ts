/*
 * The datapath interface, as OVS's dpif: flows are put/got/deleted/dumped
 * and packets executed through OVS datapath genetlink messages, and upcalls
 * arrive as OVS_PACKET_CMD_MISS / _ACTION messages. A provider implements
 * transact() (requests in, replies out) and emits 'upcall' with message bytes.
 */
import { EventEmitter } from 'events';
import {
  FlowCmd, PacketCmd, OvsFlowMsg, OvsPacketMsg, OdpAction,
  encodeFlowMsg, decodeFlowMsg, encodePacketMsg,
} from './odp-netlink';
import { FlowKey } from './flow-key';

export interface DpifStats {
  hit: bigint;             // packets that hit a datapath flow (EMC + megaflow)
  missed: bigint;          // upcalls
  lost: bigint;            // upcalls that could not be queued
  flows: number;
  masksHit: bigint;        // subtables probed for the megaflow hits
  masksTotal: number;      // subtables in use
  emcHit: bigint;
  megaflowHit: bigint;
  slowPath: bigint;
  txErrors: bigint;
  parseTruncated: bigint;
}

export type PortHook = 'xdp' | 'xdp-generic' | 'tc';

export interface DpifPort {
  portNo: number;
  name: string;
  ifindex: number;
  hook: PortHook;
  peer?: string;           // what was arranged on a veth peer, for `dpctl/show`
}

export interface DumpReply extends OvsFlowMsg {
  key: FlowKey;
  mask: FlowKey;
  actions: OdpAction[];
  stats: { packets: bigint; bytes: bigint };
  used: bigint;            // ms since boot (CLOCK_MONOTONIC), 0 = never
  tcpFlags: number;
  ufid: Buffer;
}

/** One flow's counters; usedMs is CLOCK_MONOTONIC ms, 0 = never used. */
export interface FlowStatsEntry { ufid: Buffer; packets: bigint; bytes: bigint; usedMs: number }

/** A datapath meter as OVS's dpif meter_set takes it: one drop band. */
export interface MeterConfig {
  kbps: boolean;           // rate in kbit/s, else packets/s
  rate: number;
  burst: number;           // kbit or packets; 0 = one second of the rate (as dpif-netdev)
}

export interface MeterStats {
  packets: bigint;         // every packet the meter saw
  bytes: bigint;
  dropped: bigint;         // dropped by the band
  droppedBytes: bigint;
}

export abstract class Dpif extends EventEmitter {
  abstract readonly name: string;       // "xdp@br0"
  abstract readonly dpIfindex: number;

  /** Processes one OVS_FLOW_CMD_* or OVS_PACKET_CMD_EXECUTE request; returns the reply messages. */
  abstract transact(request: Buffer): Buffer[];
  abstract stats(): DpifStats;
  abstract ports(): DpifPort[];
  abstract close(): Promise<void>;
  /** How many megaflows the datapath can hold (undefined: no fixed limit). */
  get flowCapacity(): number | undefined { return undefined; }

  /*
   * Meters, as OVS's dpif meter_set/meter_get/meter_del. Abstract in effect:
   * a provider without meters refuses them (OVS: EOPNOTSUPP) instead of
   * silently not metering; providers with meters override all three.
   */

  /** Creates or replaces meter `id` (fresh bucket, zero stats). */
  meterSet(id: number, m: MeterConfig): void {
    void m;
    throw new Error(`${this.name}: this datapath has no meters (meter ${id})`);
  }

  /** Deletes meter `id`; a meter action naming it then lets packets pass (OVS). */
  meterDel(id: number): void {
    throw new Error(`${this.name}: this datapath has no meters (meter ${id})`);
  }

  /** Stats of meter `id`, undefined if there is no such meter. */
  meterStats(id: number): MeterStats | undefined {
    throw new Error(`${this.name}: this datapath has no meters (meter ${id})`);
  }

  flowPut(m: Omit<OvsFlowMsg, 'cmd' | 'dpIfindex'>, modify = false): void {
    this.transact(encodeFlowMsg({ ...m, cmd: modify ? FlowCmd.SET : FlowCmd.NEW, dpIfindex: this.dpIfindex }));
  }

  /**
   * New flows, as a batch of OVS dpif_operate puts: one result per flow,
   * undefined or why it was not installed. Datapaths that can write many
   * flows at once override it.
   */
  flowPutMany(ms: Omit<OvsFlowMsg, 'cmd' | 'dpIfindex'>[]): (Error | undefined)[] {
    return ms.map((m) => {
      try { this.flowPut(m); return undefined; } catch (e) { return e as Error; }
    });
  }

  /**
   * True when the dpif hands upcalls over in batches: it emits 'upcall' for
   * each, then 'upcall-batch-end', and a consumer may hold its work (flow
   * installs) until then. Otherwise every upcall stands alone.
   */
  get batchesUpcalls(): boolean { return false; }

  flowDel(ufid: Buffer): DumpReply | undefined {
    const r = this.transact(encodeFlowMsg({ cmd: FlowCmd.DEL, dpIfindex: this.dpIfindex, ufid }));
    return r.length ? (decodeFlowMsg(r[0]) as DumpReply) : undefined;
  }

  /** Deletes the flows named (unknown ones are skipped), as a batch of dpif_operate dels; returns how many were deleted. */
  flowDelMany(ufids: Buffer[]): number {
    let n = 0;
    for (const u of ufids) if (this.flowDel(u)) n++;
    return n;
  }

  flowGet(ufid: Buffer): DumpReply | undefined {
    const r = this.transact(encodeFlowMsg({ cmd: FlowCmd.GET, dpIfindex: this.dpIfindex, ufid }));
    return r.length ? (decodeFlowMsg(r[0]) as DumpReply) : undefined;
  }

  /** OVS_FLOW_CMD_GET with NLM_F_DUMP semantics: every flow. */
  flowDump(): DumpReply[] {
    return this.transact(encodeFlowMsg({ cmd: FlowCmd.GET, dpIfindex: this.dpIfindex }))
      .map((b) => decodeFlowMsg(b) as DumpReply);
  }

  /**
   * Every flow's counters, for the revalidator (a dump without keys and
   * actions; datapaths that can read counters directly override it).
   */
  flowStatsDump(): FlowStatsEntry[] {
    return this.flowDump().map((d) => ({ ufid: d.ufid, packets: d.stats.packets, bytes: d.stats.bytes, usedMs: Number(d.used) }));
  }

  /**
   * Takes over a flow found in the datapath at start-up (a restarted
   * daemon) when `actions` are what it already does. Datapaths that lose
   * their flows with the daemon have none to adopt.
   */
  adoptFlow(_ufid: Buffer, _actions: OdpAction[]): boolean { return false; }

  /** Deletes every flow (OVS_FLOW_CMD_DEL without key). */
  flowFlush(): void {
    this.transact(encodeFlowMsg({ cmd: FlowCmd.DEL, dpIfindex: this.dpIfindex }));
  }

  execute(packet: Buffer, key: FlowKey, actions: OdpAction[]): void {
    const m: OvsPacketMsg = { cmd: PacketCmd.EXECUTE, dpIfindex: this.dpIfindex, packet, key, actions };
    this.transact(encodePacketMsg(m));
  }
}
