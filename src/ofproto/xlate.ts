/*
 * Translation (OVS ofproto-dpif-xlate): runs a packet's flow through the
 * OpenFlow pipeline and returns the datapath actions plus the wildcards,
 * i.e. the megaflow mask: exactly the bits that decided the outcome.
 *
 * The flow is modified as actions run (set_field, VLAN, TTL); the datapath
 * copy of the packet ("base") catches up only when something is output
 * (commit, as OVS's commit_odp_actions), so a datapath set action is
 * emitted once per change that is actually seen.
 */
import { FlowKey, KEY_SIZE, VLAN_PRESENT, FRAG_ANY, FRAG_LATER, ETH_TYPE_IP, ETH_TYPE_IPV6, isArpType,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6, isBroadcastOrMulticast, macToString } from '../dpif/flow-key';
import { OdpAction, SetField } from '../dpif/odp-netlink';
import { FLOW_SIZE, OFPP, mfSet, mfGet, mfExact, mfField, MfField } from './meta-flow';
import { OfpAction, Rule, Group, GroupType, Bucket, PacketInReason, OFPG_ANY } from './ofp-actions';
import { MacLearning } from './mac-learning';
import { encodeControllerUserdata } from './packet-in';
import { XlateCache, XcEntry, xcApply } from './xlate-cache';

export interface XPort {
  ofport: number;           // == datapath port number
  name: string;
  live: boolean;            // link up (fast-failover liveness)
  tag?: number;             // access port VLAN
  trunks?: number[];        // trunk port VLANs (empty/undefined: all)
}

export interface RuleLookup {
  lookup(tableId: number, flow: Buffer, wc: Buffer | null): Rule | undefined;
  group(id: number): Group | undefined;
  /** Table statistics: a real packet (not a trace) was looked up in `tableId`. */
  countLookup?(tableId: number, hit: boolean, packets: bigint): void;
}

export interface XlateContext {
  bridge: string;
  tables: RuleLookup;
  macs: MacLearning;
  ports(): XPort[];
  /** Datapath meter id for an OpenFlow meter (undefined: none installed). */
  dpMeter?(meterId: number): number | undefined;
  /** Send invalid-TTL packets to controllers (OFPC_INVALID_TTL_TO_CONTROLLER). */
  invalidTtlToController?: boolean;
  /** Fail-open (OVS fail_open): no controller reachable in fail-mode standalone, so NORMAL overrides the tables. */
  failOpen?(): boolean;
}

export interface XlateOptions {
  learn?: boolean;             // update MAC learning; false (revalidation, trace) learns into a scratch copy
  actions?: OfpAction[];       // packet-out: run these instead of table 0
  credit?: { packets: bigint; bytes: bigint };   // charge rules/groups (upcalls)
  xcache?: boolean;            // record what the translation touched (XlateResult.xcache); implied by credit
}

export type TraceNode =
  | { kind: 'table'; depth: number; tableId: number; rule?: Rule }
  | { kind: 'action'; depth: number; action: OfpAction }
  | { kind: 'note'; depth: number; text: string };

export interface XlateResult {
  actions: OdpAction[];
  wc: FlowKey;                 // megaflow mask (the first KEY_SIZE bytes of the wildcards)
  rules: Rule[];               // rules that matched, in order
  trace: TraceNode[];
  finalFlow: Buffer;           // FLOW_SIZE bytes
  error?: string;              // translation stopped early (depth, loops)
  macs: Set<string>;           // MACs the decision depended on
  wouldLearn: boolean;         // with learn:false, a packet would have changed MAC learning
  xcache?: XlateCache;         // with credit or opts.xcache: what later packets of the megaflow are charged to
}

const MAX_DEPTH = 64;          // resubmit/goto/group nesting (OVS MAX_DEPTH)
const MAX_RESUBMITS = 4096;    // total per translation (OVS MAX_RESUBMITS)

