/*
 * dpif-xdp over the real BPF program, driven with BPF_PROG_RUN (root): flow
 * key extraction as seen in upcalls, megaflow install/delete/re-install,
 * subtables and their ranking, EMC invalidation, actions on the packet, and
 * the slow path. Ports are a veth pair in the root namespace (TC hook, so
 * nothing is redirected for real) used as the ingress ifindex. The TC
 * program runs the same way (an __sk_buff ctx naming the ingress device).
 */
import { strict as assert } from 'assert';
import { randomBytes } from 'crypto';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { DpifXdp } from '../../src/dpif/dpif-xdp';
import { FlowKey, FRAG_ANY, FRAG_LATER, VLAN_PRESENT } from '../../src/dpif/flow-key';
import { decodePacketMsg, PacketCmd, OdpAction } from '../../src/dpif/odp-netlink';
import { formatActions as formatActs } from '../../src/dpif/odp-util';
import { locate, l4Checksum, ipv4HeaderChecksum, odpExecute } from '../../src/dpif/odp-execute';
import { progTestRun } from '../../src/bpf';
import { frame, FrameSpec, ipv4, ipv6 } from '../support/packets';
import { sh, shTry } from '../support/topo';

const XDP_DROP = 1, XDP_REDIRECT = 4;
const TC_ACT_SHOT = 2, TC_ACT_REDIRECT = 7;

/** One's complement sum of b[from, to) as 16-bit big-endian words. */
function sum16(b: Buffer, from: number, to: number, acc = 0): number {
  for (let i = from; i < to; i += 2) acc += i + 1 < to ? b.readUInt16BE(i) : b[i] << 8;
  return acc;
}
const fold = (s: number): number => { while (s > 0xffff) s = (s & 0xffff) + (s >>> 16); return s; };

/** The L4 checksum over the IPv6 pseudo-header verifies (dst: the final hop when a routing header says so). */
function v6L4Ok(f: Buffer, l3: number, l4: number, proto: number, dst?: Buffer): boolean {
  const len = l3 + 40 + f.readUInt16BE(l3 + 4) - l4;
  const pseudo = sum16(f, l3 + 8, l3 + 24) + sum16(dst ?? f, dst ? 0 : l3 + 24, dst ? 16 : l3 + 40) + len + proto;
  return fold(sum16(f, l4, l4 + len, pseudo)) === 0xffff;
}

/** Writes a valid L4 checksum (csum at l4 + co) into an IPv6 frame. */
function v6L4Fix(f: Buffer, l3: number, l4: number, proto: number, co: number, dst?: Buffer): Buffer {
  f.writeUInt16BE(0, l4 + co);
  const len = l3 + 40 + f.readUInt16BE(l3 + 4) - l4;
  const pseudo = sum16(f, l3 + 8, l3 + 24) + sum16(dst ?? f, dst ? 0 : l3 + 24, dst ? 16 : l3 + 40) + len + proto;
  f.writeUInt16BE(~fold(sum16(f, l4, l4 + len, pseudo)) & 0xffff, l4 + co);
  return f;
}

/** Inserts an IPv6 extension header (type t; its next-header byte is filled in) after the fixed header. */
function withExt(f: Buffer, l3: number, t: number, ext: Buffer): Buffer {
  const out = Buffer.concat([f.subarray(0, l3 + 40), ext, f.subarray(l3 + 40)]);
  out[l3 + 40] = f[l3 + 6];
  out[l3 + 6] = t;
  out.writeUInt16BE(f.readUInt16BE(l3 + 4) + ext.length, l3 + 4);
  return out;
}

