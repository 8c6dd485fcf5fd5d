/*
 * The benchmark suite (issue 6): every contender between the same two veth
 * ports, in an order that rotates from round to round, and one table of
 * medians, spreads, ratios and the machine's load. Not a test: it asserts
 * nothing, it measures. Run as root: `npm run bench` (BENCH_* to tune:
 * BENCH_ROUNDS=3, BENCH_WARM=1, BENCH_WINDOW=3 seconds per forwarding cell,
 * BENCH_TCP=5 seconds per iperf3 run, BENCH_ONLY=fwd,tcp,... to pick
 * measures, BENCH_CONTENDERS=id,... to pick contenders, BENCH_OUT=dir for
 * the JSON and SVG (default docs/bench)).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/lib/paths';
import { environment } from '../bench-util';
import { allContenders, Contender } from './contenders';
import { cellName, FWD_CELLS, forwardingRun, tcpRun, tcpTxCsum } from './forwarding';
import { flowSetupRate, upcallCtl } from './flowsetup';
import { firstPacketLatency } from './latency';
import { CostRow, daemonCost } from './daemon-cost';
import { inclusiveShares, summarizeProfile } from './cpuprofile';
import { bpfInsnTable, formatBpfInsnTable } from './bpf-insns';
import { loadBetween, loadSnapshot } from './load';
import { plotSvg } from './plot';
import { formatTable, Results, Row, Sample } from './report';
import { BenchTopo, createTopo, destroyTopo, run, setTxCsum } from './topo';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};

const settings = {
  rounds: num('BENCH_ROUNDS', 3), warmS: num('BENCH_WARM', 1), windowS: num('BENCH_WINDOW', 3), tcpS: num('BENCH_TCP', 5),
  setupS: num('BENCH_SETUP', 5), latencyFlows: num('BENCH_LATENCY_FLOWS', 1000),
};
const MEASURES = ['fwd', 'tcp', 'setup', 'latency', 'cost'] as const;
type Measure = typeof MEASURES[number];
const only = new Set((process.env.BENCH_ONLY ?? MEASURES.join(',')).split(',').map((s) => s.trim()).filter(Boolean));
for (const m of only) if (!(MEASURES as readonly string[]).includes(m)) throw new Error(`BENCH_ONLY: unknown measure '${m}' (${MEASURES.join(', ')})`);
const want = (m: Measure): boolean => only.has(m);

/** Rotates the contender order each round, so no contender always runs first (or right after a heavy one). */
const rotate = <T>(xs: T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]);
const loadavg = (): number[] => os.loadavg().map((x) => Number(x.toFixed(2)));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (s: string): void => { process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`); };

function requireTools(): void {
  const missing = ['trafgen', 'iperf3', 'ovs-vswitchd', 'ovsdb-server', 'ethtool', 'tc', 'cc'].filter((b) => run('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run scripts/setup.sh (npm run bench does)`);
}

function fwdRows(): Row[] {
  return FWD_CELLS.map((cell) => ({
    id: `fwd:${cell.flows}:${cell.senders}:${cell.sink}`, label: `64 B, ${cellName(cell)}`, unit: 'Mpps · CPU ns/pkt', digits: 3, subUnit: ' ns',
    samples: {},
    ratios: ['xvs-xdp', 'xvs-tc'].flatMap((x) => [
      { num: x, den: 'xdp-redirect', target: 0.95 }, { num: x, den: 'bridge', target: 1 }, { num: x, den: 'ovs-afxdp', target: 1.2 },
    ]),
  }));
}

const tcpRow = (): Row => ({
  id: 'tcp', label: 'TCP, 1 iperf3 stream, default offloads', unit: 'Gbit/s · retransmits', digits: 2, samples: {},
  ratios: [{ num: 'xvs-tc', den: 'bridge', target: 0.9 }, { num: 'xvs-xdp', den: 'bridge' }],
});

const setupRow = (): Row => ({
  id: 'setup:rate', label: 'Flow setup: every packet a new 5-tuple, megaflows exact', unit: 'k flows installed/s · delivered kpps', digits: 1,
  samples: {}, subUnit: ' kpps',
  ratios: [{ num: 'xvs-tc', den: 'ovs-system', target: 2 }, { num: 'xvs-tc', den: 'ovs-afxdp', target: 2 }, { num: 'xvs-xdp', den: 'ovs-system' }],
});

