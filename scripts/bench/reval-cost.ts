/*
 * In-process costs behind the daemon's CPU (no namespaces, no BPF): one
 * revalidator pass over N active megaflows, pushing through xlate caches
 * (now) versus translating each again (before: forced here by bumping
 * reval_seq before the pass, which is exactly the old code path); and the
 * translation cost of one upcall with 100 k rules in table 0, in one
 * subtable or spread over many.
 */
import { performance } from 'perf_hooks';
import { FlowKey, parseMac } from '../../src/dpif/flow-key';
import { Dpif, DpifPort, DpifStats, FlowStatsEntry } from '../../src/dpif/dpif';
import { decodeFlowMsg, encodePacketMsg, FlowCmd, PacketCmd, XDP_FAMILY_IDS } from '../../src/dpif/odp-netlink';
import { MacLearning } from '../../src/ofproto/mac-learning';
import { Match } from '../../src/ofproto/match';
import { OFPP } from '../../src/ofproto/meta-flow';
import { OfTables } from '../../src/ofproto/tables';
import { parseFlowMod } from '../../src/ofproto/ofp-parse';
import { Udpif } from '../../src/ofproto/udpif';
import { xlate, XlateContext } from '../../src/ofproto/xlate';

/** A datapath that only keeps flows and hands out counts: every flow saw one more packet per dump. */
class CountingDpif extends Dpif {
  readonly name = 'bench@reval';
  readonly dpIfindex = 0;
  readonly flows = new Map<string, { ufid: Buffer; packets: bigint }>();
  transact(req: Buffer): Buffer[] {
    if (req.readUInt16LE(4) === XDP_FAMILY_IDS.ovs_packet) return [];
    const m = decodeFlowMsg(req);
    if (m.cmd === FlowCmd.NEW && m.ufid) this.flows.set(m.ufid.toString('hex'), { ufid: m.ufid, packets: 0n });
    if (m.cmd === FlowCmd.DEL && m.ufid) this.flows.delete(m.ufid.toString('hex'));
    return [];
  }
  override flowStatsDump(): FlowStatsEntry[] {
    const now = Number(process.hrtime.bigint() / 1000000n);      // just used: none expires
    return [...this.flows.values()].map((f) => ({ ufid: f.ufid, packets: ++f.packets, bytes: f.packets * 64n, usedMs: now }));
  }
  miss(key: FlowKey): void {
    this.emit('upcall', encodePacketMsg({ cmd: PacketCmd.MISS, dpIfindex: 0, packet: Buffer.alloc(64), key, len: 64 }));
  }
  stats(): DpifStats { return { hit: 0n, missed: 0n, lost: 0n, flows: this.flows.size, masksHit: 0n, masksTotal: 0, emcHit: 0n, megaflowHit: 0n, slowPath: 0n, txErrors: 0n, parseTruncated: 0n }; }
  ports(): DpifPort[] { return []; }
  async close(): Promise<void> { /* nothing */ }
}

function udpKey(i: number): FlowKey {
  const k = new FlowKey(); k.inPort = 1;
  k.setField('eth_src', parseMac('02:00:0a:ea:00:01')).setField('eth_dst', parseMac('02:00:0a:ea:00:02')).setField('eth_type', 0x0800)
    .setField('nw_proto', 17).setField('nw_ttl', 64).setField('tp_src', SPORTS[0] + (i % 400)).setField('tp_dst', DPORTS[0] + Math.floor(i / 400))
    .setField('nw_src', Buffer.from([10, 234, 0, 1, ...new Array(12).fill(0)])).setField('nw_dst', Buffer.from([10, 234, 0, 2, ...new Array(12).fill(0)]));
  return k;
}

/** Source and destination port ranges of the bench traffic: 400 x 251 = 100 400 distinct pairs (trafgen dinc, coprime). */
export const SPORTS: [number, number] = [1024, 1423];
export const DPORTS: [number, number] = [2000, 2250];

/**
 * Rules that make every megaflow exact on the UDP ports without matching
 * the traffic: (s, 1) for each source port and (1, d) for each destination
 * port. No prefix of either port field proves a miss, so the classifier
 * un-wildcards both ports whole: one megaflow per 5-tuple (as OVS
 * upcall/disable-megaflows would give). The traffic itself goes to NORMAL.
 */