/** What odp-execute makes of the packet (the frame handed to the first output). */
function userspaceResult(pkt: Buffer, acts: OdpAction[]): Buffer {
  let out: Buffer | undefined;
  odpExecute(pkt, acts, { output: (_p, f) => { out ??= f; } });
  assert.ok(out, 'odp-execute output the packet');
  return out;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('dpif-xdp over the BPF fast path (root, BPF_PROG_RUN)', function () {
  this.timeout(60000);
  const pfx = `xd${randomBytes(3).toString('hex')}`;
  let dp: DpifXdp;
  let ifA = 0, ifC = 0;
  const upcalls: ReturnType<typeof decodePacketMsg>[] = [];

  const run = (pkt: Buffer, repeat = 1, ifindex = ifA): { retval: number; dataOut: Buffer } => {
    const ctx = Buffer.alloc(24);
    ctx.writeUInt32LE(pkt.length, 4); ctx.writeUInt32LE(ifindex, 12);
    return progTestRun(dp.programFd('xdp'), { data: pkt, ctxIn: ctx, repeat });
  };
  const runTc = (pkt: Buffer, ifindex = ifA): { retval: number; dataOut: Buffer } => {
    const ctx = Buffer.alloc(192);               // struct __sk_buff; ifindex at 40 picks the device
    ctx.writeUInt32LE(ifindex, 40);
    return progTestRun(dp.programFd('tc'), { data: pkt, ctxIn: ctx });
  };
  /** Runs one packet with no flow installed and returns the key of its upcall. */
  const keyOf = async (pkt: Buffer): Promise<FlowKey> => {
    upcalls.length = 0;
    assert.equal(run(pkt).retval, XDP_DROP, 'a miss is dropped after its upcall');
    const mine = (): typeof upcalls => upcalls.filter((u) => u.packet.equals(pkt));
    for (let i = 0; i < 50 && !mine().length; i++) await sleep(5);
    assert.equal(mine().length, 1, 'one upcall carrying the whole packet');
    assert.equal(mine()[0].cmd, PacketCmd.MISS);
    return mine()[0].key;
  };
  const put = (key: FlowKey, mask: FlowKey, actions: OdpAction[]): void => dp.flowPut({ key: key.and(mask), mask, actions });
  const l2mask = (): FlowKey => new FlowKey().exact('in_port').exact('eth_src').exact('eth_dst').exact('eth_type')
    .setField('vlan_tci', 0xffff).setField('nw_frag', FRAG_ANY | FRAG_LATER);

  before(async () => {
    assert.strictEqual(process.getuid?.(), 0, 'must run as root');
    sh('ip', ['link', 'add', `${pfx}a`, 'type', 'veth', 'peer', 'name', `${pfx}b`]);
    // No IPv6 on the test links: their MLD/RS chatter would be upcalls too.
    for (const d of 'ab') shTry('sysctl', ['-qw', `net.ipv6.conf.${pfx}${d}.disable_ipv6=1`]);
    sh('ip', ['link', 'set', `${pfx}a`, 'up']); sh('ip', ['link', 'set', `${pfx}b`, 'up']);
    sh('ip', ['link', 'add', `${pfx}c`, 'type', 'veth', 'peer', 'name', `${pfx}d`]);
    for (const d of 'cd') shTry('sysctl', ['-qw', `net.ipv6.conf.${pfx}${d}.disable_ipv6=1`]);
    sh('ip', ['link', 'set', `${pfx}c`, 'up']); sh('ip', ['link', 'set', `${pfx}d`, 'up']);
    ifA = Number(sh('cat', [`/sys/class/net/${pfx}a/ifindex`]).trim());
    ifC = Number(sh('cat', [`/sys/class/net/${pfx}c/ifindex`]).trim());
    dp = await DpifXdp.open(pfx, { rerankMs: 3_600_000 });
    await dp.addPort(`${pfx}a`, 1, 'tc');
    await dp.addPort(`${pfx}b`, 2, 'tc');
    await dp.addPort(`${pfx}c`, 3, 'xdp');    // nothing is sent into c: only BPF_PROG_RUN uses it
    dp.on('upcall', (b: Buffer) => upcalls.push(decodePacketMsg(b)));
  });

  after(async () => {
    await dp?.close();
    shTry('ip', ['link', 'del', `${pfx}a`]);
    shTry('ip', ['link', 'del', `${pfx}c`]);
  });

  beforeEach(() => dp.flowFlush());

  describe('flow key extraction (as the upcall reports it)', () => {
    const cases: [string, FrameSpec, (k: FlowKey) => void][] = [
      ['UDP/IPv4', { proto: 'udp', sport: 1234, dport: 53, ttl: 17, tos: 0x2e }, (k) => {
        assert.equal(k.ethType, 0x0800); assert.equal(k.nwProto, 17); assert.equal(k.nwTtl, 17); assert.equal(k.nwTos, 0x2e);
        assert.deepEqual(k.bytes('nw_src').subarray(0, 4), ipv4('10.0.0.1')); assert.equal(k.tpSrc, 1234); assert.equal(k.tpDst, 53);
        assert.equal(k.nwFrag, 0);
      }],
      ['TCP flags', { proto: 'tcp', sport: 40000, dport: 80, tcpFlags: 0x12 }, (k) => {
        assert.equal(k.nwProto, 6); assert.equal(k.tpDst, 80); assert.equal(k.tcpFlags, 0x12);
      }],
      ['ICMP type/code', { proto: 'icmp', icmpType: 3, icmpCode: 4 }, (k) => { assert.equal(k.tpSrc, 3); assert.equal(k.tpDst, 4); }],
      ['ARP', { l3: 'arp', arpOp: 2, ipSrc: '10.0.0.7', ipDst: '10.0.0.9' }, (k) => {
        assert.equal(k.ethType, 0x0806); assert.equal(k.nwProto, 2);
        assert.deepEqual(k.bytes('nw_src').subarray(0, 4), ipv4('10.0.0.7')); assert.deepEqual(k.bytes('nw_dst').subarray(0, 4), ipv4('10.0.0.9'));
        assert.equal(k.bytes('arp_sha').toString('hex'), '020000000001');
      }],
      ['IPv6/UDP', { l3: 'ipv6', proto: 'udp', ipSrc: 'fd00::1', ipDst: 'fd00::2', dport: 5353, ttl: 255 }, (k) => {
        assert.equal(k.ethType, 0x86dd); assert.deepEqual(k.bytes('nw_dst'), ipv6('fd00::2')); assert.equal(k.nwTtl, 255); assert.equal(k.tpDst, 5353);
      }],
      ['ICMPv6', { l3: 'ipv6', proto: 'icmpv6', icmpType: 135 }, (k) => { assert.equal(k.nwProto, 58); assert.equal(k.tpSrc, 135); }],
      ['802.1Q', { vlan: { vid: 100, pcp: 5 }, proto: 'udp' }, (k) => {
        assert.equal(k.vlanTci, VLAN_PRESENT | (5 << 13) | 100); assert.equal(k.ethType, 0x0800); assert.equal(k.nwProto, 17);
      }],
      ['IPv4 first fragment', { proto: 'udp', moreFragments: true, dport: 7 }, (k) => { assert.equal(k.nwFrag, FRAG_ANY); assert.equal(k.tpDst, 7); }],
      ['IPv4 later fragment', { proto: 'udp', fragOffset: 100, dport: 7 }, (k) => {
        assert.equal(k.nwFrag, FRAG_ANY | FRAG_LATER); assert.equal(k.tpDst, 0, 'no L4 in later fragments');
      }],
    ];
    for (const [name, spec, check] of cases) {
      it(name, async () => {
        const k = await keyOf(frame(spec));
        assert.equal(k.inPort, 1);
        assert.equal(k.field('tuple_id'), 0);
        check(k);
      });
    }

    it('truncated and malformed headers give the key of what was parsed, never more', async () => {
      const tcp = frame({ proto: 'tcp', payload: 10 });
      const short = Buffer.from(tcp.subarray(0, 14 + 20 + 8));    // IP datagram of 28 bytes: TCP header cut
      short.writeUInt16BE(28, 16); short.writeUInt16BE(0, 24); short.writeUInt16BE(ipv4HeaderChecksum(short, 14), 24);
      let k = await keyOf(short);
      assert.equal(k.nwProto, 6); assert.deepEqual(k.bytes('nw_src').subarray(0, 4), ipv4('10.0.0.1')); assert.equal(k.tpDst, 0);
      k = await keyOf(tcp.subarray(0, 14 + 20 + 8));                // total length beyond the frame: OVS keys no L3
      assert.equal(k.ethType, 0x0800); assert.equal(k.nwProto, 0); assert.ok(k.isZero('nw_src'));
      k = await keyOf(tcp.subarray(0, 14 + 10));                    // IPv4 header cut
      assert.equal(k.ethType, 0x0800); assert.ok(k.isZero('nw_src') && k.nwProto === 0);
      const bad = Buffer.from(tcp); bad[14] = 0x43;                 // IHL 3
      k = await keyOf(bad);
      assert.equal(k.ethType, 0x0800); assert.equal(k.nwProto, 0);
      const v6 = frame({ l3: 'ipv6', proto: 'udp' });
      k = await keyOf(v6.subarray(0, 14 + 30));                     // IPv6 header cut
      assert.equal(k.ethType, 0x86dd); assert.ok(k.isZero('nw_src'));
      assert.ok(dp.stats().parseTruncated >= 5n);
    });
  });

  it('a megaflow turns misses into redirects and counts them; deleting it restores the miss', async () => {
    const pkt = frame({ proto: 'udp' });
    const k = await keyOf(pkt);
    put(k, l2mask(), [{ type: 'output', port: 2 }]);
    const before = dp.stats();
    assert.equal(run(pkt, 100).retval, XDP_REDIRECT);
    const after = dp.stats();
    assert.equal(after.hit - before.hit, 100n);
    assert.equal(after.missed, before.missed);
    const [f] = dp.flowDump();
    assert.equal(f.stats.packets, 100n);
    assert.equal(f.stats.bytes, 100n * BigInt(pkt.length));
    assert.ok(f.used > 0n);
    dp.flowDel(f.ufid);
    assert.equal(run(pkt).retval, XDP_DROP);
  });

  it('re-installing a flow under a subtable that emptied keeps it probed (regression)', async () => {
    const pkt = frame({ proto: 'udp' });
    const k = await keyOf(pkt);
    put(k, l2mask(), [{ type: 'output', port: 2 }]);
    dp.flowFlush();                                              // subtable now empty, leaves the order
    put(k, l2mask(), [{ type: 'output', port: 2 }]);             // same mask again, at once
    assert.equal(run(pkt).retval, XDP_REDIRECT);
    assert.equal(dp.stats().masksTotal, 1);
  });

  it('64 subtables: a hit in the last is found; re-ranking moves it first', async () => {
    const pkt = frame({ proto: 'udp', sport: 1024 });
    const k = await keyOf(pkt);
    const masks = Array.from({ length: 64 }, (_, i) => l2mask().exact('nw_proto').setField('tp_src', (0xffff << (i % 16)) & 0xffff)
      .setField('nw_tos', i & 16 ? 0xff : 0).setField('nw_ttl', i & 32 ? 0xff : 0));
    masks.forEach((m, i) => {
      const kk = k.clone(); if (i !== 63) kk.inPort = 9;      // only the last subtable can match
      put(kk, m, [{ type: 'output', port: 2 }]);
    });
    assert.equal(dp.stats().masksTotal, 64);
    let s0 = dp.stats();
    assert.equal(run(pkt, 50).retval, XDP_REDIRECT);
    let s1 = dp.stats();
    assert.equal(s1.masksHit - s0.masksHit, 64n * (s1.megaflowHit - s0.megaflowHit), '64 probes per megaflow hit before ranking');
    assert.equal(s1.megaflowHit + s1.emcHit - s0.megaflowHit - s0.emcHit, 50n);
    dp.rerankMasks();
    s0 = dp.stats();
    run(pkt, 50);
    s1 = dp.stats();
    assert.equal(s1.masksHit - s0.masksHit, s1.megaflowHit - s0.megaflowHit, 'one probe per megaflow hit after ranking');
    assert.equal(dp.probeOrder().length, 64);
  });

  it('EMC entries die with their megaflow (generation check)', async () => {
    const pkt = frame({ proto: 'udp' });
    const k = await keyOf(pkt);
    put(k, l2mask(), [{ type: 'output', port: 2 }]);
    run(pkt, 10);
    const s = dp.stats();
    assert.ok(s.emcHit > 0n, 'EMC serves repeats');
    dp.flowFlush();
    put(k, l2mask().exact('nw_proto').exact('tp_src'), []);  // a different flow (drop) for the same packet
    assert.equal(run(pkt).retval, XDP_DROP);
    assert.equal(dp.flowDump()[0].stats.packets, 1n, 'the new drop flow matched, not the stale EMC entry');
  });

  it('set-field actions rewrite the packet with valid checksums', async () => {
    const pkt = frame({ proto: 'tcp', payload: 32 });
    const k = await keyOf(pkt);
    put(k, l2mask(), [
      { type: 'set', field: 'eth_dst', value: Buffer.from('0200000000aa', 'hex') },
      { type: 'set', field: 'ipv4_src', value: ipv4('192.0.2.55') },
      { type: 'set', field: 'ipv4_ttl', value: Buffer.from([7]) },
      { type: 'set', field: 'tcp_dst', value: Buffer.from([0x1f, 0x90]) },
      { type: 'output', port: 2 }]);
    const r = run(pkt);
    assert.equal(r.retval, XDP_REDIRECT);
    const out = r.dataOut.subarray(0, pkt.length);
    const p = locate(out)!;
    assert.equal(out.subarray(0, 6).toString('hex'), '0200000000aa');
    assert.deepEqual(out.subarray(p.l3 + 12, p.l3 + 16), ipv4('192.0.2.55'));
    assert.equal(out[p.l3 + 8], 7);
    assert.equal(out.readUInt16BE(p.l4! + 2), 8080);
    assert.equal(out.readUInt16BE(p.l3 + 10), ipv4HeaderChecksum(out, p.l3), 'IPv4 header checksum');
    assert.equal(out.readUInt16BE(p.l4! + 16), l4Checksum(out, p), 'TCP checksum');
  });

  it('actions the XDP hook cannot run go to the slow path and are executed there', async () => {
    const pkt = frame({ proto: 'udp' });
    const k = await keyOf(pkt);
    k.inPort = 3;                              // ingress on the XDP-hooked port
    // output, rewrite, output: XDP redirects a frame once, so userspace runs these
    put(k, l2mask(), [{ type: 'output', port: 1 }, { type: 'set', field: 'eth_dst', value: Buffer.alloc(6, 2) }, { type: 'output', port: 2 }]);
    const [f] = dp.flowDump();
    assert.deepEqual(f.actions.map((a) => a.type), ['output', 'set', 'output'], 'dump shows the real actions');
    const tx = (d: string): number => Number(sh('cat', [`/sys/class/net/${pfx}${d}/statistics/tx_packets`]));
    const [a0, b0] = [tx('a'), tx('b')];
    const s0 = dp.stats();
    assert.equal(run(pkt, 1, ifC).retval, XDP_DROP, 'consumed by the USERSPACE action');
    for (let i = 0; i < 50 && (tx('a') === a0 || tx('b') === b0); i++) await sleep(10);
    assert.equal(dp.stats().slowPath - s0.slowPath, 1n);
    assert.equal(tx('a') - a0, 1, 'first output sent');
    assert.equal(tx('b') - b0, 1, 'second output sent');
    assert.equal(dp.stats().hit - s0.hit, 1n, 'counted as a hit of the flow');
  });
  describe('IPv6 set actions: XDP and TC give the bytes odp-execute gives, with valid checksums', () => {
    const src6 = ipv6('2001:db8::55'), dst6 = ipv6('2001:db8:ffff::1:2');
    /** Installs a flow for pkt, runs it through both hooks and odp-execute; returns the three results. */
    const all = async (pkt: Buffer, acts: OdpAction[]): Promise<Buffer[]> => {
      dp.flowFlush();
      const k = await keyOf(pkt);
      put(k, l2mask(), [...acts, { type: 'output', port: 2 }]);
      const x = run(pkt), t = runTc(pkt);
      assert.equal(x.retval, XDP_REDIRECT);
      assert.equal(t.retval, TC_ACT_REDIRECT);
      const want = userspaceResult(pkt, [...acts, { type: 'output', port: 2 }]);
      assert.equal(x.dataOut.length, pkt.length);
      assert.equal(t.dataOut.length, pkt.length);
      assert.deepEqual(x.dataOut, want, 'XDP == odp-execute');
      assert.deepEqual(t.dataOut, want, 'TC == odp-execute');
      return [x.dataOut, t.dataOut, want];
    };
    const setAddrs: OdpAction[] = [{ type: 'set', field: 'ipv6_src', value: src6 }, { type: 'set', field: 'ipv6_dst', value: dst6 }];

    for (const [name, spec, co] of [
      ['TCP', { l3: 'ipv6', proto: 'tcp', payload: 33 }, 16],
      ['UDP', { l3: 'ipv6', proto: 'udp', payload: 21 }, 6],
      ['ICMPv6', { l3: 'ipv6', proto: 'icmpv6', payload: 12 }, 2],
      ['TCP under an 802.1Q tag', { l3: 'ipv6', proto: 'tcp', payload: 8, vlan: { vid: 7 } }, 16],
    ] as [string, FrameSpec, number][]) {
      it(`set(ipv6(src,dst)) on ${name}: L4 checksum fixed over the pseudo-header`, async () => {
        const l3 = spec.vlan ? 18 : 14, proto = { tcp: 6, udp: 17, icmpv6: 58 }[spec.proto as string]!;
        const pkt = v6L4Fix(frame(spec), l3, l3 + 40, proto, co);
        assert.ok(v6L4Ok(pkt, l3, l3 + 40, proto));
        for (const out of await all(pkt, setAddrs)) {
          assert.deepEqual(out.subarray(l3 + 8, l3 + 24), src6);
          assert.deepEqual(out.subarray(l3 + 24, l3 + 40), dst6);
          assert.ok(v6L4Ok(out, l3, l3 + 40, proto), `${name} checksum verifies`);
        }
      });
    }

    it('hop limit, traffic class and flow label change only their own bits', async () => {
      const pkt = v6L4Fix(frame({ l3: 'ipv6', proto: 'tcp', tos: 0xb8, ttl: 64, payload: 4 }), 14, 54, 6, 16);
      pkt.writeUInt32BE(((6 << 28) | (0xb8 << 20) | 0xabcde) >>> 0, 14);   // label 0xabcde
      let [out] = await all(pkt, [{ type: 'set', field: 'ipv6_hlimit', value: Buffer.from([7]) }]);
      assert.equal(out[21], 7);
      assert.equal(out.readUInt32BE(14), pkt.readUInt32BE(14));
      [out] = await all(pkt, [{ type: 'set', field: 'ipv6_tclass', value: Buffer.from([0x2e]) }]);
      assert.equal(out.readUInt32BE(14).toString(16), (((6 << 28) | (0x2e << 20) | 0xabcde) >>> 0).toString(16), 'label kept');
      [out] = await all(pkt, [{ type: 'set', field: 'ipv6_label', value: Buffer.from([0, 1, 0x23, 0x45]) }]);
      assert.equal(out.readUInt32BE(14).toString(16), (((6 << 28) | (0xb8 << 20) | 0x12345) >>> 0).toString(16), 'traffic class kept');
      assert.ok(v6L4Ok(out, 14, 54, 6), 'none of these is in the checksum');
    });

    it('with VLAN push/pop around them (header offsets follow the tag)', async () => {
      const pkt = v6L4Fix(frame({ l3: 'ipv6', proto: 'udp', payload: 17, vlan: { vid: 5, pcp: 3 } }), 18, 58, 17, 6);
      const k = await keyOf(pkt);
      const check = (got: Buffer, acts: OdpAction[], l3: number, hook: string): void => {
        assert.deepEqual(got, userspaceResult(pkt, acts), `${hook} == odp-execute`);
        assert.deepEqual(got.subarray(l3 + 8, l3 + 24), src6);
        assert.ok(v6L4Ok(got, l3, l3 + 40, 17), `${hook}: UDP checksum`);
      };
      // XDP: the tag goes in the bytes, so pop and push both show in the frame
      const xdpActs: OdpAction[] = [{ type: 'pop_vlan' }, setAddrs[0], { type: 'push_vlan', tpid: 0x8100, tci: 9 },
        { type: 'set', field: 'ipv6_hlimit', value: Buffer.from([5]) }, { type: 'output', port: 2 }];
      put(k, l2mask(), xdpActs);
      const x = run(pkt);
      assert.equal(x.retval, XDP_REDIRECT);
      check(x.dataOut, xdpActs, 18, 'XDP');
      assert.equal(x.dataOut.readUInt16BE(14), 9);
      assert.equal(x.dataOut[18 + 7], 5);
      // TC: a pushed tag goes to skb metadata (not in BPF_PROG_RUN's output), so pop only
      dp.flowFlush();
      const tcActs: OdpAction[] = [{ type: 'pop_vlan' }, setAddrs[0], { type: 'set', field: 'ipv6_hlimit', value: Buffer.from([5]) },
        { type: 'output', port: 2 }];
      put(k, l2mask(), tcActs);
      const t = runTc(pkt);
      assert.equal(t.retval, TC_ACT_REDIRECT);
      check(t.dataOut, tcActs, 14, 'TC');
    });

    it('a UDP checksum of 0 stays 0', async () => {
      const pkt = frame({ l3: 'ipv6', proto: 'udp', payload: 9 });
      pkt.writeUInt16BE(0, 54 + 6);
      for (const out of await all(pkt, setAddrs)) assert.equal(out.readUInt16BE(60), 0);
    });

    it('extension headers: walked to TCP; a routing header with segments left keeps the checksum on a dst change (OVS)', async () => {
      const hbh = Buffer.alloc(8); hbh[1] = 0; hbh[2] = 1; hbh[3] = 4;    // PadN
      let pkt = withExt(frame({ l3: 'ipv6', proto: 'tcp', payload: 10 }), 14, 0, hbh);
      pkt = v6L4Fix(pkt, 14, 62, 6, 16);
      for (const out of await all(pkt, setAddrs)) assert.ok(v6L4Ok(out, 14, 62, 6), 'TCP behind hop-by-hop');
      const finalHop = ipv6('2001:db8::f1');
      for (const segLeft of [1, 0]) {
        const rh = Buffer.alloc(24); rh[1] = 2; rh[2] = 0; rh[3] = segLeft; finalHop.copy(rh, 8);
        pkt = withExt(frame({ l3: 'ipv6', proto: 'tcp', payload: 10 }), 14, 43, rh);
        const pseudoDst = segLeft ? finalHop : undefined;
        pkt = v6L4Fix(pkt, 14, 78, 6, 16, pseudoDst);
        for (const out of await all(pkt, [{ type: 'set', field: 'ipv6_dst', value: dst6 }])) {
          if (segLeft) assert.equal(out.readUInt16BE(78 + 16), pkt.readUInt16BE(78 + 16), 'checksum untouched');
          assert.ok(v6L4Ok(out, 14, 78, 6, pseudoDst), `segments left ${segLeft}: checksum verifies`);
        }
      }
    });
  });

  it('randomized differential: IPv6 sets on random frames, XDP == TC == odp-execute', async function () {
    let seed = 0x9e3779b9;
    const rnd = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rnd(256)));
    for (let i = 0; i < 40; i++) {
      dp.flowFlush();
      const [proto, n, co] = ([['tcp', 6, 16], ['udp', 17, 6], ['icmpv6', 58, 2]] as const)[rnd(3)];
      const vlan = rnd(3) === 0 ? { vid: 1 + rnd(4000) } : undefined;
      const l3 = vlan ? 18 : 14;
      const pkt = frame({ l3: 'ipv6', proto, vlan, payload: bytes(rnd(64)), tos: rnd(256), ttl: 1 + rnd(255) });
      bytes(32).copy(pkt, l3 + 8);
      pkt.writeUInt32BE(((pkt.readUInt32BE(l3) & 0xfff00000) | rnd(0x100000)) >>> 0, l3);
      v6L4Fix(pkt, l3, l3 + 40, n, co);
      const noCsum = proto === 'udp' && rnd(4) === 0;
      if (noCsum) pkt.writeUInt16BE(0, l3 + 40 + co);
      const pool: OdpAction[] = [
        { type: 'set', field: 'ipv6_src', value: bytes(16) }, { type: 'set', field: 'ipv6_dst', value: bytes(16) },
        { type: 'set', field: 'ipv6_tclass', value: bytes(1) }, { type: 'set', field: 'ipv6_hlimit', value: bytes(1) },
        { type: 'set', field: 'ipv6_label', value: Buffer.from([0, rnd(16), rnd(256), rnd(256)]) },
      ];
      const acts = pool.filter(() => rnd(2) === 0);
      if (!acts.length) acts.push(pool[rnd(5)]);
      const k = await keyOf(pkt);
      put(k, l2mask(), [...acts, { type: 'output', port: 2 }]);
      const want = userspaceResult(pkt, [...acts, { type: 'output', port: 2 }]);
      const what = `case ${i}: ${proto}${vlan ? '/vlan' : ''} ${acts.map((a) => (a as { field: string }).field).join(',')}`;
      assert.deepEqual(run(pkt).dataOut, want, `XDP, ${what}`);
      assert.deepEqual(runTc(pkt).dataOut, want, `TC, ${what}`);
      if (noCsum) assert.equal(want.readUInt16BE(l3 + 40 + co), 0, what);
      else assert.ok(v6L4Ok(want, l3, l3 + 40, n), `checksum, ${what}`);
    }
  });

  it('IPv6 sets run in the XDP fast path (two actions per address); past 16 actions, or a meter after the output, slow path', async () => {
    const pkt = v6L4Fix(frame({ l3: 'ipv6', proto: 'tcp', payload: 5 }), 14, 54, 6, 16);
    const k = await keyOf(pkt);
    k.inPort = 3;                                  // the XDP-hooked port
    const src: OdpAction = { type: 'set', field: 'ipv6_src', value: ipv6('2001:db8::9') };
    const cases: [OdpAction[], boolean][] = [
      [[src, { type: 'set', field: 'ipv6_dst', value: ipv6('2001:db8::a') }, { type: 'output', port: 2 }], false],
      [[...Array(7).fill(src), { type: 'set', field: 'ipv6_hlimit', value: Buffer.from([3]) }, { type: 'output', port: 2 }], false],  // 16
      [[...Array(8).fill(src), { type: 'output', port: 2 }], true],                                                                  // 17
      [[{ type: 'output', port: 2 }, { type: 'meter', id: 1 }], true],
      [[{ type: 'meter', id: 1 }, { type: 'output', port: 2 }], false],
    ];
    for (const [acts, slow] of cases) {
      dp.flowFlush();
      put(k, l2mask(), acts);
      const s0 = dp.stats().slowPath;
      assert.equal(run(pkt, 1, ifC).retval, slow ? XDP_DROP : XDP_REDIRECT, formatActs(acts));
      assert.equal(dp.stats().slowPath - s0, slow ? 1n : 0n, formatActs(acts));
    }
  });

  describe('meters (OVS dpif meter_set/get/del, meter action)', () => {
    const used = [1, 2, 3, 4, 5, 6];
    afterEach(() => { for (const id of used) dp.meterDel(id); });

    it('10 pps, burst 10: the first 10 of 1000 back-to-back packets pass, the rest drop; stats agree', async () => {
      const pkt = frame({ proto: 'udp', payload: 50 });
      const k = await keyOf(pkt);
      dp.meterSet(1, { kbps: false, rate: 10, burst: 10 });
      put(k, l2mask(), [{ type: 'meter', id: 1 }, { type: 'output', port: 2 }]);
      const t0 = process.hrtime.bigint();
      let passed = 0;
      for (let i = 0; i < 1000; i++) {
        const r = run(pkt).retval;
        assert.ok(r === XDP_REDIRECT || r === XDP_DROP);
        if (r === XDP_REDIRECT) passed++;
      }
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      assert.ok(passed >= 10 && passed <= 10 + Math.ceil(secs * 10), `${passed} passed in ${secs.toFixed(3)} s`);
      assert.deepEqual(dp.meterStats(1), {
        packets: 1000n, bytes: 1000n * BigInt(pkt.length), dropped: BigInt(1000 - passed), droppedBytes: BigInt((1000 - passed) * pkt.length),
      });
      assert.equal(dp.flowDump()[0].stats.packets, 1000n, 'the flow counts dropped packets too (as OVS)');
      assert.deepEqual(dp.flowDump()[0].actions, [{ type: 'meter', id: 1 }, { type: 'output', port: 2 }]);
    });

    it('kbps: 8 kbit/s with an 8 kbit burst passes 1000 bytes, and the TC hook drops with TC_ACT_SHOT', async () => {
      const pkt = frame({ proto: 'udp', payload: 100 - 42 });     // 100-byte frames
      assert.equal(pkt.length, 100);
      const k = await keyOf(pkt);
      dp.meterSet(2, { kbps: true, rate: 8, burst: 8 });
      put(k, l2mask(), [{ type: 'meter', id: 2 }, { type: 'output', port: 2 }]);
      const v = Array.from({ length: 30 }, () => runTc(pkt).retval);
      assert.deepEqual(v.slice(0, 10), Array(10).fill(TC_ACT_REDIRECT));
      assert.ok(v.slice(10).filter((r) => r === TC_ACT_SHOT).length >= 19, v.join(','));
      const st = dp.meterStats(2)!;
      assert.equal(st.packets, 30n);
      assert.equal(st.dropped, BigInt(v.filter((r) => r === TC_ACT_SHOT).length));
    });

    it('meter del frees it: no stats, packets pass; an unknown meter id passes (OVS does not drop)', async () => {
      const pkt = frame({ proto: 'udp' });
      const k = await keyOf(pkt);
      dp.meterSet(3, { kbps: false, rate: 1, burst: 1 });
      put(k, l2mask(), [{ type: 'meter', id: 3 }, { type: 'meter', id: 77 }, { type: 'meter', id: 5000 }, { type: 'output', port: 2 }]);
      assert.equal(run(pkt).retval, XDP_REDIRECT);
      assert.equal(run(pkt).retval, XDP_DROP);
      assert.equal(dp.meterStats(3)!.dropped, 1n);
      assert.equal(dp.meterStats(77), undefined);
      dp.meterDel(3);
      assert.equal(dp.meterStats(3), undefined);
      for (let i = 0; i < 5; i++) assert.equal(run(pkt).retval, XDP_REDIRECT);
      dp.meterSet(3, { kbps: false, rate: 1, burst: 2 });   // set again: fresh bucket, fresh stats
      assert.deepEqual([run(pkt).retval, run(pkt).retval, run(pkt).retval], [XDP_REDIRECT, XDP_REDIRECT, XDP_DROP]);
      assert.equal(dp.meterStats(3)!.packets, 3n);
      assert.throws(() => dp.meterSet(1024, { kbps: false, rate: 1, burst: 1 }), RangeError);
      assert.throws(() => dp.meterSet(1, { kbps: false, rate: 0, burst: 1 }), RangeError);
    });

    it('slow path: a meter before a userspace action limits the upcalls; execute() charges the same bucket', async () => {
      const pkt = frame({ proto: 'udp', sport: 4242 });
      const k = await keyOf(pkt);
      dp.meterSet(4, { kbps: false, rate: 1, burst: 5 });
      put(k, l2mask(), [{ type: 'meter', id: 4 }, { type: 'userspace', pid: 1, userdata: Buffer.from('c0ffee', 'hex') }]);
      upcalls.length = 0;
      for (let i = 0; i < 50; i++) assert.equal(run(pkt).retval, XDP_DROP);
      const mine = (): typeof upcalls => upcalls.filter((u) => u.cmd === PacketCmd.ACTION && u.userdata?.toString('hex') === 'c0ffee');
      for (let i = 0; i < 50 && mine().length < 5; i++) await sleep(5);
      await sleep(20);
      assert.equal(mine().length, 5, 'only the packets the meter let through reach the daemon');
      assert.deepEqual(dp.meterStats(4)!.packets, 50n, 'charged once, in the fast path');
      // execute(), as for a missed packet: the daemon charges the same meter
      dp.meterSet(5, { kbps: false, rate: 1, burst: 1 });
      const tx = (): number => Number(sh('cat', [`/sys/class/net/${pfx}b/statistics/tx_packets`]));
      const tx0 = tx();
      dp.execute(pkt, k, [{ type: 'meter', id: 5 }, { type: 'output', port: 2 }]);
      dp.execute(pkt, k, [{ type: 'meter', id: 5 }, { type: 'output', port: 2 }]);
      for (let i = 0; i < 50 && tx() === tx0; i++) await sleep(10);
      await sleep(20);
      assert.equal(tx() - tx0, 1);
      assert.deepEqual(dp.meterStats(5), { packets: 2n, bytes: 2n * BigInt(pkt.length), dropped: 1n, droppedBytes: BigInt(pkt.length) });
    });

    it('charges from two threads at once (different CPUs) are all counted (spin lock)', async () => {
      dp.meterSet(6, { kbps: true, rate: 1_000_000, burst: 1 });   // drops most: both branches run
      const fd = dp.programFd('meter');
      const req = Buffer.alloc(48); req.writeUInt32LE(1, 0); req.writeUInt32LE(6, 4); req.writeUInt32LE(100, 8);
      const bpfModule = path.join(__dirname, '../../src/bpf');
      const code = `const { workerData, parentPort } = require('worker_threads');
        const { progTestRun } = require(workerData.mod);
        for (let i = 0; i < 20; i++) progTestRun(workerData.fd, { data: Buffer.from(workerData.req), repeat: 10000 });
        parentPort.postMessage('done');`;
      const n = 2;
      await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { fd, req, mod: bpfModule } });
        w.on('message', () => resolve());
        w.on('error', reject);
      })));
      const st = dp.meterStats(6)!;
      assert.equal(st.packets, BigInt(n * 200000));
      assert.equal(st.bytes, BigInt(n * 200000 * 100));
      assert.ok(st.dropped > 0n && st.dropped < st.packets);
      assert.equal(st.droppedBytes, st.dropped * 100n);
    });
  });
});
