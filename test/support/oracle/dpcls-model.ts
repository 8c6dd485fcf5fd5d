/*
 * An in-process model of the fast path's megaflow table (bpf/datapath.bpf.c
 * xvs_lookup + dpif-xdp's flow bookkeeping), behind the real Dpif interface:
 * requests arrive as OVS genetlink bytes and are decoded with the same
 * odp-netlink codecs dpif-xdp uses, so whatever the codecs do to keys and
 * masks (VLAN narrowing, refused prerequisites) happens here too.
 *
 * Lookup is tuple-space search: subtables (masks) in insertion order, a Map
 * keyed by mask id + masked key. The fast path takes the first hit, which is
 * only right if megaflows are pairwise disjoint; the model checks that at
 * every put (and counts packets that hit more than one megaflow).
 */
import { Dpif, DpifPort, DpifStats } from '../../../src/dpif/dpif';
import { FlowKey, KEY_SIZE } from '../../../src/dpif/flow-key';
import {
  FlowCmd, PacketCmd, OdpAction, OvsFlowMsg, decodeFlowMsg, decodePacketMsg, encodeFlowMsg, encodePacketMsg,
  XDP_FAMILY_IDS,
} from '../../../src/dpif/odp-netlink';

export interface ModelFlow {
  ufid: Buffer;
  key: FlowKey;           // masked
  mask: FlowKey;          // as the datapath holds it (in_port exact, tuple_id 0)
  maskId: number;
  actions: OdpAction[];
  packets: bigint;
}

export interface Overlap { a: ModelFlow; b: ModelFlow; sameActions: boolean }

interface Subtable { mask: FlowKey; words: Uint32Array; refs: number }

const words = (b: Buffer): Uint32Array => { const w = new Uint32Array(KEY_SIZE / 4); for (let i = 0; i < w.length; i++) w[i] = b.readUInt32LE(i * 4); return w; };

/** Do two megaflows share a packet? (k1 & m1 & m2 == k2 & m1 & m2; keys are stored masked.) */
export function megaflowsOverlap(k1: FlowKey, m1: FlowKey, k2: FlowKey, m2: FlowKey): boolean {
  for (let i = 0; i < KEY_SIZE; i += 4) {
    const a = k1.buf.readUInt32LE(i) & m2.buf.readUInt32LE(i), b = k2.buf.readUInt32LE(i) & m1.buf.readUInt32LE(i);
    if (a !== b) return false;
  }
  return true;
}

export const actionsKey = (a: OdpAction[]): string => JSON.stringify(a, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v));

export class DpclsModel extends Dpif {
  readonly name = 'model@oracle';
  readonly dpIfindex = 0;
  readonly flows = new Map<string, ModelFlow>();           // by ufid hex
  private readonly table = new Map<string, ModelFlow>();    // maskId|masked key
  private readonly subtables: (Subtable | undefined)[] = [];
  private order: number[] = [];                              // probe order: insertion, as dpif-xdp
  private readonly scratch = Buffer.alloc(KEY_SIZE);
  readonly overlaps: Overlap[] = [];
  /** Packets that matched more than one megaflow; `orderDependent`: with different actions. */
  multiHits = 0;
  orderDependent = 0;
  readonly counters = { hits: 0, misses: 0, puts: 0, dels: 0, executes: 0 };
  private executed: OdpAction[] | undefined;

  constructor(private readonly portList: number[] = []) { super(); }

  /* ---- the datapath side ----------------------------------------------- */

  /**
   * One packet through the megaflow cache: the hit flow's actions, or a MISS
   * upcall (udpif handles it synchronously: put + execute) and the actions
   * it executed for this packet.
   */
  receive(key: FlowKey, packet: Buffer = Buffer.alloc(64)): { actions: OdpAction[]; flow?: ModelFlow } {
    const flow = this.lookup(key);
    if (flow) {
      this.counters.hits++;
      flow.packets++;
      return { actions: flow.actions, flow };
    }
    this.counters.misses++;
    this.executed = undefined;
    this.emit('upcall', encodePacketMsg({ cmd: PacketCmd.MISS, dpIfindex: this.dpIfindex, packet, key, len: packet.length }));
    const actions = this.executed ?? [];
    this.executed = undefined;
    return { actions };
  }

  /** The megaflow `key` hits (first in probe order); counts packets matching several. */
  lookup(key: FlowKey): ModelFlow | undefined {
    let first: ModelFlow | undefined;
    let n = 0;
    const kw = key.buf;
    for (const id of this.order) {
      const st = this.subtables[id]!;
      for (let w = 0; w < st.words.length; w++) this.scratch.writeUInt32LE((kw.readUInt32LE(w * 4) & st.words[w]) >>> 0, w * 4);
      this.scratch.writeUInt16LE(0, 78);
      const f = this.table.get(`${id}|${this.scratch.toString('latin1')}`);
      if (!f) continue;
      n++;
      if (!first) first = f;
      else if (actionsKey(first.actions) !== actionsKey(f.actions)) this.orderDependent++;
    }
    if (n > 1) this.multiHits++;
    return first;
  }

