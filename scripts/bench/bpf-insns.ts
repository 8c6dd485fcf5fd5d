/*
 * BPF instructions per path (not a test). Run as root:
 *   node dist/scripts/bench/bpf-insns.js
 *
 * (a) Static, from bpf_prog_info of the loaded programs: instructions the
 *     verifier processed (verified_insns), xlated instructions, JIT-ed bytes.
 * (b) Dynamic: instructions EXECUTED for one packet on each path. The
 *     program's own instruction stream (as libbpf hands it to the kernel:
 *     relocated, subprograms appended, before the verifier's rewrites) runs
 *     in a small interpreter against the contents of the live maps of a real
 *     datapath (flows installed through DpifXdp). Helper calls are emulated
 *     and counted apart: what they cost is kernel code, not BPF. The kernel
 *     then rewrites some of them inline (array and per-CPU array lookups,
 *     bpf_jiffies64), so executed xlated instructions differ by a few per
 *     such call; everything else is the same stream.
 *
 * Warm paths: the packet is run once first (per-CPU port cache, clock of the
 * tick, EMC entry), then counted; for the megaflow rows the EMC is emptied in
 * between, so they include the EMC probe that misses and the EMC insert.
 */
import koffi from 'koffi';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import { BpfMap, bpfObjId, pinnedMapMaxEntries } from '../../src/bpf/map';
import { fn, libbpf, Ptr as CPtr } from '../../src/bpf/native';
import { DpifXdp, probeFeatures } from '../../src/dpif/dpif-xdp';
import { FlowKey, FRAG_ANY, FRAG_LATER } from '../../src/dpif/flow-key';
import { bpfObjectPath } from '../../src/lib/paths';
import { setLogLevel } from '../../src/lib/vlog';
import { frame } from '../../test/support/packets';

const progInsns = libbpf.func('const void *bpf_program__insns(bpf_program_p prog)') as (p: CPtr) => CPtr;
const progInsnCnt = libbpf.func('size_t bpf_program__insn_cnt(bpf_program_p prog)') as (p: CPtr) => number | bigint;

/* ---- the interpreter ------------------------------------------------------- */

/** A memory region: packet, stack frame, map value or context. Pointers spilled to it are kept aside. */
class Mem {
  readonly spills = new Map<number, Val>();
  constructor(readonly buf: Buffer, readonly kind: 'pkt' | 'stack' | 'value' | 'ctx') {}
}
class Ptr { constructor(readonly mem: Mem, readonly off: number) {} }
class MapRef { constructor(readonly map: EmuMap) {} }
type Val = bigint | Ptr | MapRef;

const ARRAY_TYPES = new Set([2, 6]);

/** A map as the program sees it: the live map's contents, read on first access, then private (CPU 0 for per-CPU maps). */
class EmuMap {
  private cache = new Map<string, Mem | null>();
  constructor(readonly name: string, readonly real: BpfMap) {}
  lookup(key: Buffer): Mem | null {
    const k = key.toString('hex');
    if (!this.cache.has(k)) {
      if (ARRAY_TYPES.has(this.real.type) && key.readUInt32LE(0) >= this.real.maxEntries) return null;
      const v = this.real.lookup(key);
      this.cache.set(k, v ? new Mem(Buffer.from(v.subarray(0, this.real.valueSize)), 'value') : null);
    }
    return this.cache.get(k)!;
  }
  update(key: Buffer, value: Buffer): void { this.cache.set(key.toString('hex'), new Mem(Buffer.from(value), 'value')); }
  /** Forget what the program wrote: back to the live map's contents. */
  reset(): void { this.cache = new Map(); }
}

interface Ctx { hook: 'xdp' | 'tc'; pkt: Buffer; ifindex: number }
/** helpers: each call, inlined = the verifier replaces it with instructions (array lookups, jiffies64 on 64-bit JITs). */
export interface RunResult { insns: number; helpers: { name: string; inlined: boolean }[]; verdict: bigint }

const HELPER_NAMES: Record<number, string> = {
  1: 'map_lookup_elem', 2: 'map_update_elem', 3: 'map_delete_elem', 5: 'ktime_get_ns', 7: 'get_prandom_u32',
  8: 'get_smp_processor_id', 13: 'clone_redirect', 23: 'redirect', 25: 'perf_event_output', 26: 'skb_load_bytes',
  39: 'skb_pull_data', 51: 'redirect_map', 93: 'spin_lock', 94: 'spin_unlock', 118: 'jiffies64', 160: 'ktime_get_coarse_ns',
};

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => x & M64;
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);

