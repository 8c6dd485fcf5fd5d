/*
 * OpenFlow pipeline benchmark (not a test; no root needed):
 *  1. the classifier (src/ofproto/classifier.ts through OfTables): lookups/s,
 *     memory per rule, insert rate and delete-all time at 1 k, 10 k and 100 k
 *     rules, for (a) a realistic mixed table and (b) 50 distinct masks at one
 *     priority (every lookup visits every subtable); baseline: a linear scan
 *     over the same rules, same packets, same run (1 k and 10 k only);
 *  2. translation (xlate, the upcall path without the datapath) through a
 *     3-table pipeline, against the single-table NORMAL baseline in the same
 *     run, and how many megaflows N packets of new 5-tuples install through
 *     the real upcall handler (Udpif) over an in-memory datapath.
 * Medians of BENCH_RUNS (default 5) runs with the spread (max-min)/median.
 * Run: node --expose-gc dist/scripts/bench-ofproto.js  (npm run bench:ofproto)
 */
import { FlowKey, KEY_SIZE, parseMac } from '../src/dpif/flow-key';
import { MacLearning } from '../src/ofproto/mac-learning';
import { Match } from '../src/ofproto/match';
import { FLOW_SIZE, FLOW_WORDS, mfField, OFPP } from '../src/ofproto/meta-flow';
import { OfpAction, Rule } from '../src/ofproto/ofp-actions';
import { OfTables } from '../src/ofproto/tables';
import { Udpif } from '../src/ofproto/udpif';
import { Dpif, DpifStats } from '../src/dpif/dpif';
import { OvsFlowMsg, PacketCmd, encodePacketMsg } from '../src/dpif/odp-netlink';
import { xlate, XlateContext, XPort } from '../src/ofproto/xlate';
import { setLogLevel } from '../src/lib/vlog';
import { Rng, summarize, Summary, since, memNow, hasGc, printTable, si, environment } from './bench-util';

setLogLevel('WARN');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const LINEAR_MAX = 10_000;               // the linear scan is only run up to this many rules
const MIN_SECS = Number(process.env.BENCH_SECS ?? 0.25);   // per lookup/xlate measurement
const N_PKTS = 4096;

const fld = {
  in_port: mfField('in_port'), dl_src: mfField('dl_src'), dl_dst: mfField('dl_dst'), dl_type: mfField('dl_type'),
  nw_proto: mfField('nw_proto'), nw_src: mfField('nw_src'), nw_dst: mfField('nw_dst'), tp_src: mfField('tp_src'),
  tp_dst: mfField('tp_dst'), metadata: mfField('metadata'),
};
const TCP = 6, UDP = 17;
const pfxMask = (plen: number): bigint => (plen ? BigInt(((0xffffffff << (32 - plen)) >>> 0)) : 0n);

/* ---- flows and matches --------------------------------------------------- */

interface Pkt { inPort: number; src?: Buffer; dst?: Buffer; proto: number; nwSrc: number; nwDst: number; sport: number; dport: number }

/** A FLOW_SIZE OpenFlow flow (datapath key layout, metadata/regs zero). */
function flowOf(p: Pkt): Buffer {
  const b = Buffer.alloc(FLOW_SIZE);
  b.writeUInt32LE(p.inPort, 0);
  (p.src ?? MAC[0]).copy(b, 4); (p.dst ?? MAC[1]).copy(b, 10);
  b.writeUInt16BE(0x0800, 16);
  b[20] = p.proto; b[22] = 64;
  b.writeUInt32BE(p.nwSrc >>> 0, 28); b.writeUInt32BE(p.nwDst >>> 0, 44);
  b.writeUInt16BE(p.sport, 72); b.writeUInt16BE(p.dport, 74);
  return b;
}

function keyOf(p: Pkt): FlowKey { return new FlowKey(flowOf(p).subarray(0, KEY_SIZE)); }