const F = {
  in_port: mfField('in_port'), vlan_tci: mfField('vlan_tci'), dl_src: mfField('dl_src'), dl_dst: mfField('dl_dst'),
  dl_type: mfField('dl_type'), nw_proto: mfField('nw_proto'), nw_ttl: mfField('nw_ttl'), nw_frag: mfField('nw_frag'),
  nw_src: mfField('nw_src'), nw_dst: mfField('nw_dst'), tp_src: mfField('tp_src'), tp_dst: mfField('tp_dst'),
  metadata: mfField('metadata'),
};

/** Translation state of one packet. */
class Xlator {
  /*
   * The six per-packet buffers are views of one zeroed allocation: a
   * Buffer.alloc each cost ~7 % of an upcall (allocation and GC).
   */
  private readonly mem = Buffer.alloc(4 * FLOW_SIZE + 3 * KEY_SIZE);
  readonly flow = this.mem.subarray(0, FLOW_SIZE);
  readonly base = this.mem.subarray(FLOW_SIZE, FLOW_SIZE + KEY_SIZE);   // the packet as the datapath has it now
  readonly wc = this.mem.subarray(FLOW_SIZE + KEY_SIZE, 2 * FLOW_SIZE + KEY_SIZE);
  /*
   * Where each bit of the flow and of the datapath copy came from: a constant
   * (C: set_field, push/pop), touched in any way (T: C, or derived from pinned
   * bits like dec_ttl), or else still the packet's own bit (P). Comparing a P
   * bit with a C bit would depend on the packet, so commit never does that.
   */
  readonly written = this.mem.subarray(2 * FLOW_SIZE + KEY_SIZE, 3 * FLOW_SIZE + KEY_SIZE);   // flow C bits
  readonly touched = this.mem.subarray(3 * FLOW_SIZE + KEY_SIZE, 4 * FLOW_SIZE + KEY_SIZE);   // flow T bits
  readonly baseConst = this.mem.subarray(4 * FLOW_SIZE + KEY_SIZE, 4 * FLOW_SIZE + 2 * KEY_SIZE);  // base C bits
  readonly baseTouched = this.mem.subarray(4 * FLOW_SIZE + 2 * KEY_SIZE, 4 * FLOW_SIZE + 3 * KEY_SIZE); // base T bits
  readonly odp: OdpAction[] = [];
  readonly rules: Rule[] = [];
  readonly trace: TraceNode[] = [];
  actionSet: OfpAction[] = [];
  readonly macs = new Set<string>();          // MACs NORMAL learned or looked up (revalidate when they change)
  readonly scratchMacs = new Map<string, number>();   // what a non-learning translation would have learned
  wouldLearn = false;
  depth = 0;
  resubmits = 0;
  stopped = false;                           // drop the rest (invalid TTL, table miss, errors)
  error?: string;
  tableId = 0;
  readonly xcache?: XlateCache;
  private readonly now = Date.now();
  private readonly portList: XPort[];

  constructor(readonly ctx: XlateContext, key: FlowKey, readonly opts: XlateOptions) {
    key.buf.copy(this.flow, 0, 0, KEY_SIZE);
    this.flow.writeUInt16LE(0, 78);          // tuple_id is not part of a packet
    this.flow.copy(this.base, 0, 0, KEY_SIZE);
    this.portList = ctx.ports();
    if (opts.credit || opts.xcache) this.xcache = new XlateCache();
  }

  /** Records what later packets are charged to, and charges this translation's credit to it. */
  private charge(e: XcEntry): void {
    this.xcache?.add(e);
    if (this.opts.credit) xcApply(this.ctx, e, this.opts.credit, this.now);
  }

  note(text: string): void { this.trace.push({ kind: 'note', depth: this.depth, text }); }
  exact(f: MfField): void { mfExact(this.wc, f); }
  get inPort(): number { return this.flow.readUInt32LE(0); }
  port(ofport: number): XPort | undefined { return this.portList.find((p) => p.ofport === ofport); }

  /* ---- tables --------------------------------------------------------- */