class Interp {
  constructor(private readonly insns: Buffer, private readonly maps: Map<number, EmuMap>) {}

  run(c: Ctx, limit = 1_000_000): RunResult {
    const pkt = new Mem(Buffer.from(c.pkt), 'pkt');
    const ctx = new Mem(Buffer.alloc(0), 'ctx');
    const r: Val[] = new Array(11).fill(0n);
    const frames: { pc: number; saved: Val[] }[] = [];
    const helpers: RunResult['helpers'] = [];
    const newStack = (): Ptr => new Ptr(new Mem(Buffer.alloc(512), 'stack'), 512);
    const ctxRead = (off: number): Val => {
      const end = new Ptr(pkt, pkt.buf.length);
      if (c.hook === 'xdp') {
        const f: Record<number, Val> = { 0: new Ptr(pkt, 0), 4: end, 8: new Ptr(pkt, 0), 12: BigInt(c.ifindex), 16: 0n };
        if (off in f) return f[off];
      } else {
        const f: Record<number, Val> = { 0: BigInt(pkt.buf.length), 16: BigInt(pkt.buf.readUInt16LE(12)), 20: 0n, 24: 0n, 28: 0n,
          36: BigInt(c.ifindex), 40: BigInt(c.ifindex), 76: new Ptr(pkt, 0), 80: end };
        if (off in f) return f[off];
      }
      throw new Error(`${c.hook} ctx field at ${off} not emulated`);
    };
    const load = (p: Val, off: number, size: number): Val => {
      if (!(p instanceof Ptr)) throw new Error(`load through a non-pointer (${String(p)})`);
      if (p.mem.kind === 'ctx') return ctxRead(p.off + off);
      const at = p.off + off;
      if (size === 8 && p.mem.spills.has(at)) return p.mem.spills.get(at)!;
      if (at < 0 || at + size > p.mem.buf.length) throw new Error(`${p.mem.kind} load out of bounds at ${at}+${size}`);
      return size === 8 ? p.mem.buf.readBigUInt64LE(at) : BigInt(p.mem.buf.readUIntLE(at, size));
    };
    const store = (p: Val, off: number, size: number, v: Val): void => {
      if (!(p instanceof Ptr) || p.mem.kind === 'ctx') throw new Error('store through a non-pointer or to ctx');
      const at = p.off + off;
      if (at < 0 || at + size > p.mem.buf.length) throw new Error(`${p.mem.kind} store out of bounds at ${at}+${size}`);
      for (const k of [...p.mem.spills.keys()]) if (k < at + size && at < k + 8) p.mem.spills.delete(k);
      if (typeof v !== 'bigint') {
        if (size !== 8) throw new Error('partial pointer spill');
        p.mem.spills.set(at, v);
        return;
      }
      if (size === 8) p.mem.buf.writeBigUInt64LE(u64(v), at);
      else p.mem.buf.writeUIntLE(Number(v & ((1n << BigInt(size * 8)) - 1n)), at, size);
    };
    const bytes = (p: Val, n: number): Buffer => {
      if (!(p instanceof Ptr)) throw new Error('helper argument is not a pointer');
      return Buffer.from(p.mem.buf.subarray(p.off, p.off + n));
    };
    const helper = (id: number): Val => {
      const m = r[1] instanceof MapRef ? r[1].map : undefined;
      // per-CPU array lookups are inlined from 6.10 (x86-64, arm64 JITs)
      const inlined = id === 118 || (id === 1 && !!m && ARRAY_TYPES.has(m.real.type));
      const what = `${HELPER_NAMES[id] ?? `helper ${id}`}${m && id <= 3 ? `(${m.name})` : ''}`;
      helpers.push({ name: inlined && id === 1 ? m!.name : what, inlined });
      switch (id) {
        case 1: { const v = m!.lookup(bytes(r[2], m!.real.keySize)); return v ? new Ptr(v, 0) : 0n; }
        case 2: m!.update(bytes(r[2], m!.real.keySize), bytes(r[3], m!.real.valueSize)); return 0n;
        case 5: case 160: return 1_000_000_000_000n;
        case 118: return 1000n;                 // one tick: the per-tick clock read happened on the warm-up run
        case 7: case 8: case 13: case 25: case 39: case 93: case 94: return 0n;
        case 23: return 7n;                     // TC_ACT_REDIRECT
        case 51: return 4n;                     // XDP_REDIRECT
        default: throw new Error(`helper ${id} not emulated`);
      }
    };
    const alu = (op: number, a: Val, b: Val, is64: boolean): Val => {
      if (op === 0xb0) return is64 || typeof b !== 'bigint' ? b : b & 0xffffffffn;    // MOV
      if (typeof a !== 'bigint' || typeof b !== 'bigint') {
        if (is64 && op === 0x00 && a instanceof Ptr && typeof b === 'bigint') return new Ptr(a.mem, a.off + Number(s64(b)));
        if (is64 && op === 0x00 && b instanceof Ptr && typeof a === 'bigint') return new Ptr(b.mem, b.off + Number(s64(a)));
        if (is64 && op === 0x10 && a instanceof Ptr && typeof b === 'bigint') return new Ptr(a.mem, a.off - Number(s64(b)));
        if (op === 0x10 && a instanceof Ptr && b instanceof Ptr && a.mem === b.mem) return u64(BigInt(a.off - b.off)) & (is64 ? M64 : 0xffffffffn);
        throw new Error(`ALU op ${op.toString(16)} on a pointer`);
      }
      const W = is64 ? 64 : 32, mask = (1n << BigInt(W)) - 1n, sh = is64 ? 63n : 31n;
      a &= mask; b &= mask;
      let x: bigint;
      switch (op) {
        case 0x00: x = a + b; break;
        case 0x10: x = a - b; break;
        case 0x20: x = a * b; break;
        case 0x30: x = b === 0n ? 0n : a / b; break;
        case 0x40: x = a | b; break;
        case 0x50: x = a & b; break;
        case 0x60: x = a << (b & sh); break;
        case 0x70: x = a >> (b & sh); break;
        case 0x80: x = -a; break;
        case 0x90: x = b === 0n ? a : a % b; break;
        case 0xa0: x = a ^ b; break;
        case 0xc0: x = BigInt.asIntN(W, a) >> (b & sh); break;
        default: throw new Error(`ALU op ${op.toString(16)}`);
      }
      return x & mask;
    };
    const cmpVal = (v: Val): bigint => (v instanceof Ptr ? 0x100000000000n + BigInt(v.off) : v instanceof MapRef ? 0x200000000000n : v);
    const jump = (op: number, a: Val, b: Val, is64: boolean): boolean => {
      if (a instanceof Ptr && b instanceof Ptr && a.mem !== b.mem) throw new Error('comparing pointers into different regions');
      const W = is64 ? 64 : 32, mask = (1n << BigInt(W)) - 1n;
      const x = cmpVal(a) & mask, y = cmpVal(b) & mask;
      const sx = BigInt.asIntN(W, x), sy = BigInt.asIntN(W, y);
      switch (op) {
        case 0x10: return x === y;
        case 0x20: return x > y;
        case 0x30: return x >= y;
        case 0x40: return (x & y) !== 0n;
        case 0x50: return x !== y;
        case 0x60: return sx > sy;
        case 0x70: return sx >= sy;
        case 0xa0: return x < y;
        case 0xb0: return x <= y;
        case 0xc0: return sx < sy;
        case 0xd0: return sx <= sy;
        default: throw new Error(`jump op ${op.toString(16)}`);
      }
    };

    r[1] = new Ptr(ctx, 0);
    r[10] = newStack();
    let pc = 0, n = 0;
    for (;;) {
      if (++n > limit) throw new Error('instruction limit');
      const code = this.insns[pc * 8], regs = this.insns[pc * 8 + 1];
      const dst = regs & 0xf, src = regs >> 4;
      const off = this.insns.readInt16LE(pc * 8 + 2), imm = this.insns.readInt32LE(pc * 8 + 4);
      const cls = code & 7, op = code & 0xf0, size = [4, 2, 1, 8][(code >> 3) & 3];
      pc++;
      switch (cls) {
        case 0: {   // LD: only ld_imm64
          const hi = this.insns.readUInt32LE(pc * 8 + 4);
          pc++;
          if (src === 1) {
            const m = this.maps.get(imm);
            if (!m) throw new Error(`map fd ${imm} unknown`);
            r[dst] = new MapRef(m);
          } else if (src === 0) r[dst] = (BigInt(hi) << 32n) | BigInt(imm >>> 0);
          else throw new Error(`ld_imm64 src ${src}`);
          break;
        }
        case 1: r[dst] = load(r[src], off, size); break;
        case 2: store(r[dst], off, size, BigInt(imm)); break;
        case 3:
          if ((code & 0xe0) === 0xc0) {   // atomic add
            if (imm !== 0) throw new Error(`atomic op ${imm}`);
            const cur = load(r[dst], off, size) as bigint;
            store(r[dst], off, size, cur + (r[src] as bigint));
          } else store(r[dst], off, size, r[src]);
          break;
        case 4: case 7: {
          const is64 = cls === 7;
          if (op === 0xd0) {   // byte swap
            const v = r[dst] as bigint;
            if (code & 8) {   // to big endian (the host is little endian)
              const b = Buffer.alloc(8); b.writeBigUInt64LE(u64(v));
              r[dst] = BigInt('0x' + b.subarray(0, imm / 8).toString('hex'));   // low bytes read the other way round
            } else r[dst] = v & ((1n << BigInt(imm)) - 1n);
            break;
          }
          r[dst] = alu(op, r[dst], code & 8 ? r[src] : u64(BigInt(imm)), is64);
          break;
        }
        case 5: case 6: {
          if (op === 0x00) { pc += off; break; }
          if (op === 0x80) {
            if (src === 1) {   // BPF-to-BPF call: callee-saved registers and frame pointer are the caller's again on exit
              frames.push({ pc, saved: [r[6], r[7], r[8], r[9], r[10]] });
              r[10] = newStack();
              pc += imm;
            } else {
              r[0] = helper(imm);
              for (let i = 1; i <= 5; i++) r[i] = 0n;
            }
            break;
          }
          if (op === 0x90) {
            const f = frames.pop();
            if (!f) return { insns: n, helpers, verdict: r[0] as bigint };
            [r[6], r[7], r[8], r[9], r[10]] = f.saved;
            pc = f.pc;
            break;
          }
          if (jump(op, r[dst], code & 8 ? r[src] : BigInt(imm), cls === 5)) pc += off;
          break;
        }
        default: throw new Error(`insn class ${cls}`);
      }
    }
  }
}