interface Spec { inPort?: number; proto: number; src?: [number, number]; dst?: [number, number]; sport?: number; dport?: number; dlDst?: Buffer }

function matchOf(s: Spec): Match {
  const m = new Match().set(fld.dl_type, 0x0800n).set(fld.nw_proto, BigInt(s.proto));
  if (s.inPort !== undefined) m.set(fld.in_port, BigInt(s.inPort));
  if (s.src && s.src[1]) m.set(fld.nw_src, BigInt(s.src[0] >>> 0), pfxMask(s.src[1]));
  if (s.dst && s.dst[1]) m.set(fld.nw_dst, BigInt(s.dst[0] >>> 0), pfxMask(s.dst[1]));
  if (s.sport !== undefined) m.set(fld.tp_src, BigInt(s.sport));
  if (s.dport !== undefined) m.set(fld.tp_dst, BigInt(s.dport));
  return m;
}

/** A packet that satisfies `s`, random elsewhere. */
function pktFor(s: Spec, rng: Rng): Pkt {
  const keep = (v: [number, number] | undefined, r: number): number => {
    if (!v || !v[1]) return r;
    const m = Number(pfxMask(v[1]));
    return ((v[0] & m) | (r & ~m)) >>> 0;
  };
  return {
    inPort: s.inPort ?? 1 + rng.int(4), proto: s.proto,
    nwSrc: keep(s.src, 0x0a000000 | (rng.u32() & 0xffffff)), nwDst: keep(s.dst, 0x0a000000 | (rng.u32() & 0xffffff)),
    sport: s.sport ?? 1024 + rng.int(64000), dport: s.dport ?? 1024 + rng.int(64000),
  };
}

const MAC = Array.from({ length: 5 }, (_, i) => parseMac(`02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`));

/* ---- classifier workloads ------------------------------------------------- */

export interface Workload { name: string; rules: { spec: Spec; match: Match; priority: number }[]; pkts: Buffer[] }

/**
 * (a) Realistic mixed table: 90 % exact-ish 5-tuple rules in 3 masks at
 * priorities 300/200/150, 10 % nw_dst prefix rules of 6 lengths (priority
 * 100+len, longest prefix wins), one priority-0 catch-all. Traffic: 50 % hits
 * an exact rule, 30 % a prefix rule, 20 % random (mostly the catch-all).
 */
export function mixed(n: number, seed: number): Workload {
  const rng = new Rng(seed);
  const rules: Workload['rules'] = [];
  const seen = new Set<string>();
  const add = (spec: Spec, priority: number): void => {
    const match = matchOf(spec);
    const k = match.key() + priority;
    if (seen.has(k)) return;
    seen.add(k); rules.push({ spec, match, priority });
  };
  const rip = (): number => (0x0a000000 | (rng.u32() & 0xffffff)) >>> 0;
  const nExact = Math.floor(n * 0.9), nPrefix = n - 1 - nExact;
  const lens = [8, 16, 20, 24, 28, 32];
  while (rules.length < nExact) {
    const r = rng.int(10);
    const proto = rng.int(4) ? TCP : UDP;
    if (r < 5) add({ proto, src: [rip(), 32], dst: [rip(), 32], sport: 1024 + rng.int(64000), dport: rng.pick([22, 53, 80, 443, 8080, 1024 + rng.int(64000)]) }, 300);
    else if (r < 8) add({ proto, src: [rip(), 32], dst: [rip(), 32], dport: rng.pick([22, 53, 80, 443, 8080, 1024 + rng.int(64000)]) }, 200);
    else add({ inPort: 1 + rng.int(4), proto, dst: [rip(), 32], dport: rng.pick([22, 53, 80, 443, 8080, 1024 + rng.int(64000)]) }, 150);
  }
  // /8 inside 10/8 has one value: prefix rules live in 10/8 ... 13/8 so short prefixes have a few.
  let guard = 0;
  while (rules.length < nExact + nPrefix && guard++ < n * 20) {
    const plen = lens[rng.int(lens.length)];
    add({ proto: rng.int(4) ? TCP : UDP, dst: [((10 + rng.int(4)) << 24 | (rng.u32() & 0xffffff)) >>> 0, plen] }, 100 + plen);
  }
  rules.push({ spec: { proto: 0 }, match: Match.any(), priority: 0 });
  const exact = rules.filter((r) => r.priority >= 150), prefix = rules.filter((r) => r.priority > 0 && r.priority < 150);
  const pkts: Buffer[] = [];
  for (let i = 0; i < N_PKTS; i++) {
    const r = rng.int(10);
    if (r < 5) pkts.push(flowOf(pktFor(rng.pick(exact).spec, rng)));
    else if (r < 8 && prefix.length) pkts.push(flowOf(pktFor(rng.pick(prefix).spec, rng)));
    else pkts.push(flowOf({ inPort: 1 + rng.int(4), proto: rng.int(4) ? TCP : UDP, nwSrc: rip(), nwDst: rip(), sport: 1024 + rng.int(64000), dport: 1024 + rng.int(64000) }));
  }
  return { name: '(a) mixed', rules, pkts };
}

