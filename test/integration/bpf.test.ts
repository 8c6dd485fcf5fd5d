/*
 * libbpf binding against the real kernel. Needs root and bpf/fixture_test.bpf.o
 * (built by `make -C bpf`). Fails (does not skip) when either is missing.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync } from 'fs';
import * as path from 'path';
import koffi from 'koffi';
import {
  BpfError, BpfObject, BpfMap, TypedMap, PerCpuArray, PerfRing, possibleCpus, progTestRun,
  bufferCodec, u64Codec, BPF_NOEXIST, BPF_EXIST, BpfMapType, BpfProgType, bpfObjPin, bpfObjGet, closeFd,
  xdpAttach, xdpDetach, xdpQueryId, tcAttachIngress, tcDetachIngress, tcQueryIngress,
} from '../../src/bpf';
import { PacketSocket } from '../../src/netdev/rawsock';

const OBJ = path.resolve(__dirname, '../../../bpf/fixture_test.bpf.o');
const FX_MAGIC = 0x58564258;
const XDP_DROP = 1;
const XDP_PASS = 2;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Ethernet frame: broadcast dst, fixed src, ethertype 0x88b5 (local experimental), then payload. */
function frame(payload: Buffer): Buffer {
  const f = Buffer.alloc(14 + payload.length);
  f.fill(0xff, 0, 6);
  Buffer.from([0x02, 0, 0, 0, 0, 1]).copy(f as unknown as Uint8Array, 6);
  f.writeUInt16BE(0x88b5, 12);
  f.set(payload, 14);
  return f;
}

function openFixture(): BpfObject {
  const obj = BpfObject.open(OBJ);
  obj.setAutoload('fx_bad', false);
  obj.load();
  return obj;
}

interface Rec { magic: number; pktLen: number; capLen: number; ifindex: number; pkt: Buffer; cpu: number }

function parseRecord(d: Buffer, cpu: number): Rec {
  const capLen = d.readUInt32LE(8);
  return {
    magic: d.readUInt32LE(0), pktLen: d.readUInt32LE(4), capLen, ifindex: d.readUInt32LE(12),
    pkt: Buffer.from(d.subarray(16, 16 + capLen)), cpu,
  };
}

// Thread CPU pinning, to make "the ring of one CPU overflows" deterministic.
const libc = koffi.load('libc.so.6');
const schedSetaffinity = libc.func('int sched_setaffinity(int pid, size_t size, const void *mask)') as
  (pid: number, size: number, mask: Buffer) => number;
const schedGetaffinity = libc.func('int sched_getaffinity(int pid, size_t size, void *mask)') as
  (pid: number, size: number, mask: Buffer) => number;