export function exactPortRules(): string[] {
  const out: string[] = [];
  for (let s = SPORTS[0]; s <= SPORTS[1]; s++) out.push(`priority=200,udp,tp_src=${s},tp_dst=1,actions=drop`);
  for (let d = DPORTS[0]; d <= DPORTS[1]; d++) out.push(`priority=200,udp,tp_src=1,tp_dst=${d},actions=drop`);
  return out;
}

const ports = [1, 2].map((p) => ({ ofport: p, name: `p${p}`, live: true }));

/**
 * The bench pipeline of daemon-cost (exact tp_src/tp_dst megaflows, NORMAL):
 * `n` megaflows installed through upcalls, then passes with every flow active.
 */
export function revalidatorPassMs(n: number, passes = 3): { xcacheMs: number; retranslateMs: number } {
  const tables = new OfTables();
  tables.add({ priority: 0, match: Match.any(), actions: [{ type: 'output', port: OFPP.NORMAL }] });
  for (const l of exactPortRules()) tables.add(parseFlowMod(l, 'add'));
  const macs = new MacLearning(300, 8192);
  macs.learn(0, parseMac('02:00:0a:ea:00:02'), 2);
  const ctx: XlateContext = { bridge: 'br0', tables, macs, ports: () => ports };
  const dp = new CountingDpif();
  const u = new Udpif(dp, ctx);
  u.setFlowLimitCeiling(1 << 20);
  u.flowLimit = 1 << 20;
  for (let i = 0; i < n; i++) dp.miss(udpKey(i));
  const time = (stale: boolean): number => {
    const t: number[] = [];
    for (let p = 0; p < passes; p++) {
      if (stale) u.bumpRevalSeq();
      const t0 = performance.now();
      u.revalidatorPass();
      t.push(performance.now() - t0);
      u.flowLimit = 1 << 20;                     // the pass may have shrunk it: keep every flow
    }
    return t.sort((a, b) => a - b)[Math.floor(t.length / 2)];
  };
  const retranslateMs = time(true), xcacheMs = time(false);
  if (dp.flows.size !== n) throw new Error(`expected ${n} megaflows, have ${dp.flows.size}`);
  u.close(); macs.close();
  return { xcacheMs, retranslateMs };
}

/** Lines of an add-flows file: `n` rules in table 0, one subtable (nw_dst /32) or many (prefix length x L4 port). */
export function ruleLines(n: number, shape: 'one' | 'many'): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    if (shape === 'one') out.push(`priority=100,ip,nw_dst=${ip},actions=output:2`);
    else {
      const plen = 16 + (i % 17), l4 = Math.floor(i / 17) % 8;   // 17 prefix lengths x 8 L4 shapes = 136 subtables
      const tp = l4 === 0 ? '' : `,tp_dst=${1000 + l4}/0x${((0xffff << (l4 * 2)) & 0xffff).toString(16)}`;
      out.push(`priority=${100 + plen},${l4 ? 'udp' : 'ip'},nw_dst=${ip}/${plen}${tp},actions=output:2`);
    }
  }
  return out;
}

/** µs per translation of a miss with `n` rules in table 0 (plus the NORMAL default); also the time to insert them. */
export function xlateCost(n: number, shape: 'one' | 'many', samples = 20000): { insertMs: number; usPerXlate: number; subtables: number } {
  const tables = new OfTables();
  const fms = ruleLines(n, shape).map((l) => parseFlowMod(l, 'add'));
  const t0 = performance.now();
  for (const fm of fms) tables.add(fm);
  tables.add({ priority: 0, match: Match.any(), actions: [{ type: 'output', port: OFPP.NORMAL }] });
  const insertMs = performance.now() - t0;
  const macs = new MacLearning(300, 8192);
  macs.learn(0, parseMac('02:00:0a:ea:00:02'), 2);
  const ctx: XlateContext = { bridge: 'br0', tables, macs, ports: () => ports };
  for (let i = 0; i < 2000; i++) xlate(ctx, udpKey(i), { credit: { packets: 1n, bytes: 64n } });   // warm-up
  const t1 = performance.now();
  for (let i = 0; i < samples; i++) xlate(ctx, udpKey(i), { credit: { packets: 1n, bytes: 64n } });
  const usPerXlate = ((performance.now() - t1) * 1000) / samples;
  macs.close();
  return { insertMs, usPerXlate, subtables: tables.tables[0].nSubtables };
}
