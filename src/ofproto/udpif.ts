/*
 * udpif (OVS ofproto-dpif-upcall): receives OVS_PACKET_CMD_MISS upcalls from
 * the dpif, translates the packet, installs the megaflow (key & wildcards,
 * wildcards, actions) and executes the actions on the packet itself so the
 * first packet of a flow is delivered. Keeps the installed flows so that a
 * change of learned MACs or of the table revalidates the ones it affects.
 * Its revalidator pass (once a second) pushes datapath counts to the
 * OpenFlow side, expires idle megaflows and adapts the flow limit to how
 * long the pass took, as OVS's revalidator threads do.
 */
import { randomBytes } from 'crypto';
import { EventEmitter } from 'events';
import { Dpif } from '../dpif/dpif';
import { FlowKey, KEY_SIZE } from '../dpif/flow-key';
import { PacketCmd, decodePacketMsg, OvsPacketMsg } from '../dpif/odp-netlink';
import { xlate, XlateContext, normalizeMegaflowMask } from './xlate';
import { decodeControllerUserdata, PacketIn } from './packet-in';
import { XlateCache } from './xlate-cache';
import { Vlog } from '../lib/vlog';
import { performance } from 'perf_hooks';

const log = new Vlog('ofproto_dpif_upcall');

/**
 * An installed megaflow (OVS's udpif_key): key & mask as installed, the
 * wildcards translation asked for (mask may be narrower), the datapath
 * counts already pushed to the OpenFlow rules, and what its last
 * translation touched (xcache), valid while the udpif's reval_seq is still
 * the one it was built at.
 */
interface Installed {
  ufid: Buffer; key: FlowKey; mask: FlowKey; wc: FlowKey; macs: Set<string>;
  pushed: { packets: bigint; bytes: bigint };
  installedMs: number;            // monotonic ms: idle time counts from here until the first hit
  xcache?: XlateCache;            // absent: the next push translates again (and keeps the cache)
  revalSeq?: number;
}

export interface UdpifCounters {
  upcalls: number; installed: number; installFailed: number; executed: number; badUpcalls: number; actionUpcalls: number;
  revalidated: number; narrowed: number;
  /** Revalidator pushes through a megaflow's xlate cache / by translating it again (cache missing or stale). */
  xcachePushes: number; retranslated: number;
  /** Upcalls forwarded without installing a megaflow because the flow limit was reached. */
  limited: number;
  /** Megaflows deleted by the revalidator for being idle longer than max-idle. */
  idleExpired: number;
  /** Megaflows found in the datapath at start-up and kept / deleted. */
  adopted: number; adoptRejected: number;
}

/**
 * other_config:max-idle (ms, OVS's default) and flow-limit, the ceiling of
 * the dynamic limit (OVS's default 200 000; the fast path is sized for it,
 * and the ceiling never exceeds the datapath's capacity).
 */
export const DEFAULT_MAX_IDLE_MS = 10000;
export const DEFAULT_FLOW_LIMIT = 200000;
const FLOW_LIMIT_START = 10000, FLOW_LIMIT_FLOOR = 1000;

/**
 * A random 128-bit flow id (OVS UFIDs are random-keyed hashes). Taken from
 * a pool: randomBytes(16) per flow cost ~2 µs of the upcall.
 */
let ufidPool = Buffer.alloc(0), ufidOff = 0;
function newUfid(): Buffer {
  if (ufidOff === ufidPool.length) { ufidPool = randomBytes(16 * 1024); ufidOff = 0; }
  const u = Buffer.from(ufidPool.subarray(ufidOff, ufidOff + 16));   // a copy: a kept ufid must not pin the pool
  ufidOff += 16;
  return u;
}

/** Megaflows disabled: match every field present in the packet (no wildcards). */
function exactWildcards(key: FlowKey): FlowKey {
  const wc = FlowKey.exactMask();
  normalizeMegaflowMask(key, wc);
  return wc;
}

const monoMs = (): number => Number(process.hrtime.bigint() / 1000000n);

