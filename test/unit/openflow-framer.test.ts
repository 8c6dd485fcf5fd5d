/*
 * OfFramer (TCP stream -> OpenFlow messages) and HELLO version negotiation.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as of from '../../src/openflow';
import { OfpError, OFPET } from '../../src/ofproto/ofp-errors';

const FIX = path.resolve(__dirname, '../../../test/fixtures/openflow');
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Every message of the fixtures, in order (one stream's worth of distinct messages). */
function messages(): Buffer[] {
  const out: Buffer[] = [];
  for (const l of fs.readFileSync(path.join(FIX, 'of13-session.segments.txt'), 'utf8').split('\n')) {
    if (l && !l.startsWith('#')) out.push(hex(l.split(' ')[3]));
  }
  for (const l of fs.readFileSync(path.join(FIX, 'ovs-ofctl-requests.txt'), 'utf8').split('\n')) {
    if (l && !l.startsWith('#')) out.push(hex(l.slice(l.lastIndexOf('|') + 1)));
  }
  return out;
}

describe('OpenFlow framer', () => {
  const msgs = messages();
  const stream = Buffer.concat(msgs);

  it('one chunk holding everything: every message, in order, nothing left', () => {
    const f = new of.OfFramer();
    const got = f.push(stream);
    assert.equal(got.length, msgs.length);
    got.forEach((m, i) => assert.ok(m.equals(msgs[i])));
    assert.equal(f.buffered, 0);
  });

  it('one byte at a time', () => {
    const f = new of.OfFramer();
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...f.push(stream.subarray(i, i + 1)));
    assert.equal(got.length, msgs.length);
    got.forEach((m, i) => assert.ok(m.equals(msgs[i])));
  });

  it('random splits and coalescing (200 rounds), including empty chunks and splits inside the header', () => {
    let seed = 12345;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
    for (let round = 0; round < 200; round++) {
      const f = new of.OfFramer();
      const got: Buffer[] = [];
      let off = 0;
      while (off < stream.length) {
        const kind = rnd(4);
        const n = kind === 0 ? rnd(8) : kind === 1 ? rnd(64) : kind === 2 ? rnd(600) : rnd(5000);
        got.push(...f.push(stream.subarray(off, off + n)));
        off += n;
      }
      assert.equal(got.length, msgs.length, `round ${round}`);
      for (let i = 0; i < msgs.length; i++) assert.ok(got[i].equals(msgs[i]), `round ${round} message ${i}`);
      assert.equal(f.buffered, 0);
    }
  });

  it('holds a partial message until it completes; messages decode', () => {
    const f = new of.OfFramer();
    const m = msgs.find((x) => x[1] === 14)!;           // a FLOW_MOD
    assert.deepEqual(f.push(m.subarray(0, 3)), []);
    assert.deepEqual(f.push(m.subarray(3, 20)), []);
    assert.equal(f.buffered, 20);
    const [done, ...rest] = f.push(Buffer.concat([m.subarray(20), m.subarray(0, 9)]));
    assert.equal(rest.length, 0);
    assert.equal(of.decodeMessage(done).type, 'flow_mod');
    assert.equal(f.buffered, 9);
  });

  it('a header length below 8 or above the limit fails the stream cleanly, and stays failed until reset', () => {
    for (const bad of ['0400000700000001', '0400000000000001']) {
      const f = new of.OfFramer();
      assert.deepEqual(f.push(hex('0402000800000001')).length, 1);
      assert.throws(() => f.push(hex(bad)), (e: unknown) => e instanceof OfpError && e.type === OFPET.BAD_REQUEST && e.code === of.OFPBRC.BAD_LEN);
      assert.throws(() => f.push(hex('0402000800000001')), OfpError);
      f.reset();
      assert.equal(f.push(hex('0402000800000001')).length, 1);
    }
    const small = new of.OfFramer(64);
    assert.throws(() => small.push(hex('0413004100000001')), OfpError);
    // The largest message there is frames fine.
    const big = Buffer.alloc(65535);
    big.set(hex('040d ffff 00000001'));
    assert.equal(new of.OfFramer().push(big)[0].length, 65535);
  });
});

describe('OpenFlow HELLO and version negotiation', () => {
  const hello = (version: number, versions?: number[]): { version: number; body: of.HelloBody } => {
    const b = of.encodeMessage({ type: 'hello', version, xid: 1, ...(versions ? { versions } : {}) });
    const d = of.decodeMessage(b);
    assert.ok(d.type === 'hello');
    return { version: d.version, body: d };
  };

  it('our HELLO: version 1.3 with the {1.0, 1.3} bitmap, as bytes', () => {
    assert.equal(of.encodeMessage({ type: 'hello', version: 4, xid: 1, versions: [...of.SUPPORTED_VERSIONS] }).toString('hex'), '04000010000000010001000800000012');
  });

  it('with bitmaps on both sides: the highest common version', () => {
    const nego = (version: number, versions: number[]): number | undefined => {
      const h = hello(version, versions);
      return of.negotiateVersion(of.SUPPORTED_VERSIONS, h.version, h.body);
    };
    assert.equal(nego(6, [1, 4, 5, 6]), 4);
    assert.equal(nego(6, [1, 5, 6]), 1);
    assert.equal(nego(6, [2, 3, 5]), undefined);
    assert.equal(nego(0x40, [0x40, 33]), undefined);
  });

  it('without a bitmap: the lower header version, if we speak it', () => {
    const ours = of.SUPPORTED_VERSIONS;
    const v1 = hello(1);
    assert.equal(of.negotiateVersion(ours, v1.version, v1.body), 1);
    assert.equal(of.negotiateVersion(ours, 6, {}), 4);
    assert.equal(of.negotiateVersion(ours, 4, {}), 4);
    assert.equal(of.negotiateVersion(ours, 3, {}), undefined);      // OF1.2 only: nothing in common
    assert.equal(of.negotiateVersion([1], 4, {}), 1);                // 1.0-only side, 1.3 peer without bitmap: 1.0 (the peer decides whether it speaks it)
    assert.deepEqual(of.peerVersions(3, {}), [1, 2, 3]);
  });

  it('HELLO elements: unknown ones are kept, a bitmap beyond 32 versions, 1.0 bodies ignored, broken ones HELLO_FAILED', () => {
    const d = of.decodeMessage(hex('0600001800000001 00090006abcd0000 0001000800000010'));
    assert.ok(d.type === 'hello');
    assert.deepEqual(d.otherElements, [{ type: 9, data: hex('abcd') }]);
    assert.deepEqual(d.versions, [4]);
    const wide = of.decodeMessage(hex('0600001800000001 0001000c 00000010 00000002 00000000'));
    assert.ok(wide.type === 'hello');
    assert.deepEqual(wide.versions, [4, 33]);
    const v10 = of.decodeMessage(hex('0100000c00000001 deadbeef'));
    assert.ok(v10.type === 'hello');
    assert.equal(v10.versions, undefined);
    assert.throws(() => of.decodeMessage(hex('0400001000000001 00010010 00000010')),
      (e: unknown) => e instanceof OfpError && e.type === OFPET.HELLO_FAILED && e.code === of.OFPHFC.INCOMPATIBLE);
  });
});
