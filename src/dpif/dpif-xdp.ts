/*
 * dpif-xdp: the datapath provider over this project's BPF fast path.
 * OVS_FLOW_CMD_* messages become entries in the megaflow hash, the mask
 * (subtable) array and the flows[] action slots; upcalls read from the perf
 * ring become OVS_PACKET_CMD_MISS/ACTION messages; OVS_PACKET_CMD_EXECUTE
 * runs the actions in userspace and sends through AF_PACKET.
 */
import {
  BpfObject, BpfMap, PerfRing, possibleCpus, xdpAttach, xdpDetach, xdpQueryId, tcAttachIngress, tcDetachIngress, tcQueryIngress,
  progTestRun, BPF_F_LOCK, bpfObjPin, bpfObjId, pinnedObjId, pinnedMapMaxEntries,
} from '../bpf';
import { RtNetlink, kernelVersion } from '../netlink';
import { PacketSocket } from '../netdev/rawsock';
import { MapBatch } from '../bpf/map-batch';
import { Dpif, DpifPort, DpifStats, PortHook, MeterConfig, MeterStats, FlowStatsEntry, DumpReply } from './dpif';
import { FlowKey, VLAN_PRESENT } from './flow-key';
import {
  FlowCmd, PacketCmd, OdpAction, OvsFlowMsg, OvsPacketMsg, decodeFlowMsg, decodePacketMsg, encodeFlowMsg, encodePacketMsg,
  XDP_FAMILY_IDS, odpMask,
} from './odp-netlink';
import { completePartialChecksum, odpExecute } from './odp-execute';
import {
  MAX_MASKS, DEFAULT_FLOW_CAPACITY, MIN_FLOW_CAPACITY, MAX_FLOW_CAPACITY, FLOW_CAPACITY_MAPS, MAX_ACTIONS, MAX_PORTS, XvsAct, XvsAction, FLOW_F_ALIVE, PORT_F_TC, CFG_F_BROADCAST, CFG_F_EMC,
  UPCALL_MISS, UPCALL_ACTION, HOOK_TC, encodeFlow, encodeFlowRef, encodeMaskOrder, encodePort, encodeConfig,
  sumFlowStats, sumDpStats, sumU64, decodeUpcall, LAYOUT, MAX_METERS, METER_OP_EXEC, METER_OP_READ,
  encodeMeter, encodeMeterReq, decodeMeterReq, decodeFlowRef,
} from './xvs-abi';
import * as fs from 'fs';
import * as path from 'path';
import { bpfObjectPath } from '../lib/paths';
import { execFile, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { promisify } from 'util';
import { Vlog } from '../lib/vlog';

const log = new Vlog('dpif_xdp');
const execFileAsync = promisify(execFile);
const MASK_GRACE_MS = 10;
let broadcastNoted = false;
const BATCH_SLOTS_PER_FLOW = 20; // batch-read flow_stats when the slot span is under 20 slots a flow
const TUPLE_OFF = 78;            // the megaflows key's tuple_id: the mask (subtable) id
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };

interface FlowRec {
  ufid: Buffer;
  key: FlowKey;          // masked, tuple_id 0
  mask: FlowKey;
  maskId: number;
  flowId: number;
  gen: number;
  actions: OdpAction[];
  slow: boolean;         // actions run in userspace on every packet
  slowSkip: number;      // leading meter actions the fast path already ran before the upcall
  base: { packets: bigint; bytes: bigint; usedNs: bigint; tcpFlags: number };  // carried across modify
  ufidHex: string;       // the bookkeeping maps' keys, computed once
  matchHex: string;      // mask.hex() + key.hex()
}

interface MaskSlot { mask: FlowKey; refs: number; freedAt: number }

interface PortState extends DpifPort { peerIndex?: number; peerNetnsId?: number; peerName?: string; peerTxOff?: boolean }

/** A port found in the pinned maps at start-up, waiting to be claimed by addPort (or released). */
interface RecoveredPort { portNo: number; ifindex: number; hook: PortHook; peerTxOff: boolean }

/** Userspace-only port flag (the BPF ignores it): we turned the veth peer's TX checksum offload off. */
const PORT_F_PEER_TXOFF = 0x100;

/**
 * The maps a restarted daemon re-uses (pinned); programs are replaced in
 * place. Two maps are fresh each run, because libbpf cannot re-use them
 * (its compatibility check compares flags/sizes the kernel sets itself):
 * the upcall perf array (each run opens its own rings anyway) and the
 * tx_ports DEVMAP (the kernel adds BPF_F_RDONLY_PROG), which is refilled
 * from the ports map.
 */
const PINNED_MAPS = ['emc', 'megaflows', 'masks', 'mask_order', 'mask_hits', 'flows', 'flow_stats', 'dp_stats',
  'ports', 'port_of_ifindex', 'config', 'meters', 'scratch'];
const PINNED_PROGS = ['xvs_xdp', 'xvs_tc'];
const PEER_PIN = 'peer_pass';
export interface DpifXdpOptions {
  emcInsertInvProb?: number;     // 1 = insert every megaflow hit into the EMC
  emc?: boolean;
  /**
   * Megaflow capacity: the flow maps are sized to it at load (default
   * DEFAULT_FLOW_CAPACITY). A pinned fast path keeps the size it was
   * created with (hitless restart), whatever is asked here.
   */
  maxFlows?: number;
  rerankMs?: number;             // subtable re-ranking period
  upcallPid?: number;
  /**
   * bpffs directory for this datapath's programs and maps. With it, close()
   * without cleanup leaves the fast path forwarding and the next open()
   * adopts it (hitless restart); without it, the datapath lives and dies
   * with this object.
   */
  pinDir?: string;
}

/** Kernel features the fast path may use, probed once. */
export function probeFeatures(): { broadcast: boolean; coarseClock: boolean; release: string } {
  const v = kernelVersion();
  const atLeast = (maj: number, min: number): boolean => v.major > maj || (v.major === maj && v.minor >= min);
  // DEVMAP broadcast (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS) arrived in 5.14;
  // older kernels return XDP_ABORTED for unknown flags, so flood goes to the slow path there.
  // bpf_ktime_get_coarse_ns arrived in 5.11; older kernels load datapath-510.bpf.o.
  return { broadcast: atLeast(5, 14), coarseClock: atLeast(5, 11), release: v.release };
}

export class DpifXdp extends Dpif {
  readonly dpIfindex: number;
  private readonly ncpu = possibleCpus();
  private readonly maps: Record<string, BpfMap>;
  private readonly portMap = new Map<number, PortState>();
  private readonly flowsByUfid = new Map<string, FlowRec>();
  private readonly flowsById = new Map<number, FlowRec>();
  private readonly flowsByMaskedKey = new Map<string, FlowRec>();
  private readonly maskSlots: (MaskSlot | undefined)[] = new Array(MAX_MASKS).fill(undefined);
  private readonly maskByHex = new Map<string, number>();
  private maskOrder: number[] = [];
  private orderSel = 0;
  private readonly freeIds = new SlotQueue();
  private readonly gens: Uint32Array;
  private lastMaskHits = new Array<bigint>(MAX_MASKS).fill(0n);
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly sock = new PacketSocket();
  private ring?: PerfRing;
  private peerObj?: BpfObject;
  private readonly features = probeFeatures();
  private readonly cfgFlags: number;
  /** Ports and flows found pinned at start-up (hitless restart), until claimed or released. */
  private readonly recoveredPorts = new Map<number, RecoveredPort>();
  private readonly recoveredFlows = new Set<string>();
  /** Id of our pinned veth-peer XDP_PASS program from a previous run (to recognise it on peers). */
  private peerProgId = 0;
  readonly counters = { upcallErrors: 0, upcallTruncated: 0, executeErrors: 0, checksumsCompleted: 0 };