/**
 * (b) Worst case: 50 masks (tp_dst or tp_src exact) x (nw_src /0,8,16,24,32)
 * x (nw_dst /0,8,16,24,32), every rule at priority 100, addresses in 10/8 so
 * the /8 prefix check never prunes. Equal priorities: no lookup may stop
 * early, all 50 subtables are visited. Traffic: 80 % hits a random rule.
 */
export function manyMasks(n: number, seed: number): Workload {
  const rng = new Rng(seed);
  const lens = [0, 8, 16, 24, 32];
  const masks: { port: 'sport' | 'dport'; s: number; d: number }[] = [];
  for (const port of ['dport', 'sport'] as const) for (const s of lens) for (const d of lens) masks.push({ port, s, d });
  const rules: Workload['rules'] = [];
  const seen = new Set<string>();
  const rip = (): number => (0x0a000000 | (rng.u32() & 0xffffff)) >>> 0;
  for (let i = 0; rules.length < n; i++) {
    const mk = masks[i % masks.length];
    const port = 1 + rng.int(65535);
    const spec: Spec = { proto: TCP, src: [rip(), mk.s], dst: [rip(), mk.d], ...(mk.port === 'dport' ? { dport: port } : { sport: port }) };
    const match = matchOf(spec);
    if (seen.has(match.key())) continue;
    seen.add(match.key());
    rules.push({ spec, match, priority: 100 });
  }
  const pkts: Buffer[] = [];
  for (let i = 0; i < N_PKTS; i++) {
    if (rng.int(10) < 8) pkts.push(flowOf(pktFor(rng.pick(rules).spec, rng)));
    else pkts.push(flowOf({ inPort: 1 + rng.int(4), proto: TCP, nwSrc: rip(), nwDst: rip(), sport: 1 + rng.int(65535), dport: 1 + rng.int(65535) }));
  }
  return { name: '(b) 50 masks, one priority', rules, pkts };
}

/** The baseline: every rule's mask and value as words, sorted by priority (then age); first match wins. */
export class LinearScan {
  private readonly masks: Int32Array;
  private readonly vals: Int32Array;
  private readonly order: Rule[];
  private readonly fw = new Int32Array(FLOW_WORDS);

  constructor(rules: Iterable<Rule>) {
    this.order = [...rules].sort((a, b) => b.priority - a.priority || a.id - b.id);
    this.masks = new Int32Array(this.order.length * FLOW_WORDS);
    this.vals = new Int32Array(this.order.length * FLOW_WORDS);
    this.order.forEach((r, i) => {
      for (let w = 0; w < FLOW_WORDS; w++) {
        this.masks[i * FLOW_WORDS + w] = r.match.mask.readInt32LE(w * 4);
        this.vals[i * FLOW_WORDS + w] = r.match.value.readInt32LE(w * 4);
      }
    });
  }

