/* Translation: OpenFlow 1.3 semantics, NORMAL with VLANs, and wildcards exactly wide enough. */
import { strict as assert } from 'assert';
import { FlowKey, parseMac, FRAG_ANY, FRAG_LATER, KEY_SIZE, VLAN_PRESENT } from '../../src/dpif/flow-key';
import { OdpAction } from '../../src/dpif/odp-netlink';
import { MacLearning } from '../../src/ofproto/mac-learning';
import { Match } from '../../src/ofproto/match';
import { mfField, OFPP } from '../../src/ofproto/meta-flow';
import { OfpAction, GroupType, OFPG_ANY, PacketInReason } from '../../src/ofproto/ofp-actions';
import { OfTables } from '../../src/ofproto/tables';
import { OfpError } from '../../src/ofproto/ofp-errors';
import { decodeControllerUserdata } from '../../src/ofproto/packet-in';
import { xlate, XlateContext, XPort } from '../../src/ofproto/xlate';

const A = parseMac('02:00:00:00:00:0a'), B = parseMac('02:00:00:00:00:0b'), BC = parseMac('ff:ff:ff:ff:ff:ff');
const NORMAL: OfpAction = { type: 'output', port: OFPP.NORMAL };
const out = (port: number): OfpAction => ({ type: 'output', port });
const m = (spec: Record<string, bigint | number | [bigint | number, bigint | number]>): Match => {
  const r = new Match();
  for (const [k, v] of Object.entries(spec)) {
    if (Array.isArray(v)) r.set(mfField(k), BigInt(v[0]), BigInt(v[1]));
    else r.set(mfField(k), BigInt(v));
  }
  return r;
};

function pkt(inPort: number, src: Buffer, dst: Buffer, extra: (k: FlowKey) => void = () => undefined): FlowKey {
  const k = new FlowKey(); k.inPort = inPort;
  k.setField('eth_src', src).setField('eth_dst', dst).setField('eth_type', 0x0800).setField('nw_proto', 17)
    .setField('tp_src', 1234).setField('tp_dst', 9).setField('nw_ttl', 64)
    .setField('nw_src', Buffer.from([10, 0, 0, 1, ...new Array(12).fill(0)])).setField('nw_dst', Buffer.from([10, 0, 0, 2, ...new Array(12).fill(0)]));
  extra(k);
  return k;
}

type Ctx = XlateContext & { tables: OfTables; macs: MacLearning; portList: XPort[] };
function ctx(normal = true, ports: XPort[] = [1, 2, 3].map((p) => ({ ofport: p, name: `p${p}`, live: true }))): Ctx {
  const tables = new OfTables();
  if (normal) tables.add({ priority: 0, match: Match.any(), actions: [NORMAL] });
  const c = { bridge: 'br0', tables, macs: new MacLearning(300), portList: ports, ports: () => c.portList };
  return c;
}
const ports = (acts: OdpAction[]): number[] => acts.filter((a) => a.type === 'output').map((a) => (a as { port: number }).port);