  private constructor(
    readonly name: string,
    private readonly obj: BpfObject,
    private readonly rtnl: RtNetlink,
    private readonly opts: Required<Omit<DpifXdpOptions, 'pinDir'>> & { pinDir?: string },
    recovered: boolean,
    /** Ids of the hook programs the previous run pinned (they stay attached until replaced). */
    private readonly previousProgIds: number[] = [],
  ) {
    super();
    this.dpIfindex = 0;
    this.maps = Object.fromEntries([...PINNED_MAPS, 'upcalls', 'tx_ports'].map((n) => [n, obj.map(n)]));
    this.gens = new Uint32Array(opts.maxFlows);
    this.cfgFlags = (this.features.broadcast ? CFG_F_BROADCAST : 0) | (opts.emc ? CFG_F_EMC : 0);
    if (recovered) this.recover();
    else for (let i = 0; i < opts.maxFlows; i++) this.freeIds.push(i);
    this.writeConfig();
    this.publishOrder();
    if (!this.features.broadcast && !broadcastNoted) {
      broadcastNoted = true;         // a kernel fact: one line per daemon, not per bridge
      log.info(`kernel ${this.features.release} has no DEVMAP broadcast (5.14+): flooding from XDP ports runs in the slow path`);
    }
  }

  static async open(bridge: string, opts: DpifXdpOptions = {}): Promise<DpifXdp> {
    const o = {
      emcInsertInvProb: opts.emcInsertInvProb ?? 1, emc: opts.emc ?? true,
      maxFlows: flowCapacity(opts.maxFlows), rerankMs: opts.rerankMs ?? 1000,
      upcallPid: opts.upcallPid ?? process.pid, pinDir: opts.pinDir,
    };
    const { obj, recovered, previousProgIds, pinned, capacity } = loadDatapath(o.pinDir, o.maxFlows);
    if (!pinned) o.pinDir = undefined;
    o.maxFlows = capacity;
    const rtnl = await RtNetlink.open();
    const dp = new DpifXdp(`xdp@${bridge}`, obj, rtnl, o, recovered, previousProgIds);
    if (recovered) log.info(`${dp.name}: adopted the pinned fast path at ${o.pinDir}: ${dp.flowsByUfid.size} megaflows, ${dp.recoveredPorts.size} ports`);
    dp.startUpcalls();
    dp.timers.push(setInterval(() => dp.rerankMasks(), o.rerankMs).unref());
    return dp;
  }

  /* ---- hitless restart ---------------------------------------------------- */

  /**
   * Rebuilds the bookkeeping from the pinned maps: ports, live megaflows
   * (a megaflows entry whose flows[] slot is alive with the same generation),
   * their subtables and probe order, and the free slots. Dangling entries
   * (a megaflow whose slot died, a live slot no megaflow names, a second
   * megaflow naming one slot) are removed. Recovered flows keep forwarding
   * and counting; adoptFlow() or releaseUnadopted() decides their fate once
   * the ports are back.
   */
  private recover(): void {
    const cfg = this.maps.config.lookup(u32(0));
    this.orderSel = cfg ? cfg.readUInt32LE(LAYOUT.xvs_config.mask_order_sel) & 1 : 0;
    for (let no = 1; no < MAX_PORTS; no++) {
      const v = this.maps.ports.lookup(u32(no));
      const ifindex = v ? v.readUInt32LE(LAYOUT.xvs_port.ifindex) : 0;
      if (!ifindex) continue;
      const flags = v!.readUInt32LE(LAYOUT.xvs_port.flags);
      const hook: PortHook = flags & PORT_F_TC ? 'tc' : safeXdpId(ifindex, 'native') ? 'xdp' : 'xdp-generic';
      this.recoveredPorts.set(no, { portNo: no, ifindex, hook, peerTxOff: !!(flags & PORT_F_PEER_TXOFF) });
      try { this.maps.tx_ports.update(u32(no), u32(ifindex)); } catch { /* not a redirect target: TC ports still output to it */ }
    }
    const L = LAYOUT.xvs_flow, fm = this.maps.flows;
    const alive = new Set<number>();
    // Every slot's generation and state in a few batch reads (a lookup per slot is ~0.5 s at 65 536).
    const all = { keys: Buffer.alloc(this.opts.maxFlows * fm.keySize), values: Buffer.alloc(this.opts.maxFlows * fm.valueBufSize) };
    const slots = fm.lookupAll(all, this.opts.maxFlows);
    for (let id = 0; id < slots; id++) {
      const o = id * fm.valueBufSize;
      this.gens[id] = all.values.readUInt32LE(o + L.gen);
      if (all.values.readUInt16LE(o + L.flags) & FLOW_F_ALIVE) alive.add(id);
    }
    const masks = new Map<number, FlowKey>();
    const used = new Set<number>();
    let dropped = 0;
    for (const [hkey, ref] of [...this.maps.megaflows.entries()]) {
      const { flowId, gen } = decodeFlowRef(ref);
      const maskId = hkey.readUInt16LE(TUPLE_OFF);
      let mask = masks.get(maskId);
      if (!mask && maskId < MAX_MASKS) {
        const mv = this.maps.masks.lookup(u32(maskId));
        if (mv) masks.set(maskId, (mask = new FlowKey(Buffer.from(mv))));
      }
      if (!alive.has(flowId) || this.gens[flowId] !== gen || used.has(flowId) || !mask) {
        this.maps.megaflows.delete(hkey);
        dropped++;
        continue;
      }
      used.add(flowId);
      const key = new FlowKey(Buffer.from(hkey));
      key.setField('tuple_id', 0);
      const ufid = createHash('sha256').update(mask.buf).update(key.buf).digest().subarray(0, 16);
      const rec: FlowRec = {
        ufid: Buffer.from(ufid), key, mask, maskId, flowId, gen, actions: [], slow: false, slowSkip: 0,
        base: { packets: 0n, bytes: 0n, usedNs: 0n, tcpFlags: 0 }, ufidHex: ufid.toString('hex'), matchHex: mask.hex() + key.hex(),
      };
      this.remember(rec);
      this.recoveredFlows.add(rec.ufid.toString('hex'));
      const slot = this.maskSlots[maskId];
      if (slot) slot.refs++;
      else { this.maskSlots[maskId] = { mask, refs: 1, freedAt: 0 }; this.maskByHex.set(mask.hex(), maskId); }
    }
    for (const id of alive) if (!used.has(id)) { this.killSlot(id); dropped++; }
    for (let id = 0; id < this.opts.maxFlows; id++) if (!used.has(id) && !alive.has(id)) this.freeIds.push(id);
    const order = this.maps.mask_order.lookup(u32(this.orderSel));
    const n = order ? Math.min(order.readUInt32LE(LAYOUT.xvs_mask_order.n), MAX_MASKS) : 0;
    for (let i = 0; i < n; i++) {
      const id = order!.readUInt16LE(LAYOUT.xvs_mask_order.ids + 2 * i);
      if (this.maskSlots[id] && !this.maskOrder.includes(id)) this.maskOrder.push(id);
    }
    for (let id = 0; id < MAX_MASKS; id++) {
      if (this.maskSlots[id] && !this.maskOrder.includes(id)) this.maskOrder.push(id);
      if (this.maskSlots[id]) this.lastMaskHits[id] = sumU64(this.maps.mask_hits.lookup(u32(id)) ?? Buffer.alloc(8));
    }
    if (this.opts.pinDir) this.peerProgId = pinnedObjId(path.join(this.opts.pinDir, PEER_PIN));
    if (dropped) log.warn(`${this.name}: removed ${dropped} dangling fast-path entries left by the previous run`);
  }

  override get flowCapacity(): number { return this.opts.maxFlows; }

  /** Megaflows and ports found at start-up that nobody has adopted or claimed yet. */
  unadoptedFlows(): number { return this.recoveredFlows.size; }
  recoveredPortCount(): number { return this.recoveredPorts.size; }

  /**
   * Takes over a recovered megaflow if `actions` (its translation now)
   * compile to exactly what the fast path runs for it; it then keeps its
   * slot, counters and EMC entries. False (and nothing changes) otherwise.
   */
  override adoptFlow(ufid: Buffer, actions: OdpAction[]): boolean {
    const hex = ufid.toString('hex');
    const f = this.flowsByUfid.get(hex);
    if (!f || !this.recoveredFlows.has(hex)) return false;
    let compiled;
    try { compiled = this.compile(f.key, actions, f.flowId); } catch { return false; }
    const cur = this.maps.flows.lookup(u32(f.flowId));
    if (!cur || !cur.equals(encodeFlow(f.gen, FLOW_F_ALIVE, compiled.actions))) return false;
    Object.assign(f, { actions, slow: compiled.slow, slowSkip: compiled.skip });
    this.recoveredFlows.delete(hex);
    return true;
  }

