/*
 * walkRing on synthetic perf rings (no root, no kernel).
 */
import * as assert from 'assert';
import { walkRing, PERF_RECORD_LOST, PERF_RECORD_SAMPLE } from '../../src/bpf/ring-walk';

/** A fake perf ring data area with a free-running producer position. */
class FakeRing {
  readonly data: Buffer;
  head: number;

  constructor(size: number, start = 0) {
    this.data = Buffer.alloc(size, 0xee);
    this.head = start;
  }

  private put(bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) this.data[(this.head + i) % this.data.length] = bytes[i];
    this.head += bytes.length;
  }

  /** PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW: header, u32 size, payload padded so the record is 8-aligned. */
  sample(payload: Buffer): void {
    const rawSize = ((payload.length + 4 + 7) & ~7) - 4;
    const rec = Buffer.alloc(8 + 4 + rawSize);
    rec.writeUInt32LE(PERF_RECORD_SAMPLE, 0);
    rec.writeUInt16LE(0, 4);
    rec.writeUInt16LE(rec.length, 6);
    rec.writeUInt32LE(rawSize, 8);
    rec.set(payload, 12);
    this.put(rec);
  }

  lost(count: number): void {
    const rec = Buffer.alloc(24);
    rec.writeUInt32LE(PERF_RECORD_LOST, 0);
    rec.writeUInt16LE(24, 6);
    rec.writeBigUInt64LE(7n, 8); // id
    rec.writeBigUInt64LE(BigInt(count), 16);
    this.put(rec);
  }

  /** A record with an arbitrary (possibly bogus) header. */
  raw(type: number, size: number, body: Buffer): void {
    const rec = Buffer.alloc(8 + body.length);
    rec.writeUInt32LE(type, 0);
    rec.writeUInt16LE(size, 6);
    rec.set(body, 8);
    this.put(rec);
  }
}

interface Got {
  type: number;
  payload?: Buffer; // samples: the raw payload (copied)
  lost?: number;
  rawLen?: number;
}

function collect(out: Got[]) {
  return (type: number, buf: Buffer, off: number, len: number): void => {
    if (type === PERF_RECORD_SAMPLE) {
      const sz = buf.readUInt32LE(off);
      assert.ok(4 + sz <= len, 'raw size fits the record');
      out.push({ type, payload: Buffer.from(buf.subarray(off + 4, off + 4 + sz)), rawLen: sz });
    } else if (type === PERF_RECORD_LOST) {
      out.push({ type, lost: Number(buf.readBigUInt64LE(off + 8)) });
    } else {
      out.push({ type, rawLen: len });
    }
  };
}

function payload(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i) & 0xff;
  return b;
}

