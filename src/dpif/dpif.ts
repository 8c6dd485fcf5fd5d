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

export abstract class Dpif extends EventEmitter {
  abstract readonly name: string;       // "xdp@br0"
  abstract readonly dpIfindex: number;

  /** Processes one OVS_FLOW_CMD_* or OVS_PACKET_CMD_EXECUTE request; returns the reply messages. */
  abstract transact(request: Buffer): Buffer[];
  abstract stats(): DpifStats;
  abstract ports(): DpifPort[];
  abstract close(): Promise<void>;

  flowPut(m: Omit<OvsFlowMsg, 'cmd' | 'dpIfindex'>, modify = false): void {
    this.transact(encodeFlowMsg({ ...m, cmd: modify ? FlowCmd.SET : FlowCmd.NEW, dpIfindex: this.dpIfindex }));
  }

  flowDel(ufid: Buffer): DumpReply | undefined {
    const r = this.transact(encodeFlowMsg({ cmd: FlowCmd.DEL, dpIfindex: this.dpIfindex, ufid }));
    return r.length ? (decodeFlowMsg(r[0]) as DumpReply) : undefined;
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

  /** Deletes every flow (OVS_FLOW_CMD_DEL without key). */
  flowFlush(): void {
    this.transact(encodeFlowMsg({ cmd: FlowCmd.DEL, dpIfindex: this.dpIfindex }));
  }

  execute(packet: Buffer, key: FlowKey, actions: OdpAction[]): void {
    const m: OvsPacketMsg = { cmd: PacketCmd.EXECUTE, dpIfindex: this.dpIfindex, packet, key, actions };
    this.transact(encodePacketMsg(m));
  }
}