  /** Deletes the recovered megaflows nobody adopted, and detaches recovered ports nobody claimed. */
  async releaseRecovered(): Promise<{ flows: number; ports: number }> {
    const flows = this.recoveredFlows.size;
    for (const hex of [...this.recoveredFlows]) {
      const f = this.flowsByUfid.get(hex);
      if (f) this.del({ cmd: FlowCmd.DEL, dpIfindex: 0, ufid: f.ufid });
    }
    this.recoveredFlows.clear();
    const ports = this.recoveredPorts.size;
    for (const rp of [...this.recoveredPorts.values()]) await this.releasePort(rp);
    return { flows, ports };
  }

  /** Detaches a recovered port's hook (if the interface still has ours) and clears its map entries. */
  private async releasePort(rp: RecoveredPort): Promise<void> {
    this.recoveredPorts.delete(rp.portNo);
    const ours = new Set([...PINNED_PROGS.map((n) => safeProgId(this.obj, n)), ...this.previousProgIds]);
    try {
      if (rp.hook === 'tc') { if (ours.has(tcQueryIngress(rp.ifindex))) tcDetachIngress(rp.ifindex); }
      else {
        const mode = rp.hook === 'xdp' ? 'native' : 'generic';
        // Only a program of ours: the interface may have been re-created and given to someone else.
        if (ours.has(safeXdpId(rp.ifindex, mode)) || safeXdpId(rp.ifindex, mode) === 0) xdpDetach(rp.ifindex, mode);
      }
    } catch (e) {
      log.dbg(`port ${rp.portNo}: detach: ${(e as Error).message}`);
    }
    this.clearPortMaps(rp.portNo, rp.ifindex);
    const link = await this.rtnl.getLink(rp.ifindex).catch(() => undefined);
    if (link?.peerIndex !== undefined) {
      const p: PortState = { portNo: rp.portNo, name: link.name, ifindex: rp.ifindex, hook: rp.hook, peerIndex: link.peerIndex, peerNetnsId: link.peerNetnsId };
      p.peer = await this.ourPeerProgram(p) ? 'xdp_pass' : undefined;
      await this.unarrangePeer(p);
      if (rp.peerTxOff) await this.peerTxChecksum(p, true);
    }
    log.info(`${this.name}: released port ${rp.portNo} (ifindex ${rp.ifindex}) left by the previous run`);
  }

  /** Is the XDP program on `p`'s veth peer our XDP_PASS (this run's or the pinned one of the previous)? */
  private async ourPeerProgram(p: PortState): Promise<boolean> {
    if (p.peerIndex === undefined) return false;
    const peer = await this.rtnl.getLink(p.peerIndex, { netnsId: p.peerNetnsId }).catch(() => undefined);
    if (!peer?.xdpProgId) return false;
    const mine = this.peerObj ? safeProgId(this.peerObj, 'xvs_peer_pass') : 0;
    return peer.xdpProgId === mine || peer.xdpProgId === this.peerProgId;
  }

  /* ---- ports -------------------------------------------------------------- */

  ports(): DpifPort[] {
    return [...this.portMap.values()].sort((a, b) => a.portNo - b.portNo).map(({ portNo, name, ifindex, hook, peer }) => ({ portNo, name, ifindex, hook, peer }));
  }

  portByNo(portNo: number): DpifPort | undefined { return this.portMap.get(portNo); }

  /**
   * Adds an interface as datapath port `portNo`. `hook` 'auto' picks TC for
   * veth (XDP on a veth costs the peer TSO and breaks CHECKSUM_PARTIAL
   * traffic: research/limits.md) and native XDP elsewhere, falling back to
   * generic XDP when the driver has none.
   */
  async addPort(name: string, portNo: number, hook: PortHook | 'auto' = 'auto'): Promise<DpifPort> {
    if (this.portMap.has(portNo)) throw new Error(`port number ${portNo} is already in use on ${this.name}`);
    if (!Number.isInteger(portNo) || portNo <= 0 || portNo >= MAX_PORTS) throw new RangeError(`port number ${portNo} out of range 1..${MAX_PORTS - 1}`);
    const link = await this.rtnl.getLink(name);
    if (!link) throw new Error(`no such network device "${name}"`);
    if ([...this.portMap.values()].some((p) => p.ifindex === link.index)) throw new Error(`"${name}" is already a port of ${this.name}`);
    let h: PortHook = hook === 'auto' ? (link.kind === 'veth' ? 'tc' : 'xdp') : hook;
    const tc = h === 'tc';
    // A port the previous run left forwarding: the new program replaces the old one in place (no gap).
    const rp = this.recoveredPorts.get(portNo);
    if (rp && rp.ifindex !== link.index) await this.releasePort(rp);
    const recovered = rp?.ifindex === link.index ? rp : undefined;
    if (recovered) this.recoveredPorts.delete(portNo);
    this.maps.ports.update(u32(portNo), encodePort(link.index, (tc ? PORT_F_TC : 0) | (recovered?.peerTxOff ? PORT_F_PEER_TXOFF : 0)));
    this.maps.port_of_ifindex.update(u32(link.index), u32(portNo));
    try {
      this.maps.tx_ports.update(u32(portNo), u32(link.index));
    } catch (e) {
      log.warn(`${name}: not usable as an XDP redirect target (${(e as Error).message}); only TC ports can output to it`);
    }
    try {
      if (tc) tcAttachIngress(link.index, this.obj.program('xvs_tc').fd);
      else {
        try {
          xdpAttach(link.index, this.obj.program('xvs_xdp').fd, h === 'xdp' ? 'native' : 'generic');
        } catch (e) {
          if (h !== 'xdp') throw e;
          log.warn(`${name}: native XDP failed (${(e as Error).message}); using generic XDP`);
          xdpAttach(link.index, this.obj.program('xvs_xdp').fd, 'generic');
          h = 'xdp-generic';
        }
      }
    } catch (e) {
      this.clearPortMaps(portNo, link.index);
      throw e;
    }
    const p: PortState = { portNo, name, ifindex: link.index, hook: h, peerIndex: link.peerIndex, peerNetnsId: link.peerNetnsId };
    this.portMap.set(portNo, p);
    if (recovered) {
      // Now on another hook: take the previous run's program off the old one.
      if (recovered.hook !== h) this.detachHook({ ...p, hook: recovered.hook });
      p.peerTxOff = recovered.peerTxOff;
      if (await this.ourPeerProgram(p)) p.peer = 'xdp_pass on peer (kept from the previous run)';
    }
    if (h !== 'tc' && link.kind === 'veth' && !p.peerTxOff) await this.peerTxChecksum(p, false);
    if (h === 'tc' && p.peerTxOff) await this.peerTxChecksum(p, true);
    log.info(`${recovered ? 'reattached' : 'added'} port ${name} as ${this.name} port ${portNo} (${h}, ifindex ${link.index})`);
    await this.arrangePeers();
    return p;
  }

  async removePort(portNo: number): Promise<void> {
    const p = this.portMap.get(portNo);
    if (!p) throw new Error(`no port ${portNo} on ${this.name}`);
    this.portMap.delete(portNo);
    this.detachHook(p);
    this.clearPortMaps(portNo, p.ifindex);
    await this.unarrangePeer(p);
    if (p.peerTxOff) await this.peerTxChecksum(p, true);
    await this.arrangePeers();
    log.info(`removed port ${p.name} (port ${portNo}) from ${this.name}`);
  }

  /** Takes port `portNo` (interface `ifindex`) out of the fast path's port maps. */
  private clearPortMaps(portNo: number, ifindex: number): void {
    this.maps.ports.update(u32(portNo), encodePort(0, 0));
    this.maps.port_of_ifindex.delete(u32(ifindex));
    this.maps.tx_ports.delete(u32(portNo));
  }

  private detachHook(p: PortState): void {
    try {
      if (p.hook === 'tc') tcDetachIngress(p.ifindex);
      else xdpDetach(p.ifindex, p.hook === 'xdp' ? 'native' : 'generic');
    } catch (e) {
      log.warn(`${p.name}: detaching the ${p.hook} program failed: ${(e as Error).message}`);
    }
  }

