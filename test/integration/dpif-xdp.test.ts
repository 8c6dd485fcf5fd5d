/*
 * dpif-xdp over the real BPF program, driven with BPF_PROG_RUN (root): flow
 * key extraction as seen in upcalls, megaflow install/delete/re-install,
 * subtables and their ranking, EMC invalidation, actions on the packet, and
 * the slow path. Ports are a veth pair in the root namespace (TC hook, so
 * nothing is redirected for real) used as the ingress ifindex.
 */
import { strict as assert } from 'assert';
import { randomBytes } from 'crypto';
import { DpifXdp } from '../../src/dpif/dpif-xdp';
import { FlowKey, FRAG_ANY, FRAG_LATER, VLAN_PRESENT } from '../../src/dpif/flow-key';
import { decodePacketMsg, PacketCmd, OdpAction } from '../../src/dpif/odp-netlink';
import { locate, l4Checksum, ipv4HeaderChecksum } from '../../src/dpif/odp-execute';
import { progTestRun } from '../../src/bpf';
import { frame, FrameSpec, ipv4, ipv6 } from '../support/packets';
import { sh, shTry } from '../support/topo';

const XDP_DROP = 1, XDP_REDIRECT = 4;
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
});