describe('libbpf binding (integration, needs root)', function () {
  this.timeout(30000);
  let obj: BpfObject;
  let xdpFd: number;
  let tcFd: number;
  let events: BpfMap;

  before(() => {
    assert.strictEqual(process.getuid?.(), 0, 'the BPF integration tests must run as root');
    assert.ok(existsSync(OBJ), `${OBJ} missing: run make -C bpf`);
    obj = openFixture();
    xdpFd = obj.program('fx_xdp').fd;
    tcFd = obj.program('fx_tc').fd;
    events = obj.map('fx_events');
  });

  after(() => {
    obj?.close();
  });

  it('loads the object and describes its maps and programs', () => {
    assert.deepStrictEqual(obj.mapNames().sort(), ['fx_counters', 'fx_events', 'fx_hash']);
    const h = obj.map('fx_hash');
    assert.strictEqual(h.type, BpfMapType.HASH);
    assert.strictEqual(h.keySize, 80);
    assert.strictEqual(h.valueSize, 8);
    assert.strictEqual(h.maxEntries, 1024);
    assert.strictEqual(h.isPerCpu, false);
    assert.ok(h.fd > 0);
    const c = obj.map('fx_counters');
    assert.strictEqual(c.isPerCpu, true);
    assert.strictEqual(c.valueBufSize, 8 * possibleCpus());
    const x = obj.program('fx_xdp');
    assert.strictEqual(x.type, BpfProgType.XDP);
    assert.strictEqual(x.typeName, 'xdp');
    assert.strictEqual(obj.program('fx_tc').type, BpfProgType.SCHED_CLS);
    assert.ok(possibleCpus() >= 1);
  });

  it('throws BpfError with errno and the verifier log on a rejected program', () => {
    const bad = BpfObject.open(OBJ); // fx_bad left on autoload
    try {
      assert.throws(() => bad.load(), (e: unknown) => {
        assert.ok(e instanceof BpfError);
        assert.strictEqual(e.errno, 13 /* EACCES */);
        assert.match(e.message, /bpf_object__load.*-13 EACCES/);
        assert.ok(e.log, 'log captured');
        assert.match(e.log!, /BEGIN PROG LOAD LOG/);
        assert.match(e.log!, /invalid access to packet/);
        return true;
      });
    } finally {
      bad.close();
    }
    assert.throws(() => BpfObject.open('/nonexistent/x.bpf.o'),
      (e: unknown) => e instanceof BpfError && e.errno === 2 && /bpf_object__open_file/.test(e.message));
    assert.throws(() => obj.map('no_such_map'), BpfError);
  });

  it('setMapMaxEntries resizes a map before load', () => {
    const o = BpfObject.open(OBJ);
    try {
      o.setAutoload('fx_bad', false);
      o.setMapMaxEntries('fx_hash', 4096);
      o.load();
      assert.strictEqual(o.map('fx_hash').maxEntries, 4096);
      assert.throws(() => o.setMapMaxEntries('fx_hash', 8), BpfError);
    } finally {
      o.close();
    }
  });

  it('hash map: update / lookup / delete / keys, raw and typed', () => {
    const m = obj.map('fx_hash');
    const key = (i: number) => { const k = Buffer.alloc(80); k.writeUInt32LE(i, 0); k[79] = i & 0xff; return k; };
    const val = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; };
    for (let i = 1; i <= 10; i++) m.update(key(i), val(BigInt(i * 1000)));
    assert.deepStrictEqual(m.lookup(key(3)), val(3000n));
    assert.strictEqual(m.lookup(key(99)), null);
    const out = Buffer.alloc(8);
    assert.strictEqual(m.lookupInto(key(4), out), true);
    assert.strictEqual(out.readBigUInt64LE(), 4000n);
    const seen = [...m.keys()].map((k) => k.readUInt32LE(0)).sort((a, b) => a - b);
    assert.deepStrictEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.strictEqual(m.delete(key(3)), true);
    assert.strictEqual(m.delete(key(3)), false);
    assert.strictEqual(m.lookup(key(3)), null);
    assert.throws(() => m.update(key(1), val(1n), BPF_NOEXIST), (e: unknown) => e instanceof BpfError && e.errno === 17);
    assert.throws(() => m.update(key(3), val(1n), BPF_EXIST), (e: unknown) => e instanceof BpfError && e.errno === 2);
    assert.throws(() => m.lookup(Buffer.alloc(4)), RangeError);

    const t = new TypedMap(m, bufferCodec(80), u64Codec);
    t.set(key(50), 5n);
    assert.strictEqual(t.get(key(50)), 5n);
    assert.strictEqual(t.get(key(51)), undefined);
    const entries = new Map([...t.entries()].map(([k, v]) => [k.readUInt32LE(0), v]));
    assert.strictEqual(entries.size, 10);
    assert.strictEqual(entries.get(50), 5n);
    assert.strictEqual(entries.get(10), 10000n);
    for (const k of [...m.keys()]) assert.strictEqual(t.delete(k), true);
    assert.strictEqual([...m.keys()].length, 0);
  });

  it('progTestRun returns the program verdict; per-CPU counters count the runs', () => {
    const counters = new PerCpuArray(obj.map('fx_counters'), u64Codec);
    const sum = () => counters.get(0)!.reduce((a, b) => a + b, 0n);
    const before = sum();
    assert.strictEqual(counters.get(0)!.length, possibleCpus());
    const pass = progTestRun(xdpFd, { data: frame(Buffer.alloc(50, 1)) });
    assert.strictEqual(pass.retval, XDP_PASS);
    assert.deepStrictEqual(pass.dataOut, frame(Buffer.alloc(50, 1)));
    const drop = progTestRun(xdpFd, { data: frame(Buffer.alloc(50, 0xdd)), repeat: 10 });
    assert.strictEqual(drop.retval, XDP_DROP);
    assert.ok(drop.duration >= 0);
    assert.strictEqual(sum() - before, 11n);
    const tc = progTestRun(tcFd, { data: frame(Buffer.alloc(50)) });
    assert.strictEqual(tc.retval, 0 /* TC_ACT_OK */);
    assert.strictEqual(counters.get(1)!.reduce((a, b) => a + b, 0n) >= 1n, true);
    // raw lookup of a per-CPU map: nCPUs values, each padded to 8 bytes
    const raw = obj.map('fx_counters').lookup(Buffer.alloc(4))!;
    assert.strictEqual(raw.length, 8 * possibleCpus());
    let rawSum = 0n;
    for (let c = 0; c < possibleCpus(); c++) rawSum += raw.readBigUInt64LE(8 * c);
    assert.strictEqual(rawSum, sum());
    counters.set(0, 0n);
    assert.strictEqual(sum(), 0n);
  });

  it('lookupAll reads a per-CPU array in batches, equal to per-key lookups', () => {
    const m = obj.map('fx_counters');
    const ncpu = m.valueBufSize / m.valueStride;
    for (let k = 0; k < m.maxEntries; k++) {
      const v = Buffer.alloc(m.valueBufSize);
      for (let c = 0; c < ncpu; c++) v.writeBigUInt64LE(BigInt(1000 * k + c + 7), c * m.valueStride);
      m.update(Buffer.from(Uint32Array.of(k).buffer), v);
    }
    const buf = { keys: Buffer.alloc(m.maxEntries * m.keySize), values: Buffer.alloc(m.maxEntries * m.valueBufSize) };
    assert.strictEqual(m.lookupAll(buf), m.maxEntries);
    for (let k = 0; k < m.maxEntries; k++) {
      assert.strictEqual(buf.keys.readUInt32LE(4 * k), k);
      assert.deepStrictEqual(buf.values.subarray(k * m.valueBufSize, (k + 1) * m.valueBufSize), m.lookup(Buffer.from(Uint32Array.of(k).buffer)));
    }
    const two = { keys: Buffer.alloc(2 * m.keySize), values: Buffer.alloc(2 * m.valueBufSize) };
    assert.strictEqual(m.lookupAll(two, 2), 2);
    assert.deepStrictEqual(two.values, buf.values.subarray(0, 2 * m.valueBufSize));
    assert.throws(() => m.lookupAll({ keys: Buffer.alloc(4), values: Buffer.alloc(8) }), /batch buffers too small/);
    // Kernels without batch lookups for this map type (per-CPU arrays on 5.10): a lookup per index, same result.
    const batch = Buffer.from(buf.values);
    m.batchSupported = false;
    buf.values.fill(0);
    assert.strictEqual(m.lookupAll(buf), m.maxEntries);
    assert.deepStrictEqual(buf.values, batch);
    m.batchSupported = undefined;
    assert.throws(() => obj.map('fx_hash').lookupAll(buf), /lookupAll is for array maps/);
    for (let k = 0; k < m.maxEntries; k++) m.update(Buffer.from(Uint32Array.of(k).buffer), Buffer.alloc(m.valueBufSize));
  });

  it('pins a map (setPinPath, bpfObjPin) and reopens it with BpfMap.fromPinned', () => {
    const dir = mkdtempSync('/tmp/xvsbpffs-');
    execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
    try {
      const o1 = BpfObject.open(OBJ);
      o1.setAutoload('fx_bad', false);
      o1.setPinPath('fx_hash', `${dir}/fx_hash`);
      o1.load();
      assert.ok(existsSync(`${dir}/fx_hash`));
      const k = Buffer.alloc(80, 0x42);
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(77n);
      o1.map('fx_hash').update(k, v);
      const m2 = BpfMap.fromPinned(`${dir}/fx_hash`);
      assert.strictEqual(m2.name, 'fx_hash');
      assert.strictEqual(m2.keySize, 80);
      assert.strictEqual(m2.type, BpfMapType.HASH);
      assert.deepStrictEqual(m2.lookup(k), v);
      m2.close();
      // a second object with the same pin path reuses the pinned map
      const o2 = BpfObject.open(OBJ);
      o2.setAutoload('fx_bad', false);
      o2.setPinPath('fx_hash', `${dir}/fx_hash`);
      o2.load();
      assert.deepStrictEqual(o2.map('fx_hash').lookup(k), v);
      // plain pin / get of a program fd
      bpfObjPin(o2.program('fx_xdp').fd, `${dir}/prog`);
      const pfd = bpfObjGet(`${dir}/prog`);
      assert.ok(pfd > 0);
      closeFd(pfd);
      assert.throws(() => bpfObjGet(`${dir}/nothing`), (e: unknown) => e instanceof BpfError && e.errno === 2);
      o2.close();
      o1.close();
    } finally {
      execFileSync('umount', [dir]);
      rmdirSync(dir);
    }
  });

  it('PerfRing delivers one sample per test run with the packet bytes', async () => {
    const ring = new PerfRing(events, { pageCount: 16 });
    const got: Rec[] = [];
    ring.on('sample', (d: Buffer, cpu: number) => got.push(parseRecord(d, cpu)));
    ring.start();
    try {
      assert.strictEqual(ring.cpuCount, possibleCpus());
      const N = 200;
      const sent: Buffer[] = [];
      for (let i = 0; i < N; i++) {
        const p = Buffer.alloc(46 + (i % 40));
        p.writeUInt32BE(i, 0);
        p.fill(i & 0xff, 4);
        sent.push(frame(p));
        progTestRun(xdpFd, { data: sent[i] });
      }
      await waitFor(() => got.length >= N, 3000, `${N} samples (have ${got.length})`);
      await sleep(10);
      assert.strictEqual(got.length, N);
      assert.strictEqual(ring.stats.samples, N);
      assert.strictEqual(ring.stats.lost, 0);
      const bySeq = new Map(got.map((r) => [r.pkt.readUInt32BE(14), r]));
      assert.strictEqual(bySeq.size, N);
      for (let i = 0; i < N; i++) {
        const r = bySeq.get(i)!;
        assert.ok(r, `sample ${i}`);
        assert.strictEqual(r.magic, FX_MAGIC);
        assert.strictEqual(r.pktLen, sent[i].length);
        assert.strictEqual(r.capLen, Math.min(sent[i].length, 128));
        assert.deepStrictEqual(r.pkt, sent[i].subarray(0, r.capLen));
        assert.ok(r.cpu >= 0 && r.cpu < possibleCpus());
      }
    } finally {
      ring.stop();
    }
    assert.strictEqual(ring.running, false);
  });

  it('PerfRing.stop() from a sample listener stops delivery safely', async () => {
    const ring = new PerfRing(events);
    let n = 0;
    ring.on('sample', () => {
      n++;
      ring.stop();
    });
    ring.start();
    for (let i = 0; i < 20; i++) progTestRun(xdpFd, { data: frame(Buffer.alloc(50)) });
    await sleep(30);
    assert.strictEqual(n, 1);
    assert.strictEqual(ring.running, false);
    ring.start(); // restartable
    assert.strictEqual(ring.running, true);
    ring.stop();
  });

  it('PerfRing wakes on the epoll fd without a flush timer; turn() flushes the rest', async () => {
    const ring = new PerfRing(events, { pageCount: 8, wakeupEvents: 4, flushMs: 0 });
    let n = 0;
    ring.on('sample', () => n++);
    const mask = Buffer.alloc(128);
    const saved = Buffer.alloc(128);
    assert.ok(schedGetaffinity(0, 128, saved) >= 0);
    mask[0] = 1; // CPU 0: all samples land in one ring, so wakeup_events counts them together
    assert.strictEqual(schedSetaffinity(0, 128, mask), 0);
    ring.start();
    try {
      await sleep(20); // let the initial turn run: only the epoll wake-up can deliver from here on
      assert.strictEqual(ring.stats.turns, 1);
      for (let i = 0; i < 8; i++) progTestRun(xdpFd, { data: frame(Buffer.alloc(50)) });
      await waitFor(() => n === 8, 2000, 'samples delivered by the epoll wake-up');
      for (let i = 0; i < 2; i++) progTestRun(xdpFd, { data: frame(Buffer.alloc(50)) });
      await sleep(50);
      assert.strictEqual(n, 8, 'below wakeup_events and no flush timer: not delivered yet');
      assert.strictEqual(ring.turn(), 2);
      assert.strictEqual(n, 10);
      assert.ok(ring.stats.turns <= 4, `turns ${ring.stats.turns}: no timer, so only wake-ups and explicit turns`);
    } finally {
      ring.stop();
      schedSetaffinity(0, 128, saved);
    }
  });

  it('PerfRing reports lost records when a CPU ring overflows, and respects the budget', async () => {
    const ring = new PerfRing(events, { pageCount: 1, budget: 8 });
    let lost = 0;
    let lostCpu = -1;
    ring.on('lost', (c: number, cpu: number) => { lost += c; lostCpu = cpu; });
    const mask = Buffer.alloc(128);
    const saved = Buffer.alloc(128);
    assert.ok(schedGetaffinity(0, 128, saved) >= 0);
    mask[0] = 1; // pin to CPU 0: the overflowing ring and the later one are the same
    assert.strictEqual(schedSetaffinity(0, 128, mask), 0);
    ring.start();
    try {
      // one record = 8 (header) + 4 (size) + 16 (fx_record) + 64 (packet) = 92 -> 96 bytes; a 4 KiB ring holds 42
      progTestRun(xdpFd, { data: frame(Buffer.alloc(50)), repeat: 300 });
      assert.strictEqual(ring.turn(), 8, 'one turn hands out at most `budget` records');
      await waitFor(() => ring.stats.samples >= 40, 2000, 'ring drained');
      await sleep(5);
      const kept = ring.stats.samples;
      assert.ok(kept < 300);
      progTestRun(xdpFd, { data: frame(Buffer.alloc(50)) }); // the LOST record is written before this sample
      await waitFor(() => ring.stats.lost > 0 && ring.stats.samples === kept + 1, 2000, 'lost record');
      assert.strictEqual(lost, ring.stats.lost);
      assert.strictEqual(kept + lost, 300, 'every sample either arrived or was counted lost');
      assert.strictEqual(lostCpu, 0);
    } finally {
      ring.stop();
      schedSetaffinity(0, 128, saved);
    }
  });

  describe('attach on a veth pair', () => {
    const tag = Math.random().toString(16).slice(2, 8);
    const a = `xb${tag}a`; // host side
    const b = `xb${tag}b`; // peer
    let ifa = 0;
    let ifb = 0;

    before(() => {
      execFileSync('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      ifa = Number(readFileSync(`/sys/class/net/${a}/ifindex`, 'utf8'));
      ifb = Number(readFileSync(`/sys/class/net/${b}/ifindex`, 'utf8'));
      execFileSync('ip', ['link', 'set', a, 'up']);
      execFileSync('ip', ['link', 'set', b, 'up']);
    });

    after(() => {
      try {
        execFileSync('ip', ['link', 'del', a], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    });

    for (const mode of ['native', 'generic'] as const) {
      it(`XDP ${mode}: attach, query, replace, detach`, () => {
        assert.strictEqual(xdpQueryId(ifa, mode), 0);
        xdpAttach(ifa, xdpFd, mode);
        const id = xdpQueryId(ifa, mode);
        assert.ok(id > 0);
        xdpAttach(ifa, xdpFd, mode); // replacing our own program must work
        assert.strictEqual(xdpQueryId(ifa, mode), id);
        xdpDetach(ifa, mode);
        assert.strictEqual(xdpQueryId(ifa, mode), 0);
        xdpDetach(ifa, mode); // idempotent
      });
    }

    it('TC ingress: attach, query, replace, detach', () => {
      assert.strictEqual(tcQueryIngress(ifa), 0);
      tcDetachIngress(ifa); // nothing there: no error
      tcAttachIngress(ifa, tcFd);
      const id = tcQueryIngress(ifa);
      assert.ok(id > 0);
      tcAttachIngress(ifa, tcFd); // clsact exists (EEXIST ignored), filter replaced
      assert.strictEqual(tcQueryIngress(ifa), id);
      tcDetachIngress(ifa);
      assert.strictEqual(tcQueryIngress(ifa), 0);
      assert.throws(() => tcAttachIngress(0x7ffffff0, tcFd), (e: unknown) => e instanceof BpfError && e.errno === 19);
    });

    it('a frame sent with PacketSocket reaches the XDP program on the peer', async () => {
      const ring = new PerfRing(events);
      const got: Rec[] = [];
      ring.on('sample', (d: Buffer, cpu: number) => got.push(parseRecord(d, cpu)));
      ring.start();
      const sock = new PacketSocket();
      xdpAttach(ifb, xdpFd, 'native');
      try {
        const f = frame(Buffer.from('hello from the packet socket, padded to 46+ bytes....'));
        sock.send(ifa, f);
        // (the kernel may send its own frames on the fresh link, e.g. IPv6 MLD: match ours by ethertype)
        const ours = (x: Rec) => x.ifindex === ifb && x.pkt.length >= 14 && x.pkt.readUInt16BE(12) === 0x88b5;
        await waitFor(() => got.some(ours), 3000, 'sample from the veth');
        const r = got.find(ours)!;
        assert.strictEqual(r.magic, FX_MAGIC);
        assert.strictEqual(r.pktLen, f.length);
        assert.deepStrictEqual(r.pkt, f);
        // runts: a bare 14-byte Ethernet header goes out and reaches XDP as is
        const runt = frame(Buffer.alloc(0));
        sock.send(ifa, runt);
        await waitFor(() => got.some((x) => ours(x) && x.pktLen === 14), 3000, 'runt sample');
        // anything shorter than an Ethernet header is refused by the kernel
        assert.throws(() => sock.send(ifa, Buffer.alloc(10, 0xff)), /sendto.*EINVAL/);
        assert.throws(() => sock.send(0x7ffffff0, f), /sendto.*(ENXIO|ENODEV)/);
      } finally {
        xdpDetach(ifb, 'native');
        sock.close();
        ring.stop();
      }
      assert.strictEqual(xdpQueryId(ifb, 'native'), 0);
    });
  });
});