export class Udpif extends EventEmitter {
  readonly counters: UdpifCounters = {
    upcalls: 0, installed: 0, installFailed: 0, executed: 0, badUpcalls: 0, actionUpcalls: 0, revalidated: 0, narrowed: 0,
    xcachePushes: 0, retranslated: 0, limited: 0, idleExpired: 0, adopted: 0, adoptRejected: 0,
  };
  /** Idle megaflows are deleted after this long (other_config:max-idle). */
  maxIdleMs = DEFAULT_MAX_IDLE_MS;
  /** The dynamic flow limit's ceiling (other_config:flow-limit). */
  private flowLimitCeiling = DEFAULT_FLOW_LIMIT;
  /** Above this many megaflows, upcalls are forwarded but not installed. */
  flowLimit = FLOW_LIMIT_START;
  /** The last revalidator pass: its duration, and flow counts over the passes (upcall/show). */
  readonly dump = { durationMs: 0, passes: 0, avgFlows: 0, maxFlows: 0 };
  private readonly flows = new Map<string, Installed>();
  /** Installed megaflows by mask, to keep new ones disjoint from them. */
  private readonly byMask = new Map<string, { mask: FlowKey; flows: Map<string, Installed> }>();   // by masked key
  private readonly onUpcall = (buf: Buffer, decoded?: OvsPacketMsg): void => this.handle(buf, decoded);
  /**
   * OVS udpif->reval_seq: bumped by every change that can alter what a
   * translation touches (tables, groups, ports); a megaflow's xlate cache
   * built at an older value is not trusted.
   */
  private revalSeq = 0;
  private readonly onBatchEnd = (): void => this.installPending();
  /** Megaflows of this batch of upcalls, tracked already, to install together (OVS handle_upcalls). */
  private pending: { put: Parameters<Dpif['flowPut']>[0]; f: Installed }[] = [];
  enabled = true;                       // install datapath flows at all (off: every packet is an upcall)
  /**
   * upcall/disable-megaflows: install exact-match flows (every field the
   * packet has, as OVS's flow_wildcards_init_for_packet), so each new
   * 5-tuple is an upcall and a datapath flow of its own. Use setMegaflows().
   */
  get megaflows(): boolean { return this.megaflowsOn; }
  private megaflowsOn = true;

  constructor(private readonly dpif: Dpif, private readonly ctx: XlateContext) {
    super();
    dpif.on('upcall', this.onUpcall);
    dpif.on('upcall-batch-end', this.onBatchEnd);
  }

  close(): void {
    this.installPending();
    this.dpif.off('upcall', this.onUpcall);
    this.dpif.off('upcall-batch-end', this.onBatchEnd);
  }

  /** An upcall's message bytes; a dpif in this process may pass the message it encoded too. */
  private handle(buf: Buffer, decoded?: OvsPacketMsg): void {
    let m: OvsPacketMsg;
    try {
      m = decoded ?? decodePacketMsg(buf);
    } catch (e) {
      this.counters.badUpcalls++;
      log.rateLimited('WARN', 'bad', `malformed upcall: ${(e as Error).message}`);
      return;
    }
    if (m.cmd === PacketCmd.ACTION) {
      try { this.action(m); } catch (e) { log.rateLimited('ERR', 'action', `userspace action failed: ${(e as Error).message}`); }
      return;
    }
    this.counters.upcalls++;
    try {
      this.miss(m.key, m.packet, m.len ?? m.packet.length);
    } catch (e) {
      log.rateLimited('ERR', 'miss', `upcall handling failed: ${(e as Error).message}`);
    }
  }

  /** A userspace action ran: a CONTROLLER action's packet becomes a packet-in. */
  private action(m: OvsPacketMsg): void {
    this.counters.actionUpcalls++;
    const u = decodeControllerUserdata(m.userdata);
    if (!u) return;
    const pin: PacketIn = { ...u, inPort: m.key.inPort, packet: m.packet.subarray(0, Math.min(u.maxLen, m.packet.length)), totalLen: m.len ?? m.packet.length };
    this.emit('packet-in', pin);
  }