  lookup(flow: Buffer): Rule | undefined {
    const fw = this.fw;
    for (let w = 0; w < FLOW_WORDS; w++) fw[w] = flow.readInt32LE(w * 4);
    const n = this.order.length, ms = this.masks, vs = this.vals;
    for (let i = 0; i < n; i++) {
      const base = i * FLOW_WORDS;
      let w = 0;
      while (w < FLOW_WORDS && (fw[w] & ms[base + w]) === vs[base + w]) w++;
      if (w === FLOW_WORDS) return this.order[i];
    }
    return undefined;
  }
}

/** Calls `fn(i)` for i over the packets until `MIN_SECS` pass; returns calls per second. */
function rate(n: number, fn: (i: number) => void, minSecs = MIN_SECS): number {
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let el = 0;
  do {
    for (let i = 0; i < n; i++) fn(i);
    calls += n;
    el = since(t0);
  } while (el < minSecs);
  return calls / el;
}

interface ClsResult {
  workload: string; n: number; subtables: number; lookups: Summary; noWc: Summary; linear?: Summary; insert: Summary; delAll: Summary;
  bytesPerRule: Summary; leakPerRule: Summary; mismatches: number; checked: number; wcViolations: number; wcChecked: number;
}

function benchClassifier(w: Workload): ClsResult {
  const n = w.rules.length;
  const lookups: number[] = [], noWc: number[] = [], linear: number[] = [], insert: number[] = [], delAll: number[] = [], bytes: number[] = [], leak: number[] = [];
  let subtables = 0, mismatches = 0, checked = 0, wcViolations = 0, wcChecked = 0;
  const wc = Buffer.alloc(FLOW_SIZE);
  for (let run = 0; run < RUNS; run++) {
    // `let` + reset at the end: optimised closures may keep this scope alive,
    // and the previous run's rules must not count in the next run's memory.
    let t = new OfTables();
    let lin: LinearScan | undefined;
    const m0 = memNow();
    const t0 = process.hrtime.bigint();
    for (const r of w.rules) t.add({ tableId: 0, priority: r.priority, match: r.match, actions: [] });
    insert.push(n / since(t0));
    const m1 = memNow();
    bytes.push((m1.heap + m1.buffers - m0.heap - m0.buffers) / n);
    subtables = t.tables[0].nSubtables;
    if (t.tables[0].count !== n) throw new Error(`${w.name}: ${t.tables[0].count} rules in the table, expected ${n}`);
    const pk = w.pkts;
    lookups.push(rate(pk.length, (i) => { wc.fill(0); t.lookup(0, pk[i], wc); }));
    noWc.push(rate(pk.length, (i) => { t.lookup(0, pk[i], null); }, MIN_SECS / 2));
    if (run === 0) {
      // Same answer as the linear scan (all packets up to 10 k rules, 256 at 100 k).
      lin = new LinearScan(t.rules(0));
      const nCheck = n <= LINEAR_MAX ? pk.length : 256;
      for (let i = 0; i < nCheck; i++) { checked++; if (t.lookup(0, pk[i], null) !== lin.lookup(pk[i])) mismatches++; }
      lin = undefined;
      // Megaflow soundness: a packet that agrees with p on every bit of p's wildcards gets p's rule.
      const rng = new Rng(77);
      for (let i = 0; i < Math.min(pk.length, n <= LINEAR_MAX ? 1024 : 128); i++) {
        wc.fill(0);
        const r = t.lookup(0, pk[i], wc);
        for (let j = 0; j < 4; j++) {
          const q = Buffer.from(pk[i]);
          // Randomise what the wildcards leave free: addresses, L4 ports, in_port (if unmatched).
          for (const off of [28, 44, 72]) q.writeUInt32BE(((q.readUInt32BE(off) & wc.readUInt32BE(off)) | (rng.u32() & ~wc.readUInt32BE(off))) >>> 0, off);
          if (wc.readUInt32LE(0) === 0) q.writeUInt32LE(1 + rng.int(4), 0);
          wcChecked++;
          const got = t.lookup(0, q, null);
          if (got !== r && (got === undefined || r === undefined || got.priority !== r.priority || !got.match.equals(r.match))) wcViolations++;
        }
      }
    }
    if (n <= LINEAR_MAX) {
      lin = new LinearScan(t.rules(0));
      linear.push(rate(pk.length, (i) => { lin!.lookup(pk[i]); }, MIN_SECS / 2));
      lin = undefined;
    }
    const t1 = process.hrtime.bigint();
    const gone = t.delete({ tableId: 0, match: Match.any() }, false);
    delAll.push(since(t1) * 1000);
    if (gone.length !== n || t.tables[0].count !== 0) throw new Error(`${w.name}: delete-all removed ${gone.length} of ${n}`);
    gone.length = 0;
    const m2 = memNow();
    leak.push((m2.heap + m2.buffers - m0.heap - m0.buffers) / n);
    t = new OfTables();
  }
  return {
    workload: w.name, n, subtables, lookups: summarize(lookups), noWc: summarize(noWc), linear: linear.length ? summarize(linear) : undefined,
    insert: summarize(insert), delAll: summarize(delAll), bytesPerRule: summarize(bytes), leakPerRule: summarize(leak),
    mismatches, checked, wcViolations, wcChecked,
  };
}

