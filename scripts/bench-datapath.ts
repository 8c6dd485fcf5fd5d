/*
 * Datapath benchmark (not a test): BPF_PROG_RUN ns/packet for the baselines
 * built from this tree and for each lookup path of the fast path, all in one
 * run, medians of several repeats, ratios to baseline (ii); then the perf-ring
 * upcall receive rate. Prints a table. Run as root: npm run bench:datapath
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { Worker } from 'worker_threads';
import * as os from 'os';
import { BpfObject, progTestRun } from '../src/bpf';
import { DpifXdp } from '../src/dpif/dpif-xdp';
import { FlowKey, FRAG_ANY, FRAG_LATER } from '../src/dpif/flow-key';
import { bpfObjectPath } from '../src/lib/paths';
import { frame } from '../test/support/packets';
import { setLogLevel } from '../src/lib/vlog';

const REPEAT = Number(process.env.BENCH_REPEAT ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const XDP_REDIRECT = 4;
setLogLevel('WARN');

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

interface Row { name: string; ns: number; min: number; max: number; note?: string }

/** ctx for BPF_PROG_RUN: struct xdp_md { data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex } */
function xdpCtx(len: number, ifindex: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(len, 4); b.writeUInt32LE(ifindex, 12);
  return b;
}

function measure(name: string, fd: number, pkt: Buffer, ifindex: number, expect: number, note?: string): Row {
  const ctx = xdpCtx(pkt.length, ifindex);
  const ns: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = progTestRun(fd, { data: pkt, ctxIn: ctx, repeat: REPEAT });
    if (r.retval !== expect) throw new Error(`${name}: returned ${r.retval}, expected ${expect}`);
    ns.push(r.duration);
  }
  return { name, ns: median(ns), min: Math.min(...ns), max: Math.max(...ns), note };
}

