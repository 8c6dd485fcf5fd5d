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
import { FlowKey, macToString } from '../dpif/flow-key';
import { PacketCmd, decodePacketMsg, OvsPacketMsg } from '../dpif/odp-netlink';
import { xlate, XlateContext } from './xlate';
import { decodeControllerUserdata, PacketIn } from './packet-in';
import { Vlog } from '../lib/vlog';

const log = new Vlog('ofproto_dpif_upcall');

interface Installed { ufid: Buffer; key: FlowKey; mask: FlowKey }

export interface UdpifCounters {
  upcalls: number; installed: number; installFailed: number; executed: number; badUpcalls: number; actionUpcalls: number;
  revalidated: number;
}

export class Udpif extends EventEmitter {
  readonly counters: UdpifCounters = { upcalls: 0, installed: 0, installFailed: 0, executed: 0, badUpcalls: 0, actionUpcalls: 0, revalidated: 0 };
  private readonly flows = new Map<string, Installed>();
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
    if (this.enabled) {
      const mask = x.wc;
      const ufid = randomBytes(16);
      try {
        this.dpif.flowPut({ ufid, key, mask, actions: x.actions });   // the datapath applies the mask
        this.flows.set(ufid.toString('hex'), { ufid, key: key.and(mask), mask });
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
      if (!got) { this.flows.delete(f.ufid.toString('hex')); continue; }
      const x = xlate(this.ctx, f.key, { learn: false });
      const same = x.wc.equals(f.mask) && JSON.stringify(x.actions) === JSON.stringify(got.actions);
      if (same) continue;
      this.dpif.flowDel(f.ufid);
      this.flows.delete(f.ufid.toString('hex'));
      n++;
    }
    this.counters.revalidated += n;
    return n;
  }

  /** Flows that may depend on MAC `mac` (as source or destination). */
  revalidateMac(mac: string): number {
    return this.revalidate((f) => macToString(f.key.ethDst) === mac || macToString(f.key.ethSrc) === mac);
  }

  flush(): void {
    this.dpif.flowFlush();
    this.flows.clear();
  }

  flowCount(): number { return this.flows.size; }
}