  /**
   * Frames XDP-redirected into a veth reach its peer only if the peer can take
   * XDP frames (GRO on, or an XDP program on it before 5.13). When any port of
   * this datapath runs XDP, give every veth port's peer a bare XDP_PASS program,
   * wherever the peer lives (IFLA_TARGET_NETNSID reaches other namespaces).
   */
  private async arrangePeers(): Promise<void> {
    const needed = [...this.portMap.values()].some((p) => p.hook !== 'tc');
    for (const p of this.portMap.values()) {
      if (p.peerIndex === undefined) continue;
      if (!needed) { await this.unarrangePeer(p); continue; }
      if (p.peer) continue;
      try {
        const peer = await this.rtnl.getLink(p.peerIndex, { netnsId: p.peerNetnsId });
        if (!peer) continue;
        if (peer.xdpProgId) {
          p.peer = await this.ourPeerProgram(p) ? `xdp_pass on peer ${peer.name} (kept from the previous run)` : `${peer.name} has its own XDP program`;
          continue;
        }
        if (!this.peerObj) {
          this.peerObj = BpfObject.open(bpfObjectPath('peer_pass.bpf.o'));
          this.peerObj.load();
          if (this.opts.pinDir) repin(this.peerObj.program('xvs_peer_pass').fd, path.join(this.opts.pinDir, PEER_PIN));
        }
        await this.rtnl.setXdp(p.peerIndex, this.peerObj.program('xvs_peer_pass').fd, 'native', { netnsId: p.peerNetnsId });
        p.peer = `xdp_pass on peer ${peer.name}${p.peerNetnsId !== undefined ? ` (netnsid ${p.peerNetnsId})` : ''}`;
        log.info(`${p.name}: attached XDP_PASS to veth peer ${peer.name} so redirected frames are accepted`);
      } catch (e) {
        log.warn(`${p.name}: could not prepare veth peer for XDP frames: ${(e as Error).message}`);
      }
    }
  }

  /**
   * A veth peer's CHECKSUM_PARTIAL skbs lose their checksum state when turned
   * into XDP frames (research/limits.md: TCP/UDP then arrive with bad
   * checksums). A veth on the XDP hook therefore needs TX checksum offload off
   * on its peer; the TC hook (the default for veth) needs nothing.
   */
  private async peerTxChecksum(p: PortState, on: boolean): Promise<void> {
    if (p.peerIndex === undefined) return;
    try {
      const peer = await this.rtnl.getLink(p.peerIndex, { netnsId: p.peerNetnsId });
      if (!peer) return;
      const ns = p.peerNetnsId !== undefined ? await this.rtnl.netnsPath(p.peerNetnsId) : undefined;
      const cmd = ['ethtool', '-K', peer.name, 'tx', on ? 'on' : 'off'];
      const [file, ...argv] = ns ? ['nsenter', `--net=${ns}`, ...cmd] : cmd;
      await execFileAsync(file, argv, { timeout: 10000 });
      p.peerTxOff = !on;
      p.peerName = peer.name;
      // Remembered in the pinned ports map, so a restarted daemon restores it when the port goes.
      if (this.portMap.get(p.portNo) === p) {
        this.maps.ports.update(u32(p.portNo), encodePort(p.ifindex, (p.hook === 'tc' ? PORT_F_TC : 0) | (p.peerTxOff ? PORT_F_PEER_TXOFF : 0)));
      }
      log.info(`${p.name}: TX checksum offload ${on ? 'restored' : 'turned off'} on veth peer ${peer.name} (XDP on veth cannot carry partial checksums)`);
    } catch (e) {
      log.warn(`${p.name}: could not set TX checksum offload ${on ? 'on' : 'off'} on the veth peer: ${(e as Error).message}`);
    }
  }

  private async unarrangePeer(p: PortState): Promise<void> {
    if (!p.peer?.startsWith('xdp_pass') || p.peerIndex === undefined) { p.peer = undefined; return; }
    try {
      await this.rtnl.setXdp(p.peerIndex, -1, 'native', { netnsId: p.peerNetnsId });
    } catch (e) {
      log.dbg(`${p.name}: peer XDP detach: ${(e as Error).message}`);
    }
    p.peer = undefined;
  }

  /* ---- messages ----------------------------------------------------------- */

  transact(request: Buffer): Buffer[] {
    const type = request.length >= 6 ? request.readUInt16LE(4) : -1;
    if (type === XDP_FAMILY_IDS.ovs_packet) {
      const m = decodePacketMsg(request);
      if (m.cmd !== PacketCmd.EXECUTE) throw new Error(`OVS_PACKET_CMD ${m.cmd} is not a request`);
      this.executeActions(m.packet, m.key, m.actions ?? []);
      return [];
    }
    const m = decodeFlowMsg(request);
    switch (m.cmd) {
      case FlowCmd.NEW: case FlowCmd.SET: this.put(m); return [];
      case FlowCmd.DEL:
        if (!m.ufid && !m.key) { this.flush(); return []; }
        return this.del(m);
      case FlowCmd.GET:
        if (!m.ufid && !m.key) return [...this.flowsByUfid.values()].map((f) => this.reply(f, FlowCmd.GET));
        { const f = this.find(m); return f ? [this.reply(f, FlowCmd.GET)] : []; }
    }
    throw new Error(`unsupported OVS_FLOW_CMD ${m.cmd}`);
  }

  private find(m: OvsFlowMsg): FlowRec | undefined {
    if (m.ufid) return this.flowsByUfid.get(m.ufid.toString('hex'));
    if (m.key && m.mask) return this.flowsByMaskedKey.get(m.mask.hex() + m.key.and(m.mask).hex());
    return undefined;
  }

  private put(m: OvsFlowMsg): void {
    const p = this.preparePut(m);
    try {
      this.maps.flow_stats.update(u32(p.rec.flowId), Buffer.alloc(this.ncpu * LAYOUT.xvs_flow_stats.size));
      this.maps.flows.update(u32(p.rec.flowId), p.flowVal);
      this.maps.megaflows.update(p.hkey, encodeFlowRef(p.rec.flowId, p.rec.gen));
    } catch (e) {
      this.unput(p.rec, p.old);
      throw e;
    }
    this.finishPut(p.rec, p.old, m.clear);
  }

  /**
   * Everything a put does short of writing the maps: the flow's slot,
   * compiled actions and subtable, and its record (registered, so a later
   * put of the same match sees it). The caller writes the maps, then calls
   * finishPut, or unput if a write failed.
   */
  private preparePut(m: OvsFlowMsg): { rec: FlowRec; old?: FlowRec; flowVal: Buffer; hkey: Buffer } {
    if (!m.key || !m.actions) throw new Error('flow put needs KEY and ACTIONS');
    const mask = m.mask ? m.mask.clone() : FlowKey.exactMask();
    mask.setField('tuple_id', 0);
    mask.exact('in_port');           // megaflows always match the ingress port
    const key = m.key.and(mask);
    // Without a UFID, name the flow by its match, as OVS hashes the key.
    const ufid = m.ufid ?? createHash('sha256').update(mask.buf).update(key.buf).digest().subarray(0, 16);
    const maskHex = mask.hex(), keyHex = key.hex(), ufidHex = ufid.toString('hex');
    const old = this.flowsByUfid.get(ufidHex) ?? this.flowsByMaskedKey.get(maskHex + keyHex);
    if (old && m.cmd === FlowCmd.NEW && !old.mask.equals(mask)) throw new Error('flow exists with another mask');
    const flowId = this.allocId();
    let compiled;
    try {
      compiled = this.compile(key, m.actions, flowId);
    } catch (e) {
      this.freeIds.pushFront(flowId);
      throw e;
    }
    const gen = this.gens[flowId];
    const maskId = old ? old.maskId : this.refMask(mask);
    const hkey = Buffer.from(key.buf);
    hkey.writeUInt16LE(maskId, TUPLE_OFF);
    const rec: FlowRec = {
      ufid: Buffer.from(ufid), key, mask, maskId, flowId, gen, actions: m.actions, slow: compiled.slow, slowSkip: compiled.skip,
      base: { packets: 0n, bytes: 0n, usedNs: 0n, tcpFlags: 0 }, ufidHex, matchHex: maskHex + keyHex,
    };
    if (old) this.forget(old, false);
    this.remember(rec);
    return { rec, old, flowVal: encodeFlow(gen, FLOW_F_ALIVE, compiled.actions), hkey };
  }

  /** The maps now point at `rec`: retire the flow it replaced. */
  private finishPut(rec: FlowRec, old: FlowRec | undefined, clear: boolean | undefined): void {
    if (!old) return;
    if (!clear) Object.assign(rec.base, this.statsOf(old));
    this.killSlot(old.flowId);
  }

