/* Translation: actions plus wildcards that are exactly wide enough. */
import { strict as assert } from 'assert';
import { FlowKey, parseMac, FRAG_ANY, KEY_SIZE } from '../../src/dpif/flow-key';
import { Classifier } from '../../src/ofproto/classifier';
import { MacLearning } from '../../src/ofproto/mac-learning';
import { xlate, XlateContext } from '../../src/ofproto/xlate';

const A = parseMac('02:00:00:00:00:0a'), B = parseMac('02:00:00:00:00:0b'), BC = parseMac('ff:ff:ff:ff:ff:ff');

function pkt(inPort: number, src: Buffer, dst: Buffer, extra: (k: FlowKey) => void = () => undefined): FlowKey {
  const k = new FlowKey(); k.inPort = inPort;
  k.setField('eth_src', src).setField('eth_dst', dst).setField('eth_type', 0x0800).setField('nw_proto', 17)
    .setField('tp_src', 1234).setField('tp_dst', 9).setField('nw_ttl', 64);
  extra(k);
  return k;
}

function ctx(): XlateContext & { macs: MacLearning } {
  const table = new Classifier();
  table.insert({ priority: 0, match: new FlowKey(), mask: new FlowKey(), actions: [{ type: 'normal' }], cookie: 0n });
  return { table, macs: new MacLearning(300), ports: () => [1, 2, 3] };
}

describe('xlate', () => {
  let c: ReturnType<typeof ctx>;
  beforeEach(() => { c = ctx(); });
  afterEach(() => c.macs.close());

  it('NORMAL floods an unknown destination (no hairpin), then forwards once learned', () => {
    let x = xlate(c, pkt(1, A, B));
    assert.deepEqual(x.actions, [{ type: 'output', port: 2 }, { type: 'output', port: 3 }]);
    xlate(c, pkt(2, B, A));                       // B answers from port 2: learned
    x = xlate(c, pkt(1, A, B));
    assert.deepEqual(x.actions, [{ type: 'output', port: 2 }]);
    assert.deepEqual(xlate(c, pkt(1, A, BC)).actions.map((a) => (a as { port: number }).port), [2, 3]);
  });

  it('NORMAL megaflow: in_port, MACs, VLAN, eth_type, frag exact; L3/L4 wildcarded (L2 table)', () => {
    const { wc } = xlate(c, pkt(1, A, B));
    for (const f of ['in_port', 'eth_src', 'eth_dst', 'eth_type'] as const) assert.ok(!wc.isZero(f), `${f} matched`);
    assert.equal(wc.nwFrag, FRAG_ANY | 2);
    for (const f of ['nw_src', 'nw_dst', 'nw_proto', 'nw_ttl', 'tp_src', 'tp_dst', 'tcp_flags'] as const) assert.ok(wc.isZero(f), `${f} wildcarded`);
  });

  it('priority rules: the higher one wins and only the fields consulted are un-wildcarded', () => {
    const udp9 = new FlowKey().setField('eth_type', 0x0800).setField('nw_proto', 17).setField('tp_dst', 9);
    const m = new FlowKey().exact('eth_type').exact('nw_proto').exact('tp_dst');
    c.table.insert({ priority: 100, match: udp9, mask: m, actions: [{ type: 'output', port: 3 }], cookie: 0n });
    let x = xlate(c, pkt(1, A, B));
    assert.deepEqual(x.actions, [{ type: 'output', port: 3 }]);
    assert.ok(!x.wc.isZero('tp_dst') && x.wc.isZero('eth_src') && x.wc.isZero('tp_src'));
    x = xlate(c, pkt(1, A, B, (k) => k.setField('tp_dst', 53)));
    assert.ok(!x.wc.isZero('tp_dst'), 'a miss on tp_dst must still match tp_dst');
    assert.equal(x.rule?.priority, 0);
  });

  it('table miss drops (OpenFlow 1.3) and a drop rule installs a drop megaflow', () => {
    const t = new Classifier();
    const x = xlate({ table: t, macs: c.macs, ports: () => [1, 2] }, pkt(1, A, B));
    assert.deepEqual(x.actions, []);
    t.insert({ priority: 5, match: new FlowKey().setField('nw_proto', 17), mask: new FlowKey().exact('nw_proto'), actions: [], cookie: 0n });
    assert.deepEqual(xlate({ table: t, macs: c.macs, ports: () => [1, 2] }, pkt(1, A, B)).actions, []);
  });

  it('adds match prerequisites: consulting L4 un-wildcards nw_proto and eth_type', () => {
    const t = new Classifier();
    // a rule that (wrongly) matches tp_dst alone still yields a representable megaflow
    t.insert({ priority: 9, match: new FlowKey().setField('tp_dst', 9), mask: new FlowKey().exact('tp_dst'), actions: [], cookie: 0n });
    const x = xlate({ table: t, macs: c.macs, ports: () => [1, 2] }, pkt(1, A, B));
    assert.equal(x.wc.field('nw_proto'), 0xff);
    assert.equal(x.wc.field('eth_type'), 0xffff);
  });

  it('megaflow invariant: any packet inside a megaflow gets the same actions (randomised)', () => {
    // Overlapping random rules, then for each random packet, another packet that
    // agrees on the wildcards must translate identically.
    let seed = 12345;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const t = new Classifier();
    const fields = ['eth_type', 'nw_proto', 'tp_dst', 'tp_src', 'nw_ttl'] as const;
    for (let i = 0; i < 40; i++) {
      const m = new FlowKey(), v = new FlowKey();
      for (const f of fields) if (rnd(2)) { m.setField(f, f === 'tp_dst' || f === 'tp_src' ? [0xffff, 0xff00, 0xf000][rnd(3)] : 0xff); v.setField(f, rnd(4)); }
      t.insert({ priority: rnd(50), match: v, mask: m, actions: rnd(3) ? [{ type: 'output', port: 1 + rnd(3) }] : [], cookie: 0n });
    }
    const cx = { table: t, macs: c.macs, ports: () => [1, 2, 3] };
    for (let i = 0; i < 3000; i++) {
      const k = new FlowKey(); k.inPort = 1 + rnd(3);
      for (const f of fields) k.setField(f, rnd(4) + (f.startsWith('tp') ? rnd(2) * 0x1000 : 0));
      const x = xlate(cx, k, false);
      const other = new FlowKey();
      for (let b = 0; b < KEY_SIZE; b++) other.buf[b] = (k.buf[b] & x.wc.buf[b]) | (rnd(256) & ~x.wc.buf[b]);
      assert.deepEqual(xlate(cx, other, false).actions, x.actions, `packet ${i}`);
    }
  });
});

describe('MAC learning', () => {
  it('learns, moves, ages out, and reports each change', () => {
    let now = 0;
    const m = new MacLearning(300, 10, () => now);
    const changes: unknown[] = [];
    m.on('changed', (c) => changes.push(c));
    assert.equal(m.learn(0, A, 1), true);
    assert.equal(m.learn(0, A, 1), false);
    assert.equal(m.lookup(0, A), 1);
    assert.equal(m.lookup(5, A), undefined, 'VLANs are separate');
    assert.equal(m.learn(0, A, 2), true, 'a move is a change');
    assert.equal(m.learn(0, BC, 1), false, 'broadcast sources are never learned');
    now += 301000;
    assert.equal(m.lookup(0, A), undefined);
    m.expire();
    assert.equal(m.entries().length, 0);
    assert.equal(changes.length, 3);
    m.close();
  });
});