const latencyRows = (): Row[] => ([['p50', 100], ['p99', 1000]] as const).map(([p, max]) => ({
  id: `latency:${p}`, label: `First-packet latency ${p}, ${settings.latencyFlows} fresh 5-tuples, megaflows exact`, unit: 'µs', digits: 0,
  lowerIsBetter: true, samples: {}, absTarget: { contender: 'xvs-tc', max },
  ratios: [{ num: 'xvs-tc', den: 'ovs-system' }, { num: 'xvs-xdp', den: 'ovs-system' }],
}));

/** Measure 5: one row per phase and quantity; run once per switch (each phase takes medians of its own windows). */
const COST_PHASES: [CostRow['phase'], string][] = [
  ['idle', 'idle (2 ports, no flows)'], ['flows-steady', '100 k datapath flows, no traffic'],
  ['flows-active', '100 k datapath flows, traffic through all'], ['rules', '100 k OpenFlow rules'],
];
function costRows(): Row[] {
  const row = (id: string, label: string, unit: string, digits: number): Row => ({
    id, label, unit, digits, lowerIsBetter: true, samples: {}, ratios: [{ num: 'xvs-tc', den: 'ovs-system' }],
  });
  return [
    ...COST_PHASES.flatMap(([p, name]) => [row(`cost:${p}:cpu`, `Daemon CPU, ${name}`, '% of a core', 1), row(`cost:${p}:rss`, `Daemon RSS, ${name}`, 'MiB', 0)]),
    row('cost:rules:add', 'add-flows of 100 k rules', 's', 2), row('cost:rules:dump', 'dump-flows of 100 k rules', 's', 2),
  ];
}

function pushCost(rows: Row[], c: Contender, cost: CostRow[]): void {
  const get = (id: string): Row => rows.find((r) => r.id === id)!;
  for (const r of cost) {
    const note = [r.flows !== undefined ? `${r.flows} flows${r.flowLimit !== undefined && Number.isFinite(r.flowLimit) ? ` (limit ${r.flowLimit})` : ''}` : '', r.passMs !== undefined ? `pass ${r.passMs} ms` : '', r.note ?? ''].filter(Boolean).join(', ') || undefined;
    for (const v of r.cpuPcts) push(get(`cost:${r.phase}:cpu`), c.id, { v, note });
    push(get(`cost:${r.phase}:rss`), c.id, { v: r.rssMiB, note: r.bpfMiB !== undefined ? `+ ${r.bpfMiB.toFixed(0)} MiB BPF maps` : undefined });
    if (r.addFlowsS !== undefined) push(get('cost:rules:add'), c.id, { v: r.addFlowsS });
    if (r.dumpFlowsS !== undefined) push(get('cost:rules:dump'), c.id, { v: r.dumpFlowsS });
  }
}

const push = (r: Row, id: string, s: Sample): void => { (r.samples[id] ??= []).push(s); };
const failed = (e: unknown): Sample => ({ v: NaN, note: `failed: ${(e as Error).message.split('\n')[0].slice(0, 80)}` });

