/*
 * Daemon cost (issue 6, measure 5): CPU and RSS of the switch daemon at
 * idle, holding 100 k datapath flows (steady: no traffic; active: traffic
 * cycling through all of them), and holding 100 k OpenFlow rules (with
 * the time add-flows and dump-flows take), for xdp-vswitchd and OVS 3.1
 * (userspace datapath, system ports: its afxdp PMD busy-polls at 100 %).
 *
 * CPU: (utime + stime) of the process, all threads, from /proc/PID/stat,
 * over the wall time of the window, in % of one core. RSS: VmRSS. For
 * xdp-vswitchd also the kernel memory of its BPF maps (fdinfo memlock),
 * which holds the flows OVS keeps in its own RSS.
 *
 * 100 k flows: UDP from A to B with 400 x 251 (source, destination) port
 * pairs (trafgen dinc, coprime ranges: 100 400 distinct 5-tuples) through a
 * table (reval-cost.ts exactPortRules) and `upcall/disable-megaflows` on
 * both switches (one datapath flow per 5-tuple); flow-limit 200 000 and max-idle
 * one hour on both. Both switches start their dynamic limit at 10 000 and
 * add 1 000 per fast revalidator pass, so filling takes ~90 s.
 *
 * Usage: node dist/scripts/bench/daemon-cost.js [--quick]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Contender, OvsContender, XvsContender } from './contenders';
import { BenchTopo, createTopo, destroyTopo, setTxCsum } from './topo';
import { procStat, USER_HZ } from './load';
import { startTrafgen, stopTrafgen, trafgenAlive, writeCfg, Trafgen } from './trafgen';
import { DPORTS, SPORTS, exactPortRules, revalidatorPassMs, ruleLines, xlateCost } from './reval-cost';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };

export interface CostOptions {
  flows?: number;          // datapath flows to hold (default 100 000)
  rules?: number;          // OpenFlow rules to add (default 100 000)
  windowS?: number;        // one CPU window (default 10)
  windows?: number;        // windows per phase, the median is kept (default 3)
  activePps?: number;      // rate of the active phase (default 50 000: each flow every ~2 s)
  fillTimeoutS?: number;   // give up filling after this long (default 240)
}

export interface CostRow {
  contender: string;
  phase: 'idle' | 'flows-steady' | 'flows-active' | 'rules';
  cpuPct: number;          // median over the windows, % of one core
  cpuPcts: number[];
  rssMiB: number;
  bpfMiB?: number;         // xdp-vswitchd: kernel memory of its BPF maps
  flows?: number;          // datapath flows at the end of the phase
  flowLimit?: number;      // the dynamic flow limit then (a slow pass shrinks it, and flows above it expire in 100 ms)
  passMs?: number;         // revalidator pass (upcall/show dump duration)
  addFlowsS?: number;      // rules phase: add-flows of the whole file
  dumpFlowsS?: number;     // rules phase: dump-flows of every rule
  loadavg: string;         // /proc/loadavg at the end of the phase
  note?: string;
}

/** The three CLIs of either switch. */
interface Ctl { vsctl(...a: string[]): string; appctl(...a: string[]): string; ofctl(...a: string[]): string; bridge: string; ovs: boolean }

function ctlOf(c: Contender): Ctl {
  if (c instanceof XvsContender) {
    return { vsctl: (...a) => c.ctl('vsctl', ...a), appctl: (...a) => c.ctl('appctl', ...a), ofctl: (...a) => c.ctl('ofctl', ...a), bridge: c.bridge, ovs: false };
  }
  if (c instanceof OvsContender) {
    return { vsctl: (...a) => c.vsctl(...a), appctl: (...a) => c.appctl(...a), ofctl: (...a) => c.ofctl(...a), bridge: c.bridge, ovs: true };
  }
  throw new Error(`${c.id}: no daemon to measure`);
}

/** CPU ticks (all threads) and VmRSS of the processes. */
function procSample(pids: number[]): { ticks: number; rssKiB: number } {
  let ticks = 0, rssKiB = 0;
  for (const pid of pids) {
    ticks += procStat(pid)?.ticks ?? 0;
    rssKiB += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  }
  return { ticks, rssKiB };
}

/** Kernel memory of the BPF maps the processes hold (fdinfo memlock; a map held twice counts once). */
function bpfMapKiB(pids: number[]): number {
  const seen = new Set<string>();
  let bytes = 0;
  for (const pid of pids) {
    for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
      let info: string;
      try { info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'); } catch { continue; }
      const id = /map_id:\s+(\d+)/.exec(info)?.[1];
      if (!id || seen.has(id)) continue;
      seen.add(id);
      bytes += Number(/memlock:\s+(\d+)/.exec(info)?.[1] ?? 0);
    }
  }
  return bytes / 1024;
}

