/*
 * The switch's one invariant: forwarding through the caches (megaflows
 * installed by udpif) equals forwarding by the OpenFlow tables. Random
 * pipelines and packet streams through Udpif over an in-process model of the
 * fast path's megaflow table (oracle/dpcls-model.ts); every decision is
 * compared with translation by a naive linear-scan lookup, and after every
 * flow_mod (revalidated, as before a barrier reply) every installed megaflow
 * is re-translated. Seeds: ORACLE_SEEDS=1,2,3 to replay; ORACLE_PACKETS to scale.
 */
import { strict as assert } from 'assert';
import { Oracle, OracleBridge, captureLogs, logLines } from '../support/oracle/harness';
import { DpclsModel, actionsKey } from '../support/oracle/dpcls-model';
import { formatFlowMatch, formatActions } from '../../src/dpif/odp-util';
import { flowExtract } from '../../src/dpif/flow-extract';
import { FlowKey, KEY_SIZE } from '../../src/dpif/flow-key';
import { FlowCmd, encodeFlowMsg, decodeFlowMsg } from '../../src/dpif/odp-netlink';
import { Match } from '../../src/ofproto/match';
import { mfField, OFPP } from '../../src/ofproto/meta-flow';
import { OfpAction } from '../../src/ofproto/ofp-actions';
import { FlowMod } from '../../src/ofproto/tables';
import { XPort } from '../../src/ofproto/xlate';
import { frame, FrameSpec } from '../support/packets';

const SEEDS = process.env.ORACLE_SEEDS ? process.env.ORACLE_SEEDS.split(',').map(Number) : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const TOTAL = Number(process.env.ORACLE_PACKETS ?? 100_000);
const PER_SEED = Math.ceil(TOTAL / SEEDS.length);
const MOD_EVERY = 500;

