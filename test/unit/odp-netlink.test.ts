import { strict as assert } from 'assert';
import { FlowKey, FRAG_ANY, FRAG_LATER, VLAN_PRESENT, parseMac } from '../../src/dpif/flow-key';
import {
  encodeFlowMsg, decodeFlowMsg, encodePacketMsg, decodePacketMsg, encodeKey, decodeKey, encodeActions, decodeActions,
  FlowCmd, PacketCmd, OdpAction,
} from '../../src/dpif/odp-netlink';
import { ipv4, ipv6 } from '../support/packets';

function key(f: Partial<Record<string, number | Buffer>>): FlowKey {
  const k = new FlowKey();
  for (const [n, v] of Object.entries(f)) {
    if (n === 'in_port') k.inPort = v as number;
    else k.setField(n as never, v as never);
  }
  return k;
}
const pad16 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc(16 - b.length)]);

const KEYS: Record<string, FlowKey> = {
  tcp4: key({ in_port: 2, eth_src: parseMac('02:00:00:00:00:01'), eth_dst: parseMac('02:00:00:00:00:02'), eth_type: 0x0800,
    nw_src: pad16(ipv4('10.0.0.1')), nw_dst: pad16(ipv4('10.0.0.2')), nw_proto: 6, nw_tos: 0x10, nw_ttl: 64,
    tp_src: 40000, tp_dst: 80, tcp_flags: 0x012 }),
  udp6: key({ in_port: 7, eth_type: 0x86dd, nw_src: ipv6('fd00::1'), nw_dst: ipv6('fd00::2'), ipv6_label: 0x12345,
    nw_proto: 17, nw_ttl: 255, tp_src: 53, tp_dst: 5353 }),
  arp: key({ in_port: 1, eth_src: parseMac('02:00:00:00:00:01'), eth_dst: parseMac('ff:ff:ff:ff:ff:ff'), eth_type: 0x0806,
    nw_proto: 1, nw_src: pad16(ipv4('10.0.0.1')), nw_dst: pad16(ipv4('10.0.0.2')), arp_sha: parseMac('02:00:00:00:00:01') }),
  vlanIcmp: key({ in_port: 3, eth_type: 0x0800, vlan_tci: VLAN_PRESENT | 100, nw_proto: 1, nw_ttl: 64,
    nw_src: pad16(ipv4('10.1.0.1')), nw_dst: pad16(ipv4('10.1.0.2')), tp_src: 8, tp_dst: 0 }),
  laterFrag: key({ in_port: 2, eth_type: 0x0800, nw_proto: 17, nw_frag: FRAG_ANY | FRAG_LATER, nw_src: pad16(ipv4('10.0.0.1')) }),
  firstFrag: key({ in_port: 2, eth_type: 0x0800, nw_proto: 17, nw_frag: FRAG_ANY, tp_src: 1, tp_dst: 2 }),
};

