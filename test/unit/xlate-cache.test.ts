/*
 * The xlate cache: the revalidator pushes a megaflow's datapath counts
 * through what its translation touched, and the result must be exactly
 * what translating it again would have charged; a change to the tables,
 * ports or MAC table must not leave counts going to what no longer applies.
 */
import { strict as assert } from 'assert';
import { FlowKey, parseMac } from '../../src/dpif/flow-key';
import { FlowStatsEntry } from '../../src/dpif/dpif';
import { MacLearning } from '../../src/ofproto/mac-learning';
import { OFPP } from '../../src/ofproto/meta-flow';
import { Bucket, GroupType, OFPG_ANY } from '../../src/ofproto/ofp-actions';
import { parseFlowMod } from '../../src/ofproto/ofp-parse';
import { OfTables } from '../../src/ofproto/tables';
import { Udpif } from '../../src/ofproto/udpif';
import { XlateContext, XPort } from '../../src/ofproto/xlate';
import { DpclsModel } from '../support/oracle/dpcls-model';

const A = parseMac('02:00:00:00:00:0a'), B = parseMac('02:00:00:00:00:0b');
const PKT_BYTES = 100n;

/** The in-process datapath model, with byte counts and a used time (the model keeps packets only). */
class StatsModel extends DpclsModel {
  override flowStatsDump(): FlowStatsEntry[] {
    return [...this.flows.values()].map((f) => ({ ufid: f.ufid, packets: f.packets, bytes: f.packets * PKT_BYTES, usedMs: 0 }));
  }
}

/** A bridge as ofproto.ts wires one: table changes bump reval_seq, MAC changes revalidate their flows. */
class TestBridge {
  clock = 1_000_000;
  readonly tables = new OfTables();
  readonly macs = new MacLearning(300, 8192, () => this.clock);
  portList: XPort[] = [1, 2, 3].map((p) => ({ ofport: p, name: `p${p}`, live: true }));
  readonly dp = new StatsModel([1, 2, 3]);
  readonly ctx: XlateContext = { bridge: 'br0', tables: this.tables, macs: this.macs, ports: () => this.portList };
  readonly udpif = new Udpif(this.dp, this.ctx);

  constructor(flows: string[]) {
    this.tables.addGroup({ id: 1, type: GroupType.SELECT, buckets: [2, 3].map((p) => bucket(p)) });
    this.tables.addGroup({ id: 2, type: GroupType.ALL, buckets: [2, 3].map((p) => bucket(p)) });
    for (const f of flows) this.tables.add(parseFlowMod(f, 'add'));
    this.macs.on('changed', (c: { mac: string }) => this.udpif.revalidateMac(c.mac));
    this.tables.on('changed', () => this.udpif.bumpRevalSeq());
  }

  close(): void { this.udpif.close(); this.macs.close(); }

  /** `n` packets of `key` through the datapath (the first may upcall and install). */
  send(key: FlowKey, n = 1): void { for (let i = 0; i < n; i++) this.dp.receive(key); }

  /** Everything the OpenFlow side counts, as comparable strings. */
  counts(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of this.tables.rules()) out[`rule ${r.tableId}/${r.priority}`] = `${r.nPackets}/${r.nBytes}` + (r.nPackets ? `/${r.usedAt}` : '');
    for (const g of this.tables.groups.values()) out[`group ${g.id}`] = `${g.nPackets}/${g.nBytes} ` + g.buckets.map((b) => `${b.nPackets}/${b.nBytes}`).join(' ');
    for (const t of this.tables.tableStats()) if (t.lookups) out[`table ${t.tableId}`] = `${t.lookups}/${t.matched}`;
    for (const e of this.macs.entries()) out[`mac ${e.vlan}/${e.mac}`] = `${e.port}@${e.usedAt}`;
    return out;
  }
}

const bucket = (port: number): Bucket =>
  ({ weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG_ANY, actions: [{ type: 'output', port }], nPackets: 0n, nBytes: 0n });