describe('oracle: megaflow cache vs OpenFlow tables (model datapath)', function () {
  this.timeout(120_000);
  let restore: () => void;
  before(() => { restore = captureLogs(); });
  after(() => restore());

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${PER_SEED} packets, flow_mods every ${MOD_EVERY}, 0 divergences`, () => {
      const dp = new DpclsModel();
      const o = Oracle.create(seed, dp);
      let maxFlows = 0, maxMasks = 0, checked = 0;
      try {
        for (let i = 0; i < PER_SEED && o.divergences.length < 5; i++) {
          if (i && i % MOD_EVERY === 0) {
            o.mutate();
            checked += o.checkMegaflows([...dp.flows.values()], 0);
          }
          const key = o.nextKey();
          const want = o.reference(key);
          const r = dp.receive(key);
          o.compare(r.flow ? `packet ${i}: cache hit` : `packet ${i}: upcall`, key, r.actions, r.flow, want);
          maxFlows = Math.max(maxFlows, dp.flows.size);
          maxMasks = Math.max(maxMasks, dp.nMasks);
        }
        checked += o.checkMegaflows([...dp.flows.values()], 2);
        const s = dp.counters;
        console.log(`      seed ${seed}: ${o.tables.ruleCount} rules in ${o.spec.nTables} tables, ${o.tables.groups.size} groups; ` +
          `${s.hits} hits / ${s.misses} upcalls; megaflows ${dp.flows.size} (max ${maxFlows}), masks ${dp.nMasks} (max ${maxMasks}); ` +
          `${o.mods.length} mods, ${o.udpif.counters.revalidated} revalidated away; ${checked} megaflow checks`);
        if (o.divergences.length) assert.fail(`seed ${seed}: cache and tables disagree (first ${o.divergences.length}):\n${o.divergences.map((d) => o.describe(d)).join('\n')}`);
        assert.equal(o.udpif.counters.installFailed, 0, `seed ${seed}: megaflows not installed:\n${logLines.slice(0, 5).join('\n')}`);
        const ov = dp.overlaps.slice(0, 3).map((x) => `${formatFlowMatch(x.a.key, x.a.mask)}\n  vs ${formatFlowMatch(x.b.key, x.b.mask)} (same actions: ${x.sameActions})`);
        assert.equal(dp.overlaps.length, 0, `seed ${seed}: ${dp.overlaps.length} overlapping megaflows, ${dp.orderDependent} order-dependent lookups:\n${ov.join('\n')}`);
      } finally {
        o.close();
      }
    });
  }
});

/* ---- golden cases: the classic traps, with the expected decisions spelled out ---- */

const mac = (s: string): bigint => BigInt('0x' + s.replace(/:/g, ''));
const ip4 = (s: string): bigint => BigInt(s.split('.').reduce((a, b) => a * 256 + Number(b), 0));
const F = (name: string): ReturnType<typeof mfField> => mfField(name);
const out = (port: number): OfpAction => ({ type: 'output', port });
const flow = (priority: number, fields: [string, bigint, bigint?][], actions: OfpAction[], tableId = 0): FlowMod => {
  const m = new Match();
  for (const [f, v, mk] of fields) m.set(F(f), v, mk);
  return { tableId, priority, match: m, actions };
};
const plainPorts = (n: number): XPort[] => Array.from({ length: n }, (_, i) => ({ ofport: i + 1, name: `p${i + 1}`, live: true }));

/** A bridge over the model datapath; send() returns the cache's decision, printed as dpctl does, after checking it against the reference. */
function golden(flows: FlowMod[], ports = plainPorts(4)): { b: OracleBridge; dp: DpclsModel; send: (inPort: number, spec: FrameSpec) => string; close: () => void } {
  const dp = new DpclsModel();
  const b = new OracleBridge(dp, ports, flows);
  const send = (inPort: number, spec: FrameSpec): string => {
    const key = flowExtract(frame(spec), inPort);
    const want = b.reference(key);
    const r = dp.receive(key);
    assert.equal(actionsKey(r.actions), actionsKey(want), `${r.flow ? 'cache hit' : 'upcall'} for ${formatFlowMatch(key, FlowKey.exactMask())}: ` +
      `cache ${formatActions(r.actions)}, tables ${formatActions(want)}${r.flow ? ` (megaflow ${formatFlowMatch(r.flow.key, r.flow.mask)})` : ''}`);
    return formatActions(r.actions);
  };
  return { b, dp, send, close: () => b.close() };
}

describe('oracle golden cases (model datapath)', () => {
  it('flow messages survive the codec: UFID, key, mask and actions round-trip whatever their size', () => {
    // The model sees what dpif-xdp sees only if the codec is lossless (NlWriter once lost attributes across a buffer growth).
    const key = flowExtract(frame({ l3: 'ipv6', proto: 'tcp', vlan: { vid: 7 }, dport: 443 }), 3);
    const mask = FlowKey.exactMask();
    for (let n = 0; n < 40; n++) {
      const actions = Array.from({ length: n }, (_, i) => ({ type: 'output' as const, port: i + 1 }));
      const ufid = Buffer.from(Array.from({ length: 16 }, (_, i) => i + n + 1));
      const m = decodeFlowMsg(encodeFlowMsg({ cmd: FlowCmd.NEW, dpIfindex: 0, ufid, key, mask, actions }));
      assert.deepEqual(m.ufid, ufid, `ufid with ${n} actions`);
      assert.deepEqual(m.actions, actions, `${n} actions`);
      assert.equal(m.key!.hex(), key.hex());
    }
    assert.equal(KEY_SIZE, 80);
  });

  it('VLAN present vs absent: tagged, untagged and other-VID packets never share a megaflow decision', () => {
    const g = golden([
      flow(100, [['dl_vlan', 10n]], [out(2)]),
      flow(90, [['vlan_tci', 0n, 0x1000n]], [out(3)]),        // untagged only
      flow(0, [], [out(4)]),
    ]);
    try {
      for (let round = 0; round < 2; round++) {                     // round 2: from the cache
        assert.equal(g.send(1, { vlan: { vid: 10 } }), '2');
        assert.equal(g.send(1, {}), '3');
        assert.equal(g.send(1, { vlan: { vid: 11 } }), '4');
        assert.equal(g.send(1, { vlan: { vid: 10, pcp: 5 } }), '2');
        assert.equal(g.send(1, { vlan: { vid: 0 } }), '4');          // priority tag: present, VID 0
      }
    } finally { g.close(); }
  });

  it('VLAN actions pin the tag they depend on: pop/push/mod_vlan_vid on tagged then untagged packets', () => {
    const g = golden([
      flow(10, [['in_port', 1n]], [{ type: 'pop_vlan' }, out(2)]),
      flow(10, [['in_port', 2n]], [{ type: 'push_vlan', ethertype: 0x8100 }, { type: 'set_field', field: F('vlan_vid'), value: 0x1005n }, out(3)]),
      flow(10, [['in_port', 3n]], [{ type: 'set_vlan_vid', vid: 5, push: false }, out(4)]),
    ]);
    try {
      assert.equal(g.send(1, { vlan: { vid: 10 } }), 'pop_vlan,2');
      assert.equal(g.send(1, {}), '2');                               // nothing to pop
      assert.equal(g.send(2, {}), 'push_vlan(vid=5,pcp=0),3');
      assert.equal(g.send(2, { vlan: { vid: 10 } }), 'drop');         // a second tag is not supported: dropped
      // Already VID 5: eliding the rewrite is right only if the megaflow pins the VID, so VID 6 must not share it.
      assert.match(g.send(3, { vlan: { vid: 5 } }), /^(pop_vlan,push_vlan\(vid=5,pcp=0\),)?4$/);
      assert.equal(g.send(3, { vlan: { vid: 6 } }), 'pop_vlan,push_vlan(vid=5,pcp=0),4');
      assert.equal(g.send(3, {}), '4');                               // untagged: mod_vlan_vid without push does nothing
    } finally { g.close(); }
  });

  it('IPv4 fragments: first fragments match L4 rules, later ones only nw_frag rules', () => {
    const g = golden([
      flow(100, [['dl_type', 0x0800n], ['nw_proto', 17n], ['tp_dst', 53n]], [out(2)]),
      flow(90, [['dl_type', 0x0800n], ['nw_frag', 3n, 3n]], [out(3)]),   // later fragments
      flow(0, [], [out(4)]),
    ]);
    try {
      for (let round = 0; round < 2; round++) {
        assert.equal(g.send(1, { proto: 'udp', fragOffset: 100, dport: 53 }), '3');    // no L4 in a later fragment
        assert.equal(g.send(1, { proto: 'udp', dport: 53 }), '2');
        assert.equal(g.send(1, { proto: 'udp', moreFragments: true, dport: 53 }), '2');
        assert.equal(g.send(1, { proto: 'udp', moreFragments: true, dport: 54 }), '4');
        assert.equal(g.send(1, { proto: 'udp', dport: 54 }), '4');
      }
    } finally { g.close(); }
  });

  it('ARP vs IP: nw_src and arp_spa share key bytes; a dl_type-wildcarded rule catches the rest', () => {
    const g = golden([
      flow(100, [['dl_type', 0x0800n], ['nw_src', ip4('10.0.0.0'), 0xff000000n]], [out(2)]),
      flow(100, [['dl_type', 0x0806n], ['arp_spa', ip4('10.0.0.0'), 0xff000000n]], [out(3)]),
      flow(100, [['dl_type', 0x8035n], ['arp_spa', ip4('10.0.0.0'), 0xff000000n]], [out(4)]),   // RARP
      flow(50, [['in_port', 1n]], [out(2), out(3)]),
    ]);
    try {
      for (let round = 0; round < 2; round++) {
        assert.equal(g.send(1, { ipSrc: '10.1.1.1' }), '2');
        assert.equal(g.send(1, { l3: 'arp', ipSrc: '10.1.1.1' }), '3');
        assert.equal(g.send(1, { l3: 'arp', ipSrc: '11.1.1.1' }), '2,3');
        assert.equal(g.send(1, { ipSrc: '11.1.1.1' }), '2,3');
        assert.equal(g.send(1, { l3: 'raw', ethType: 0x8035, payload: rarp('10.1.1.1') }), '4');
        assert.equal(g.send(1, { l3: 'raw', ethType: 0x8035, payload: rarp('11.1.1.1') }), '2,3');
      }
    } finally { g.close(); }
  });

  it('priority shadowing across masks: a lower-priority megaflow never covers a higher-priority match', () => {
    const g = golden([
      flow(300, [['dl_type', 0x0800n], ['nw_proto', 6n], ['tp_dst', 80n]], [out(2)]),
      flow(200, [['dl_type', 0x0800n], ['nw_src', ip4('10.0.0.0'), 0xff000000n]], [out(3)]),
      flow(100, [['in_port', 1n]], [out(4)]),
    ]);
    try {
      assert.equal(g.send(1, { proto: 'tcp', ipSrc: '192.168.0.1', dport: 81 }), '4');
      assert.equal(g.send(1, { proto: 'tcp', ipSrc: '10.0.0.1', dport: 81 }), '3');
      assert.equal(g.send(1, { proto: 'tcp', ipSrc: '10.0.0.1', dport: 80 }), '2');
      assert.equal(g.send(1, { proto: 'tcp', ipSrc: '192.168.0.2', dport: 80 }), '2');
      assert.equal(g.send(1, { proto: 'udp', ipSrc: '10.9.9.9', dport: 80 }), '3');
      assert.equal(g.send(1, { proto: 'udp', ipSrc: '192.168.0.3', dport: 80 }), '4');
      assert.equal(g.send(2, { proto: 'udp', ipSrc: '192.168.0.3', dport: 80 }), 'drop');   // table miss
      assert.equal(g.send(1, { proto: 'tcp', ipSrc: '192.168.0.1', dport: 81 }), '4');      // first megaflow still right
    } finally { g.close(); }
  });

  it('TTL 0/1 with dec_ttl: dropped, and a TTL-2 megaflow does not catch TTL 1', () => {
    const g = golden([flow(10, [['dl_type', 0x0800n]], [{ type: 'dec_ttl' }, out(2)]), flow(10, [['dl_type', 0x86ddn]], [{ type: 'dec_ttl' }, out(3)])]);
    try {
      assert.equal(g.send(1, { ttl: 64 }), 'set(ipv4(ttl=63)),2');
      assert.equal(g.send(1, { ttl: 2 }), 'set(ipv4(ttl=1)),2');
      assert.equal(g.send(1, { ttl: 1 }), 'drop');
      assert.equal(g.send(1, { ttl: 0 }), 'drop');
      assert.equal(g.send(1, { ttl: 64, dport: 7 }), 'set(ipv4(ttl=63)),2');
      assert.equal(g.send(1, { l3: 'ipv6', ttl: 1 }), 'drop');
      assert.equal(g.send(1, { l3: 'ipv6', ttl: 9 }), 'set(ipv6(hlimit=8)),3');
    } finally { g.close(); }
  });

  it('set_field to the value the packet already has: an elided set must not leak to packets with other values', () => {
    const g = golden([flow(10, [], [{ type: 'set_field', field: F('dl_dst'), value: mac('02:00:00:00:00:04') }, out(2)])]);
    try {
      assert.match(g.send(1, { dst: '02:00:00:00:00:04' }), /^(set\(eth\(dst=02:00:00:00:00:04\)\),)?2$/);
      assert.equal(g.send(1, { dst: '02:00:00:00:00:05' }), 'set(eth(dst=02:00:00:00:00:04)),2');
    } finally { g.close(); }
  });

  it('NORMAL after set_field dl_dst: learning the rewritten destination revalidates the megaflow', () => {
    // The megaflow's own MACs are 01 -> 09; NORMAL looked up 02 (written by the rule). When 02 is
    // learned on port 3, the flow must go: revalidating only flows whose packet MACs are 02 misses it.
    const g = golden([flow(10, [['in_port', 1n]], [{ type: 'set_field', field: F('dl_dst'), value: mac('02:00:00:00:00:02') }, out(OFPP.NORMAL)]),
      flow(10, [['in_port', 3n]], [out(OFPP.NORMAL)])]);
    try {
      assert.equal(g.send(1, { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:09' }), 'set(eth(dst=02:00:00:00:00:02)),2,3,4');   // 02 unknown: flood
      assert.equal(g.send(3, { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01' }), '1');                                      // 02 learned on port 3
      assert.equal(g.send(1, { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:09' }), 'set(eth(dst=02:00:00:00:00:02)),3');
    } finally { g.close(); }
  });

  it('MAC learning follows hosts whose traffic is served by the cache (a host that moves back is re-learned)', () => {
    // OVS re-learns from datapath flow stats (the revalidator translates with learning when a
    // flow saw packets); otherwise traffic to a host that moved back keeps going to its old port.
    const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b';
    const g = golden([flow(0, [], [out(OFPP.NORMAL)])], plainPorts(3));
    try {
      assert.equal(g.send(1, { src: A, dst: B }), '2,3');      // A learned on 1, B unknown: flood
      assert.equal(g.send(2, { src: B, dst: A }), '1');        // B learned on 2
      assert.equal(g.send(1, { src: A, dst: B }), '2');        // megaflow A->B on port 1 (keeps matching)
      assert.equal(g.send(3, { src: A, dst: B }), '2');        // A moves to port 3
      assert.equal(g.send(2, { src: B, dst: A }), '3');
      assert.equal(g.send(1, { src: A, dst: B }), '2');        // A is back on port 1: served by the cache
      g.b.udpif.revalidate();                                   // even after a revalidation pass
      assert.equal(g.send(2, { src: B, dst: A }), '1', 'traffic to A follows A back to port 1');
    } finally { g.close(); }
  });

  it('revalidation translates as a packet would: NORMAL learns the source before looking up the destination', () => {
    // A megaflow for a src == dst packet, then NORMAL above it: translated without learning,
    // NORMAL floods (destination unknown) with the same wildcards and actions as the old
    // megaflow, so it is kept; a real packet learns its source first and is dropped (hairpin).
    const X = '02:00:00:00:00:06';
    const g = golden([flow(10, [['in_port', 2n], ['dl_src', mac(X)], ['dl_dst', mac(X)], ['vlan_tci', 0n, 0x1fffn]], [out(1)])], plainPorts(2));
    try {
      assert.equal(g.send(2, { src: X, dst: X }), '1');
      g.b.naive.add(flow(20, [], [out(OFPP.NORMAL)]));
      g.b.sync();
      assert.equal(g.send(2, { src: X, dst: X }), 'drop', 'NORMAL: the source is learned on port 2, which is the input port');
    } finally { g.close(); }
  });

  it('spray (OVS baseline): udp tp_dst={9,53,80,443,4789} -> output:2 + NORMAL, 10k dports 1024..11023 from one MAC pair: <= 16 UDP megaflows', () => {
    const g = golden([...[9, 53, 80, 443, 4789].map((p) => flow(100, [['dl_type', 0x0800n], ['nw_proto', 17n], ['tp_dst', BigInt(p)]], [out(2)])),
      flow(0, [], [out(OFPP.NORMAL)])]);
    try {
      for (let d = 1024; d < 11024; d++) g.send(1, { proto: 'udp', sport: 5000, dport: d });
      const udp = [...g.dp.flows.values()].filter((f) => f.mask.nwProto === 0xff && f.key.nwProto === 17);
      console.log(`      spray: ${udp.length} UDP megaflows (OVS 3.1: 16), ${g.dp.flows.size} megaflows, ${g.dp.nMasks} masks, ${g.dp.counters.misses} upcalls`);
      assert.ok(udp.length <= 16, `${udp.length} UDP megaflows: ${udp.map((f) => formatFlowMatch(f.key, f.mask)).join('\n')}`);
      assert.ok(g.dp.counters.hits >= 10000 - 20, 'nearly every packet served by the cache');
    } finally { g.close(); }
  });
});

/** An Ethernet/IPv4 RARP body (the frame builder's 'arp' is 0x0806 only). */
function rarp(spa: string): Buffer {
  const a = Buffer.alloc(28);
  a.writeUInt16BE(1, 0); a.writeUInt16BE(0x0800, 2); a[4] = 6; a[5] = 4; a.writeUInt16BE(3, 6);
  Buffer.from('020000000001', 'hex').copy(a, 8);
  Buffer.from(spa.split('.').map(Number)).copy(a, 14);
  return a;
}