/* ---- translation ---------------------------------------------------------- */

type Ctx = XlateContext & { tables: OfTables; macs: MacLearning };
const PORTS: XPort[] = [1, 2, 3, 4].map((p) => ({ ofport: p, name: `p${p}`, live: true }));

function context(): Ctx {
  const macs = new MacLearning(300);
  for (let p = 1; p <= 4; p++) macs.learn(0, MAC[p - 1], p);
  return { bridge: 'bench', tables: new OfTables(), macs, ports: () => PORTS };
}

const goto = (table: number): OfpAction => ({ type: 'goto_table', table });
const NORMAL: OfpAction = { type: 'output', port: OFPP.NORMAL };
const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/**
 * table 0: in_port + dl_type classify (IP: write_metadata:port, goto 1; ARP: NORMAL; else drop)
 * table 1: ACL on nw_src/nw_dst prefixes and tp_dst: 2 deny subnets, 256 tcp permits
 *          (src /16, dst /24, tp_dst 80|443), 8 udp/53 and 4 tcp/22 permits on dst /16,
 *          priority-0 drop
 * table 2: dl_dst of hosts 1 and 2 -> output; priority-0 NORMAL
 */
function pipeline(c: Ctx): number {
  const t = c.tables;
  for (let p = 1; p <= 4; p++) {
    t.add({ tableId: 0, priority: 100, match: new Match().set(fld.in_port, BigInt(p)).set(fld.dl_type, 0x0800n),
      actions: [{ type: 'write_metadata', value: BigInt(p), mask: 0xffn }, goto(1)] });
    t.add({ tableId: 0, priority: 100, match: new Match().set(fld.in_port, BigInt(p)).set(fld.dl_type, 0x0806n), actions: [NORMAL] });
  }
  t.add({ tableId: 0, priority: 0, match: Match.any(), actions: [] });
  t.add({ tableId: 1, priority: 400, match: matchOf({ proto: TCP, src: [ip4(10, 7, 0, 0), 16] }).clear(fld.nw_proto), actions: [] });
  t.add({ tableId: 1, priority: 400, match: matchOf({ proto: TCP, src: [ip4(10, 8, 128, 0), 17] }).clear(fld.nw_proto), actions: [] });
  for (let s = 1; s <= 8; s++) for (let d = 1; d <= 8; d++) for (const k of [0, 1]) for (const port of [80, 443]) {
    t.add({ tableId: 1, priority: 300, match: matchOf({ proto: TCP, src: [ip4(10, s, 0, 0), 16], dst: [ip4(10, d, k, 0), 24], dport: port }), actions: [goto(2)] });
  }
  for (let d = 1; d <= 8; d++) t.add({ tableId: 1, priority: 200, match: matchOf({ proto: UDP, dst: [ip4(10, d, 0, 0), 16], dport: 53 }), actions: [goto(2)] });
  for (let d = 1; d <= 4; d++) t.add({ tableId: 1, priority: 200, match: matchOf({ proto: TCP, dst: [ip4(10, d, 0, 0), 16], dport: 22 }), actions: [goto(2)] });
  t.add({ tableId: 1, priority: 0, match: Match.any(), actions: [] });
  for (const h of [1, 2]) t.add({ tableId: 2, priority: 10, match: new Match().set(fld.dl_dst, BigInt('0x' + MAC[h - 1].toString('hex'))), actions: [{ type: 'output', port: h }] });
  t.add({ tableId: 2, priority: 0, match: Match.any(), actions: [NORMAL] });
  return t.ruleCount;
}