  /** Looks up `tableId` and runs the rule's instructions. `resubmit` misses continue instead of dropping. */
  table(tableId: number, resubmit: boolean): void {
    if (this.stopped) return;
    if (this.depth >= MAX_DEPTH || ++this.resubmits > MAX_RESUBMITS) {
      this.fail(`over max translation depth ${MAX_DEPTH} or ${MAX_RESUBMITS} resubmits`);
      return;
    }
    const saved = this.tableId;
    this.tableId = tableId;
    const rule = this.ctx.tables.lookup(tableId, this.flow, this.wc);
    this.trace.push({ kind: 'table', depth: this.depth, tableId, rule });
    this.charge({ type: 'table', tableId, hit: rule !== undefined });
    if (!rule) {
      if (!resubmit) { this.note('No match.'); this.note('drop'); this.stopped = true; this.actionSet = []; }
      else this.note('No match.');
      this.tableId = saved;
      return;
    }
    this.rules.push(rule);
    this.charge({ type: 'rule', rule });
    this.depth++;
    this.actions(rule.actions, rule);
    this.depth--;
    this.tableId = saved;
  }

  /** Runs an action list; for a rule's list, instructions are honoured in order. */
  actions(list: OfpAction[], rule?: Rule): void {
    for (const a of list) {
      if (this.stopped) return;
      this.trace.push({ kind: 'action', depth: this.depth, action: a });
      this.action(a, rule);
    }
  }

  private action(a: OfpAction, rule?: Rule): void {
    switch (a.type) {
      case 'output': this.output(a.port, a.maxLen ?? 0, rule); break;
      case 'controller': this.controller(a.maxLen, a.reason ?? PacketInReason.ACTION, rule, a.controllerId); break;
      case 'set_field': this.setField(a.field, a.value, a.mask); break;
      case 'push_vlan': this.pushVlan(a.ethertype); break;
      case 'pop_vlan': this.setVlanTci(0, 0xffff); break;
      case 'set_vlan_vid': {
        if (!this.hasVlan()) { if (!a.push) { this.note('no VLAN tag to modify'); break; } this.pushVlan(0x8100); }
        this.setVlanTci(VLAN_PRESENT | (a.vid & 0xfff), 0x1fff);
        break;
      }
      case 'set_vlan_pcp': {
        if (!this.hasVlan()) { if (!a.push) { this.note('no VLAN tag to modify'); break; } this.pushVlan(0x8100); }
        this.setVlanTci(VLAN_PRESENT | ((a.pcp & 7) << 13), 0xf000);
        break;
      }
      case 'dec_ttl': this.decTtl(rule); break;
      case 'resubmit': {
        const savedPort = this.inPort;
        if (a.port !== undefined && a.port !== OFPP.IN_PORT) this.flow.writeUInt32LE(a.port, 0);
        this.depth++;
        this.table(a.table ?? this.tableId, true);
        this.depth--;
        this.flow.writeUInt32LE(savedPort, 0);
        break;
      }
      case 'group': this.group(a.groupId); break;
      case 'note': break;
      case 'meter': {
        const id = this.ctx.dpMeter?.(a.meterId);
        if (id === undefined) { this.note(`meter ${a.meterId} is not in the datapath: not enforced`); break; }
        this.odp.push({ type: 'meter', id });
        break;
      }
      case 'clear_actions': this.actionSet = []; break;
      case 'write_actions': for (const w of a.actions) this.writeAction(w); break;
      case 'write_metadata': {
        const md = mfGet(this.flow, F.metadata);
        mfSet(this.flow, F.metadata, (md & ~a.mask) | (a.value & a.mask));
        break;
      }
      case 'goto_table': this.depth--; this.table(a.table, false); this.depth++; break;   // a continuation, traced at the same level
    }
  }

  /** OF1.3 action set: one action per kind (set_field: per field), later writes replace earlier. */
  private writeAction(a: OfpAction): void {
    const same = (b: OfpAction): boolean =>
      a.type === 'set_field' ? b.type === 'set_field' && b.field.off === a.field.off && b.field.bits === a.field.bits : b.type === a.type;
    this.actionSet = this.actionSet.filter((b) => !same(b));
    this.actionSet.push(a);
  }