  /** A put whose map writes failed: its slot (maybe half written) is invalidated, the flow it replaced stays. */
  private unput(rec: FlowRec, old: FlowRec | undefined): void {
    this.forget(rec, !old);
    try { this.killSlot(rec.flowId); } catch { this.freeIds.push(rec.flowId); }
    if (old) this.remember(old);
  }

  private batch?: { stats: MapBatch; flows: MapBatch; megaflows: MapBatch };

  /**
   * New flows in one go (a turn of upcalls): the flow_stats, flows and
   * megaflows writes of all of them in three BPF_MAP_UPDATE_BATCH calls, in
   * that order, so the fast path never finds a megaflow before its slot.
   * A flow replacing another one (rare here) is put on its own, after the
   * staged ones. One result per put: undefined, or why it failed.
   */
  private putMany(ms: OvsFlowMsg[]): (Error | undefined)[] {
    const b = (this.batch ??= { stats: new MapBatch(this.maps.flow_stats), flows: new MapBatch(this.maps.flows), megaflows: new MapBatch(this.maps.megaflows) });
    const errs: (Error | undefined)[] = new Array(ms.length).fill(undefined);
    const staged: { i: number; rec: FlowRec; hkey: Buffer }[] = [];
    const flush = (): void => {
      if (!staged.length) return;
      const failed = new Set<number>();
      const fail = (k: number, e: Error): void => { if (!failed.has(k)) { failed.add(k); errs[staged[k].i] = e; } };
      b.stats.write(fail);
      b.flows.write(fail);
      const ok = staged.filter((_, k) => !failed.has(k));
      for (const s of ok) b.megaflows.add(s.hkey, encodeFlowRef(s.rec.flowId, s.rec.gen));
      b.megaflows.write((k, e) => { errs[ok[k].i] = e; });
      for (const s of staged) if (errs[s.i]) this.unput(s.rec, undefined);
      staged.length = 0;
    };
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      try {
        const old = m.ufid ? this.flowsByUfid.get(m.ufid.toString('hex')) : undefined;
        if (old || m.cmd !== FlowCmd.NEW) { flush(); this.put(m); continue; }
        const p = this.preparePut(m);
        if (p.old) { this.unput(p.rec, p.old); flush(); this.put(m); continue; }
        b.stats.add(u32(p.rec.flowId));
        b.flows.add(u32(p.rec.flowId), p.flowVal);
        staged.push({ i, rec: p.rec, hkey: p.hkey });
      } catch (e) {
        errs[i] = e as Error;
      }
    }
    flush();
    return errs;
  }

  private del(m: OvsFlowMsg): Buffer[] {
    const d = this.delFlow(m);
    return d ? [encodeFlowMsg(d)] : [];
  }

  private delFlow(m: OvsFlowMsg): DumpReply | undefined {
    const f = this.find(m);
    if (!f) return undefined;
    const reply = this.dumpOf(f, FlowCmd.DEL);
    const hkey = Buffer.from(f.key.buf);
    hkey.writeUInt16LE(f.maskId, TUPLE_OFF);
    this.maps.megaflows.delete(hkey);
    this.killSlot(f.flowId);
    this.forget(f, true);
    return reply;
  }

  private flush(): void {
    for (const f of [...this.flowsByUfid.values()]) this.del({ cmd: FlowCmd.DEL, dpIfindex: 0, ufid: f.ufid });
  }

  private remember(f: FlowRec): void {
    this.flowsByUfid.set(f.ufidHex, f);
    this.flowsById.set(f.flowId, f);
    this.flowsByMaskedKey.set(f.matchHex, f);
  }

  /** Drops bookkeeping; with `unrefMask`, releases the subtable too. */
  private forget(f: FlowRec, unrefMask: boolean): void {
    this.flowsByUfid.delete(f.ufidHex);
    this.flowsById.delete(f.flowId);
    this.flowsByMaskedKey.delete(f.matchHex);
    if (unrefMask) this.unrefMask(f.maskId);
  }

  /** Invalidates a flows[] slot (EMC entries pointing at it stop matching) and recycles it. */
  private killSlot(id: number): void {
    this.gens[id] = (this.gens[id] + 1) >>> 0;
    this.maps.flows.update(u32(id), encodeFlow(this.gens[id], 0, []));
    this.freeIds.push(id);    // FIFO: a slot is reused as late as possible
  }

  private allocId(): number {
    const id = this.freeIds.shift();
    if (id === undefined) throw new Error(`datapath flow table full (${this.opts.maxFlows} flows)`);
    return id;
  }

  /** A flow's counters (from `all`, a batch read of flow_stats, when given). */
  private statsOf(f: FlowRec, all?: Buffer): { packets: bigint; bytes: bigint; usedNs: bigint; tcpFlags: number } {
    const size = this.maps.flow_stats.valueBufSize;
    const v = all ? all.subarray(f.flowId * size, (f.flowId + 1) * size) : this.maps.flow_stats.lookup(u32(f.flowId));
    const s = v ? sumFlowStats(v) : { packets: 0n, bytes: 0n, usedNs: 0n, tcpFlags: 0 };
    return {
      packets: s.packets + f.base.packets, bytes: s.bytes + f.base.bytes,
      usedNs: s.usedNs > f.base.usedNs ? s.usedNs : f.base.usedNs, tcpFlags: s.tcpFlags | f.base.tcpFlags,
    };
  }

  /**
   * Counters straight from flow_stats, without netlink encoding: the
   * revalidator's dump. When the flows are dense enough in the slot range
   * the per-CPU array is read up to the highest slot in BPF_MAP_LOOKUP_BATCH
   * calls (measured ~0.4 µs a slot) rather than a lookup per flow (~8 µs).
   */
  override flowStatsDump(): FlowStatsEntry[] {
    const out: FlowStatsEntry[] = [];
    let span = 0;
    for (const id of this.flowsById.keys()) if (id >= span) span = id + 1;
    // Without batch lookups (per-CPU arrays on 5.10) the per-flow path is the cheaper one.
    const batch = span && this.maps.flow_stats.batchSupported !== false && span < BATCH_SLOTS_PER_FLOW * this.flowsById.size
      ? this.readFlowStats(span) : undefined;
    for (const f of this.flowsByUfid.values()) {
      const s = this.statsOf(f, batch);
      out.push({ ufid: f.ufid, packets: s.packets, bytes: s.bytes, usedMs: Number(s.usedNs / 1000000n) });
    }
    return out;
  }

  private batchBuf?: { keys: Buffer; values: Buffer };

  private readFlowStats(span: number): Buffer {
    const m = this.maps.flow_stats;
    this.batchBuf ??= { keys: Buffer.alloc(m.maxEntries * m.keySize), values: Buffer.alloc(m.maxEntries * m.valueBufSize) };
    m.lookupAll(this.batchBuf, span);
    return this.batchBuf.values;
  }

  private reply(f: FlowRec, cmd: FlowCmd): Buffer {
    return encodeFlowMsg(this.dumpOf(f, cmd));
  }

  private dumpOf(f: FlowRec, cmd: FlowCmd): DumpReply {
    const s = this.statsOf(f);
    return {
      cmd, dpIfindex: this.dpIfindex, ufid: f.ufid, key: f.key, mask: f.mask, actions: f.actions,
      stats: { packets: s.packets, bytes: s.bytes }, used: s.usedNs / 1000000n, tcpFlags: s.tcpFlags,
    };
  }

  /*
   * In-process callers (udpif) skip the netlink messages: each of these does
   * what transact() does with the encoded request, without encoding and
   * decoding the whole message each way (~10 µs a flow). Only the mask goes
   * through its attribute form, which is what the datapath would receive.
   */
  override flowPut(m: Omit<OvsFlowMsg, 'cmd' | 'dpIfindex'>, modify = false): void {
    const mask = m.mask && m.key ? odpMask(m.key, m.mask) : m.mask;
    this.put({ ...m, mask, cmd: modify ? FlowCmd.SET : FlowCmd.NEW, dpIfindex: this.dpIfindex });
  }

  override get batchesUpcalls(): boolean { return true; }

  override flowPutMany(ms: Omit<OvsFlowMsg, 'cmd' | 'dpIfindex'>[]): (Error | undefined)[] {
    return this.putMany(ms.map((m) => ({ ...m, mask: m.mask && m.key ? odpMask(m.key, m.mask) : m.mask, cmd: FlowCmd.NEW, dpIfindex: this.dpIfindex })));
  }

  override flowDel(ufid: Buffer): DumpReply | undefined {
    return this.delFlow({ cmd: FlowCmd.DEL, dpIfindex: this.dpIfindex, ufid });
  }

  private delBatch?: { keys: Buffer; flows: MapBatch };

  /**
   * The revalidator's deletes in a few syscalls: the megaflows entries in
   * one BPF_MAP_DELETE_BATCH, then the dead flows[] slots in one update
   * batch (the same two steps as delFlow, in the same order). No final
   * counters are read (the revalidator has them from its dump).
   */
  override flowDelMany(ufids: Buffer[]): number {
    const fs: FlowRec[] = [];
    for (const u of ufids) { const f = this.flowsByUfid.get(u.toString('hex')); if (f) fs.push(f); }
    if (!fs.length) return 0;
    const mf = this.maps.megaflows, ks = mf.keySize;
    const b = (this.delBatch ??= { keys: Buffer.alloc(0), flows: new MapBatch(this.maps.flows) });
    if (b.keys.length < fs.length * ks) b.keys = Buffer.alloc(Math.max(fs.length, 256) * ks);
    fs.forEach((f, i) => {
      const k = b.keys.subarray(i * ks, (i + 1) * ks);
      f.key.buf.copy(k, 0, 0, ks);
      k.writeUInt16LE(f.maskId, TUPLE_OFF);
    });
    // A failure leaves entries behind that match nothing: the slots' generation changes below.
    try { mf.deleteMany(b.keys, fs.length); } catch (e) { log.rateLimited('WARN', 'del-many', `megaflows delete: ${(e as Error).message}`); }
    for (const f of fs) {
      this.gens[f.flowId] = (this.gens[f.flowId] + 1) >>> 0;
      b.flows.add(u32(f.flowId), encodeFlow(this.gens[f.flowId], 0, []));
      this.forget(f, true);
    }
    const failed = new Set<number>();
    b.flows.write((i, e) => {
      failed.add(i);    // as killSlot: a slot that could not be invalidated is not reused
      log.rateLimited('WARN', 'del-slot', `flow slot ${fs[i].flowId} not invalidated: ${e.message}`);
    });
    fs.forEach((f, i) => { if (!failed.has(i)) this.freeIds.push(f.flowId); });
    return fs.length;
  }

  override flowGet(ufid: Buffer): DumpReply | undefined {
    const f = this.flowsByUfid.get(ufid.toString('hex'));
    return f ? this.dumpOf(f, FlowCmd.GET) : undefined;
  }

  override execute(packet: Buffer, key: FlowKey, actions: OdpAction[]): void {
    this.executeActions(packet, key, actions);
  }

  /* ---- subtables ---------------------------------------------------------- */

  private refMask(mask: FlowKey): number {
    const hex = mask.hex();
    const have = this.maskByHex.get(hex);
    if (have !== undefined) {
      // A subtable whose last flow went away left the probe order: bring it back.
      if (this.maskSlots[have]!.refs++ === 0) { this.maskOrder.push(have); this.publishOrder(); }
      return have;
    }
    // Reuse a freed id only after a grace period: a packet that read the old
    // probe order may still be probing it (for microseconds).
    let id = this.maskSlots.findIndex((s) => s === undefined);
    if (id < 0) {
      let oldest = -1;
      for (let i = 0; i < MAX_MASKS; i++) {
        const s = this.maskSlots[i]!;
        if (s.refs === 0 && (oldest < 0 || s.freedAt < this.maskSlots[oldest]!.freedAt)) oldest = i;
      }
      if (oldest < 0) throw new Error(`datapath has no free subtable (all ${MAX_MASKS} masks in use)`);
      const wait = MASK_GRACE_MS - (Date.now() - this.maskSlots[oldest]!.freedAt);
      if (wait > 0) Atomics.wait(SLEEPER, 0, 0, wait);
      id = oldest;
    }
    const old = this.maskSlots[id];
    if (old) this.maskByHex.delete(old.mask.hex());
    this.maskSlots[id] = { mask: mask.clone(), refs: 1, freedAt: 0 };
    this.maskByHex.set(hex, id);
    this.maps.masks.update(u32(id), mask.buf);
    this.lastMaskHits[id] = sumU64(this.maps.mask_hits.lookup(u32(id)) ?? Buffer.alloc(8));
    this.maskOrder.push(id);          // new subtables are probed last until they earn hits
    this.publishOrder();
    return id;
  }

  private unrefMask(id: number): void {
    const s = this.maskSlots[id];
    if (!s || --s.refs > 0) return;
    s.freedAt = Date.now();
    this.maskOrder = this.maskOrder.filter((x) => x !== id);
    this.publishOrder();
  }

  /** Writes the inactive copy of the probe order, then flips the selector. */
  private publishOrder(): void {
    const next = this.orderSel ^ 1;
    this.maps.mask_order.update(u32(next), encodeMaskOrder(this.maskOrder));
    this.orderSel = next;
    this.writeConfig();
  }

  private writeConfig(): void {
    this.maps.config.update(u32(0), encodeConfig(this.orderSel, this.cfgFlags, this.opts.emcInsertInvProb));
  }

  /** Re-sorts subtables by hits since the last pass (OVS dpcls does this every second). */
  rerankMasks(): void {
    if (this.maskOrder.length < 2) return;
    const delta = new Map<number, bigint>();
    for (const id of this.maskOrder) {
      const total = sumU64(this.maps.mask_hits.lookup(u32(id)) ?? Buffer.alloc(8));
      delta.set(id, total - this.lastMaskHits[id]);
      this.lastMaskHits[id] = total;
    }
    const sorted = [...this.maskOrder].sort((a, b) => {
      const d = delta.get(b)! - delta.get(a)!;
      return d > 0n ? 1 : d < 0n ? -1 : this.maskOrder.indexOf(a) - this.maskOrder.indexOf(b);
    });
    if (sorted.every((v, i) => v === this.maskOrder[i])) return;
    this.maskOrder = sorted;
    this.publishOrder();
  }

  /** A program's fd (the hooks, or the meter runner), for BPF_PROG_RUN in tests and benchmarks. */
  programFd(hook: 'xdp' | 'tc' | 'meter'): number {
    return this.obj.program(hook === 'xdp' ? 'xvs_xdp' : hook === 'tc' ? 'xvs_tc' : 'xvs_meter_run').fd;
  }

  /** Subtable ids in probe order (for tests and dpctl). */
  probeOrder(): number[] { return [...this.maskOrder]; }

  /* ---- action compilation -------------------------------------------------- */

  /**
   * Turns datapath actions into the fast path's action list for a flow whose
   * in_port is known. What the hook cannot do becomes a USERSPACE action whose
   * userdata names the flow, and the actions then run here (slow path);
   * meters leading such a list still run in the fast path, so a meter in
   * front of a controller action limits the upcalls themselves.
   */
  private compile(key: FlowKey, actions: OdpAction[], flowId: number): { actions: XvsAction[]; slow: boolean; skip: number } {
    const port = this.portMap.get(key.inPort);
    const tc = port?.hook === 'tc';
    const out: XvsAction[] = [];
    const outputs = actions.filter((a) => a.type === 'output').map((a) => (a as { port: number }).port);
    let slow = actions.some((a) => a.type === 'userspace');
    // The first consuming output ends the list in BPF: a meter behind it would never be charged.
    const lastOutput = actions.map((a) => a.type === 'output').lastIndexOf(true);
    if (lastOutput >= 0 && actions.some((a, i) => a.type === 'meter' && i > lastOutput)) slow = true;
    if (!slow && !tc && outputs.length > 1) {
      // XDP redirects a frame once. Flood (every port but the ingress, nothing
      // changed in between) maps onto DEVMAP broadcast; anything else is slow path.
      const lastNonOutput = actions.map((a) => a.type !== 'output').lastIndexOf(true);
      const firstOutput = actions.findIndex((a) => a.type === 'output');
      const others = [...this.portMap.keys()].filter((p) => p !== key.inPort).sort((a, b) => a - b);
      const isFlood = this.features.broadcast && lastNonOutput < firstOutput &&
        outputs.length === others.length && [...outputs].sort((a, b) => a - b).every((p, i) => p === others[i]);
      if (!isFlood) slow = true;
      else {
        for (const a of actions.slice(0, firstOutput)) out.push(...this.compileOne(a));
        out.push({ type: XvsAct.FLOOD });
        if (out.length <= MAX_ACTIONS) return { actions: out, slow: false, skip: 0 };
        slow = true;
        out.length = 0;
      }
    }
    if (!slow) {
      for (const a of actions) out.push(...this.compileOne(a));
      if (out.length > MAX_ACTIONS) slow = true;
    }
    if (!slow) return { actions: out, slow: false, skip: 0 };
    let skip = actions.findIndex((a) => a.type !== 'meter');
    if (skip < 0 || skip >= MAX_ACTIONS) skip = 0;
    const meters = actions.slice(0, skip).flatMap((a) => this.compileOne(a));
    return { actions: [...meters, { type: XvsAct.USERSPACE, arg: flowId }], slow: true, skip };
  }

  private compileOne(a: OdpAction): XvsAction[] {
    switch (a.type) {
      case 'output': return [{ type: XvsAct.OUTPUT, arg: a.port }];
      case 'push_vlan': return [{ type: XvsAct.PUSH_VLAN, tpid: a.tpid, arg: a.tci & ~VLAN_PRESENT & 0xffff }];
      case 'pop_vlan': return [{ type: XvsAct.POP_VLAN }];
      case 'userspace': return [{ type: XvsAct.USERSPACE }];
      case 'meter': return [{ type: XvsAct.METER, arg: a.id >>> 0 }];
      case 'set': {
        const v = a.value;
        // IPv6: an address is two 8-byte actions; the other fields are masked header words
        const word = (off: number, val: number, mask: number): XvsAction[] => {
          const data = Buffer.alloc(8);
          data.writeUInt32BE((val & mask) >>> 0, 0); data.writeUInt32BE(mask >>> 0, 4);
          return [{ type: XvsAct.SET_IPV6_MASKED, arg: off, data }];
        };
        switch (a.field) {
          case 'ipv6_src': case 'ipv6_dst': {
            const base = a.field === 'ipv6_src' ? 8 : 24;
            return [0, 8].map((h) => ({ type: XvsAct.SET_IPV6_ADDR, arg: base + h, data: Buffer.from(v.subarray(h, h + 8)) }));
          }
          case 'ipv6_tclass': return word(0, v[0] << 20, 0x0ff00000);
          case 'ipv6_label': return word(0, v.readUInt32BE(0), 0x000fffff);
          case 'ipv6_hlimit': return word(4, v[0], 0xff);
          default: {
            const t = {
              eth_src: XvsAct.SET_ETH_SRC, eth_dst: XvsAct.SET_ETH_DST, ipv4_src: XvsAct.SET_IPV4_SRC,
              ipv4_dst: XvsAct.SET_IPV4_DST, ipv4_tos: XvsAct.SET_IPV4_TOS, ipv4_ttl: XvsAct.SET_IPV4_TTL,
              tcp_src: XvsAct.SET_TP_SRC, tcp_dst: XvsAct.SET_TP_DST, udp_src: XvsAct.SET_TP_SRC, udp_dst: XvsAct.SET_TP_DST,
            }[a.field];
            return [{ type: t, data: v }];
          }
        }
      }
    }
  }

  /* ---- meters --------------------------------------------------------------- */

  private meterId(id: number): Buffer {
    if (!Number.isInteger(id) || id < 0 || id >= MAX_METERS) throw new RangeError(`meter id ${id} out of range 0..${MAX_METERS - 1}`);
    return u32(id);
  }

  /** Creates or replaces meter `id`: full bucket, zero stats (as both OVS datapaths). */
  override meterSet(id: number, m: MeterConfig): void {
    this.maps.meters.update(this.meterId(id), encodeMeter(m), BPF_F_LOCK);
  }

  /** Frees meter `id`: meter actions naming it let packets through again (OVS). */
  override meterDel(id: number): void {
    this.maps.meters.update(this.meterId(id), Buffer.alloc(LAYOUT.xvs_meter.size), BPF_F_LOCK);
  }

  /** Counters read under the meter's lock (one consistent snapshot); undefined if no such meter. */
  override meterStats(id: number): MeterStats | undefined {
    this.meterId(id);
    const r = this.meterRun(METER_OP_READ, id);
    if (!r.verdict) return undefined;
    return { packets: r.packets, bytes: r.bytes, dropped: r.dropped, droppedBytes: r.droppedBytes };
  }

  /**
   * Slow-path packets are charged to the same buckets as the fast path's
   * (BPF_PROG_RUN of xvs_meter_run, ~1 us): a meter limits the sum of both,
   * as the one meter of the kernel datapath does.
   */
  private meterCharge(id: number, len: number): boolean {
    if (id >= MAX_METERS) return false;   // no such meter: passes
    return this.meterRun(METER_OP_EXEC, id, len).verdict !== 0;
  }

  private meterRun(op: number, id: number, len = 0): ReturnType<typeof decodeMeterReq> {
    const r = progTestRun(this.obj.program('xvs_meter_run').fd, { data: encodeMeterReq(op, id, len) });
    if (r.dataOut.length < LAYOUT.xvs_meter_req.size) throw new Error(`xvs_meter_run returned ${r.retval} with ${r.dataOut.length} bytes`);
    return decodeMeterReq(r.dataOut);
  }

  /* ---- upcalls and execution ---------------------------------------------- */

  private startUpcalls(): void {
    // A wake-up per record: a lone miss is read at once instead of waiting for
    // the 16th record or the flush timer (first-packet p50 643 -> ~330 µs);
    // under load the reader is awake anyway (no measurable cost in flowsetup.ts).
    // The timer only guards against a missed wake-up.
    this.ring = new PerfRing(this.maps.upcalls, { pageCount: 64, wakeupEvents: 1, budget: 256, flushMs: 100 });
    this.ring.on('sample', (raw: Buffer) => {
      // One bad packet must not reach the process-wide handlers (once per packet).
      try { this.onSample(raw); } catch (e) {
        this.counters.upcallErrors++;
        log.rateLimited('ERR', 'sample', `upcall processing failed: ${(e as Error).message}`);
      }
    });
    // Upcalls come in ring turns: udpif installs a turn's flows together.
    this.ring.on('turn-end', () => this.emit('upcall-batch-end'));
    this.ring.on('lost', (n: number) => log.rateLimited('WARN', 'lost', `perf ring lost ${n} upcalls`));
    this.ring.start();
  }

  private onSample(raw: Buffer): void {
    let rec;
    try {
      rec = decodeUpcall(raw);
    } catch (e) {
      this.counters.upcallErrors++;
      log.rateLimited('WARN', 'bad-upcall', `dropping malformed upcall record: ${(e as Error).message}`);
      return;
    }
    if (rec.hook === HOOK_TC) this.normalizeTcPacket(rec);
    if (rec.packet.length < rec.pktLen) this.counters.upcallTruncated++;
    if (rec.cmd === UPCALL_ACTION) {
      const f = this.flowsById.get(rec.userdata);
      if (f?.slow) this.executeActions(rec.packet, rec.key, f.actions.slice(f.slowSkip), rec.pktLen);
      return;
    }
    if (rec.cmd !== UPCALL_MISS) { this.counters.upcallErrors++; return; }
    // The message bytes are the interface; the message itself rides along so udpif need not decode it.
    const m: OvsPacketMsg = { cmd: PacketCmd.MISS, dpIfindex: this.dpIfindex, packet: rec.packet, key: rec.key, len: rec.pktLen };
    this.emit('upcall', encodePacketMsg(m), m);
  }

  /**
   * TCP/UDP packets taken at the TC hook may be CHECKSUM_PARTIAL: complete the
   * checksum so the copy we re-send is the packet that was received. (The
   * program already puts a VLAN tag held in skb metadata back into the bytes.)
   */
  private normalizeTcPacket(rec: { packet: Buffer }): void {
    if (completePartialChecksum(rec.packet)) this.counters.checksumsCompleted++;
  }

  private executeActions(packet: Buffer, key: FlowKey, actions: OdpAction[], fullLen = packet.length): void {
    if (packet.length < fullLen) {
      log.rateLimited('WARN', 'exec-trunc', `cannot execute a truncated packet (${packet.length} of ${fullLen} bytes)`);
      return;
    }
    odpExecute(packet, actions, {
      output: (port, frame) => {
        const p = this.portMap.get(port);
        if (!p) { this.counters.executeErrors++; return; }
        try {
          this.sock.send(p.ifindex, frame);
        } catch (e) {
          this.counters.executeErrors++;
          log.rateLimited('WARN', `tx-${port}`, `${p.name}: packet execute failed: ${(e as Error).message}`);
        }
      },
      userspace: (a, frame) => {
        this.emit('upcall', encodePacketMsg({
          cmd: PacketCmd.ACTION, dpIfindex: this.dpIfindex, packet: frame, key, userdata: a.userdata,
        }));
      },
      meter: (id, len) => this.meterCharge(id, len),
    });
  }

  /* ---- stats and teardown ------------------------------------------------- */

  stats(): DpifStats {
    const d = sumDpStats(this.maps.dp_stats.lookup(u32(0)) ?? Buffer.alloc(0));
    return {
      hit: d.emcHit + d.mfHit, missed: d.missed, lost: d.lost + BigInt(this.ring?.stats.lost ?? 0),
      flows: this.flowsByUfid.size, masksHit: d.masksProbed, masksTotal: this.maskOrder.length,
      emcHit: d.emcHit, megaflowHit: d.mfHit, slowPath: d.slowPath, txErrors: d.txErrors, parseTruncated: d.parseTruncated,
    };
  }

  ringStats(): { samples: number; lost: number; turns: number } {
    return this.ring ? { ...this.ring.stats } : { samples: 0, lost: 0, turns: 0 };
  }

  /**
   * Stops the datapath. With `cleanup` (the default) the hooks are detached,
   * veth peers restored and the pins removed. Without it (a daemon stopping
   * for a restart) a pinned datapath keeps forwarding on its megaflows:
   * attachments and maps outlive this process, as kernel flows outlive
   * ovs-vswitchd.
   */
  async close(opts: { cleanup?: boolean } = {}): Promise<void> {
    const cleanup = opts.cleanup ?? true;
    for (const t of this.timers) clearInterval(t);
    this.ring?.stop();
    if (cleanup || !this.opts.pinDir) {
      for (const p of [...this.portMap.values()]) {
        this.detachHook(p);
        await this.unarrangePeer(p);
        if (p.peerTxOff) await this.peerTxChecksum(p, true);
      }
      this.portMap.clear();
      for (const rp of [...this.recoveredPorts.values()]) await this.releasePort(rp);
      if (this.opts.pinDir) fs.rmSync(this.opts.pinDir, { recursive: true, force: true });
    }
    this.portMap.clear();
    this.sock.close();
    this.peerObj?.close();
    this.obj.close();
    this.rtnl.close();
  }
}