/** New 5-tuples between 4 hosts: addresses in 10.1-8.0-3.x, tcp 80 %, well-known ports 85 %. */
function traffic(n: number, seed: number): FlowKey[] {
  const rng = new Rng(seed);
  const out: FlowKey[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.int(4);
    let b = rng.int(3); if (b >= a) b++;
    const proto = rng.int(10) < 8 ? TCP : UDP;
    const dport = rng.int(100) < 85 ? (proto === TCP ? rng.pick([22, 80, 443]) : 53) : 1024 + rng.int(64000);
    out.push(keyOf({ inPort: a + 1, src: MAC[a], dst: MAC[b], proto, nwSrc: ip4(10, 1 + rng.int(8), rng.int(4), rng.int(256)),
      nwDst: ip4(10, 1 + rng.int(8), rng.int(4), rng.int(256)), sport: 32768 + rng.int(28000), dport }));
  }
  return out;
}

/**
 * A datapath in miniature for the real upcall handler (Udpif): megaflows in
 * one hash map per mask, probed in insertion order; execute is a no-op.
 */
class MemDpif extends Dpif {
  readonly name = 'mem@bench';
  readonly dpIfindex = 0;
  private readonly byMask = new Map<string, { mask: FlowKey; flows: Map<string, Buffer> }>();
  private readonly byUfid = new Map<string, { maskHex: string; keyHex: string }>();
  executed = 0;

  transact(): Buffer[] { throw new Error('MemDpif takes the Dpif methods directly'); }
  stats(): DpifStats { throw new Error('not kept'); }
  ports(): [] { return []; }
  async close(): Promise<void> { /* nothing */ }

  override flowPut(m: Omit<OvsFlowMsg, 'cmd' | 'dpIfindex'>): void {
    const mask = m.mask!.clone();
    mask.exact('in_port');
    const maskHex = mask.hex(), keyHex = m.key!.and(mask).hex();
    let g = this.byMask.get(maskHex);
    if (!g) this.byMask.set(maskHex, (g = { mask, flows: new Map() }));
    const ufid = m.ufid!;
    g.flows.set(keyHex, ufid);
    this.byUfid.set(ufid.toString('hex'), { maskHex, keyHex });
  }
  override flowGet(): undefined { return undefined; }
  override flowDel(ufid: Buffer): undefined {
    const f = this.byUfid.get(ufid.toString('hex'));
    if (f) { this.byMask.get(f.maskHex)?.flows.delete(f.keyHex); this.byUfid.delete(ufid.toString('hex')); }
    return undefined;
  }
  override flowFlush(): void { this.byMask.clear(); this.byUfid.clear(); }
  override execute(): void { this.executed++; }

