/* dpctl/dump-flows lines must read exactly as OVS prints them. */
import { strict as assert } from 'assert';
import { FlowKey, parseMac, FRAG_ANY, FRAG_LATER } from '../../src/dpif/flow-key';
import { formatDumpedFlow, formatFlowMatch, formatActions, formatTcpFlags } from '../../src/dpif/odp-util';
import { ipv4, ipv6 } from '../support/packets';

const pad16 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc(16 - b.length)]);

describe('dpctl flow formatting', () => {
  it('matches the OVS 3.1 reference line for a NORMAL megaflow', () => {
    // research/ovs-reference: in_port(3),eth(src=e6:6f:ab:50:c8:fb,dst=52:90:24:20:64:11),eth_type(0x0800),ipv4(frag=no), packets:60143, bytes:4887249, used:0.037s, flags:SFPR., actions:2
    const k = new FlowKey(); k.inPort = 3;
    k.setField('eth_src', parseMac('e6:6f:ab:50:c8:fb')).setField('eth_dst', parseMac('52:90:24:20:64:11')).setField('eth_type', 0x0800);
    k.setField('nw_proto', 6).setField('nw_src', pad16(ipv4('10.77.0.2')));
    const m = new FlowKey().exact('in_port').exact('eth_src').exact('eth_dst').exact('eth_type').setField('nw_frag', FRAG_ANY | FRAG_LATER);
    const line = formatDumpedFlow({ key: k.and(m), mask: m, actions: [{ type: 'output', port: 2 }], packets: 60143n, bytes: 4887249n,
      usedMsAgo: 37, tcpFlags: 0x02 | 0x01 | 0x08 | 0x04 | 0x10 });
    assert.equal(line, 'in_port(3),eth(src=e6:6f:ab:50:c8:fb,dst=52:90:24:20:64:11),eth_type(0x0800),ipv4(frag=no), packets:60143, bytes:4887249, used:0.037s, flags:SFPR., actions:2');
  });

  it('prints partial masks as value/mask and never-used flows as never', () => {
    const k = new FlowKey(); k.inPort = 1;
    k.setField('eth_type', 0x0800).setField('nw_proto', 17).setField('tp_dst', 2048);
    const m = new FlowKey().exact('in_port').exact('eth_type').exact('nw_proto').setField('tp_dst', 0xf800).setField('nw_frag', 3);
    assert.equal(formatFlowMatch(k, m), 'in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=2048/0xf800)');
    const line = formatDumpedFlow({ key: k, mask: m, actions: [], packets: 0n, bytes: 0n, tcpFlags: 0 });
    assert.match(line, /used:never, actions:drop$/);
  });

  it('prints tos and tclass as %#x, as OVS (tos=0x8d, tclass=0)', () => {
    const k = new FlowKey(); k.inPort = 1;
    k.setField('eth_type', 0x0800).setField('nw_tos', 0x8d).setField('nw_proto', 6);
    const m = new FlowKey().exact('in_port').exact('eth_type').exact('nw_tos');
    assert.equal(formatFlowMatch(k, m), 'in_port(1),eth_type(0x0800),ipv4(tos=0x8d)');
    k.setField('eth_type', 0x86dd).setField('nw_tos', 0);
    assert.equal(formatFlowMatch(k, m), 'in_port(1),eth_type(0x86dd),ipv6(tclass=0)');
  });

  it('prints later fragments without L4 and names ports with -m', () => {
    const k = new FlowKey(); k.inPort = 2;
    k.setField('eth_type', 0x0800).setField('nw_frag', FRAG_ANY | FRAG_LATER).setField('nw_proto', 17);
    const m = new FlowKey().exact('in_port').exact('eth_type').setField('nw_frag', 3).exact('nw_proto').exact('tp_dst');
    assert.equal(formatFlowMatch(k, m, (p) => (p === 2 ? 'veth0' : undefined)), 'in_port(veth0),eth_type(0x0800),ipv4(proto=17,frag=later)');
  });

  it('formats actions and TCP flags as OVS', () => {
    assert.equal(formatActions([{ type: 'output', port: 1 }, { type: 'output', port: 3 }]), '1,3');
    assert.equal(formatActions([{ type: 'set', field: 'ipv4_src', value: ipv4('1.2.3.4') }, { type: 'push_vlan', tpid: 0x8100, tci: 10 }, { type: 'pop_vlan' }]),
      'set(ipv4(src=1.2.3.4)),push_vlan(vid=10,pcp=0),pop_vlan');
    assert.equal(formatTcpFlags(0x12), 'S.');
    // tos is %#x in OVS's format_u8x
    assert.equal(formatActions([{ type: 'set', field: 'ipv4_tos', value: Buffer.from([0x28]) }]), 'set(ipv4(tos=0x28))');
    assert.equal(formatTcpFlags(0), 'none');
  });

  it('formats meter and IPv6 set actions as OVS (format_in6_addr, format_ipv6_label %#x, tclass %#x, hlimit %u)', () => {
    assert.equal(formatActions([{ type: 'meter', id: 0 }, { type: 'output', port: 2 }]), 'meter(0),2');
    assert.equal(formatActions([{ type: 'set', field: 'ipv6_src', value: ipv6('2001:db8::1') }, { type: 'set', field: 'ipv6_dst', value: ipv6('fe80::1:0:0:2') }]),
      'set(ipv6(src=2001:db8::1)),set(ipv6(dst=fe80::1:0:0:2))');
    assert.equal(formatActions([{ type: 'set', field: 'ipv6_label', value: Buffer.from([0, 1, 0x23, 0x45]) }]), 'set(ipv6(label=0x12345))');
    assert.equal(formatActions([{ type: 'set', field: 'ipv6_label', value: Buffer.alloc(4) }]), 'set(ipv6(label=0))');
    assert.equal(formatActions([{ type: 'set', field: 'ipv6_tclass', value: Buffer.from([0x2e]) }]), 'set(ipv6(tclass=0x2e))');
    assert.equal(formatActions([{ type: 'set', field: 'ipv6_tclass', value: Buffer.from([0]) }]), 'set(ipv6(tclass=0))');
    assert.equal(formatActions([{ type: 'set', field: 'ipv6_hlimit', value: Buffer.from([64]) }]), 'set(ipv6(hlimit=64))');
  });
});