/* ---- programs and their maps ------------------------------------------------ */

interface ProgInfo { verified: number; xlated: number; jitedBytes: number }

function progInfo(fd: number): ProgInfo {
  const info = Buffer.alloc(232), len = [info.length];
  if ((fn.bpf_obj_get_info_by_fd(fd, info, len) as number) < 0) throw new Error('bpf_obj_get_info_by_fd failed');
  return { jitedBytes: info.readUInt32LE(16), xlated: info.readUInt32LE(20) / 8, verified: info.readUInt32LE(216) };
}

/** An object loaded a second time on the pinned maps of a live datapath, for its instruction streams. */
class Loaded {
  readonly maps = new Map<number, EmuMap>();
  private constructor(private readonly obj: CPtr) {
    for (let m = fn.bpf_object__next_map(obj, null); m; m = fn.bpf_object__next_map(obj, m)) {
      const fd = fn.bpf_map__fd(m) as number;
      this.maps.set(fd, new EmuMap(fn.bpf_map__name(m) as string, BpfMap.fromFd(fd)));
    }
  }
  static load(file: string, pinDir?: string): Loaded {
    const obj = fn.bpf_object__open_file(file, null) as CPtr;
    if (!obj) throw new Error(`cannot open ${file}`);
    if (pinDir) {
      for (let m = fn.bpf_object__next_map(obj, null); m; m = fn.bpf_object__next_map(obj, m)) {
        const p = `${pinDir}/${fn.bpf_map__name(m) as string}`;
        if (!fs.existsSync(p)) continue;
        // The daemon sizes the flow maps at load (other_config:flow-limit): reuse needs the same size.
        const n = pinnedMapMaxEntries(p);
        if (n) fn.bpf_map__set_max_entries(m, n);
        fn.bpf_map__set_pin_path(m, p);
      }
    }
    if ((fn.bpf_object__load(obj) as number) < 0) throw new Error(`cannot load ${file}`);
    return new Loaded(obj);
  }
  prog(name: string): { interp: Interp; info: ProgInfo; objInsns: number } {
    const p = fn.bpf_object__find_program_by_name(this.obj, name) as CPtr;
    const cnt = Number(progInsnCnt(p));
    const insns = Buffer.from(koffi.view(progInsns(p), cnt * 8));
    return { interp: new Interp(insns, this.maps), info: progInfo(fn.bpf_program__fd(p) as number), objInsns: cnt };
  }
  map(name: string): EmuMap { return [...this.maps.values()].find((m) => m.name === name)!; }
  resetMaps(): void { for (const m of this.maps.values()) m.reset(); }
  close(): void { fn.bpf_object__close(this.obj); }
}