describe('xlate', () => {
  let c: Ctx;
  beforeEach(() => { c = ctx(); });
  afterEach(() => c.macs.close());

  it('NORMAL floods an unknown destination (no hairpin), then forwards once learned', () => {
    let x = xlate(c, pkt(1, A, B));
    assert.deepEqual(x.actions, [{ type: 'output', port: 2 }, { type: 'output', port: 3 }]);
    xlate(c, pkt(2, B, A));
    x = xlate(c, pkt(1, A, B));
    assert.deepEqual(x.actions, [{ type: 'output', port: 2 }]);
    assert.deepEqual(ports(xlate(c, pkt(1, A, BC)).actions), [2, 3]);
    assert.deepEqual(xlate(c, pkt(2, A, B)).actions, [], 'learned port is the input port: drop');
  });

  it('NORMAL megaflow: in_port, MACs, VLAN, eth_type, frag exact; L3/L4 wildcarded', () => {
    const { wc } = xlate(c, pkt(1, A, B));
    for (const f of ['in_port', 'eth_src', 'eth_dst', 'eth_type'] as const) assert.ok(!wc.isZero(f), `${f} matched`);
    assert.equal(wc.nwFrag, FRAG_ANY | FRAG_LATER);
    assert.equal(wc.vlanTci, 0xffff, 'untagged: the datapath matches "no tag" exactly');
    for (const f of ['nw_src', 'nw_dst', 'nw_proto', 'nw_ttl', 'tp_src', 'tp_dst', 'tcp_flags'] as const) assert.ok(wc.isZero(f), `${f} wildcarded`);
  });

  it('the higher priority wins; a miss on an L4 port un-wildcards only the prefix that rules it out', () => {
    c.tables.add({ priority: 100, match: m({ dl_type: 0x0800, nw_proto: 17, tp_dst: 9 }), actions: [out(3)] });
    let x = xlate(c, pkt(1, A, B));
    assert.deepEqual(x.actions, [{ type: 'output', port: 3 }]);
    assert.equal(x.wc.tpDst, 0xffff);
    assert.ok(x.wc.isZero('eth_src'));
    x = xlate(c, pkt(1, A, B, (k) => k.setField('tp_dst', 0x1388)));   // 5000 = 0001 0011..., 9 = 0000 0000 ...
    assert.equal(x.rules[0].priority, 0);
    assert.equal(x.wc.tpDst, 0xf000, 'common prefix 3 bits, the 4th differs from 9');
  });

  it('spray: udp tp_dst rules + NORMAL give OVS-like prefix megaflows', () => {
    for (const p of [9, 53, 80, 443, 4789]) c.tables.add({ priority: 100, match: m({ dl_type: 0x0800, nw_proto: 17, tp_dst: p }), actions: [out(2)] });
    xlate(c, pkt(2, B, A));
    const masks = new Set<string>();
    for (let d = 1024; d < 11024; d++) {
      const k = pkt(1, A, B, (q) => q.setField('tp_dst', d));
      const x = xlate(c, k);
      masks.add(k.and(x.wc).hex() + x.wc.hex());
    }
    assert.ok(masks.size <= 16, `${masks.size} megaflows (OVS 3.1: 16)`);
    // OVS's trace for dport 5000 printed tp_dst=0x1300/0xff00.
    assert.equal(xlate(c, pkt(1, A, B, (q) => q.setField('tp_dst', 5000))).wc.tpDst, 0xff00);
  });

  it('table miss drops (OpenFlow 1.3) with a representable megaflow', () => {
    const t = ctx(false);
    const x = xlate(t, pkt(1, A, B));
    assert.deepEqual(x.actions, []);
    assert.equal(x.wc.ethType, 0xffff);
    assert.ok(x.trace.some((n) => n.kind === 'note' && n.text === 'No match.'));
    t.macs.close();
  });

  it('goto_table, write_metadata, write_actions and clear_actions follow OpenFlow 1.3', () => {
    const t = ctx(false);
    t.tables.add({ tableId: 0, priority: 10, match: Match.any(), actions: [
      { type: 'write_actions', actions: [out(3)] }, { type: 'write_metadata', value: 5n, mask: 0xffn }, { type: 'goto_table', table: 1 }] });
    t.tables.add({ tableId: 1, priority: 10, match: m({ metadata: 5 }), actions: [out(2)] });
    let x = xlate(t, pkt(1, A, B));
    assert.deepEqual(ports(x.actions), [2, 3], 'apply-actions first, then the action set at the end');
    assert.ok(x.wc.isZero('eth_src'), 'metadata is pipeline state, not a datapath field');
    t.tables.add({ tableId: 1, priority: 20, match: m({ metadata: 5, in_port: 1 }), actions: [{ type: 'clear_actions' }] });
    x = xlate(t, pkt(1, A, B));
    assert.deepEqual(x.actions, [], 'clear_actions empties the action set');
    t.macs.close();
  });

  it('resubmit continues after a miss; goto_table into a miss drops the action set', () => {
    const t = ctx(false);
    t.tables.add({ priority: 1, match: Match.any(), actions: [{ type: 'resubmit', table: 5 }, out(2)] });
    assert.deepEqual(ports(xlate(t, pkt(1, A, B)).actions), [2]);
    t.tables.add({ priority: 2, match: Match.any(), actions: [{ type: 'write_actions', actions: [out(3)] }, { type: 'goto_table', table: 6 }] });
    assert.deepEqual(xlate(t, pkt(1, A, B)).actions, []);
    t.macs.close();
  });

  it('set_field commits one datapath set per changed field, only when output', () => {
    const t = ctx(false);
    t.tables.add({ priority: 1, match: m({ dl_type: 0x0800, nw_proto: 17 }), actions: [
      { type: 'set_field', field: mfField('dl_dst'), value: 0x020000000099n },
      { type: 'set_field', field: mfField('nw_src'), value: 0x0a000063n },
      { type: 'set_field', field: mfField('udp_dst'), value: 53n }, out(2),
      { type: 'set_field', field: mfField('dl_dst'), value: 0x02000000009an }] });
    const x = xlate(t, pkt(1, A, B));
    assert.deepEqual(x.actions.map((a) => a.type === 'set' ? `${a.field}=${a.value.toString('hex')}` : a.type), ['eth_dst=020000000099', 'ipv4_src=0a000063', 'udp_dst=0035', 'output']);
    assert.ok(x.wc.isZero('eth_dst') && x.wc.isZero('nw_src') && x.wc.isZero('tp_dst'), 'constants need no wildcard');
    t.macs.close();
  });

  it('dec_ttl: decrements with the TTL pinned; TTL 0/1 drops (and can go to the controller)', () => {
    const t = ctx(false);
    t.tables.add({ priority: 1, match: m({ dl_type: 0x0800 }), actions: [{ type: 'dec_ttl' }, out(2)] });
    let x = xlate(t, pkt(1, A, B));
    assert.deepEqual(x.actions.map((a) => a.type === 'set' ? `${a.field}=${a.value[0]}` : a.type), ['ipv4_ttl=63', 'output']);
    assert.equal(x.wc.nwTtl, 0xff);
    for (const ttl of [0, 1]) {
      x = xlate(t, pkt(1, A, B, (k) => k.setField('nw_ttl', ttl)));
      assert.deepEqual(x.actions, [], `ttl ${ttl}`);
      assert.equal(x.wc.nwTtl, 0xff);
    }
    t.invalidTtlToController = true;
    x = xlate(t, pkt(1, A, B, (k) => k.setField('nw_ttl', 1)));
    assert.equal(x.actions.length, 1);
    assert.equal(decodeControllerUserdata((x.actions[0] as { userdata: Buffer }).userdata)?.reason, PacketInReason.INVALID_TTL);
    t.macs.close();
  });

  it('NORMAL with VLANs: access ports tag/untag, trunks filter, tagged frames on access ports drop', () => {
    const v = ctx(true, [
      { ofport: 1, name: 'a10', live: true, tag: 10 }, { ofport: 2, name: 'b10', live: true, tag: 10 },
      { ofport: 3, name: 'c20', live: true, tag: 20 }, { ofport: 4, name: 'trunk', live: true, trunks: [10, 30] },
      { ofport: 5, name: 'all', live: true }]);
    let x = xlate(v, pkt(1, A, BC));
    assert.deepEqual(x.actions, [{ type: 'output', port: 2 }, { type: 'push_vlan', tpid: 0x8100, tci: 10 }, { type: 'output', port: 4 }, { type: 'output', port: 5 }],
      'untagged on the access port, tagged 10 on trunks carrying 10; not into VLAN 20');
    x = xlate(v, pkt(4, B, BC, (k) => k.setField('vlan_tci', VLAN_PRESENT | 10)));
    assert.deepEqual(x.actions, [{ type: 'pop_vlan' }, { type: 'output', port: 1 }, { type: 'output', port: 2 }, { type: 'push_vlan', tpid: 0x8100, tci: 10 }, { type: 'output', port: 5 }]);
    x = xlate(v, pkt(4, B, BC, (k) => k.setField('vlan_tci', VLAN_PRESENT | 20)));
    assert.deepEqual(x.actions, [], 'VLAN 20 is not trunked on port 4');
    x = xlate(v, pkt(1, A, BC, (k) => k.setField('vlan_tci', VLAN_PRESENT | 10)));
    assert.deepEqual(x.actions, [], 'tagged frame on an access port');
    assert.equal(v.macs.lookup(10, B), 4, 'learned per VLAN');
    assert.equal(v.macs.lookup(0, B), undefined);
    v.macs.close();
  });

  it('groups: all, indirect, select (pins its hash fields), fast failover follows liveness', () => {
    const g = ctx(false);
    const bucket = (actions: OfpAction[], watchPort: number = OFPP.ANY, weight = 1) => ({ weight, watchPort, watchGroup: OFPG_ANY, actions, nPackets: 0n, nBytes: 0n });
    g.tables.addGroup({ id: 1, type: GroupType.ALL, buckets: [bucket([out(2)]), bucket([{ type: 'set_field', field: mfField('dl_dst'), value: 1n }, out(3)])] });
    g.tables.addGroup({ id: 2, type: GroupType.INDIRECT, buckets: [bucket([out(3)])] });
    g.tables.addGroup({ id: 3, type: GroupType.SELECT, buckets: [bucket([out(2)]), bucket([out(3)])] });
    g.tables.addGroup({ id: 4, type: GroupType.FF, buckets: [bucket([out(2)], 2), bucket([out(3)], 3)] });
    const rule = g.tables.add({ priority: 1, match: Match.any(), actions: [{ type: 'group', groupId: 1 }] });
    assert.deepEqual(xlate(g, pkt(1, A, B)).actions.map((a) => a.type), ['output', 'set', 'output']);
    g.tables.modify({ match: Match.any(), actions: [{ type: 'group', groupId: 2 }] }, false);
    assert.deepEqual(ports(xlate(g, pkt(1, A, B)).actions), [3]);
    g.tables.modify({ match: Match.any(), actions: [{ type: 'group', groupId: 3 }] }, false);
    const seen = new Set<number>();
    for (let sp = 0; sp < 64; sp++) {
      const x = xlate(g, pkt(1, A, B, (k) => k.setField('tp_src', sp)));
      seen.add(ports(x.actions)[0]);
      assert.equal(x.wc.tpSrc, 0xffff, 'select pins the hashed fields');
    }
    assert.deepEqual([...seen].sort(), [2, 3], 'both buckets used');
    g.tables.modify({ match: Match.any(), actions: [{ type: 'group', groupId: 4 }] }, false);
    assert.deepEqual(ports(xlate(g, pkt(1, A, B)).actions), [2]);
    g.portList[1].live = false;
    assert.deepEqual(ports(xlate(g, pkt(1, A, B)).actions), [3], 'fails over when port 2 goes down');
    assert.equal(rule.actions[0].type, 'group');
    assert.throws(() => g.tables.add({ priority: 1, match: Match.any(), actions: [{ type: 'group', groupId: 99 }] }), OfpError);
    g.macs.close();
  });

  it('CONTROLLER: a userspace action carrying reason, table and cookie; table-miss flows say no_match', () => {
    const t = ctx(false);
    t.tables.add({ priority: 0, match: Match.any(), actions: [{ type: 'controller', maxLen: 128 }], cookie: 7n });
    const x = xlate(t, pkt(1, A, B));
    assert.equal(x.actions[0].type, 'userspace');
    const u = decodeControllerUserdata((x.actions[0] as { userdata: Buffer }).userdata)!;
    assert.deepEqual([u.reason, u.tableId, u.cookie, u.maxLen], [PacketInReason.NO_MATCH, 0, 7n, 128]);
    t.macs.close();
  });

  it('a resubmit loop is cut at the depth limit and drops', () => {
    const t = ctx(false);
    t.tables.add({ priority: 1, match: Match.any(), actions: [out(2), { type: 'resubmit', table: 0 }] });
    const x = xlate(t, pkt(1, A, B));
    assert.deepEqual(x.actions, []);
    assert.match(x.error ?? '', /depth/);
    t.macs.close();
  });

  it('megaflow masks are representable: fields of absent headers are dropped, prerequisites pinned', () => {
    const t = ctx(false);
    t.tables.add({ priority: 5, match: m({ dl_type: 0x0800, nw_proto: 17, tp_dst: 9 }), actions: [out(2)] });
    t.tables.add({ priority: 4, match: m({ dl_type: 0x0800, nw_src: [0x0a000000, 0xff000000] }), actions: [out(3)] });
    const later = xlate(t, pkt(1, A, B, (k) => k.setField('nw_frag', FRAG_ANY | FRAG_LATER).setField('tp_dst', 0).setField('tp_src', 0)));
    assert.ok(later.wc.isZero('tp_dst'), 'later fragments have no L4 header');
    const arp = new FlowKey(); arp.inPort = 1; arp.setField('eth_type', 0x0806).setField('nw_proto', 1);
    const xa = xlate(t, arp);
    assert.ok(xa.wc.isZero('tp_dst') && xa.wc.isZero('nw_ttl'));
    const lldp = new FlowKey(); lldp.inPort = 1; lldp.setField('eth_type', 0x88cc);
    const xl = xlate(t, lldp);
    assert.ok(xl.wc.buf.subarray(20, 80).every((b) => b === 0), 'nothing past L2 for a non-IP frame');
    t.macs.close();
  });

  it('megaflow invariant: any packet inside a megaflow gets the same actions (randomised)', () => {
    let seed = 12345;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const t = ctx(false);
    for (let i = 0; i < 60; i++) {
      const r = m({ dl_type: 0x0800, nw_proto: 17 });
      if (rnd(2)) r.set(mfField('udp_dst'), BigInt(rnd(4) + rnd(2) * 0x1000), BigInt([0xffff, 0xff00, 0xf000][rnd(3)]));
      if (rnd(2)) r.set(mfField('udp_src'), BigInt(rnd(4)), 0xffffn);
      if (rnd(2)) r.set(mfField('nw_src'), BigInt(0x0a000000 + rnd(4) * 256), BigInt([0xffffffff, 0xffffff00, 0xff000000][rnd(3)]));
      if (rnd(3) === 0) r.set(mfField('in_port'), BigInt(1 + rnd(3)));
      t.tables.add({ priority: rnd(50), match: r, actions: rnd(3) ? [out(1 + rnd(3))] : [] });
    }
    for (let i = 0; i < 3000; i++) {
      const k = pkt(1 + rnd(3), A, B, (q) => {
        q.setField('tp_dst', rnd(4) + rnd(2) * 0x1000).setField('tp_src', rnd(4));
        q.setField('nw_src', Buffer.from([10, 0, rnd(4), rnd(2), ...new Array(12).fill(0)]));
      });
      const x = xlate(t, k, { learn: false });
      const other = new FlowKey();
      for (let b = 0; b < KEY_SIZE; b++) other.buf[b] = (k.buf[b] & x.wc.buf[b]) | (rnd(256) & ~x.wc.buf[b]);
      other.setField('tuple_id', 0);
      // keep the other packet a valid key of the same shape
      for (const f of ['eth_type', 'nw_proto', 'nw_frag'] as const) other.setField(f, k.field(f));
      other.buf.fill(0, 32, 44); other.buf.fill(0, 48, 72); other.buf.fill(0, 24, 28);
      assert.deepEqual(xlate(t, other, { learn: false }).actions, x.actions, `packet ${i}`);
    }
    t.macs.close();
  });
});

describe('MAC learning', () => {
  it('learns, moves, ages out, and reports each change', () => {
    let now = 0;
    const ml = new MacLearning(300, 10, () => now);
    const changes: unknown[] = [];
    ml.on('changed', (ch) => changes.push(ch));
    assert.equal(ml.learn(0, A, 1), true);
    assert.equal(ml.learn(0, A, 1), false);
    assert.equal(ml.lookup(0, A), 1);
    assert.equal(ml.lookup(5, A), undefined, 'VLANs are separate');
    assert.equal(ml.learn(0, A, 2), true, 'a move is a change');
    assert.equal(ml.learn(0, BC, 1), false, 'broadcast sources are never learned');
    now += 301000;
    assert.equal(ml.lookup(0, A), undefined);
    ml.expire();
    assert.equal(ml.entries().length, 0);
    assert.equal(changes.length, 3);
    ml.close();
  });
});
