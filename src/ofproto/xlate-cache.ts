/*
 * xlate cache (OVS ofproto-dpif-xlate-cache): what one translation of a
 * megaflow touched whose counters or timers its later packets must reach:
 * the table lookups, the rules (packet/byte counts, idle-timeout use), the
 * groups and buckets, and the MAC entries NORMAL learns (refresh). The
 * revalidator pushes a megaflow's new datapath counts through its cache
 * instead of translating it again; the cache is rebuilt whenever the
 * megaflow is translated again (a change to the tables or ports bumps the
 * udpif's reval_seq, see udpif.ts).
 *
 * Translation charges the same entries through xcApply() when it carries
 * credit, so a push and a re-translation count exactly alike.
 */
import { Rule, Group, Bucket } from './ofp-actions';
import type { XlateContext } from './xlate';

export type XcEntry =
  | { type: 'table'; tableId: number; hit: boolean }
  | { type: 'rule'; rule: Rule }
  | { type: 'group'; group: Group }
  | { type: 'bucket'; bucket: Bucket }
  /** NORMAL's learning of the source MAC (OVS XC_NORMAL): re-learning refreshes the entry or learns it again. */
  | { type: 'learn'; vlan: number; mac: Buffer; port: number };

export interface XcCredit { packets: bigint; bytes: bigint }

/** Charges one entry with `credit` packets (`now`: the rules' used time, Date.now()). */
export function xcApply(ctx: XlateContext, e: XcEntry, credit: XcCredit, now: number): void {
  switch (e.type) {
    case 'table': ctx.tables.countLookup?.(e.tableId, e.hit, credit.packets); break;
    case 'rule': e.rule.nPackets += credit.packets; e.rule.nBytes += credit.bytes; e.rule.usedAt = now; break;
    case 'group': e.group.nPackets += credit.packets; e.group.nBytes += credit.bytes; break;
    case 'bucket': e.bucket.nPackets += credit.packets; e.bucket.nBytes += credit.bytes; break;
    case 'learn': ctx.macs.learn(e.vlan, e.mac, e.port); break;
  }
}

export class XlateCache {
  readonly entries: XcEntry[] = [];

  add(e: XcEntry): void { this.entries.push(e); }

  /** The revalidator's push (OVS xlate_push_stats): every entry, in translation order. */
  push(ctx: XlateContext, credit: XcCredit, now = Date.now()): void {
    for (const e of this.entries) xcApply(ctx, e, credit, now);
  }

  /** Rules the translation matched (tests, debugging). */
  rules(): Rule[] { return this.entries.flatMap((e) => (e.type === 'rule' ? [e.rule] : [])); }
}
