/* struct xvs_meter as userspace writes it: token-bucket units (bpf/xvs_abi.h). */
import { strict as assert } from 'assert';
import { encodeMeter, encodeMeterReq, decodeMeterReq, LAYOUT, METER_F_VALID, METER_F_KBPS, METER_OP_EXEC } from '../../src/dpif/xvs-abi';

describe('datapath meter encoding', () => {
  const L = LAYOUT.xvs_meter;
  it('a fresh meter: valid, full bucket of burst * 1e9 units, zero stats and clock', () => {
    const b = encodeMeter({ kbps: true, rate: 1000, burst: 64 });
    assert.equal(b.length, L.size);
    assert.equal(b.readUInt32LE(L.flags), METER_F_VALID | METER_F_KBPS);
    assert.equal(b.readBigUInt64LE(L.rate), 1000n);
    assert.equal(b.readBigUInt64LE(L.bucket_max), 64n * 1_000_000_000n, '64 kbit in 1e-6 bit units');
    assert.equal(b.readBigUInt64LE(L.bucket), b.readBigUInt64LE(L.bucket_max));
    assert.equal(b.readBigUInt64LE(L.max_delta_ns), 64_000_000n, '64 kbit refill at 1000 kbit/s: 64 ms');
    for (const f of ['last_ns', 'packets', 'bytes', 'dropped', 'dropped_bytes'] as const) assert.equal(b.readBigUInt64LE(L[f]), 0n, f);
  });

  it('pps; burst 0 is one second of the rate (dpif-netdev); the refill clamp rounds up', () => {
    const b = encodeMeter({ kbps: false, rate: 3, burst: 0 });
    assert.equal(b.readUInt32LE(L.flags), METER_F_VALID);
    assert.equal(b.readBigUInt64LE(L.bucket_max), 3n * 1_000_000_000n);
    assert.equal(b.readBigUInt64LE(L.max_delta_ns), 1_000_000_000n);
    assert.equal(encodeMeter({ kbps: false, rate: 3, burst: 1 }).readBigUInt64LE(L.max_delta_ns), 333_333_334n);
  });

  it('rejects a zero, fractional or oversized rate and a negative burst', () => {
    for (const m of [{ rate: 0, burst: 1 }, { rate: 1.5, burst: 1 }, { rate: 2 ** 32, burst: 1 }, { rate: 1, burst: -1 }]) {
      assert.throws(() => encodeMeter({ kbps: false, ...m }), RangeError);
    }
  });

  it('the xvs_meter_run request round-trips', () => {
    const r = encodeMeterReq(METER_OP_EXEC, 9, 1500);
    assert.equal(r.length, LAYOUT.xvs_meter_req.size);
    r.writeUInt32LE(1, LAYOUT.xvs_meter_req.verdict); r.writeBigUInt64LE(5n, LAYOUT.xvs_meter_req.dropped_bytes);
    assert.deepEqual(decodeMeterReq(r), { verdict: 1, packets: 0n, bytes: 0n, dropped: 0n, droppedBytes: 5n });
  });
});