describe('OVS datapath netlink codec', () => {
  for (const [name, k] of Object.entries(KEYS)) {
    it(`flow key round-trips through OVS_KEY_ATTR_*: ${name}`, () => {
      const back = decodeKey(encodeKey(k));
      assert.equal(back.hex(), k.hex());
    });
  }

  it('masks round-trip, including partial masks and the frag byte', () => {
    const k = KEYS.tcp4;
    const m = new FlowKey().exact('in_port').exact('eth_type').exact('nw_proto').setField('nw_frag', FRAG_ANY | FRAG_LATER)
      .setField('nw_src', pad16(ipv4('255.255.255.0'))).setField('tp_dst', 0xf800);
    const back = decodeKey(encodeKey(m, k), true);
    assert.equal(back.hex(), m.clone().setField('vlan_tci', 0xffff).hex());
  });

  it('refuses a mask whose L4/L3 bits lack their prerequisites instead of silently widening it', () => {
    const k = KEYS.tcp4;
    const l4NoProto = new FlowKey().exact('in_port').exact('eth_type').exact('tp_dst');
    assert.throws(() => encodeKey(l4NoProto, k), /prerequisites/);
    const l3NoType = new FlowKey().exact('in_port').exact('nw_ttl');
    assert.throws(() => encodeKey(l3NoType, k), /prerequisites/);
    const l4OnArp = new FlowKey().exact('in_port').exact('eth_type').exact('nw_proto').exact('tp_dst');
    assert.throws(() => encodeKey(l4OnArp, KEYS.arp), /prerequisites/);
    const ok = new FlowKey().exact('in_port').exact('eth_type').exact('nw_proto').exact('tp_dst');
    assert.equal(decodeKey(encodeKey(ok, k), true).field('tp_dst'), 0xffff);
  });

  it('actions round-trip (output, set_masked fields, vlan, userspace)', () => {
    const acts: OdpAction[] = [
      { type: 'set', field: 'eth_dst', value: parseMac('02:00:00:00:00:09') },
      { type: 'set', field: 'ipv4_src', value: ipv4('192.0.2.1') },
      { type: 'set', field: 'ipv4_ttl', value: Buffer.from([9]) },
      { type: 'set', field: 'tcp_dst', value: Buffer.from([0x1f, 0x90]) },
      { type: 'push_vlan', tpid: 0x8100, tci: 100 },
      { type: 'output', port: 3 },
      { type: 'pop_vlan' },
      { type: 'output', port: 4 },
      { type: 'userspace', pid: 42, userdata: Buffer.from('abcd') },
    ];
    assert.deepEqual(decodeActions(encodeActions(acts)), acts);
  });

  it('meter and IPv6 set actions: the wire form of linux/openvswitch.h (METER = 19, struct ovs_key_ipv6)', () => {
    const m = encodeActions([{ type: 'meter', id: 0x01020304 }]);
    assert.equal(m.toString('hex'), '08001300' + '04030201', 'nla_len 8, OVS_ACTION_ATTR_METER (19), u32 id');
    const set = (field: 'ipv6_src' | 'ipv6_dst' | 'ipv6_label' | 'ipv6_tclass' | 'ipv6_hlimit', value: Buffer): Buffer => {
      const b = encodeActions([{ type: 'set', field, value }]);
      assert.equal(b.readUInt16LE(2) & 0x3fff, 11, 'OVS_ACTION_ATTR_SET_MASKED (nested)');
      assert.equal(b.readUInt16LE(6), 8, 'OVS_KEY_ATTR_IPV6');
      assert.equal(b.readUInt16LE(4), 4 + 80, 'value and mask of the 40-byte struct');
      return b.subarray(8, 88);
    };
    // struct ovs_key_ipv6: src[16] dst[16] label(be32) proto tclass hlimit frag; the mask follows at +40
    let a = set('ipv6_src', ipv6('2001:db8::1'));
    assert.deepEqual(a.subarray(0, 16), ipv6('2001:db8::1'));
    assert.ok(a.subarray(40, 56).every((x) => x === 0xff) && a.subarray(56).every((x) => x === 0));
    a = set('ipv6_dst', ipv6('fd00::2'));
    assert.deepEqual(a.subarray(16, 32), ipv6('fd00::2'));
    assert.ok(a.subarray(56, 72).every((x) => x === 0xff));
    a = set('ipv6_label', Buffer.from([0, 0x0a, 0xbc, 0xde]));
    assert.equal(a.readUInt32BE(32), 0xabcde);
    assert.equal(a.readUInt32BE(72), 0x000fffff, 'the label is 20 bits: the kernel would write tclass bits under 0xffffffff');
    a = set('ipv6_tclass', Buffer.from([0x2e]));
    assert.equal(a[37], 0x2e); assert.equal(a[77], 0xff);
    a = set('ipv6_hlimit', Buffer.from([9]));
    assert.equal(a[38], 9); assert.equal(a[78], 0xff);
    assert.throws(() => encodeActions([{ type: 'set', field: 'ipv6_label', value: Buffer.from([0, 0x1a, 0, 0]) }]), /outside/);
    assert.throws(() => encodeActions([{ type: 'set', field: 'ipv6_src', value: Buffer.alloc(4) }]), /16 bytes/);
    const acts: OdpAction[] = [
      { type: 'meter', id: 7 },
      { type: 'set', field: 'ipv6_src', value: ipv6('2001:db8::1') },
      { type: 'set', field: 'ipv6_dst', value: ipv6('2001:db8::2') },
      { type: 'set', field: 'ipv6_label', value: Buffer.from([0, 1, 2, 3]) },
      { type: 'set', field: 'ipv6_tclass', value: Buffer.from([0xb8]) },
      { type: 'set', field: 'ipv6_hlimit', value: Buffer.from([1]) },
      { type: 'output', port: 2 },
    ];
    assert.deepEqual(decodeActions(encodeActions(acts)), acts);
  });

  it('OVS_FLOW_CMD_NEW round-trips with ufid, key, mask, actions, stats', () => {
    const ufid = Buffer.alloc(16, 7);
    const mask = FlowKey.exactMask();
    const buf = encodeFlowMsg({ cmd: FlowCmd.NEW, dpIfindex: 5, ufid, key: KEYS.tcp4, mask, actions: [{ type: 'output', port: 2 }],
      stats: { packets: 10n, bytes: 1000n }, used: 12345n, tcpFlags: 0x12 });
    assert.equal(buf.readUInt32LE(0), buf.length, 'nlmsg_len');
    const m = decodeFlowMsg(buf);
    assert.equal(m.cmd, FlowCmd.NEW);
    assert.equal(m.dpIfindex, 5);
    assert.deepEqual(m.ufid, ufid);
    assert.equal(m.key!.hex(), KEYS.tcp4.hex());
    // Only the attributes that exist for a TCP/IPv4 key carry mask bits; an
    // absent VLAN attribute means "untagged", so the TCI stays exact.
    assert.ok(m.mask!.bytes('nw_src').subarray(0, 4).every((x) => x === 0xff));
    assert.ok(m.mask!.bytes('arp_sha').every((x) => x === 0), 'ARP fields do not apply to TCP');
    assert.equal(m.mask!.field('vlan_tci'), 0xffff);
    for (const f of ['in_port', 'eth_src', 'eth_dst', 'eth_type', 'nw_proto', 'nw_tos', 'nw_ttl', 'tp_src', 'tp_dst', 'tcp_flags'] as const) {
      assert.ok(m.mask!.bytes(f).every((x) => x === 0xff), f);
    }
    // canonical: a second round trip changes nothing
    assert.equal(decodeFlowMsg(encodeFlowMsg({ ...m, cmd: FlowCmd.NEW })).mask!.hex(), m.mask!.hex());
    assert.deepEqual(m.actions, [{ type: 'output', port: 2 }]);
    assert.deepEqual(m.stats, { packets: 10n, bytes: 1000n });
    assert.equal(m.used, 12345n);
    assert.equal(m.tcpFlags, 0x12);
  });

  it('attributes that cross the writer\'s buffer growth land in the grown buffer (regression)', () => {
    for (let n = 100; n < 700; n++) {
      const pkt = Buffer.alloc(n, n & 0xff);
      const m = decodePacketMsg(encodePacketMsg({ cmd: PacketCmd.MISS, dpIfindex: 0, packet: pkt, key: KEYS.udp6, userdata: Buffer.from([n & 0xff]), len: n + 1 }));
      assert.deepEqual(m.packet, pkt, `packet of ${n}`);
      assert.equal(m.len, n + 1, `len after a packet of ${n}`);
      assert.deepEqual(m.userdata, Buffer.from([n & 0xff]));
    }
    for (let n = 0; n < 40; n++) {
      const actions: OdpAction[] = Array.from({ length: n }, (_, i) => ({ type: 'output', port: i }));
      const f = decodeFlowMsg(encodeFlowMsg({ cmd: FlowCmd.GET, dpIfindex: 0, key: KEYS.tcp4, actions, stats: { packets: 1n, bytes: 2n }, used: 3n, tcpFlags: 0x12 }));
      assert.deepEqual([f.actions?.length, f.used, f.tcpFlags], [n, 3n, 0x12], `${n} actions`);
    }
  });

  it('OVS_PACKET_CMD_MISS round-trips', () => {
    const pkt = Buffer.from('00112233445566778899aabb0800', 'hex');
    const m = decodePacketMsg(encodePacketMsg({ cmd: PacketCmd.MISS, dpIfindex: 0, packet: pkt, key: KEYS.udp6, len: 99 }));
    assert.equal(m.cmd, PacketCmd.MISS);
    assert.deepEqual(m.packet, pkt);
    assert.equal(m.key.hex(), KEYS.udp6.hex());
    assert.equal(m.len, 99);
  });

  it('malformed messages are rejected with an error, never a crash or a wrong decode', () => {
    const good = encodeFlowMsg({ cmd: FlowCmd.NEW, dpIfindex: 0, key: KEYS.tcp4, actions: [] });
    assert.throws(() => decodeFlowMsg(good.subarray(0, 10)), RangeError);
    assert.throws(() => decodeFlowMsg(good, 0x1234), /family/);
    const badCmd = Buffer.from(good); badCmd[16] = 99;
    assert.throws(() => decodeFlowMsg(badCmd), /OVS_FLOW_CMD/);
    assert.throws(() => decodePacketMsg(encodeFlowMsg({ cmd: FlowCmd.NEW, dpIfindex: 0 }), 0x7f01), /PACKET or KEY|OVS_PACKET_CMD/);
    // a truncated attribute inside the key
    assert.throws(() => decodeKey(Buffer.from([8, 0, 7, 0, 1, 2, 3, 4])), /ipv4/);
    // random garbage: must throw or decode, never hang or crash the process
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(good);
      for (let j = 0; j < 4; j++) junk[Math.floor(Math.random() * junk.length)] = Math.floor(Math.random() * 256);
      try { decodeFlowMsg(junk); } catch (e) { assert.ok(e instanceof Error); }
    }
  });
});