  /** Does an installed megaflow cover `key`? */
  hit(key: FlowKey): boolean {
    for (const g of this.byMask.values()) if (g.flows.has(key.and(g.mask).hex())) return true;
    return false;
  }
  get nFlows(): number { let n = 0; for (const g of this.byMask.values()) n += g.flows.size; return n; }
  get nMasks(): number { let n = 0; for (const g of this.byMask.values()) if (g.flows.size) n++; return n; }
}

interface MfCount { flows: number; masks: number; upcalls: number; usPerUpcall: number; narrowed: number }

/**
 * Megaflows N packets install through the real upcall handler (Udpif:
 * xlate, disjoining from installed megaflows, install): a packet that hits
 * an installed megaflow does not upcall. Returns the counts after each
 * prefix of `keys` listed in `at`, and the mean upcall handling time over
 * the packets since the previous prefix.
 */
function megaflows(c: Ctx, keys: FlowKey[], at: number[]): Record<number, MfCount> {
  const dp = new MemDpif();
  const u = new Udpif(dp, c);
  const packet = Buffer.alloc(60);
  const out: Record<number, MfCount> = {};
  let from = 0;
  for (const n of at) {
    let up = 0, t = 0;
    for (let i = from; i < n; i++) {
      const k = keys[i];
      if (dp.hit(k)) continue;
      const msg = encodePacketMsg({ cmd: PacketCmd.MISS, dpIfindex: 0, packet, key: k, len: packet.length });
      const t0 = process.hrtime.bigint();
      dp.emit('upcall', msg);
      t += since(t0);
      up++;
    }
    from = n;
    out[n] = { flows: dp.nFlows, masks: dp.nMasks, upcalls: u.counters.upcalls, usPerUpcall: up ? (t / up) * 1e6 : 0, narrowed: u.counters.narrowed };
  }
  u.close();
  return out;
}

interface XlResult { name: string; rules: number; rate: Summary; mf: Record<number, MfCount>; sample: string }

function benchXlate(): XlResult[] {
  const keys = traffic(N_PKTS, 4242);
  const mfN = [1000, 10000, 20000, 50000];
  const mfKeys = traffic(Math.max(...mfN), 99);
  const out: XlResult[] = [];
  for (const kind of ['baseline', 'pipeline'] as const) {
    const c = context();
    let rules: number;
    if (kind === 'baseline') { c.tables.add({ priority: 0, match: Match.any(), actions: [NORMAL] }); rules = 1; }
    else rules = pipeline(c);
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) rates.push(rate(keys.length, (i) => { xlate(c, keys[i], { credit: { packets: 1n, bytes: 64n } }); }));
    const mf = megaflows(c, mfKeys, mfN);
    const x = xlate(c, keys[0], { learn: false });
    out.push({ name: kind === 'baseline' ? 'single table `priority=0,actions=NORMAL` (baseline)' : '3-table pipeline (classify, ACL, forward)',
      rules, rate: summarize(rates), mf, sample: `${x.rules.length} tables hit, wc nw_src=${x.wc.bytes('nw_src').subarray(0, 4).toString('hex')} nw_dst=${x.wc.bytes('nw_dst').subarray(0, 4).toString('hex')} tp_dst=${x.wc.tpDst.toString(16)}` });
    c.macs.close();
  }
  return out;
}

/* ---- main ------------------------------------------------------------------- */