function udp(inPort: number, sport: number, src = A, dst = B): FlowKey {
  const k = new FlowKey(); k.inPort = inPort;
  k.setField('eth_src', src).setField('eth_dst', dst).setField('eth_type', 0x0800).setField('nw_proto', 17)
    .setField('tp_src', sport).setField('tp_dst', 9).setField('nw_ttl', 64)
    .setField('nw_src', Buffer.from([10, 0, 0, 1, ...new Array(12).fill(0)])).setField('nw_dst', Buffer.from([10, 0, 0, 2, ...new Array(12).fill(0)]));
  return k;
}

const PIPELINE = [
  'table=0,priority=30,udp,tp_src=1000,actions=resubmit(,1),group:1',
  'table=0,priority=20,udp,tp_src=2000,actions=group:2',
  'table=0,priority=10,udp,actions=goto_table:2',
  'table=0,priority=0,actions=NORMAL',
  'table=1,priority=5,udp,tp_dst=9,actions=note:00',
  'table=2,priority=5,in_port=1,actions=NORMAL',
];

describe('xlate cache (revalidator stats push)', () => {
  let a: TestBridge, b: TestBridge;
  afterEach(() => { a?.close(); b?.close(); });

  it('pushes exactly what translating again would: rules, used time, groups, buckets, table stats, MAC refresh', () => {
    a = new TestBridge(PIPELINE);
    b = new TestBridge(PIPELINE);
    const keys = [udp(1, 1000), udp(1, 2000), udp(1, 3000), udp(2, 4000, B, A), udp(1, 1000, parseMac('02:00:00:00:00:0c'))];
    for (const br of [a, b]) for (const k of keys) br.send(k);            // upcalls: install, learn
    for (let pass = 1; pass <= 3; pass++) {
      for (const br of [a, b]) {
        br.clock += 7000;
        for (const [i, k] of keys.entries()) br.send(k, pass * (i + 1));
        if (br === b) br.udpif.bumpRevalSeq();                             // b: every push translates again
      }
      const now = Date.now();
      const realNow = Date.now;
      Date.now = (): number => now;                                        // the rules' used time, the same in both
      try { a.udpif.revalidatorPass(); b.udpif.revalidatorPass(); } finally { Date.now = realNow; }
      assert.deepEqual(a.counts(), b.counts(), `pass ${pass}`);
    }
    assert.equal(a.udpif.counters.retranslated, 0, 'a never translated again');
    assert.equal(a.udpif.counters.xcachePushes, 3 * keys.length);
    assert.equal(b.udpif.counters.xcachePushes, 0);
    assert.equal(b.udpif.counters.retranslated, 3 * keys.length);
    const r1000 = [...a.tables.rules()].find((r) => r.priority === 30)!;
    // Two keys hit it: their upcalls (64-byte packets), then 1+2+3 and 5+10+15 packets pushed.
    assert.equal(r1000.nPackets, 2n + 6n + 30n);
    assert.equal(r1000.nBytes, 2n * 64n + 36n * PKT_BYTES);
  });

  it('a deleted, modified or replaced rule gets no more counts: the next push follows the tables', () => {
    a = new TestBridge(PIPELINE);
    const k = udp(1, 1000);
    a.send(k);
    const [hi] = [...a.tables.rules()].filter((r) => r.priority === 30);
    const before = hi.nPackets;
    // Delete: the pass before the barrier's revalidation must not charge the deleted rule.
    a.tables.delete(parseFlowMod('table=0,priority=30,udp,tp_src=1000', 'delete'), true);
    a.send(k, 0);
    a.dp.flows.forEach((f) => { f.packets += 4n; });
    a.udpif.revalidatorPass();
    assert.equal(hi.nPackets, before, 'deleted rule not charged');
    const lo = [...a.tables.rules()].find((r) => r.priority === 10)!;
    assert.equal(lo.nPackets, 4n, 'the rule that matches now is');
    assert.equal(a.udpif.counters.retranslated, 1);
    // Modify: new actions reach table 1 instead of table 2's NORMAL.
    a.udpif.revalidate();
    const t1 = [...a.tables.rules(1)][0], t2 = [...a.tables.rules(2)][0];
    const [c1, c2] = [t1.nPackets, t2.nPackets];
    a.tables.modify(parseFlowMod('table=0,priority=10,udp,actions=resubmit(,1),output:2', 'modify'), true);
    a.udpif.revalidate();                                                   // the barrier: the megaflow's actions changed
    a.send(k, 3);                                                           // upcall + 2 hits of the new megaflow
    a.dp.flows.forEach((f) => { f.packets += 2n; });
    a.udpif.revalidatorPass();
    assert.equal(t2.nPackets, c2, 'table 2 no longer reached');
    assert.equal(t1.nPackets, c1 + 1n + 4n);                               // the upcall, then 2 + 2 pushed
    // Replace (add with the same match): a new Rule object; the push must reach it, not the old one.
    const old = [...a.tables.rules()].find((r) => r.priority === 10)!;
    a.tables.add(parseFlowMod('table=0,priority=10,udp,actions=resubmit(,1),output:2', 'add'));
    a.udpif.revalidate();
    const fresh = [...a.tables.rules()].find((r) => r.priority === 10)!;
    assert.notEqual(fresh, old);
    const [o, f0] = [old.nPackets, fresh.nPackets];
    a.dp.flows.forEach((f) => { f.packets += 5n; });
    a.udpif.revalidatorPass();
    assert.equal(old.nPackets, o);
    assert.equal(fresh.nPackets, f0 + 5n);
    assert.equal(a.udpif.counters.xcachePushes, 2, 'after revalidate() and for new megaflows the cache is used');
    assert.equal(a.udpif.counters.retranslated, 1, 'only the push right after the delete translated again');
  });

  it('a MAC that moves revalidates its megaflows; pushes keep refreshing learned MACs', () => {
    a = new TestBridge(['priority=0,actions=NORMAL']);
    const ab = udp(1, 5000, A, B), ba = udp(2, 5000, B, A);
    a.send(ba); a.send(ab); a.send(ba);                                     // learning A replaced B->A's flood megaflow
    assert.equal(a.dp.flows.size, 2);
    // Refresh: B's entry is kept alive by its packets pushed through the cache.
    a.clock += 200_000;
    a.send(ba, 10);
    a.udpif.revalidatorPass();
    assert.equal(a.udpif.counters.xcachePushes, 1);
    assert.equal(a.macs.entries().find((e) => e.mac === '02:00:00:00:00:0b')!.usedAt, a.clock);
    a.clock += 200_000;                                                     // 400 s after learning, 200 s after the refresh
    a.macs.expire();
    assert.ok(a.macs.entries().some((e) => e.mac === '02:00:00:00:00:0b'), 'refreshed entry still there');
    assert.ok(!a.macs.entries().some((e) => e.mac === '02:00:00:00:00:0a'), 'A, idle, aged out');
    // Move: B shows up on port 3; the A->B megaflow (output:2) must go.
    a.send(udp(3, 6000, B, A));
    assert.equal(a.macs.entries().find((e) => e.mac === '02:00:00:00:00:0b')!.port, 3);
    assert.ok(![...a.dp.flows.values()].some((f) => f.key.inPort === 1 && f.actions.some((x) => x.type === 'output' && x.port === 2)));
  });

  it('a port that goes: its megaflows are deleted, the others are pushed through fresh caches', () => {
    a = new TestBridge(['priority=0,actions=NORMAL']);
    const keys = [udp(2, 1, B, A), udp(3, 1, parseMac('02:00:00:00:00:0c'), A), udp(1, 1, A, B)];
    for (let round = 0; round < 2; round++) for (const k of keys) a.send(k);   // the second round: every MAC known
    assert.equal(a.dp.flows.size, 3);
    a.udpif.revalidatorPass();                                              // counts so far pushed
    a.portList = a.portList.filter((p) => p.ofport !== 3);
    a.udpif.revalidate();                                                   // as Bridge.delPort
    assert.equal(a.dp.flows.size, 2);
    assert.ok(![...a.dp.flows.values()].some((f) => f.key.inPort === 3));
    const normal = [...a.tables.rules()][0];
    const n0 = normal.nPackets;
    a.dp.flows.forEach((f) => { f.packets += 1n; });
    a.udpif.revalidatorPass();
    assert.equal(normal.nPackets, n0 + 2n);
    assert.equal(a.udpif.counters.retranslated, 0);
  });
});