  /** Executes the action set in the spec's order (pop, push, dec_ttl, set, group else output). */
  executeActionSet(): void {
    if (this.stopped || !this.actionSet.length) return;
    const set = this.actionSet;
    this.actionSet = [];
    this.note('Action set:');
    const order = ['pop_vlan', 'push_vlan', 'dec_ttl', 'set_field', 'set_vlan_vid', 'set_vlan_pcp'];
    const sorted = order.flatMap((t) => set.filter((a) => a.type === t));
    const group = set.find((a) => a.type === 'group');
    const out = group ?? set.find((a) => a.type === 'output' || a.type === 'controller');
    this.actions(out ? [...sorted, out] : sorted);
  }

  private fail(msg: string): void {
    this.note(msg);
    this.error = msg;
    this.stopped = true;
    this.odp.length = 0;                   // as OVS: a translation error drops the packet
  }

  /* ---- field changes -------------------------------------------------- */

  private setField(fld: MfField, value: bigint, mask?: bigint): void {
    if (mask === undefined) {
      mfSet(this.flow, fld, value);
      mfExact(this.written, fld);
      mfExact(this.touched, fld);
      return;
    }
    const cur = mfGet(this.flow, fld);
    mfSet(this.flow, fld, (cur & ~mask) | (value & mask));
    mfSet(this.written, fld, mfGet(this.written, fld) | mask);
    mfSet(this.touched, fld, mfGet(this.touched, fld) | mask);
  }

  /** Is there a tag now? Asking pins the packet's VLAN-present bit unless an action decided it. */
  private hasVlan(): boolean {
    if (!(this.touched.readUInt16BE(18) & VLAN_PRESENT)) this.wc.writeUInt16BE(this.wc.readUInt16BE(18) | VLAN_PRESENT, 18);
    return (this.flow.readUInt16BE(18) & VLAN_PRESENT) !== 0;
  }

  private setVlanTci(tci: number, bits: number): void {
    const cur = this.flow.readUInt16BE(18);
    this.flow.writeUInt16BE((cur & ~bits) | (tci & bits), 18);
    this.written.writeUInt16BE(this.written.readUInt16BE(18) | bits, 18);
    this.touched.writeUInt16BE(this.touched.readUInt16BE(18) | bits, 18);
  }

  private pushVlan(_ethertype: number): void {
    if (this.hasVlan()) {
      // The fast path carries one tag; a second would be silently lost.
      this.fail('push_vlan on a tagged packet: one VLAN tag is supported, dropping');
      return;
    }
    this.setVlanTci(VLAN_PRESENT, 0xffff);
  }

  private decTtl(rule?: Rule): void {
    const et = this.flow.readUInt16BE(16);
    this.exact(F.dl_type);
    if (et !== ETH_TYPE_IP && et !== ETH_TYPE_IPV6) return;   // as OVS: not IP, nothing to do
    this.exact(F.nw_ttl);
    const ttl = this.flow[22];
    if (ttl <= 1) {
      this.note(`dec_ttl: TTL ${ttl} is invalid, dropping`);
      if (this.ctx.invalidTtlToController) this.controller(0xffff, PacketInReason.INVALID_TTL, rule);
      this.stopped = true;
      this.actionSet = [];
      return;
    }
    this.flow[22] = ttl - 1;
    this.touched[22] = 0xff;             // derived from the pinned TTL
  }

  /* ---- output --------------------------------------------------------- */

  private output(port: number, maxLen: number, rule?: Rule): void {
    const inPort = this.inPort;
    switch (port) {
      case OFPP.IN_PORT:
        if (!this.port(inPort)) { this.note('output:IN_PORT: the packet did not come from a port'); return; }
        this.emitOutput(inPort);
        return;
      case OFPP.TABLE:
        if (!this.opts.actions) { this.note('output:TABLE is only valid in a packet-out'); return; }
        this.table(0, false);
        return;
      case OFPP.NORMAL: this.normal(); return;
      case OFPP.FLOOD: case OFPP.ALL:
        for (const p of this.portList) if (p.ofport !== inPort) this.emitOutput(p.ofport);
        return;
      case OFPP.CONTROLLER: this.controller(maxLen || 0xffff, PacketInReason.ACTION, rule); return;
      case OFPP.LOCAL: this.note('output:LOCAL: the bridge has no local port'); return;
    }
    if (port === inPort) { this.note(`skipping output to input port`); return; }
    if (!this.port(port)) { this.note(`output:${port}: no such port`); return; }
    this.emitOutput(port);
  }

