/*
 * udpif (OVS ofproto-dpif-upcall): receives OVS_PACKET_CMD_MISS upcalls from
 * the dpif, translates the packet, installs the megaflow (key & wildcards,
 * wildcards, actions) and executes the actions on the packet itself so the
 * first packet of a flow is delivered. Keeps the installed flows so that a
 * change of learned MACs or of the table revalidates the ones it affects.
 */
import { randomBytes } from 'crypto';
import { EventEmitter } from 'events';
import { Dpif } from '../dpif/dpif';
import { FlowKey, KEY_SIZE } from '../dpif/flow-key';
import { PacketCmd, decodePacketMsg, OvsPacketMsg } from '../dpif/odp-netlink';
import { xlate, XlateContext, normalizeMegaflowMask } from './xlate';
import { decodeControllerUserdata, PacketIn } from './packet-in';
import { Vlog } from '../lib/vlog';

const log = new Vlog('ofproto_dpif_upcall');

/**
 * An installed megaflow: key & mask as installed, the wildcards translation
 * asked for (mask may be narrower), and the datapath counts already pushed
 * to the OpenFlow rules.
 */
interface Installed { ufid: Buffer; key: FlowKey; mask: FlowKey; wc: FlowKey; macs: Set<string>; pushed: { packets: bigint; bytes: bigint } }

export interface UdpifCounters {
  upcalls: number; installed: number; installFailed: number; executed: number; badUpcalls: number; actionUpcalls: number;
  revalidated: number; narrowed: number;
}

export class Udpif extends EventEmitter {
  readonly counters: UdpifCounters = { upcalls: 0, installed: 0, installFailed: 0, executed: 0, badUpcalls: 0, actionUpcalls: 0, revalidated: 0, narrowed: 0 };
  private readonly flows = new Map<string, Installed>();
  /** Installed megaflows by mask, to keep new ones disjoint from them. */
  private readonly byMask = new Map<string, { mask: FlowKey; flows: Map<string, Installed> }>();   // by masked key
  private readonly onUpcall = (buf: Buffer): void => this.handle(buf);
  enabled = true;                       // megaflow install on (upcall/enable-megaflows analogue)

  constructor(private readonly dpif: Dpif, private readonly ctx: XlateContext) {
    super();
    dpif.on('upcall', this.onUpcall);
  }

  close(): void { this.dpif.off('upcall', this.onUpcall); }

  private handle(buf: Buffer): void {
    let m: OvsPacketMsg;
    try {
      m = decodePacketMsg(buf);
    } catch (e) {
      this.counters.badUpcalls++;
      log.rateLimited('WARN', 'bad', `malformed upcall: ${(e as Error).message}`);
      return;
    }
    if (m.cmd === PacketCmd.ACTION) { this.action(m); return; }
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

  /** Translate, install, execute. */
  private miss(key: FlowKey, packet: Buffer, len: number): void {
    const x = xlate(this.ctx, key, { credit: { packets: 1n, bytes: BigInt(len) } });
    const mask = this.enabled ? this.disjoin(key, x.wc) : undefined;
    if (mask) {
      const ufid = randomBytes(16);
      try {
        this.dpif.flowPut({ ufid, key, mask, actions: x.actions });   // the datapath applies the mask
        this.track({ ufid, key: key.and(mask), mask, wc: x.wc, macs: x.macs, pushed: { packets: 0n, bytes: 0n } });
        this.counters.installed++;
      } catch (e) {
        this.counters.installFailed++;
        log.rateLimited('WARN', 'put', `megaflow not installed: ${(e as Error).message}`);
      }
    }
    if (x.actions.length && packet.length >= len) {
      this.dpif.execute(packet, key, x.actions);
      this.counters.executed++;
    }
  }

  /**
   * Re-checks installed megaflows after a change. `affects` narrows the check
   * to flows that could depend on it; each candidate is re-translated and
   * deleted if its actions or wildcards would now differ (the next packet
   * upcalls and installs the right one).
   */
  revalidate(affects: (f: Installed) => boolean = () => true): number {
    let n = 0;
    for (const f of [...this.flows.values()]) {
      if (!affects(f)) continue;
      const got = this.dpif.flowGet(f.ufid);
      if (!got) { this.untrack(f); continue; }
      const x = xlate(this.ctx, f.key, { learn: false });
      // A packet of this flow would now learn (a host moved back, or its entry aged out): let the
      // next one upcall and learn, as OVS's revalidator re-learns from flow stats.
      const same = !x.wouldLearn && x.wc.equals(f.wc) && JSON.stringify(x.actions) === JSON.stringify(got.actions);
      if (same) continue;
      this.dpif.flowDel(f.ufid);
      this.untrack(f);
      n++;
    }
    this.counters.revalidated += n;
    return n;
  }

  /**
   * Credits what the datapath forwarded since the last push to the OpenFlow
   * side, as OVS's revalidator does: each megaflow with new packets is
   * translated again with those counts, which charges its rules, groups and
   * table lookups (n_packets, n_bytes, idle timeouts) and refreshes the MAC
   * entries its packets would learn. Returns the megaflows pushed.
   */
  pushStats(): number {
    let n = 0;
    for (const d of this.dpif.flowDump()) {
      const f = this.flows.get(d.ufid.toString('hex'));
      if (!f) continue;
      const packets = d.stats.packets - f.pushed.packets, bytes = d.stats.bytes - f.pushed.bytes;
      if (packets <= 0n) continue;
      f.pushed = { packets: d.stats.packets, bytes: d.stats.bytes };
      xlate(this.ctx, f.key, { credit: { packets, bytes } });
      n++;
    }
    return n;
  }

  /** Flows whose translation learned or looked up MAC `mac` (NORMAL records them, set_field rewrites included). */
  revalidateMac(mac: string): number {
    return this.revalidate((f) => f.macs.has(mac));
  }

  flush(): void {
    this.dpif.flowFlush();
    this.flows.clear();
    this.byMask.clear();
  }

  private track(f: Installed): void {
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