function main(): void {
  console.log(`\nbench-ofproto: ${environment()}`);
  console.log(`median of ${RUNS} runs (min–max), spread = (max−min)/median; lookups over ${N_PKTS} pre-built flows, ≥ ${MIN_SECS} s each; ${hasGc() ? 'memory after forced GC (--expose-gc)' : 'no --expose-gc: memory numbers include garbage'}\n`);
  benchClassifier(mixed(1000, 1));          // warm-up (JIT), not reported
  const cls: ClsResult[] = [];
  for (const gen of [mixed, manyMasks]) {
    for (const n of SIZES) {
      const w = gen(n, 1234 + n);
      const r = benchClassifier(w);
      cls.push(r);
      process.stderr.write(`  ${r.workload} ${r.n}: ${si(r.lookups.med)} lookups/s\n`);
    }
  }
  console.log('Classifier (one OpenFlow table through OfTables; lookups with megaflow wildcards, as xlate does):\n');
  printTable(['workload', 'rules', 'subtables', 'lookups/s', 'spread', 'lookups/s without wildcards (wc=null)', 'linear scan lookups/s', '× linear', 'insert (OfTables.add) rules/s', 'delete-all ms', 'bytes/rule', 'left after delete-all, bytes/rule', 'same rule as linear scan', 'megaflow soundness'],
    cls.map((r) => [r.workload, r.n, r.subtables, `${si(r.lookups.med)} (${si(r.lookups.min)}–${si(r.lookups.max)})`, `${(r.lookups.spread * 100).toFixed(0)} %`,
      `${si(r.noWc.med)} (${si(r.noWc.min)}–${si(r.noWc.max)})`, r.linear ? `${si(r.linear.med)} (${si(r.linear.min)}–${si(r.linear.max)})` : '–', r.linear ? (r.lookups.med / r.linear.med).toFixed(1) : '–',
      `${si(r.insert.med)} (${si(r.insert.min)}–${si(r.insert.max)})`, `${r.delAll.med.toFixed(1)} (${r.delAll.min.toFixed(1)}–${r.delAll.max.toFixed(1)})`,
      r.bytesPerRule.med.toFixed(0), r.leakPerRule.med.toFixed(0), r.mismatches ? `**${r.mismatches} of ${r.checked} differ**` : `${r.checked} of ${r.checked}`,
      r.wcViolations ? `**${r.wcViolations} of ${r.wcChecked} violate**` : `${r.wcChecked} ok`]));
  for (const gen of new Set(cls.map((r) => r.workload))) {
    const rs = cls.filter((r) => r.workload === gen);
    const first = rs[0], last = rs[rs.length - 1];
    console.log(`\n${gen}: lookups/s at ${last.n} rules = ${(last.lookups.med / first.lookups.med).toFixed(2)} × at ${first.n}; insert rules/s at ${last.n} = ${(last.insert.med / first.insert.med).toFixed(2)} × at ${first.n} (1.0 = linear-time insert); delete-all µs/rule ${rs.map((r) => (r.delAll.med * 1000 / r.n).toFixed(2)).join(' / ')}`);
  }

  const xl = benchXlate();
  const base = xl[0].rate.med;
  console.log(`\nTranslation (xlate with upcall credit, no datapath; 4 ports, MACs learned; ${N_PKTS} new 5-tuples cycled):\n`);
  printTable(['pipeline', 'rules', 'xlate/s', 'spread', '× baseline', 'µs/xlate'],
    xl.map((r) => [r.name, r.rules, `${si(r.rate.med)} (${si(r.rate.min)}–${si(r.rate.max)})`, `${(r.rate.spread * 100).toFixed(0)} %`,
      (r.rate.med / base).toFixed(2), (1e6 / r.rate.med).toFixed(2)]));
  console.log(`\nMegaflows installed by the upcall handler (Udpif with an in-memory datapath; packets in order, only misses upcall; one run):\n`);
  const mfN = Object.keys(xl[0].mf).map(Number);
  printTable(['pipeline', 'packets', 'upcalls', 'megaflows', 'masks', 'narrowed by disjoin', 'µs per upcall (this stretch)'],
    xl.flatMap((r) => mfN.map((n, i) => [i ? '' : r.name, n, r.mf[n].upcalls, r.mf[n].flows, r.mf[n].masks, r.mf[n].narrowed, r.mf[n].usPerUpcall.toFixed(1)])));
  console.log(`\nupcall handling = decode + xlate + disjoin + install into the in-memory datapath (no syscalls); "this stretch" = the packets since the previous row.`);
  for (const r of xl) console.log(`  ${r.name}: first packet: ${r.sample}`);
}

if (require.main === module) main();