async function cpuWindows(pids: number[], opts: Required<CostOptions>): Promise<{ pcts: number[]; rssMiB: number }> {
  const pcts: number[] = [];
  let rss = 0;
  for (let i = 0; i < opts.windows; i++) {
    const a = procSample(pids), t0 = process.hrtime.bigint();
    await sleep(opts.windowS * 1000);
    const b = procSample(pids), wall = Number(process.hrtime.bigint() - t0) / 1e9;
    pcts.push((((b.ticks - a.ticks) / USER_HZ) / wall) * 100);
    rss = b.rssKiB / 1024;
  }
  return { pcts, rssMiB: rss };
}

/** upcall/show of either switch: current datapath flows, the dynamic flow limit and the last dump (revalidator pass) duration. */
function upcallShow(ctl: Ctl): { flows: number; flowLimit: number; passMs: number } {
  const s = ctl.appctl('upcall/show');
  return { flows: Number(/flows\s*:\s*\(current (\d+)\)/.exec(s)?.[1] ?? NaN), flowLimit: Number(/\(limit (\d+)\)/.exec(s)?.[1] ?? NaN),
    passMs: Number(/dump duration\s*:\s*(\d+)ms/.exec(s)?.[1] ?? NaN) };
}

const loadavg = (): string => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function timed(f: () => unknown): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Starts `c` on the topology, measures every phase, stops it. Each phase's
 * CPU is the median of `windows` windows of `windowS` seconds.
 */
export async function daemonCost(t: BenchTopo, c: Contender, options: CostOptions = {}): Promise<CostRow[]> {
  const opts: Required<CostOptions> = { flows: 100000, rules: 100000, windowS: 10, windows: 3, activePps: 50000, fillTimeoutS: 240, ...options };
  const rows: CostRow[] = [];
  const row = async (phase: CostRow['phase'], ctl: Ctl, extra: Partial<CostRow> = {}): Promise<void> => {
    const pids = c.pids();
    const w = await cpuWindows(pids, opts);
    const u = upcallShow(ctl);
    rows.push({ contender: c.id, phase, cpuPct: median(w.pcts), cpuPcts: w.pcts, rssMiB: w.rssMiB, bpfMiB: ctl.ovs ? undefined : bpfMapKiB(pids) / 1024,
      flows: u.flows, flowLimit: u.flowLimit, passMs: u.passMs, loadavg: loadavg(), ...extra });
  };
  const dir = fs.mkdtempSync(path.join(t.workdir, 'cost-'));

  // Idle, then 100 k datapath flows.
  await c.start(t);
  let gen: Trafgen | undefined;
  try {
    const ctl = ctlOf(c);
    ctl.vsctl('set', 'Open_vSwitch', '.', 'other_config:flow-limit=200000', 'other_config:max-idle=3600000');
    await sleep(3000);
    await row('idle', ctl);
    const pipeline = path.join(dir, 'exact-ports.flows');
    fs.writeFileSync(pipeline, exactPortRules().join('\n') + '\n');
    ctl.ofctl('add-flows', ctl.bridge, pipeline);
    // Exact flows on both switches, the same way (OVS's classifier alone keeps its megaflows wide on these rules).
    ctl.appctl('upcall/disable-megaflows');
    const cfg = writeCfg(path.join(dir, 'udp.cfg'), t.a, t.b, { sport: SPORTS, dport: DPORTS });
    // Fill: all pairs at ~20 kpps, repeated as the flow limits grow.
    gen = startTrafgen(t.a, cfg, { senders: 1, gapUs: 50 });
    const t0 = Date.now();
    let flows = 0;
    while (Date.now() - t0 < opts.fillTimeoutS * 1000) {
      await sleep(2000);
      if (!trafgenAlive(gen)) throw new Error(`trafgen exited: ${gen.stderr()}`);
      flows = upcallShow(ctl).flows;
      if (flows >= opts.flows) break;
    }
    const fillS = (Date.now() - t0) / 1000;
    await stopTrafgen(gen);
    gen = undefined;
    await sleep(3000);
    await row('flows-steady', ctl, { note: `filled to ${flows} flows in ${fillS.toFixed(0)} s` });
    gen = startTrafgen(t.a, cfg, { senders: 1, gapUs: Math.round(1e6 / opts.activePps) });
    await sleep(5000);
    await row('flows-active', ctl, { note: `trafgen gap ${Math.round(1e6 / opts.activePps)} us` });
    if (!trafgenAlive(gen)) throw new Error(`trafgen exited: ${gen.stderr()}`);
  } finally {
    if (gen) await stopTrafgen(gen);
    await c.stop(t);
  }

  // 100 k OpenFlow rules on a fresh daemon.
  await c.start(t);
  try {
    const ctl = ctlOf(c);
    const file = path.join(dir, 'rules.flows');
    fs.writeFileSync(file, ruleLines(opts.rules, 'one').join('\n') + '\n');
    const addFlowsS = timed(() => ctl.ofctl('add-flows', ctl.bridge, file));
    let lines = 0;
    const dumpFlowsS = timed(() => { lines = ctl.ofctl('dump-flows', ctl.bridge).split('\n').length; });
    await sleep(3000);
    await row('rules', ctl, { addFlowsS, dumpFlowsS, note: `${lines} dump-flows lines` });
  } finally {
    await c.stop(t);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return rows;
}

/* ---- standalone: both switches, one markdown table ----------------------- */

const PHASES: CostRow['phase'][] = ['idle', 'flows-steady', 'flows-active', 'rules'];
const PHASE_NAME: Record<CostRow['phase'], string> = {
  idle: 'idle (2 ports, no flows)', 'flows-steady': '100 k datapath flows, no traffic', 'flows-active': '100 k datapath flows, traffic through all', rules: '100 k OpenFlow rules',
};
const f1 = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1));