  private emitOutput(dpPort: number): void {
    this.commit();
    this.odp.push({ type: 'output', port: dpPort });
  }

  private controller(maxLen: number, reason: PacketInReason, rule?: Rule, controllerId = 0): void {
    const tableMiss = rule !== undefined && rule.priority === 0 && rule.match.mask.every((b) => b === 0);
    this.commit();
    this.odp.push({
      type: 'userspace', pid: 0,
      userdata: encodeControllerUserdata({
        reason: tableMiss && reason === PacketInReason.ACTION ? PacketInReason.NO_MATCH : reason,
        tableId: this.tableId, cookie: rule?.cookie ?? 0xffffffffffffffffn, maxLen, controllerId,
        metadata: mfGet(this.flow, F.metadata),
      }),
    });
  }

  /* ---- groups --------------------------------------------------------- */

  private group(id: number): void {
    const g = this.ctx.tables.group(id);
    if (!g) { this.note(`group ${id} does not exist: drop`); return; }
    this.charge({ type: 'group', group: g });
    if (this.depth + 1 >= MAX_DEPTH) { this.fail('group chain too deep'); return; }
    this.depth++;
    switch (g.type) {
      case GroupType.ALL: for (const b of g.buckets) this.bucket(b); break;
      case GroupType.INDIRECT: if (g.buckets[0]) this.bucket(g.buckets[0]); break;
      case GroupType.SELECT: { const b = this.selectBucket(g); if (b) this.bucket(b); else this.note('no live bucket'); break; }
      case GroupType.FF: { const b = g.buckets.find((x) => this.bucketLive(x)); if (b) this.bucket(b); else this.note('no live bucket'); break; }
    }
    this.depth--;
  }

  /** Buckets act on a copy of the packet: the flow is restored after each. */
  private bucket(b: Bucket): void {
    this.charge({ type: 'bucket', bucket: b });
    const saved = Buffer.from(this.flow);
    const savedWritten = Buffer.from(this.written);
    const savedTouched = Buffer.from(this.touched);
    const savedSet = this.actionSet;
    this.actionSet = [];
    this.actions(b.actions);
    this.stopped = false;                  // a bucket's drop ends that copy only
    this.actionSet = savedSet;
    saved.copy(this.flow);
    savedWritten.copy(this.written);
    savedTouched.copy(this.touched);
  }

  private bucketLive(b: Bucket, depth = 0): boolean {
    if (b.watchPort !== OFPP.ANY && !this.port(b.watchPort)?.live) return false;
    if (b.watchGroup !== OFPG_ANY) {
      const g = this.ctx.tables.group(b.watchGroup);
      if (!g || depth > 8 || !g.buckets.some((x) => this.bucketLive(x, depth + 1))) return false;
    }
    return true;
  }