/* ---- the table -------------------------------------------------------------- */

export interface StaticRow { program: string; objInsns: number; verified: number; xlated: number; jitedBytes: number }
export interface PathRow { program: string; path: string; insns: number; inlined: string; calls: string; nCalls: number; verdict: string }

const VERDICTS: Record<string, Record<string, string>> = {
  xdp: { 1: 'XDP_DROP', 2: 'XDP_PASS', 4: 'XDP_REDIRECT' },
  tc: { 0: 'TC_ACT_OK', 2: 'TC_ACT_SHOT', 7: 'TC_ACT_REDIRECT' },
};
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const ifindexOf = (dev: string): number => Number(fs.readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));

/** Subtable i of n: all match the test packet's in_port, eth_dst and type; they differ in the tp_src prefix (and nw_tos). */
function mask(i: number): FlowKey {
  const m = new FlowKey().exact('in_port').exact('eth_type').exact('eth_dst').exact('nw_proto').setField('nw_frag', FRAG_ANY | FRAG_LATER);
  m.setField('tp_src', (0xffff << (i % 16)) & 0xffff);
  if (i >= 16) m.setField('nw_tos', 0xff);
  return m;
}

export async function bpfInsnTable(): Promise<{ static: StaticRow[]; paths: PathRow[] }> {
  const pfx = `xi${randomBytes(2).toString('hex')}`, pinDir = `/sys/fs/bpf/${pfx}`;
  const ip = (...a: string[]): string => execFileSync('ip', a, { encoding: 'utf8' });
  const pkt = frame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', proto: 'udp', sport: 1024, dport: 9, payload: 18 });
  const statics: StaticRow[] = [], paths: PathRow[] = [];
  let dp: DpifXdp | undefined, dpObj: Loaded | undefined, bench: Loaded | undefined;
  ip('link', 'add', `${pfx}a`, 'type', 'veth', 'peer', 'name', `${pfx}b`);
  try {
    ip('link', 'set', `${pfx}a`, 'up'); ip('link', 'set', `${pfx}b`, 'up');
    const ifA = ifindexOf(`${pfx}a`);

    // Baselines: bench.bpf.o, its hash table holding the packet's 5-tuple.
    bench = Loaded.load(bpfObjectPath('bench.bpf.o'));
    const k = Buffer.alloc(16);
    pkt.copy(k, 0, 26, 34); pkt.copy(k, 8, 34, 38); k[12] = 17;
    bench.map('bench_flows').real.update(k, u32(ifA));
    for (const [name, label] of [['xvs_bench_redirect', '(i) parse + DEVMAP redirect'], ['xvs_bench_hash', '(ii) (i) + 5-tuple hash hit']]) {
      const p = bench.prog(name);
      statics.push({ program: name, objInsns: p.objInsns, ...p.info });
      const res = p.interp.run({ hook: 'xdp', pkt, ifindex: ifA });
      paths.push(row(name, label, res, 'xdp'));
    }

    // The datapath: two TC ports (the program is the same for any port), flows through DpifXdp.
    dp = await DpifXdp.open(pfx, { emc: true, rerankMs: 3_600_000, pinDir });
    await dp.addPort(`${pfx}a`, 1, 'tc');
    await dp.addPort(`${pfx}b`, 2, 'tc');
    dpObj = Loaded.load(bpfObjectPath(probeFeatures().coarseClock ? 'datapath.bpf.o' : 'datapath-510.bpf.o'), pinDir);
    for (const [hook, name] of [['xdp', 'xvs_xdp'], ['tc', 'xvs_tc']] as const) {
      const live = progInfo(dp.programFd(hook));
      const p = dpObj.prog(name);
      statics.push({ program: `${name} (id ${bpfObjId(dp.programFd(hook))})`, objInsns: p.objInsns, ...live });
      const c: Ctx = { hook, pkt, ifindex: ifA };
      const key = new FlowKey(); key.inPort = 1;
      key.setField('eth_dst', pkt.subarray(0, 6)).setField('eth_type', 0x0800).setField('nw_proto', 17).setField('tp_src', 1024);
      const install = (n: number, hit: number): void => {
        dp!.flowFlush();
        for (let i = 0; i < n; i++) {
          const kk = key.clone(); if (i !== hit) kk.inPort = 99;
          dp!.flowPut({ key: kk.and(mask(i)), mask: mask(i), actions: [{ type: 'output', port: 2 }] });
        }
      };
      const counted = (label: string, emptyEmc: boolean): void => {
        dpObj!.resetMaps();
        p.interp.run(c);                          // warm: port cache, clock of this tick, EMC entry
        if (emptyEmc) dpObj!.map('emc').reset();
        const stats = dpObj!.map('dp_stats'), before = Buffer.from(stats.lookup(u32(0))!.buf);
        const res = p.interp.run(c);
        const after = stats.lookup(u32(0))!.buf;
        const d = (o: number): bigint => after.readBigUInt64LE(o) - before.readBigUInt64LE(o);
        const kind = d(0) ? 'EMC hit' : d(8) ? `megaflow hit, ${d(32)} probed` : d(16) ? 'miss' : 'no lookup';
        paths.push(row(name, `${label} [${kind}]`, res, hook));
      };
      install(1, 0);
      counted('EMC hit, OUTPUT', false);
      counted('megaflow hit, 1 mask, OUTPUT (EMC miss + insert)', true);
      install(8, 7);
      counted('megaflow hit, 8 masks, worst order (EMC miss + insert)', true);
      install(1, -1);
      counted('miss (1 mask probed) + upcall', true);
    }
  } finally {
    dpObj?.close(); bench?.close();
    await dp?.close();
    try { ip('link', 'del', `${pfx}a`); } catch { /* gone */ }
    fs.rmSync(pinDir, { recursive: true, force: true });
  }
  return { static: statics, paths };
}

