/* Userspace action execution: checksums stay valid, VLAN tags go on and off. */
import { strict as assert } from 'assert';
import { odpExecute, completePartialChecksum, locate, l4Checksum, ipv4HeaderChecksum } from '../../src/dpif/odp-execute';
import { OdpAction } from '../../src/dpif/odp-netlink';
import { frame, ipv4, ipv6 } from '../support/packets';

function run(pkt: Buffer, acts: OdpAction[]): { port: number; frame: Buffer }[] {
  const out: { port: number; frame: Buffer }[] = [];
  odpExecute(pkt, acts, { output: (port, f) => out.push({ port, frame: f }) });
  return out;
}
function valid(f: Buffer): void {
  const p = locate(f)!;
  if (p.ethType === 0x0800) assert.equal(f.readUInt16BE(p.l3 + 10), ipv4HeaderChecksum(f, p.l3), 'IPv4 header checksum');
  if (p.proto === 6 || p.proto === 17) assert.equal(f.readUInt16BE(p.l4! + (p.proto === 6 ? 16 : 6)), l4Checksum(f, p), 'L4 checksum');
}

/** IPv6 L4 checksum over the pseudo-header, the checksum field included: 0xffff when valid. */
function v6Sum(f: Buffer, l3: number, l4: number, proto: number): number {
  const len = l3 + 40 + f.readUInt16BE(l3 + 4) - l4;
  let s = len + proto;
  for (let i = l3 + 8; i < l3 + 40; i += 2) s += f.readUInt16BE(i);
  for (let i = 0; i < len; i += 2) s += i + 1 < len ? f.readUInt16BE(l4 + i) : f[l4 + i] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
function v6Fix(f: Buffer, proto: number, co: number): Buffer {
  f.writeUInt16BE(0, 54 + co);
  f.writeUInt16BE(~v6Sum(f, 14, 54, proto) & 0xffff, 54 + co);
  return f;
}

describe('odp-execute', () => {
  it('outputs snapshots in order; later sets do not change earlier outputs', () => {
    const pkt = frame({ proto: 'tcp', payload: 33 });
    const out = run(pkt, [{ type: 'output', port: 1 }, { type: 'set', field: 'eth_dst', value: Buffer.alloc(6, 0xaa) }, { type: 'output', port: 2 }]);
    assert.deepEqual(out.map((o) => o.port), [1, 2]);
    assert.deepEqual(out[0].frame, pkt);
    assert.deepEqual(out[1].frame.subarray(0, 6), Buffer.alloc(6, 0xaa));
  });

  it('set ipv4 src/dst/ttl/tos and tcp/udp ports keep every checksum valid', () => {
    for (const proto of ['tcp', 'udp'] as const) {
      const pkt = frame({ proto, payload: 21 });
      const [o] = run(pkt, [
        { type: 'set', field: 'ipv4_src', value: ipv4('192.0.2.7') }, { type: 'set', field: 'ipv4_dst', value: ipv4('198.51.100.9') },
        { type: 'set', field: 'ipv4_ttl', value: Buffer.from([3]) }, { type: 'set', field: 'ipv4_tos', value: Buffer.from([0x28]) },
        { type: 'set', field: `${proto}_dst`, value: Buffer.from([0x1f, 0x90]) }, { type: 'output', port: 1 }]);
      valid(o.frame);
      assert.deepEqual(o.frame.subarray(26, 30), ipv4('192.0.2.7'));
      assert.equal(o.frame[22], 3);
      assert.equal(o.frame.readUInt16BE(36), 8080);
    }
  });

  it('push_vlan then pop_vlan restores the frame', () => {
    const pkt = frame({ proto: 'udp' });
    const out = run(pkt, [{ type: 'push_vlan', tpid: 0x8100, tci: (3 << 13) | 100 }, { type: 'output', port: 1 }, { type: 'pop_vlan' }, { type: 'output', port: 2 }]);
    assert.equal(out[0].frame.length, pkt.length + 4);
    assert.equal(out[0].frame.readUInt16BE(12), 0x8100);
    assert.equal(out[0].frame.readUInt16BE(14), (3 << 13) | 100);
    assert.deepEqual(out[1].frame, pkt);
  });

  it('completes a CHECKSUM_PARTIAL TCP checksum and leaves valid or corrupt ones alone', () => {
    const pkt = frame({ proto: 'tcp', payload: 40 });
    const good = Buffer.from(pkt);
    assert.equal(completePartialChecksum(good), false, 'a valid checksum is untouched');
    // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum only
    const p = locate(pkt)!;
    let s = pkt.readUInt16BE(p.l3 + 12) + pkt.readUInt16BE(p.l3 + 14) + pkt.readUInt16BE(p.l3 + 16) + pkt.readUInt16BE(p.l3 + 18) + 6 + p.l4Len!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    const partial = Buffer.from(pkt); partial.writeUInt16BE(s, p.l4! + 16);
    assert.equal(completePartialChecksum(partial), true);
    assert.deepEqual(partial, pkt);
    const corrupt = Buffer.from(pkt); corrupt.writeUInt16BE(0x1234, p.l4! + 16);
    assert.equal(completePartialChecksum(corrupt), false, 'a corrupt checksum is not "fixed"');
  });

  it('never throws on truncated frames', () => {
    const pkt = frame({ proto: 'tcp', payload: 10 });
    for (let n = 0; n <= pkt.length; n++) {
      run(pkt.subarray(0, n), [{ type: 'set', field: 'ipv4_src', value: ipv4('1.1.1.1') }, { type: 'set', field: 'tcp_src', value: Buffer.from([0, 1]) },
        { type: 'pop_vlan' }, { type: 'output', port: 1 }]);
      completePartialChecksum(Buffer.from(pkt.subarray(0, n)));
    }
  });

  it('set ipv6 src/dst keeps TCP, UDP and ICMPv6 checksums valid', () => {
    for (const [proto, n, co] of [['tcp', 6, 16], ['udp', 17, 6], ['icmpv6', 58, 2]] as const) {
      const pkt = v6Fix(frame({ l3: 'ipv6', proto, payload: 13 }), n, co);
      assert.equal(v6Sum(pkt, 14, 54, n), 0xffff);
      const [o] = run(pkt, [{ type: 'set', field: 'ipv6_src', value: ipv6('2001:db8::7') },
        { type: 'set', field: 'ipv6_dst', value: ipv6('2001:db8:1:2:3:4:5:6') }, { type: 'output', port: 1 }]);
      assert.deepEqual(o.frame.subarray(22, 38), ipv6('2001:db8::7'));
      assert.deepEqual(o.frame.subarray(38, 54), ipv6('2001:db8:1:2:3:4:5:6'));
      assert.equal(v6Sum(o.frame, 14, 54, n), 0xffff, `${proto} checksum`);
    }
  });

  it('set ipv6 tclass/label/hlimit write only their bits', () => {
    const pkt = frame({ l3: 'ipv6', proto: 'udp', tos: 0xb8, ttl: 9 });
    pkt.writeUInt32BE(((6 << 28) | (0xb8 << 20) | 0xabcde) >>> 0, 14);
    const [o] = run(pkt, [{ type: 'set', field: 'ipv6_tclass', value: Buffer.from([0x04]) }, { type: 'output', port: 1 }]);
    assert.equal(o.frame.readUInt32BE(14), ((6 << 28) | (0x04 << 20) | 0xabcde) >>> 0);
    const [, o2] = run(pkt, [{ type: 'output', port: 1 }, { type: 'set', field: 'ipv6_label', value: Buffer.from([0, 0, 0, 1]) },
      { type: 'set', field: 'ipv6_hlimit', value: Buffer.from([200]) }, { type: 'output', port: 2 }]);
    assert.equal(o2.frame.readUInt32BE(14), ((6 << 28) | (0xb8 << 20) | 1) >>> 0);
    assert.equal(o2.frame[21], 200);
    assert.deepEqual(o2.frame.subarray(22), pkt.subarray(22), 'nothing else changes (no checksum covers these)');
  });

  it('meter: a dropping band ends the action list; no meter hook = no meter = pass (OVS)', () => {
    const pkt = frame({ proto: 'udp' });
    const seen: [number, number][] = [];
    const out: number[] = [];
    const acts: OdpAction[] = [{ type: 'output', port: 1 }, { type: 'meter', id: 3 }, { type: 'output', port: 2 }];
    odpExecute(pkt, acts, { output: (p) => out.push(p), meter: (id, len) => { seen.push([id, len]); return true; } });
    assert.deepEqual(out, [1], 'outputs before the meter happen, none after');
    assert.deepEqual(seen, [[3, pkt.length]]);
    out.length = 0;
    odpExecute(pkt, acts, { output: (p) => out.push(p), meter: () => false });
    assert.deepEqual(out, [1, 2]);
    assert.deepEqual(run(pkt, acts).map((o) => o.port), [1, 2]);
  });

  it('never throws on truncated or malformed IPv6 frames', () => {
    const pkt = frame({ l3: 'ipv6', proto: 'tcp', payload: 10 });
    const acts: OdpAction[] = [{ type: 'set', field: 'ipv6_src', value: ipv6('::1') }, { type: 'set', field: 'ipv6_label', value: Buffer.alloc(4) },
      { type: 'set', field: 'ipv6_hlimit', value: Buffer.from([1]) }, { type: 'output', port: 1 }];
    for (let n = 0; n <= pkt.length; n++) {
      const [o] = run(pkt.subarray(0, n), acts);
      if (n < pkt.length) assert.deepEqual(o.frame, pkt.subarray(0, n), 'a frame shorter than its payload length is left alone (as BPF)');
    }
    const chain = Buffer.from(pkt); chain[20] = 0;                        // hop-by-hop header claiming the TCP bytes
    run(chain, acts);
  });
});