  /** Select: weighted choice by a hash of the L2-L4 addresses, which the megaflow then pins. */
  private selectBucket(g: Group): Bucket | undefined {
    const live = g.buckets.filter((b) => b.weight > 0 && this.bucketLive(b));
    if (!live.length) return undefined;
    const fields = [F.dl_src, F.dl_dst, F.dl_type, F.vlan_tci];
    const et = this.flow.readUInt16BE(16);
    if (et === ETH_TYPE_IP || et === ETH_TYPE_IPV6) {
      fields.push(F.nw_proto, mfField(et === ETH_TYPE_IP ? 'nw_src' : 'ipv6_src'), mfField(et === ETH_TYPE_IP ? 'nw_dst' : 'ipv6_dst'));
      const proto = this.flow[20];
      if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) && !(this.flow[23] & FRAG_LATER)) fields.push(F.nw_frag, F.tp_src, F.tp_dst);
    }
    let h = 0x811c9dc5;
    for (const f of fields) {
      this.exact(f);
      for (let i = f.off; i < f.off + f.len; i++) h = Math.imul(h ^ this.flow[i], 0x01000193);
    }
    const total = live.reduce((s, b) => s + b.weight, 0);
    let pick = (h >>> 0) % total;
    for (const b of live) { if (pick < b.weight) return b; pick -= b.weight; }
    return live[live.length - 1];
  }

  /* ---- NORMAL (L2 learning switch with VLANs) -------------------------- */

  private lookupMac(vlan: number, mac: string, bytes: Uint8Array): number | undefined {
    return this.scratchMacs.get(`${vlan}/${mac}`) ?? this.ctx.macs.lookup(vlan, Buffer.from(bytes));
  }

  private normal(): void {
    const inPort = this.port(this.inPort);
    if (!inPort) { this.note('NORMAL: no input port (packet-out from the controller?): drop'); return; }
    this.exact(F.dl_src); this.exact(F.dl_dst);
    this.wc.writeUInt16BE(this.wc.readUInt16BE(18) | VLAN_PRESENT | 0x0fff, 18);
    const tci = this.flow.readUInt16BE(18);
    const tagged = (tci & VLAN_PRESENT) !== 0;
    const vid = tagged ? tci & 0x0fff : 0;
    let vlan: number;
    if (inPort.tag !== undefined) {
      if (tagged && vid !== 0) { this.note(`dropping VLAN ${vid} tagged packet received on access port ${inPort.name} (VLAN ${inPort.tag})`); return; }
      vlan = inPort.tag;
    } else {
      if (inPort.trunks?.length && !inPort.trunks.includes(vid)) { this.note(`dropping VLAN ${vid} packet received on port ${inPort.name} not configured for trunking VLAN ${vid}`); return; }
      vlan = vid;
    }
    const src = this.flow.subarray(4, 10), dst = this.flow.subarray(10, 16);
    if (!isBroadcastOrMulticast(src)) {
      const mac = macToString(src);
      this.macs.add(mac);
      // Later packets re-learn (refresh) it; a translation that would change the entry is revalidated away.
      this.xcache?.add({ type: 'learn', vlan, mac: ownedCopy(src), port: inPort.ofport });
      if (this.opts.learn !== false) {
        if (this.ctx.macs.learn(vlan, Buffer.from(src), inPort.ofport)) this.note(`learned that ${mac} is on port ${inPort.name} in VLAN ${vlan}`);
      } else if (this.lookupMac(vlan, mac, src) !== inPort.ofport) {
        // Translate as the packet would: it would learn this (revalidation must know).
        this.scratchMacs.set(`${vlan}/${mac}`, inPort.ofport);
        this.wouldLearn = true;
      }
    }
    let learned: number | undefined;
    if (!isBroadcastOrMulticast(dst)) {
      const mac = macToString(dst);
      this.macs.add(mac);
      learned = this.lookupMac(vlan, mac, dst);
    }
    const pcp = tagged ? tci & 0xe000 : 0;
    if (learned === undefined || !this.port(learned)) {
      this.note(isBroadcastOrMulticast(dst) ? 'multicast or broadcast destination, flooding' : 'no learned MAC for destination, flooding');
      for (const p of this.portList) if (p.ofport !== inPort.ofport) this.normalOutput(p, vlan, pcp);
    } else if (learned === inPort.ofport) {
      this.note('learned port is input port, dropping');
    } else {
      this.note('forwarding to learned port');
      this.normalOutput(this.port(learned)!, vlan, pcp);
    }
  }

  /** Output in `vlan`, tagging or untagging for the port's mode; skipped if the port is not in it. */
  private normalOutput(p: XPort, vlan: number, pcp: number): void {
    let tci: number;
    if (p.tag !== undefined) {
      if (p.tag !== vlan) return;
      tci = 0;
    } else {
      if (p.trunks?.length && !p.trunks.includes(vlan)) return;
      tci = vlan === 0 ? 0 : VLAN_PRESENT | pcp | vlan;
    }
    if (tci && (this.flow.readUInt16BE(18) & VLAN_PRESENT)) this.wc.writeUInt16BE(this.wc.readUInt16BE(18) | 0xe000, 18);   // PCP carried over
    const saved = this.flow.readUInt16BE(18), savedW = this.written.readUInt16BE(18), savedT = this.touched.readUInt16BE(18);
    this.flow.writeUInt16BE(tci, 18);
    this.written.writeUInt16BE(savedW | 0x1fff, 18);     // VID and presence from the port's VLAN
    this.touched.writeUInt16BE(0xffff, 18);              // PCP from the pinned packet PCP
    this.emitOutput(p.ofport);
    this.flow.writeUInt16BE(saved, 18);
    this.written.writeUInt16BE(savedW, 18);
    this.touched.writeUInt16BE(savedT, 18);
  }

  /* ---- commit: bring the datapath packet up to date ------------------- */

  commit(): void {
    const f = this.flow, b = this.base;
    // VLAN first: sets below address the packet's L3/L4 headers either way.
    if (this.mustCommit(18, 2)) {
      const ft = f.readUInt16BE(18), bt = b.readUInt16BE(18);
      // Popping depends on the copy's tag unless an action put it there; pushing writes the flow's bits.
      if (!(this.baseTouched.readUInt16BE(18) & VLAN_PRESENT)) this.wc.writeUInt16BE(this.wc.readUInt16BE(18) | VLAN_PRESENT, 18);
      if (ft & VLAN_PRESENT) this.unwildcardUnwritten(18, 2);
      if (bt & VLAN_PRESENT) this.odp.push({ type: 'pop_vlan' });
      if (ft & VLAN_PRESENT) this.odp.push({ type: 'push_vlan', tpid: 0x8100, tci: ft & ~VLAN_PRESENT & 0xffff });
      this.rebase(18, 2);
    }
    this.commitBytes(4, 6, 'eth_src');
    this.commitBytes(10, 6, 'eth_dst');
    const et = f.readUInt16BE(16);
    if (et === ETH_TYPE_IP) {
      this.commitBytes(28, 4, 'ipv4_src', true);
      this.commitBytes(44, 4, 'ipv4_dst', true);
      this.commitBytes(21, 1, 'ipv4_tos', true);
      this.commitBytes(22, 1, 'ipv4_ttl', true);
    } else if (et === ETH_TYPE_IPV6) {
      this.commitBytes(28, 16, 'ipv6_src', true);
      this.commitBytes(44, 16, 'ipv6_dst', true);
      this.commitBytes(21, 1, 'ipv6_tclass', true);
      this.commitBytes(22, 1, 'ipv6_hlimit', true);
      this.commitBytes(24, 4, 'ipv6_label', true);
    }
    if (et === ETH_TYPE_IP || et === ETH_TYPE_IPV6) {
      const proto = f[20];
      if (proto === IPPROTO_TCP) { this.commitBytes(72, 2, 'tcp_src', true, true); this.commitBytes(74, 2, 'tcp_dst', true, true); }
      else if (proto === IPPROTO_UDP) { this.commitBytes(72, 2, 'udp_src', true, true); this.commitBytes(74, 2, 'udp_dst', true, true); }
    }
  }

  /**
   * Does the datapath copy need the flow's value here? When a packet bit
   * faces a constant the answer would depend on the packet, so the set is
   * emitted regardless (a redundant set is harmless; a pinned field would
   * multiply megaflows). Otherwise both sides are packet-independent and
   * are compared.
   */
  private mustCommit(off: number, len: number): boolean {
    let differs = false;
    for (let i = off; i < off + len; i++) {
      const pVsC = (~this.touched[i] & this.baseConst[i]) | (this.written[i] & ~this.baseTouched[i]);
      if (pVsC & 0xff) return true;
      if (this.flow[i] !== this.base[i]) differs = true;
    }
    return differs;
  }

  private rebase(off: number, len: number): void {
    this.flow.copy(this.base, off, off, off + len);
    this.written.copy(this.baseConst, off, off, off + len);
    this.touched.copy(this.baseTouched, off, off, off + len);
  }

  private commitBytes(off: number, len: number, field: SetField, l3 = false, l4 = false): void {
    if (!this.mustCommit(off, len)) return;
    this.unwildcardUnwritten(off, len);
    if (l3) this.exact(F.dl_type);
    if (l4) { this.exact(F.nw_proto); this.exact(F.nw_frag); }
    this.odp.push({ type: 'set', field, value: Buffer.from(this.flow.subarray(off, off + len)) });
    this.rebase(off, len);
  }

  /** The datapath rewrites whole fields: bits we did not overwrite come from the packet. */
  private unwildcardUnwritten(off: number, len: number): void {
    for (let i = off; i < off + len; i++) this.wc[i] |= ~this.written[i] & 0xff;
  }
}