describe('walkRing (perf ring parser)', () => {
  it('returns the tail unchanged and calls nothing on an empty ring', () => {
    const r = new FakeRing(256, 96);
    let calls = 0;
    assert.strictEqual(walkRing(r.data, r.head, r.head, 100, () => calls++), 96);
    assert.strictEqual(walkRing(r.data, 0, 0, 100, () => calls++), 0);
    assert.strictEqual(calls, 0);
  });

  it('hands out several records in order with their payloads', () => {
    const r = new FakeRing(512);
    const sent = [payload(16, 1), payload(20, 2), payload(1, 3), payload(60, 4)];
    for (const p of sent) r.sample(p);
    const got: Got[] = [];
    const tail = walkRing(r.data, r.head, 0, 100, collect(got));
    assert.strictEqual(tail, r.head);
    assert.strictEqual(got.length, sent.length);
    got.forEach((g, i) => {
      assert.strictEqual(g.type, PERF_RECORD_SAMPLE);
      // raw size is padded so that 4 + size is a multiple of 8
      assert.strictEqual((4 + g.rawLen!) % 8, 0);
      assert.ok(g.rawLen! >= sent[i].length && g.rawLen! < sent[i].length + 8);
      assert.deepStrictEqual(g.payload!.subarray(0, sent[i].length), sent[i]);
      assert.ok(g.payload!.subarray(sent[i].length).every((b) => b === 0), 'padding is zero');
    });
  });

  it('reassembles a record whose body straddles the end of the ring', () => {
    const size = 256;
    // free-running positions far past the ring size: start 3 laps in, 40 bytes before the end
    const start = 3 * size + size - 40;
    const r = new FakeRing(size, start);
    const p = payload(100, 9);
    r.sample(p); // 8 + 4 + 100 = 112 bytes: 40 before the end, 72 after
    r.sample(payload(8, 10)); // next one lies after the wrap, contiguous
    const got: Got[] = [];
    const tail = walkRing(r.data, r.head, start, 100, collect(got));
    assert.strictEqual(tail, r.head);
    assert.strictEqual(got.length, 2);
    assert.deepStrictEqual(got[0].payload!.subarray(0, 100), p);
    assert.deepStrictEqual(got[1].payload!.subarray(0, 8), payload(8, 10));
  });

  it('handles a header split by the end of the ring and positions above 2^32', () => {
    const size = 128;
    const start = 2 ** 40 + size - 4; // header is cut in the middle (not 8-aligned on purpose)
    const r = new FakeRing(size, start);
    r.sample(payload(20, 5));
    r.lost(3);
    const got: Got[] = [];
    const tail = walkRing(r.data, r.head, start, 10, collect(got));
    assert.strictEqual(tail, r.head);
    assert.strictEqual(got.length, 2);
    assert.deepStrictEqual(got[0].payload!.subarray(0, 20), payload(20, 5));
    assert.deepStrictEqual(got[1], { type: PERF_RECORD_LOST, lost: 3 });
  });

  it('reports PERF_RECORD_LOST between samples', () => {
    const r = new FakeRing(512);
    r.sample(payload(12, 1));
    r.lost(1234);
    r.sample(payload(12, 2));
    const got: Got[] = [];
    walkRing(r.data, r.head, 0, 100, collect(got));
    assert.deepStrictEqual(got.map((g) => g.type), [PERF_RECORD_SAMPLE, PERF_RECORD_LOST, PERF_RECORD_SAMPLE]);
    assert.strictEqual(got[1].lost, 1234);
    assert.deepStrictEqual(got[2].payload!.subarray(0, 12), payload(12, 2));
  });

  it('stops when the budget runs out and resumes from the returned tail', () => {
    const r = new FakeRing(256, 200); // the records wrap during the walk
    const sent = [0, 1, 2, 3, 4].map((i) => payload(12 + i, i));
    for (const p of sent) r.sample(p);
    const got: Got[] = [];
    const t1 = walkRing(r.data, r.head, 200, 2, collect(got));
    assert.strictEqual(got.length, 2);
    assert.ok(t1 > 200 && t1 < r.head);
    const t2 = walkRing(r.data, r.head, t1, 2, collect(got));
    assert.strictEqual(got.length, 4);
    const t3 = walkRing(r.data, r.head, t2, 2, collect(got));
    assert.strictEqual(got.length, 5);
    assert.strictEqual(t3, r.head);
    got.forEach((g, i) => assert.deepStrictEqual(g.payload!.subarray(0, sent[i].length), sent[i]));
    // nothing left
    assert.strictEqual(walkRing(r.data, r.head, t3, 2, collect(got)), t3);
    assert.strictEqual(got.length, 5);
  });

  it('passes unknown record types through and gives up on a malformed header', () => {
    const r = new FakeRing(256);
    r.raw(14 /* PERF_RECORD_THROTTLE */, 24, Buffer.alloc(16));
    r.sample(payload(4, 1));
    const goodEnd = r.head;
    r.raw(PERF_RECORD_SAMPLE, 0, Buffer.alloc(8)); // size 0: would loop forever if trusted
    r.sample(payload(4, 2));
    const got: Got[] = [];
    const tail = walkRing(r.data, r.head, 0, 100, collect(got));
    assert.deepStrictEqual(got.map((g) => g.type), [14, PERF_RECORD_SAMPLE]);
    assert.strictEqual(got[0].rawLen, 16);
    assert.ok(goodEnd < r.head);
    assert.strictEqual(tail, r.head, 'skips the rest of the ring');

    // a record claiming more bytes than were published is not read either
    const r2 = new FakeRing(256);
    r2.raw(PERF_RECORD_SAMPLE, 200, Buffer.alloc(8));
    const got2: Got[] = [];
    assert.strictEqual(walkRing(r2.data, r2.head, 0, 100, collect(got2)), r2.head);
    assert.strictEqual(got2.length, 0);
  });
});