export function formatCostTable(rows: CostRow[], ours = 'xvs-tc', ref = 'ovs-system'): string {
  const out = ['| phase | switch | CPU % of a core (median; windows) | RSS MiB | BPF map MiB | datapath flows (limit) | revalidator pass ms | add-flows s | dump-flows s | loadavg | note |',
    '|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const p of PHASES) {
    for (const id of [ours, ref]) {
      const r = rows.find((x) => x.phase === p && x.contender === id);
      if (!r) continue;
      out.push(`| ${PHASE_NAME[p]} | ${id} | ${f1(r.cpuPct)} (${r.cpuPcts.map(f1).join(', ')}) | ${f1(r.rssMiB)} | ${f1(r.bpfMiB)} | ${r.flows ?? '–'} (${r.flowLimit ?? '–'}) | ${r.passMs ?? '–'} | ` +
        `${r.addFlowsS === undefined ? '–' : r.addFlowsS.toFixed(2)} | ${r.dumpFlowsS === undefined ? '–' : r.dumpFlowsS.toFixed(2)} | ${r.loadavg} | ${r.note ?? ''} |`);
    }
    const a = rows.find((x) => x.phase === p && x.contender === ours), b = rows.find((x) => x.phase === p && x.contender === ref);
    if (a && b) {
      const ratio = (x: number | undefined, y: number | undefined): string => (x !== undefined && y ? (x / y).toFixed(2) : '–');
      out.push(`| ${PHASE_NAME[p]} | ratio ours/OVS | ${ratio(a.cpuPct, b.cpuPct)} | ${ratio(a.rssMiB, b.rssMiB)} | | | | ${ratio(a.addFlowsS, b.addFlowsS)} | ${ratio(a.dumpFlowsS, b.dumpFlowsS)} | | |`);
    }
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const opts: CostOptions = quick ? { windows: 1, windowS: 5 } : {};
  console.log(`# Daemon cost (${os.cpus().length} CPUs, loadavg ${loadavg()})\n`);
  const inproc = [10000, 100000].map((n) => ({ n, ...revalidatorPassMs(n) }));
  const xl = (['one', 'many'] as const).map((s) => ({ s, ...xlateCost(100000, s) }));
  console.log('In-process (no BPF): one revalidator pass with every megaflow active, and translation with 100 k rules\n');
  console.log('| measure | value |\n|---|---|');
  for (const r of inproc) console.log(`| pass, ${r.n} active megaflows: translate each again (before) / xlate cache (now) | ${r.retranslateMs.toFixed(0)} ms / ${r.xcacheMs.toFixed(0)} ms |`);
  for (const r of xl) console.log(`| 100 k rules in table 0, ${r.subtables} subtables: insert (OfTables.add) / one translation | ${r.insertMs.toFixed(0)} ms / ${r.usPerXlate.toFixed(1)} µs |`);
  console.log(`\nloadavg ${loadavg()}\n`);
  const t = createTopo();
  const rows: CostRow[] = [];
  try {
    setTxCsum(t, false);
    for (const c of [new XvsContender('tc'), new OvsContender('system')]) {
      try {
        rows.push(...await daemonCost(t, c, opts));
      } catch (e) {
        console.error(`${c.id}: ${(e as Error).message}`);
      }
      console.error(JSON.stringify(rows.filter((r) => r.contender === c.id)));
    }
  } finally {
    destroyTopo(t);
  }
  console.log(formatCostTable(rows));
}

if (require.main === module) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