async function withContender(t: BenchTopo, c: Contender, fn: () => Promise<void>): Promise<void> {
  await c.start(t);
  try { await fn(); } finally { await c.stop(t); }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (namespaces, veths, BPF, Open vSwitch)');
  requireTools();
  const ids = process.env.BENCH_CONTENDERS?.split(',').map((s) => s.trim());
  const contenders = allContenders().filter((c) => !ids || ids.includes(c.id));
  if (!contenders.length) throw new Error(`BENCH_CONTENDERS matches none of ${allContenders().map((c) => c.id).join(', ')}`);
  const outDir = path.resolve(process.env.BENCH_OUT ?? path.join(packageRoot(), 'docs', 'bench'));
  const res: Results = {
    command: 'sudo npm run bench', environment: environment(), startedAt: new Date().toISOString(),
    contenders: contenders.map((c) => ({ id: c.id, label: c.label })), rows: [], loadavg: { start: loadavg() },
    settings: { ...settings, measures: [...only].join(',') },
  };
  const fwd = want('fwd') ? fwdRows() : [];
  const tcp = want('tcp') ? tcpRow() : undefined;
  const setup = want('setup') ? setupRow() : undefined;
  const latency = want('latency') ? latencyRows() : [];
  const cost = want('cost') ? costRows() : [];
  res.rows.push(...fwd, ...(tcp ? [tcp] : []), ...(setup ? [setup] : []), ...latency, ...cost);

  let profileFile: string | undefined;
  const t = createTopo();
  let current: Contender | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaning ??= (async () => {
    try { await current?.stop(t); } catch (e) { log(`stop ${current?.id}: ${(e as Error).message}`); }
    destroyTopo(t);
  })());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => { log(`${sig}: cleaning up`); cleanup().finally(() => process.exit(130)); });
  }
  try {
    log(`topology ${t.prefix}: ${contenders.length} contenders, ${settings.rounds} rounds, measures ${[...only].join(',')}`);
    for (let round = 0; round < settings.rounds; round++) {
      for (const c of rotate(contenders, round)) {
        current = c;
        if (fwd.length) {
          setTxCsum(t, false);   // UDP runs: limits.md's setting, and what OVS needs
          try {
            await withContender(t, c, async () => {
              for (const [i, cell] of FWD_CELLS.entries()) {
                try {
                  const s = await forwardingRun(t, c, cell, settings);
                  push(fwd[i], c.id, { v: s.mpps, sub: s.nsPerPkt, load: s.load });
                  log(`round ${round + 1} ${c.id} ${cellName(cell)}: ${s.mpps.toFixed(3)} Mpps, ${s.nsPerPkt.toFixed(0)} ns/pkt, other load ${s.load.otherPct.toFixed(0)}%`);
                } catch (e) {
                  push(fwd[i], c.id, failed(e));
                  log(`round ${round + 1} ${c.id} ${cellName(cell)}: ${(e as Error).message}`);
                }
              }
            });
          } catch (e) {
            for (const r of fwd) push(r, c.id, failed(e));
            log(`${c.id}: ${(e as Error).message}`);
          }
        }
        if (tcp) {
          setTxCsum(t, tcpTxCsum(c));
          try {
            await withContender(t, c, async () => {
              const s = await tcpRun(t, c, settings.tcpS);
              push(tcp, c.id, { v: s.gbps, sub: s.retransmits, note: s.note || undefined, load: s.load });
              log(`round ${round + 1} ${c.id} TCP: ${s.gbps.toFixed(2)} Gbit/s, ${s.retransmits} retransmits`);
            });
          } catch (e) {
            push(tcp, c.id, failed(e));
            log(`round ${round + 1} ${c.id} TCP: ${(e as Error).message}`);
          }
          setTxCsum(t, false);
        }
        const upcalls = !!upcallCtl(c);
        if ((setup && upcalls) || latency.length) {
          try {
            await withContender(t, c, async () => {
              if (setup && upcalls) {
                try {
                  const l0 = loadSnapshot();
                  const s = await flowSetupRate(t, c, { seconds: settings.setupS });
                  push(setup, c.id, { v: s.newFlowsPerSec / 1e3, sub: s.deliveredPps / 1e3, load: loadBetween(l0, loadSnapshot(), c.pids()) });
                  log(`round ${round + 1} ${c.id} flow setup: ${(s.newFlowsPerSec / 1e3).toFixed(1)} k flows/s, ${(s.upcallsPerSec / 1e3).toFixed(1)} k upcalls/s, ` +
                    `${s.notInstalled} over the flow limit, ${s.lost} lost, switch CPU ${s.switchCpuPct.toFixed(0)}%`);
                } catch (e) {
                  push(setup, c.id, failed(e));
                  log(`round ${round + 1} ${c.id} flow setup: ${(e as Error).message}`);
                }
              }
              if (latency.length) {
                try {
                  const l0 = loadSnapshot();
                  const l = await firstPacketLatency(t, c, { flows: settings.latencyFlows });
                  const load = loadBetween(l0, loadSnapshot(), c.pids());
                  const note = l.lost ? `${l.lost} lost` : undefined;
                  push(latency[0], c.id, { v: l.p50us, note, load });
                  push(latency[1], c.id, { v: l.p99us, note, load });
                  log(`round ${round + 1} ${c.id} first packet: p50 ${l.p50us.toFixed(0)} µs, p99 ${l.p99us.toFixed(0)} µs, ${l.n} measured, ${l.lost} lost, ${l.upcalls} upcalls`);
                } catch (e) {
                  for (const r of latency) push(r, c.id, failed(e));
                  log(`round ${round + 1} ${c.id} first packet: ${(e as Error).message}`);
                }
              }
            });
          } catch (e) {
            for (const r of [...(setup && upcalls ? [setup] : []), ...latency]) push(r, c.id, failed(e));
            log(`${c.id}: ${(e as Error).message}`);
          }
        }
        current = undefined;
        await sleep(200);
      }
    }
    // Where the upcall path's time goes: one more flow-setup window, profiled (not counted in the table).
    const xvs = contenders.find((c) => c.id === 'xvs-tc');
    if (setup && xvs) {
      current = xvs;
      profileFile = path.join(outDir, 'upcall.cpuprofile');
      fs.mkdirSync(outDir, { recursive: true });
      try {
        await withContender(t, xvs, async () => { await flowSetupRate(t, xvs, { seconds: settings.setupS, cpuProfile: profileFile }); });
      } catch (e) {
        log(`profiled flow-setup run: ${(e as Error).message}`);
        profileFile = undefined;
      }
      current = undefined;
    }
    // Measure 5 once per daemon: its phases fill 100 k flows (about 90 s) and take medians of their own windows.
    for (const c of cost.length ? contenders.filter((x) => x.id === 'xvs-tc' || x.id === 'ovs-system') : []) {
      current = c;
      log(`${c.id}: daemon cost (idle, 100 k flows, 100 k rules)`);
      try {
        pushCost(cost, c, await daemonCost(t, c));
      } catch (e) {
        log(`${c.id} daemon cost: ${(e as Error).message}`);
        for (const r of cost) push(r, c.id, failed(e));
      }
      current = undefined;
    }
  } finally {
    await cleanup();
  }
  res.finishedAt = new Date().toISOString();
  res.loadavg.end = loadavg();
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'suite.json'), JSON.stringify(res, null, 1));
  fs.writeFileSync(path.join(outDir, 'suite.svg'), plotSvg(res));
  console.log(`${res.environment}`);
  console.log(`loadavg at start ${res.loadavg.start.join(' ')}, at end ${res.loadavg.end.join(' ')}; ${settings.rounds} rounds, ` +
    `warm-up ${settings.warmS} s + ${settings.windowS} s per forwarding cell, ${settings.tcpS} s per TCP run\n`);
  console.log(formatTable(res));
  if (profileFile && fs.existsSync(profileFile)) {
    const p = summarizeProfile(profileFile, 15);
    const shares = inclusiveShares(profileFile, {
      'perf ring read': /^turn$|^walk/, 'upcall handling (handle)': /^handle$/, xlate: /^xlate$/, 'megaflow disjoin': /^disjoin$/,
      'flow install (flowPut)': /^flowPut/, 'packet execute': /^execute$/, revalidator: /^revalidatorPass$/, GC: /garbage collector/,
    });
    console.log(`\nxdp-vswitchd under the flow-setup load (xvs-tc, ${p.seconds.toFixed(1)} s profiled, idle ${p.idlePct.toFixed(0)}%): ` +
      `share of busy samples with each on the stack: ${Object.entries(shares).map(([k, v]) => `${k} ${v.toFixed(0)}%`).join(', ')}\n`);
    console.log('| function (self time) | self % | total % |\n|---|---|---|');
    for (const l of p.lines) console.log(`| ${l.fn} | ${l.selfPct.toFixed(1)} | ${l.totalPct.toFixed(1)} |`);
  }
  try {
    console.log(`\nBPF instructions per fast-path packet (scripts/bench/bpf-insns.ts):\n\n${formatBpfInsnTable(await bpfInsnTable())}`);
  } catch (e) {
    console.log(`\nBPF instruction counts: ${(e as Error).message}`);
  }
  console.log(`\nContenders: ${contenders.map((c) => `${c.id} = ${c.label}`).join('; ')}`);
  console.log(`Results: ${path.join(outDir, 'suite.json')}, plot: ${path.join(outDir, 'suite.svg')}`);
}

main().catch((e) => { console.error(`bench: ${(e as Error).stack ?? e}`); process.exit(1); });