/** Masks that differ (tp_src prefix x nw_tos) but all match in_port and eth_type. */
function maskN(i: number): FlowKey {
  const m = new FlowKey().exact('in_port').exact('eth_type').exact('eth_dst').exact('nw_proto').setField('nw_frag', FRAG_ANY | FRAG_LATER);
  m.setField('tp_src', (0xffff << (i % 16)) & 0xffff);
  if (i >= 16) m.setField('nw_tos', 0xff);
  if (i >= 32) m.setField('nw_ttl', 0xff);
  return m;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const pfx = `xb${randomBytes(2).toString('hex')}`;
  ip('link', 'add', `${pfx}a`, 'type', 'veth', 'peer', 'name', `${pfx}b`);
  const rows: Row[] = [];
  let dp: DpifXdp | undefined;
  try {
    ip('link', 'set', `${pfx}a`, 'up'); ip('link', 'set', `${pfx}b`, 'up');
    const ifA = Number(ip('-j', 'link', 'show', `${pfx}a`).match(/"ifindex":(\d+)/)![1]);
    const ifB = Number(ip('-j', 'link', 'show', `${pfx}b`).match(/"ifindex":(\d+)/)![1]);
    const pkt = frame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', proto: 'udp', sport: 1024, dport: 9, payload: 18 });

    // Baselines (i) and (ii) from bpf/bench.bpf.o.
    const bench = BpfObject.open(bpfObjectPath('bench.bpf.o'));
    bench.load();
    bench.map('bench_tx').update(u32(ifA), u32(ifB));
    const k = Buffer.alloc(16);
    pkt.copy(k, 0, 26, 34); pkt.copy(k, 8, 34, 38); k[12] = 17;
    bench.map('bench_flows').update(k, u32(ifA));
    for (let i = 0; i < 1000; i++) { const o = Buffer.from(k); o.writeUInt32BE(0x0b000000 + i, 0); bench.map('bench_flows').update(o, u32(ifA)); }
    rows.push(measure('(i) parse + DEVMAP redirect', bench.program('xvs_bench_redirect').fd, pkt, ifA, XDP_REDIRECT));
    rows.push(measure('(ii) (i) + 5-tuple hash hit', bench.program('xvs_bench_hash').fd, pkt, ifA, XDP_REDIRECT));
    bench.close();

    // The datapath: ports 1 (ifA) and 2 (ifB), rankings frozen while measuring.
    const open = async (emc: boolean): Promise<DpifXdp> => {
      const d = await DpifXdp.open(`bench${emc ? 'e' : ''}`, { emc, rerankMs: 3_600_000 });
      await d.addPort(`${pfx}a`, 1, 'tc');
      await d.addPort(`${pfx}b`, 2, 'tc');
      return d;
    };
    const key = new FlowKey(); key.inPort = 1;
    key.setField('eth_dst', pkt.subarray(0, 6)).setField('eth_type', 0x0800).setField('nw_proto', 17).setField('tp_src', 1024);
    const put = (d: DpifXdp, m: FlowKey, match: boolean): void => {
      const kk = key.clone(); if (!match) kk.inPort = 99;
      d.flowPut({ key: kk.and(m), mask: m, actions: [{ type: 'output', port: 2 }] });
    };

    dp = await open(true);
    put(dp, maskN(0), true);
    progTestRun(dp.programFd('xdp'), { data: pkt, ctxIn: xdpCtx(pkt.length, ifA), repeat: 1 });   // fills the EMC
    rows.push(measure('EMC hit', dp.programFd('xdp'), pkt, ifA, XDP_REDIRECT));
    await dp.close(); dp = undefined;

    dp = await open(false);
    for (const n of [1, 8, 32]) {
      for (const order of ['best', 'worst'] as const) {
        if (n === 1 && order === 'worst') continue;
        dp.flowFlush();
        const masks = Array.from({ length: n }, (_, i) => maskN(i));
        if (order === 'best') masks.forEach((m, i) => put(dp!, m, i === 0));
        else masks.forEach((m, i) => put(dp!, m, i === n - 1));
        const before = dp.stats();
        const r = measure(`megaflow hit, ${n} mask${n > 1 ? 's' : ''}${n > 1 ? `, ${order} order` : ''}`, dp.programFd('xdp'), pkt, ifA, XDP_REDIRECT);
        const after = dp.stats();
        const probes = Number(after.masksHit - before.masksHit) / Number(after.megaflowHit - before.megaflowHit);
        r.note = `${probes.toFixed(2)} masks probed/hit`;
        rows.push(r);
      }
    }
    // Ranking: worst order, then let the re-ranker see traffic.
    dp.flowFlush();
    Array.from({ length: 32 }, (_, i) => maskN(i)).forEach((m, i) => put(dp!, m, i === 31));
    dp.rerankMasks();                      // a re-rank pass: hits are counted from here
    progTestRun(dp.programFd('xdp'), { data: pkt, ctxIn: xdpCtx(pkt.length, ifA), repeat: 10000 });
    dp.rerankMasks();                      // the next periodic pass sees this traffic
    {
      const before = dp.stats();
      const r = measure('megaflow hit, 32 masks, worst order after re-ranking', dp.programFd('xdp'), pkt, ifA, XDP_REDIRECT);
      const after = dp.stats();
      r.note = `${(Number(after.masksHit - before.masksHit) / Number(after.megaflowHit - before.megaflowHit)).toFixed(2)} masks probed/hit`;
      rows.push(r);
    }
    dp.flowFlush();
    put(dp, maskN(0), false);
    rows.push(measure('miss (1 mask probed) + perf upcall', dp.programFd('xdp'), pkt, ifA, 1 /* XDP_DROP */, 'perf ring mostly full: lost upcalls are counted'));

    await dp.close(); dp = undefined;
    const ringRows = await ringRate(pfx, pkt);
    printTable(rows, ringRows);
  } finally {
    await dp?.close();
    try { ip('link', 'del', `${pfx}a`); } catch { /* gone */ }
  }
}

/**
 * Perf-ring upcall receive rate with real traffic: a worker thread sends
 * frames (AF_PACKET) into a veth whose XDP hook has no flows, so every frame
 * is a miss and an upcall; this thread receives them as OVS_PACKET_CMD_MISS
 * messages. Offered rate is paced; lost = perf ring losses.
 */