  /**
   * Translate, execute, install. The packet goes out before its flow is
   * installed, as dpif-netdev does: a later packet of the flow then either
   * upcalls behind it or hits the flow after it was sent (no reordering),
   * and the first packet does not wait for the install. The megaflow is
   * tracked at once (a later upcall of this batch sees it) and installed
   * with the rest of the batch.
   */
  private miss(key: FlowKey, packet: Buffer, len: number): void {
    const x = xlate(this.ctx, key, { credit: { packets: 1n, bytes: BigInt(len) } });
    const limited = this.enabled && this.flows.size >= this.flowLimit;
    if (limited) {
      this.counters.limited++;
      log.rateLimited('WARN', 'limit', `datapath flow limit ${this.flowLimit} reached: forwarding upcalls without installing megaflows`);
    }
    if (x.actions.length && packet.length >= len) {
      this.dpif.execute(packet, key, x.actions);
      this.counters.executed++;
    }
    const mask = this.enabled && !limited ? this.disjoin(key, this.megaflowsOn ? x.wc : exactWildcards(key)) : undefined;
    if (!mask) return;
    const ufid = newUfid();
    const f: Installed = { ufid, key: key.and(mask), mask, wc: x.wc, macs: x.macs, pushed: { packets: 0n, bytes: 0n }, installedMs: monoMs(), xcache: x.xcache };
    this.track(f);
    this.pending.push({ put: { ufid, key, mask, actions: x.actions }, f });   // the datapath applies the mask
    if (!this.dpif.batchesUpcalls) this.installPending();
  }

  /** Installs the batch's megaflows in one dpif operation; a flow that failed is untracked (its next packet upcalls again). */
  private installPending(): void {
    const ps = this.pending;
    if (!ps.length) return;
    this.pending = [];
    let errs: (Error | undefined)[];
    try {
      errs = this.dpif.flowPutMany(ps.map((p) => p.put));
    } catch (e) {
      errs = ps.map(() => e as Error);
    }
    for (let i = 0; i < ps.length; i++) {
      const e = errs[i];
      if (!e) { this.counters.installed++; continue; }
      if (this.flows.get(ps[i].f.ufid.toString('hex')) === ps[i].f) this.untrack(ps[i].f);
      this.counters.installFailed++;
      log.rateLimited('WARN', 'put', `megaflow not installed: ${e.message}`);
    }
  }

  /**
   * Re-checks installed megaflows after a change. `affects` narrows the check
   * to flows that could depend on it; each candidate is re-translated and
   * deleted if its actions or wildcards would now differ (the next packet
   * upcalls and installs the right one).
   */
  revalidate(affects?: (f: Installed) => boolean): number {
    // A MAC learned mid-batch revalidates synchronously: the batch's tracked
    // flows must be in the datapath first, or they look gone and are untracked.
    this.installPending();
    // Everything is re-checked after a change to the tables or ports: caches built before it are stale.
    if (!affects) this.bumpRevalSeq();
    let n = 0;
    const ports = new Set(this.ctx.ports().map((p) => p.ofport));
    for (const f of [...this.flows.values()]) {
      if (affects && !affects(f)) continue;
      const got = this.dpif.flowGet(f.ufid);
      if (!got) { this.untrack(f); continue; }
      const x = xlate(this.ctx, f.key, { learn: false, xcache: true });
      // A packet of this flow would now learn (a host moved back, or its entry aged out): let the
      // next one upcall and learn, as OVS's revalidator re-learns from flow stats.
      const same = ports.has(f.key.inPort) && !x.wouldLearn && x.wc.equals(f.wc) && JSON.stringify(x.actions) === JSON.stringify(got.actions);
      if (same) { this.setCache(f, x.xcache); continue; }
      this.dpif.flowDel(f.ufid);
      this.untrack(f);
      n++;
    }
    this.counters.revalidated += n;
    return n;
  }

  /**
   * A change that can alter translations happened (OVS udpif_revalidate()):
   * xlate caches built before it are not used, their megaflows are
   * translated again by the next push.
   */
  bumpRevalSeq(): void { this.revalSeq++; }

  private setCache(f: Installed, xc: XlateCache | undefined): void {
    f.xcache = xc;
    f.revalSeq = this.revalSeq;
  }