function row(program: string, path: string, r: RunResult, hook: 'xdp' | 'tc'): PathRow {
  const list = (inlined: boolean): string => {
    const counts = new Map<string, number>();
    for (const h of r.helpers) if (h.inlined === inlined) counts.set(h.name, (counts.get(h.name) ?? 0) + 1);
    return [...counts].map(([h, n]) => (n > 1 ? `${h} x${n}` : h)).join(', ');
  };
  const calls = r.helpers.filter((h) => !h.inlined);
  return {
    program, path, insns: r.insns, verdict: VERDICTS[hook][String(r.verdict)] ?? String(r.verdict),
    inlined: list(true), calls: list(false), nCalls: calls.length,
  };
}

export function formatBpfInsnTable(t: { static: StaticRow[]; paths: PathRow[] }): string {
  const out = [
    '| program | insns in object | verifier processed | xlated insns | JIT-ed bytes |', '|---|---|---|---|---|',
    ...t.static.map((s) => `| ${s.program} | ${s.objInsns} | ${s.verified} | ${s.xlated} | ${s.jitedBytes} |`),
    '',
    '| program | path | BPF insns executed | helper calls left after inlining | array lookups + jiffies64 the verifier inlines | verdict |',
    '|---|---|---|---|---|---|',
    ...t.paths.map((p) => `| ${p.program} | ${p.path} | ${p.insns} | ${p.nCalls}: ${p.calls} | ${p.inlined} | ${p.verdict} |`),
  ];
  return out.join('\n');
}

if (require.main === module) {
  setLogLevel('WARN');
  bpfInsnTable().then((t) => console.log(formatBpfInsnTable(t))).catch((e: Error) => { console.error(e.stack ?? e.message); process.exit(1); });
}