/**
 * Free flows[] slots, FIFO (a slot is reused as late as possible, so EMC
 * entries for its previous flow have aged out). A ring: Array#shift is O(n)
 * at 65 536 entries and cost microseconds per flow install.
 */
class SlotQueue {
  private buf = new Int32Array(1024);
  private head = 0;
  private n = 0;

  get length(): number { return this.n; }

  push(id: number): void {
    if (this.n === this.buf.length) this.grow();
    this.buf[(this.head + this.n++) % this.buf.length] = id;
  }

  /** Puts back a slot just taken (an install that failed). */
  pushFront(id: number): void {
    if (this.n === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = id;
    this.n++;
  }

  shift(): number | undefined {
    if (!this.n) return undefined;
    const id = this.buf[this.head];
    this.head = (this.head + 1) % this.buf.length;
    this.n--;
    return id;
  }

  private grow(): void {
    const b = new Int32Array(this.buf.length * 2);
    for (let i = 0; i < this.n; i++) b[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = b;
    this.head = 0;
  }
}

/* ---- loading and pinning ----------------------------------------------------- */

const BPF_FS_MAGIC = 0xcafe4a11;

/** Makes sure `dir` is on a bpffs, mounting /sys/fs/bpf if nothing is mounted there (as systemd does at boot). */
function ensureBpffs(dir: string): void {
  const onBpffs = (d: string): boolean => { try { return fs.statfsSync(d).type === BPF_FS_MAGIC; } catch { return false; } };
  let probe = dir;
  while (!fs.existsSync(probe)) probe = path.dirname(probe);
  if (!onBpffs(probe) && (dir + '/').startsWith('/sys/fs/bpf/')) {
    fs.mkdirSync('/sys/fs/bpf', { recursive: true });
    const r = spawnSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot mount bpffs on /sys/fs/bpf: ${(r.stderr || r.error?.message || '').trim()}`);
    log.info('mounted bpffs on /sys/fs/bpf');
    probe = '/sys/fs/bpf';
  }
  if (!onBpffs(probe)) throw new Error(`${dir} is not on a BPF filesystem (mount -t bpf bpf DIR)`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Pins `fd` at `file`, replacing what was pinned there. */
function repin(fd: number, file: string): void {
  fs.rmSync(file, { force: true });
  bpfObjPin(fd, file);
}

/** A capacity request (flow-limit) clamped to what the fast path supports. */
function flowCapacity(n: number | undefined): number {
  const want = Number.isFinite(n) ? Math.floor(n!) : DEFAULT_FLOW_CAPACITY;
  return Math.min(Math.max(want, MIN_FLOW_CAPACITY), MAX_FLOW_CAPACITY);
}

/**
 * Opens and loads the datapath object, its flow maps sized for `capacity`
 * megaflows. With `pinDir`, its maps are pinned there, or re-used when a
 * previous run pinned them (`recovered`): then the pinned size is kept, so
 * the restart stays hitless (a new capacity needs a fresh fast path: exit
 * --cleanup, or del-br/add-br). If the pinned maps no longer fit this
 * program (an upgrade changed a map), they are replaced by fresh ones,
 * logged: the old fast path stops with the new attach.
 */
function loadDatapath(pinDir: string | undefined, capacity: number):
{ obj: BpfObject; recovered: boolean; previousProgIds: number[]; pinned: boolean; capacity: number } {
  const file = bpfObjectPath(probeFeatures().coarseClock ? 'datapath.bpf.o' : 'datapath-510.bpf.o');
  const open = (slots: number): BpfObject => {
    const obj = BpfObject.open(file);
    try {
      for (const m of FLOW_CAPACITY_MAPS) obj.setMapMaxEntries(m, slots);
      if (pinDir) for (const m of PINNED_MAPS) obj.setPinPath(m, path.join(pinDir, m));
      obj.load();
      return obj;
    } catch (e) {
      obj.close();
      throw e;
    }
  };
  if (pinDir) {
    try {
      ensureBpffs(pinDir);
    } catch (e) {
      log.warn(`cannot pin the fast path (${(e as Error).message}): it will stop with the daemon, restarts are not hitless`);
      pinDir = undefined;
    }
  }
  if (!pinDir) return { obj: open(capacity), recovered: false, previousProgIds: [], pinned: false, capacity };
  const recovered = fs.existsSync(path.join(pinDir, 'megaflows'));
  const previousProgIds = PINNED_PROGS.map((n) => pinnedObjId(path.join(pinDir, n))).filter((id) => id > 0);
  const pinnedSlots = recovered ? pinnedMapMaxEntries(path.join(pinDir, 'flows')) : 0;
  let slots = pinnedSlots || capacity;
  if (pinnedSlots && pinnedSlots !== capacity) {
    log.warn(`the pinned fast path at ${pinDir} holds ${pinnedSlots} megaflows, not the ${capacity} asked for: ` +
      'kept for a hitless restart (a fresh fast path, e.g. after exit --cleanup, takes the new size)');
  }
  let obj: BpfObject;
  let adopted = recovered;
  try {
    obj = open(slots);
  } catch (e) {
    if (!recovered) throw e;
    log.warn(`the fast path pinned at ${pinDir} does not fit this version (${(e as Error).message.split('\n')[0]}): starting a fresh one`);
    for (const m of PINNED_MAPS) fs.rmSync(path.join(pinDir, m), { force: true });
    slots = capacity;
    obj = open(slots);
    adopted = false;
  }
  for (const n of PINNED_PROGS) repin(obj.program(n).fd, path.join(pinDir, n));
  return { obj, recovered: adopted, previousProgIds, pinned: true, capacity: slots };
}

function safeXdpId(ifindex: number, mode: 'native' | 'generic'): number {
  try { return xdpQueryId(ifindex, mode); } catch { return 0; }
}

function safeProgId(obj: BpfObject, name: string): number {
  try { return bpfObjId(obj.program(name).fd); } catch { return 0; }
}
