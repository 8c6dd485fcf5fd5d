/*
 * Revalidator and hitless-restart cost at scale (not a test; root): a
 * private xdp-vswitchd, two namespaces on br0, N megaflows made by N frames
 * with distinct source MACs (NORMAL matches eth_src exactly). For each N it
 * reports the revalidator pass duration with the flows idle and with every
 * flow active (all N frames sent again), then `kill -9` + restart: time to
 * ready, megaflows adopted, and the pinned maps' entry counts. Everything it
 * creates is removed, also on failure.
 * Run: sudo npm run bench:restart   (RESTART_NS=1000,4000,8000; RESTART_RUNS=3)
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { Topology, Host } from '../test/support/topo';
import { frame } from '../test/support/packets';
import { packageRoot } from '../src/lib/paths';
import { BpfMap } from '../src/bpf';
import { printTable, environment, median, summarize } from './bench-util';

// Under the default mac-table-size (8192): more sources would evict MACs and churn the flows.
const NS = (process.env.RESTART_NS ?? '1000,4000,8000').split(',').map(Number);
const RUNS = Number(process.env.RESTART_RUNS ?? 3);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const spread = (xs: number[]): string => { const s = summarize(xs); return `${s.min.toFixed(0)}–${s.max.toFixed(0)}`; };

/** Sends the n frames; the revalidator passes that run meanwhile see up to n active megaflows. */
async function inject(t: Topology, from: Host, to: Host, n: number): Promise<void> {
  const inj = path.join(packageRoot(), 'dist', 'test', 'support', 'inject.js');
  // Batches of 500: a burst of thousands of misses overflows the upcall ring (counted as lost).
  for (let i0 = 0; i0 < n; i0 += 500) {
    const frames: string[] = [];
    for (let i = i0; i < Math.min(n, i0 + 500); i++) {
      const mac = `02:bb:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      frames.push(frame({ src: mac, dst: to.mac, l3: 'ipv4', ipSrc: '10.10.0.200', ipDst: to.ip, proto: 'udp', sport: 7, dport: 9 }).toString('hex'));
    }
    const code = await new Promise<number | null>((resolve) => {
      spawn('ip', ['netns', 'exec', from.ns, process.execPath, inj, from.dev, ...frames], { stdio: 'ignore' }).on('close', resolve);
    });
    if (code !== 0) throw new Error(`inject exited ${code}`);
  }
}

const field = (show: string, re: RegExp): number => Number(re.exec(show)?.[1] ?? NaN);

/** Megaflows once their number stops growing. */
async function waitFlows(t: Topology, n: number): Promise<number> {
  let cur = -1;
  for (let i = 0; i < 100; i++) {
    await sleep(300);
    const now = field(t.ctl('appctl', 'upcall/show'), /current (\d+)/);
    if (now >= n || now === cur) return now;
    cur = now;
  }
  return cur;
}

/** The longest revalidator pass seen while `work` runs and for 1.5 s after (a pass runs every second). */
async function longestPass(t: Topology, work: Promise<void>): Promise<number> {
  let done = false, max = 0;
  const ended = work.finally(() => { done = true; });
  const poll = async (): Promise<void> => {
    max = Math.max(max, field(t.ctl('appctl', 'upcall/show'), /dump duration : (\d+)ms/));
    await sleep(200);
  };
  while (!done) await poll();
  for (let i = 0; i < 8; i++) await poll();
  await ended;
  return max;
}

function pinnedEntries(dir: string): number {
  const m = BpfMap.fromPinned(path.join(dir, 'megaflows'));
  try { let n = 0; for (const _ of m.keys()) n++; return n; } finally { m.close(); }
}

async function one(n: number): Promise<{ idle: number; active: number; ready: number; adopted: number; pinned: number; flows: number; rssMb: number }> {
  const t = new Topology();
  current = t;
  try {
    const a = t.addHost(1), b = t.addHost(2);
    await t.startDaemon();
    t.ctl('vsctl', 'add-br', 'br0');
    t.ctl('vsctl', 'add-port', 'br0', a.port);
    t.ctl('vsctl', 'add-port', 'br0', b.port);
    t.ctl('vsctl', 'set', 'Open_vSwitch', '.', 'other_config:max-idle=600000');   // nothing idles out mid-run
    t.exec(a, ['ping', '-c', '1', '-W', '2', b.ip]);
    await inject(t, a, b, n);
    const flows = await waitFlows(t, n);
    const idle = await longestPass(t, sleep(1000));
    const active = await longestPass(t, inject(t, a, b, n));
    const rssMb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${t.daemonPid()}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    await t.killDaemon();
    t.daemonLog = '';
    const t0 = process.hrtime.bigint();
    await t.startDaemon();
    const ready = Number(process.hrtime.bigint() - t0) / 1e6;
    const adopted = field(t.daemonLog, /kept (\d+) megaflows/);
    const pinned = pinnedEntries(path.join(t.bpffs, 'br0'));
    return { idle, active, ready, adopted, pinned, flows, rssMb };
  } finally {
    await t.teardown();
    current = undefined;
  }
}

/** The topology in use, for teardown on SIGINT/SIGTERM. */
let current: Topology | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => { void (current?.teardown() ?? Promise.resolve()).finally(() => process.exit(130)); });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (sudo npm run bench:restart)');
  const rows: string[][] = [];
  for (const n of NS) {
    const rs: Awaited<ReturnType<typeof one>>[] = [];
    for (let i = 0; i < RUNS; i++) rs.push(await one(n));
    const col = (k: 'idle' | 'active' | 'ready' | 'rssMb'): string => `${median(rs.map((r) => r[k])).toFixed(0)} (${spread(rs.map((r) => r[k]))})`;
    rows.push([String(n), String(median(rs.map((r) => r.flows))), col('idle'), col('active'),
      (median(rs.map((r) => r.active)) / median(rs.map((r) => r.flows)) * 1000).toFixed(1), col('ready'),
      `${median(rs.map((r) => r.adopted))}/${median(rs.map((r) => r.pinned))}`, col('rssMb')]);
  }
  printTable(['frames', 'megaflows', 'pass idle ms', 'pass active ms (max)', 'µs/flow (active)', 'restart→ready ms', 'adopted/pinned', 'RSS MiB'], rows);
  process.stdout.write(`${RUNS} runs each, median (min–max). ${environment()}\n`);
}

main().catch((e: Error) => { process.stderr.write(`bench-restart: ${e.stack ?? e.message}\n`); process.exit(1); });