  /**
   * Credits a megaflow's new datapath counts to the OpenFlow side (rules,
   * groups, table lookups, idle timeouts, the MAC entries its packets
   * refresh): through its xlate cache when that is current (OVS
   * xlate_push_stats), else by translating it again, which rebuilds the cache.
   */
  private pushStats(f: Installed, packets: bigint, bytes: bigint): void {
    if (f.xcache && f.revalSeq === this.revalSeq) {
      f.xcache.push(this.ctx, { packets, bytes });
      this.counters.xcachePushes++;
      return;
    }
    const x = xlate(this.ctx, f.key, { credit: { packets, bytes } });
    this.setCache(f, x.xcache);
    this.counters.retranslated++;
  }

  /**
   * One revalidator pass (OVS revalidate()): dumps every megaflow's counters
   * and credits what the datapath forwarded since the last pass to the
   * OpenFlow side (pushStats); deletes megaflows idle longer than
   * max-idle (100 ms while over the flow limit; all of them above twice the
   * limit); then adapts the flow limit to the pass's duration as OVS does.
   */
  revalidatorPass(): { pushed: number; expired: number } {
    this.installPending();
    const t0 = performance.now();
    const n = this.flows.size;
    const maxIdle = n > this.flowLimit ? 100 : this.maxIdleMs;
    const killAll = n > 2 * this.flowLimit;
    const now = monoMs();
    let pushed = 0, expired = 0;
    const dels: Buffer[] = [];
    for (const d of this.dpif.flowStatsDump()) {
      const f = this.flows.get(d.ufid.toString('hex'));
      if (!f) continue;
      const packets = d.packets - f.pushed.packets, bytes = d.bytes - f.pushed.bytes;
      if (packets > 0n) {
        f.pushed = { packets: d.packets, bytes: d.bytes };
        this.pushStats(f, packets, bytes);
        pushed++;
      }
      const lastUsed = d.usedMs > 0 ? d.usedMs : f.installedMs;
      if (killAll || now - lastUsed > maxIdle) {
        dels.push(f.ufid);
        this.untrack(f);
        expired++;
      }
    }
    this.dpif.flowDelMany(dels);     // one batch (dpif-xdp: a few syscalls instead of 2-3 per flow)
    this.counters.idleExpired += expired;
    const ms = performance.now() - t0;
    this.adaptFlowLimit(n, ms);
    const d = this.dump;
    d.durationMs = ms;
    d.avgFlows = (d.avgFlows * d.passes + n) / (d.passes + 1);
    d.passes++;
    d.maxFlows = Math.max(d.maxFlows, n);
    return { pushed, expired };
  }

  /** OVS udpif_revalidator's rule: shrink when a pass is slow, grow by 1000 when fast and busy. */
  private adaptFlowLimit(flows: number, durationMs: number): void {
    let l = this.flowLimit;
    if (durationMs > 2000) l = l / (durationMs / 1000);
    else if (durationMs > 1300) l = (l * 3) / 4;
    else if (durationMs < 1000 && flows > 2000 && l < (flows * 1000) / Math.max(durationMs, 1)) l += 1000;
    this.flowLimit = Math.floor(Math.min(this.flowLimitCeiling, Math.max(l, FLOW_LIMIT_FLOOR)));
  }

  /**
   * other_config:flow-limit: the ceiling of the dynamic limit (the limit
   * itself is lowered at once if above), at most the datapath's capacity.
   */
  setFlowLimitCeiling(want: number): void {
    const cap = this.dpif.flowCapacity ?? Infinity;
    const n = Math.min(want, cap);
    if (want > cap && this.flowLimitCeiling !== n) {
      log.warn(`flow-limit ${want} is above the datapath's ${cap} megaflow slots: the limit is ${cap} until the fast path is re-created`);
    }
    this.flowLimitCeiling = n;
    this.flowLimit = Math.min(Math.max(Math.min(FLOW_LIMIT_START, n), this.flowLimit), n);
  }

  get flowLimitMax(): number { return this.flowLimitCeiling; }

