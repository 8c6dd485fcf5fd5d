/*
 * MAC learning for the NORMAL action (OVS lib/mac-learning.c): (VLAN, MAC)
 * -> port, aged out after `agingSec` (300 s, OVS's default). Every change
 * that can alter a forwarding decision is reported so the megaflows that
 * depended on it are revalidated.
 */
import { EventEmitter } from 'events';
import { macToString } from '../dpif/flow-key';

export interface MacEntry { vlan: number; mac: string; port: number; learnedAt: number; usedAt: number }

export class MacLearning extends EventEmitter {
  private readonly table = new Map<string, MacEntry>();
  private timer: NodeJS.Timeout;

  constructor(public agingSec = 300, public maxEntries = 8192, private readonly now: () => number = Date.now) {
    super();
    this.timer = setInterval(() => this.expire(), Math.max(1000, (agingSec * 1000) / 10)).unref();
  }

  /** Bridge other_config mac-aging-time / mac-table-size, applied live (a smaller table evicts the oldest). */
  configure(agingSec: number, maxEntries: number): void {
    if (agingSec !== this.agingSec) {
      this.agingSec = agingSec;
      clearInterval(this.timer);
      this.timer = setInterval(() => this.expire(), Math.max(1000, (agingSec * 1000) / 10)).unref();
      this.expire();
    }
    this.maxEntries = maxEntries;
    while (this.table.size > this.maxEntries) this.evictOldest();
  }

  private static id(vlan: number, mac: string): string { return `${vlan}/${mac}`; }

  /** Learns `src` on `port`. Returns true when this changed the table (new or moved). */
  learn(vlan: number, src: Buffer, port: number): boolean {
    if (src[0] & 1) return false;                     // never learn multicast/broadcast sources
    const mac = macToString(src);
    const id = MacLearning.id(vlan, mac);
    const t = this.now();
    const e = this.table.get(id);
    if (e && e.port === port) { e.usedAt = t; return false; }
    if (!e && this.table.size >= this.maxEntries) this.evictOldest();
    this.table.set(id, { vlan, mac, port, learnedAt: t, usedAt: t });
    this.emit('changed', { vlan, mac, port, oldPort: e?.port });
    return true;
  }

  lookup(vlan: number, dst: Buffer): number | undefined {
    const e = this.table.get(MacLearning.id(vlan, macToString(dst)));
    if (!e || this.now() - e.usedAt > this.agingSec * 1000) return undefined;
    return e.port;
  }

  /** Forgets every entry on `port` (port removed), or everything. */
  flush(port?: number): void {
    for (const [id, e] of this.table) {
      if (port !== undefined && e.port !== port) continue;
      this.table.delete(id);
      this.emit('changed', { vlan: e.vlan, mac: e.mac, port: undefined, oldPort: e.port });
    }
  }

  entries(): MacEntry[] { return [...this.table.values()]; }

  expire(): void {
    const t = this.now();
    for (const [id, e] of this.table) {
      if (t - e.usedAt <= this.agingSec * 1000) continue;
      this.table.delete(id);
      this.emit('changed', { vlan: e.vlan, mac: e.mac, port: undefined, oldPort: e.port });
    }
  }

  private evictOldest(): void {
    let oldest: [string, MacEntry] | undefined;
    for (const kv of this.table) if (!oldest || kv[1].usedAt < oldest[1].usedAt) oldest = kv;
    if (oldest) {
      this.table.delete(oldest[0]);
      this.emit('changed', { vlan: oldest[1].vlan, mac: oldest[1].mac, port: undefined, oldPort: oldest[1].port });
    }
  }

  close(): void { clearInterval(this.timer); }
}