  /* ---- Dpif ------------------------------------------------------------- */

  transact(request: Buffer): Buffer[] {
    if (request.readUInt16LE(4) === XDP_FAMILY_IDS.ovs_packet) {
      const m = decodePacketMsg(request);
      if (m.cmd !== PacketCmd.EXECUTE) throw new Error(`OVS_PACKET_CMD ${m.cmd} is not a request`);
      this.counters.executes++;
      this.executed = [...(this.executed ?? []), ...(m.actions ?? [])];
      return [];
    }
    const m = decodeFlowMsg(request);
    switch (m.cmd) {
      case FlowCmd.NEW: case FlowCmd.SET: this.put(m); return [];
      case FlowCmd.DEL:
        if (!m.ufid) { for (const f of [...this.flows.values()]) this.remove(f); return []; }
        { const f = this.flows.get(m.ufid.toString('hex')); if (!f) return []; this.remove(f); return [this.reply(f, FlowCmd.DEL)]; }
      case FlowCmd.GET:
        if (!m.ufid) return [...this.flows.values()].map((f) => this.reply(f, FlowCmd.GET));
        { const f = this.flows.get(m.ufid.toString('hex')); return f ? [this.reply(f, FlowCmd.GET)] : []; }
    }
    throw new Error(`unsupported OVS_FLOW_CMD ${m.cmd}`);
  }

  /** As dpif-xdp put(): in_port always exact, tuple_id never; same mask+key replaces. */
  private put(m: OvsFlowMsg): void {
    if (!m.key || !m.actions || !m.ufid) throw new Error('flow put needs KEY, ACTIONS and UFID');
    this.counters.puts++;
    const mask = m.mask ? m.mask.clone() : FlowKey.exactMask();
    mask.setField('tuple_id', 0);
    mask.exact('in_port');
    const key = m.key.and(mask);
    const maskId = this.refMask(mask);
    const tkey = `${maskId}|${key.buf.toString('latin1')}`;
    const old = this.flows.get(m.ufid.toString('hex')) ?? this.table.get(tkey);
    if (old && m.cmd === FlowCmd.NEW && !old.mask.equals(mask)) { this.unrefMask(maskId); throw new Error('flow exists with another mask'); }
    if (old) this.remove(old);
    const flow: ModelFlow = { ufid: Buffer.from(m.ufid), key, mask, maskId, actions: m.actions, packets: 0n };
    for (const f of this.flows.values()) {
      if (megaflowsOverlap(key, mask, f.key, f.mask)) this.overlaps.push({ a: f, b: flow, sameActions: actionsKey(f.actions) === actionsKey(flow.actions) });
    }
    this.flows.set(flow.ufid.toString('hex'), flow);
    this.table.set(tkey, flow);
  }

  private remove(f: ModelFlow): void {
    this.counters.dels++;
    this.flows.delete(f.ufid.toString('hex'));
    this.table.delete(`${f.maskId}|${f.key.buf.toString('latin1')}`);
    this.unrefMask(f.maskId);
  }

  private refMask(mask: FlowKey): number {
    let id = this.subtables.findIndex((s) => s !== undefined && s.mask.equals(mask));
    if (id >= 0) { if (this.subtables[id]!.refs++ === 0) this.order.push(id); return id; }
    id = this.subtables.findIndex((s) => s === undefined);
    if (id < 0) id = this.subtables.length;
    this.subtables[id] = { mask, words: words(mask.buf), refs: 1 };
    this.order.push(id);
    return id;
  }

  private unrefMask(id: number): void {
    const s = this.subtables[id]!;
    if (--s.refs > 0) return;
    this.order = this.order.filter((x) => x !== id);
    this.subtables[id] = undefined;
  }

  private reply(f: ModelFlow, cmd: FlowCmd): Buffer {
    return encodeFlowMsg({ cmd, dpIfindex: this.dpIfindex, ufid: f.ufid, key: f.key, mask: f.mask, actions: f.actions,
      stats: { packets: f.packets, bytes: 0n }, used: 0n, tcpFlags: 0 });
  }

  get nMasks(): number { return this.order.length; }

  stats(): DpifStats {
    return { hit: BigInt(this.counters.hits), missed: BigInt(this.counters.misses), lost: 0n, flows: this.flows.size,
      masksHit: 0n, masksTotal: this.order.length, emcHit: 0n, megaflowHit: BigInt(this.counters.hits), slowPath: 0n,
      txErrors: 0n, parseTruncated: 0n };
  }

  ports(): DpifPort[] { return this.portList.map((p) => ({ portNo: p, name: `p${p}`, ifindex: 0, hook: 'tc' })); }

  async close(): Promise<void> { /* nothing held */ }
}