  /**
   * After a restart: takes over the megaflows the previous run left in the
   * datapath. Their packets first teach MAC learning (as they would have on
   * upcall), then each is translated: it is kept if its actions are what the
   * fast path already does and its mask covers every field the translation
   * looked at; otherwise it is deleted and its next packet upcalls.
   */
  adopt(): { kept: number; deleted: number } {
    this.installPending();
    const dumped = this.dpif.flowDump();
    for (const d of dumped) xlate(this.ctx, d.key, {});
    let kept = 0, deleted = 0;
    const now = monoMs();
    for (const d of dumped) {
      const x = xlate(this.ctx, d.key, { learn: false, xcache: true });
      const covers = x.wc.buf.every((b, i) => (b & ~d.mask.buf[i]) === 0);
      if (!x.wouldLearn && !x.error && covers && this.dpif.adoptFlow(d.ufid, x.actions)) {
        this.track({ ufid: d.ufid, key: d.key, mask: d.mask, wc: x.wc, macs: x.macs, pushed: { packets: d.stats.packets, bytes: d.stats.bytes }, installedMs: now, xcache: x.xcache });
        kept++;
      } else {
        this.dpif.flowDel(d.ufid);
        deleted++;
      }
    }
    this.counters.adopted += kept;
    this.counters.adoptRejected += deleted;
    return { kept, deleted };
  }

  /** Flows whose translation learned or looked up MAC `mac` (NORMAL records them, set_field rewrites included). */
  revalidateMac(mac: string): number {
    return this.revalidate((f) => f.macs.has(mac));
  }

  /**
   * upcall/{enable,disable}-megaflows: switches the mode and flushes the
   * datapath flows, as OVS does (`flush` false: a bridge being created).
   */
  setMegaflows(on: boolean, flush = true): void {
    this.megaflowsOn = on;
    if (flush) this.flush();
  }

  flush(): void {
    this.installPending();          // counted as installed, then flushed with the rest
    this.dpif.flowFlush();
    this.flows.clear();
    this.byMask.clear();
  }

  private track(f: Installed): void {
    if (f.xcache) f.revalSeq = this.revalSeq;      // translated just now
    this.flows.set(f.ufid.toString('hex'), f);
    const id = f.mask.hex();
    let g = this.byMask.get(id);
    if (!g) this.byMask.set(id, (g = { mask: f.mask, flows: new Map() }));
    g.flows.set(f.key.hex(), f);
  }

  private untrack(f: Installed): void {
    this.flows.delete(f.ufid.toString('hex'));
    const id = f.mask.hex();
    const g = this.byMask.get(id);
    if (g && g.flows.get(f.key.hex()) === f) {
      g.flows.delete(f.key.hex());
      if (!g.flows.size) this.byMask.delete(id);
    }
  }

  /**
   * The mask to install for `key`: the wildcards, narrowed until the
   * megaflow is disjoint from every installed one, so the datapath's
   * first hit is the only hit. A packet that missed megaflow F differs from
   * it in some bit of F's mask; where the wildcards would overlap F, that
   * bit is added. Megaflows under a mask with no bits outside the new one
   * cannot overlap (the packet missed them), so most masks are skipped
   * whole. Undefined when `key` is already covered (an upcall that raced
   * the install of its megaflow): nothing to install.
   */
  private disjoin(key: FlowKey, wc: FlowKey): FlowKey | undefined {
    const m2 = wc.clone();
    const k = key.buf, n = m2.buf;
    let narrowed = false;
    for (const g of this.byMask.values()) {
      const m1 = g.mask.buf;
      let outside = false;
      for (let i = 0; i < KEY_SIZE && !outside; i++) if (m1[i] & ~n[i]) outside = true;
      if (!outside) {
        // Same or wider wildcards: the packet matches one of these only if it raced its install.
        if (g.flows.has(key.and(g.mask).hex())) return undefined;
        continue;
      }
      for (const f of g.flows.values()) {
        const k1 = f.key.buf;
        let overlap = true;
        for (let i = 0; i < KEY_SIZE && overlap; i++) if ((k1[i] ^ k[i]) & m1[i] & n[i]) overlap = false;
        if (!overlap) continue;
        let i = 0;
        while (i < KEY_SIZE && !((k1[i] ^ k[i]) & m1[i])) i++;
        if (i === KEY_SIZE) return undefined;           // the packet is inside f
        const d = (k1[i] ^ k[i]) & m1[i];
        n[i] |= d & -d;                                  // one differing bit separates them
        narrowed = true;
      }
    }
    if (narrowed) { normalizeMegaflowMask(key, m2); this.counters.narrowed++; }
    return m2;
  }

  flowCount(): number { return this.flows.size; }
}