/** A copy in its own memory (kept in an xlate cache: a pooled slice would keep its 8 KiB slab alive). */
function ownedCopy(b: Uint8Array): Buffer {
  const out = Buffer.alloc(b.length);
  out.set(b);
  return out;
}

/**
 * Translates `key` through the bridge's pipeline (or `opts.actions` for a
 * packet-out). Never throws on packet contents.
 */
export function xlate(ctx: XlateContext, key: FlowKey, opts: XlateOptions = {}): XlateResult {
  const x = new Xlator(ctx, key, opts);
  // What the datapath always matches (as OVS): ingress port, Ethernet type,
  // and for IP the fragment state (fragments never match L4 fields).
  x.exact(F.in_port); x.exact(F.dl_type);
  const et = key.ethType;
  if (et === ETH_TYPE_IP || et === ETH_TYPE_IPV6) x.wc[23] |= FRAG_ANY | FRAG_LATER;
  if (opts.actions) { x.depth++; x.actions(opts.actions); x.depth--; }
  else if (ctx.failOpen?.()) { x.note('fail-open: no controller connected, forwarding with NORMAL'); x.actions([{ type: 'output', port: OFPP.NORMAL }]); }
  else x.table(0, false);
  x.executeActionSet();
  const wc = new FlowKey(x.wc.subarray(0, KEY_SIZE));
  normalizeMegaflowMask(key, wc);
  return { actions: x.odp, wc, rules: x.rules, trace: x.trace, finalFlow: x.flow, error: x.error, macs: x.macs, wouldLearn: x.wouldLearn, xcache: x.xcache };
}