async function ringRate(pfx: string, pkt: Buffer): Promise<string[]> {
  const out: string[] = [];
  ip('link', 'add', `${pfx}r`, 'type', 'veth', 'peer', 'name', `${pfx}s`);
  const dp = await DpifXdp.open(`${pfx}ring`, { rerankMs: 3_600_000 });
  try {
    for (const d of ['r', 's']) { try { execFileSync('sysctl', ['-qw', `net.ipv6.conf.${pfx}${d}.disable_ipv6=1`]); } catch { /* no ipv6 */ } }
    ip('link', 'set', `${pfx}r`, 'up'); ip('link', 'set', `${pfx}s`, 'up');
    await dp.addPort(`${pfx}r`, 1, 'xdp');
    const ifS = Number(execFileSync('cat', [`/sys/class/net/${pfx}s/ifindex`], { encoding: 'utf8' }));
    for (const target of [100_000, 250_000, 400_000, 0]) {
      const res: { sent: number; recv: number; ring: number; lost: number; secs: number }[] = [];
      for (let run = 0; run < 3; run++) {
        const l0 = Number(dp.stats().lost), r0 = dp.ringStats().samples;
        let recv = 0;
        const onUp = (): void => { recv++; };
        dp.on('upcall', onUp);
        const t0 = process.hrtime.bigint();
        const sent = await new Promise<number>((resolve, reject) => {
          const w = new Worker(`
            const { workerData: d, parentPort } = require('worker_threads');
            const { PacketSocket } = require(d.rawsock);
            const s = new PacketSocket(); const pkt = Buffer.from(d.pkt);
            const start = process.hrtime.bigint(); let sent = 0;
            const end = start + BigInt(d.secs * 1e9);
            while (process.hrtime.bigint() < end) {
              if (d.rate) { const due = Number(process.hrtime.bigint() - start) / 1e9 * d.rate; if (sent >= due) continue; }
              try { s.send(d.ifindex, pkt); sent++; } catch { /* ENOBUFS: retry */ }
            }
            s.close(); parentPort.postMessage(sent);`, { eval: true, workerData: { rawsock: require.resolve('../src/netdev/rawsock'), ifindex: ifS, pkt, rate: target, secs: 2 } });
          w.on('message', resolve); w.on('error', reject);
        });
        await new Promise((r) => setTimeout(r, 300));   // drain
        const secs = Number(process.hrtime.bigint() - t0) / 1e9 - 0.3;
        dp.off('upcall', onUp);
        res.push({ sent, recv, ring: dp.ringStats().samples - r0, lost: Number(dp.stats().lost) - l0, secs });
      }
      const m = (f: (r: (typeof res)[0]) => number): number => median(res.map(f));
      const k = (x: number): string => `${(x / 1000).toFixed(0)} k/s`;
      out.push(`| ${target ? k(target) : 'max (unpaced)'} | ${k(m((r) => r.sent / r.secs))} | ${k(m((r) => r.ring / r.secs))} | ${k(m((r) => r.recv / r.secs))} | ${m((r) => r.lost)} of ${m((r) => r.sent)} |`);
    }
  } finally {
    await dp.close();
    try { ip('link', 'del', `${pfx}r`); } catch { /* gone */ }
  }
  return out;
}

function printTable(rows: Row[], ring: string[]): void {
  const ii = rows.find((r) => r.name.startsWith('(ii)'))!.ns;
  const i = rows.find((r) => r.name.startsWith('(i)'))!.ns;
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`\nBPF_PROG_RUN, ${REPEAT} repeats, median of ${RUNS} (min-max); kernel ${os.release()}; loadavg ${load}`);
  console.log(`hash lookup cost (ii) - (i) = ${ii - i} ns\n`);
  console.log('| path | ns/pkt | min-max | x (ii) | note |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.ns} | ${r.min}-${r.max} | ${(r.ns / ii).toFixed(2)} | ${r.note ?? ''} |`);
  console.log('\nPerf-ring upcall receive rate (a worker thread sends frames into an XDP port with no flows; this thread receives the upcalls):\n');
  console.log('| target | sent | ring records read | OVS_PACKET_CMD_MISS delivered | lost (median of 3) |');
  console.log('|---|---|---|---|---|');
  for (const l of ring) console.log(l);
}

main().catch((e: Error) => { console.error(e.stack ?? e.message); process.exit(1); });
