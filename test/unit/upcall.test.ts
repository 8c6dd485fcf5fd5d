/* The upcall decoder: perf sample (struct xvs_upcall + packet) -> OVS_PACKET_CMD_MISS. */
import { strict as assert } from 'assert';
import { decodeUpcall, LAYOUT, UPCALL_MISS, HOOK_TC, UPCALL_MAX_PKT } from '../../src/dpif/xvs-abi';
import { FlowKey } from '../../src/dpif/flow-key';
import { encodePacketMsg, decodePacketMsg, PacketCmd } from '../../src/dpif/odp-netlink';
import { frame } from '../support/packets';

function sample(pkt: Buffer, opts: { capLen?: number; pktLen?: number; pad?: number } = {}): Buffer {
  const L = LAYOUT.xvs_upcall;
  const h = Buffer.alloc(L.size);
  h[L.cmd] = UPCALL_MISS; h[L.hook] = HOOK_TC;
  h.writeUInt32LE(opts.pktLen ?? pkt.length, L.pkt_len);
  h.writeUInt32LE(opts.capLen ?? pkt.length, L.cap_len);
  const k = new FlowKey(); k.inPort = 4; k.setField('eth_type', 0x0800); k.setField('nw_proto', 17);
  k.buf.copy(h, L.key);
  // perf pads raw samples to keep 8-byte alignment: trailing bytes must be ignored
  return Buffer.concat([h, pkt, Buffer.alloc(opts.pad ?? 4)]);
}

describe('upcall decoder', () => {
  it('decodes header, key and exactly cap_len packet bytes despite perf padding', () => {
    const pkt = frame({ proto: 'udp', payload: 18 });
    const r = decodeUpcall(sample(pkt, { pad: 7 }));
    assert.equal(r.cmd, UPCALL_MISS);
    assert.equal(r.hook, HOOK_TC);
    assert.equal(r.key.inPort, 4);
    assert.equal(r.key.nwProto, 17);
    assert.deepEqual(r.packet, pkt);
  });

  it('keeps the full length when the packet was capped', () => {
    const pkt = frame({ payload: 100 });
    const r = decodeUpcall(sample(pkt.subarray(0, 60), { pktLen: pkt.length, capLen: 60 }));
    assert.equal(r.packet.length, 60);
    assert.equal(r.pktLen, pkt.length);
  });

  it('becomes an OVS_PACKET_CMD_MISS message that decodes back', () => {
    const pkt = frame({ proto: 'tcp' });
    const r = decodeUpcall(sample(pkt));
    const m = decodePacketMsg(encodePacketMsg({ cmd: PacketCmd.MISS, dpIfindex: 0, packet: r.packet, key: r.key, len: r.pktLen }));
    assert.equal(m.cmd, PacketCmd.MISS);
    assert.deepEqual(m.packet, pkt);
    assert.equal(m.key.hex(), r.key.hex());
  });

  it('rejects records shorter than their header or than the bytes they claim', () => {
    assert.throws(() => decodeUpcall(Buffer.alloc(10)), /truncated/);
    const pkt = frame();
    assert.throws(() => decodeUpcall(sample(pkt, { capLen: pkt.length + 100, pad: 0 })), /claims/);
    assert.throws(() => decodeUpcall(sample(pkt, { capLen: UPCALL_MAX_PKT + 1 })), /claims/);
  });
});