/**
 * Makes the mask one the datapath key format can carry (OVS's match
 * prerequisites): bits of fields the packet does not have are dropped (they
 * are zero in every key of that shape), and a field's enclosing headers are
 * pinned (L3 bits pin eth_type, L4 bits pin nw_proto and the fragment state).
 */
export function normalizeMegaflowMask(key: FlowKey, wc: FlowKey): void {
  const m = wc.buf;
  const et = key.ethType;
  const ip = et === ETH_TYPE_IP || et === ETH_TYPE_IPV6;
  const arp = isArpType(et);
  m.writeUInt16LE(0, 78);
  // The datapath always keys the tag's presence (the key format says "tagged" or
  // not before anything else) and matches an untagged key's TCI exactly: say so.
  if (!key.vlanTci) m.writeUInt16BE(0xffff, 18);
  else m.writeUInt16BE(m.readUInt16BE(18) | VLAN_PRESENT, 18);
  if (!ip && !arp) { m.fill(0, 20, 78); return; }
  if (arp) {
    m.fill(0, 21, 28); m.fill(0, 32, 44); m.fill(0, 48, 60); m.fill(0, 72, 78);
  } else {
    m.fill(0, 60, 72);                                  // ARP hardware addresses
    if (et === ETH_TYPE_IP) { m.fill(0, 24, 28); m.fill(0, 32, 44); m.fill(0, 48, 60); }
    const proto = key.nwProto;
    const l4 = !(key.nwFrag & FRAG_LATER) && [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6].includes(proto);
    if (!l4) m.fill(0, 72, 78);
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) { m[72] = 0; m[74] = 0; }
    if (proto !== IPPROTO_TCP) m.fill(0, 76, 78);
    if (m[72] | m[73] | m[74] | m[75] | m[76] | m[77]) { m[20] = 0xff; m[23] = FRAG_ANY | FRAG_LATER; }
  }
  let l3 = false;
  for (let i = 20; i < 78; i++) if (m[i]) { l3 = true; break; }
  if (l3) m.writeUInt16BE(0xffff, 16);
}

