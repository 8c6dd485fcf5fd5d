/*
 * Revalidator and hitless-restart cost at scale (not a test; root): a
 * private xdp-vswitchd, two namespaces on br0, N megaflows made by N frames
 * with distinct source MACs (NORMAL matches eth_src exactly). For each N it
 * reports the revalidator pass duration with the flows idle and with every
 * flow active (all N frames sent again), then `kill -9` + restart: time to
 * ready, megaflows adopted, and the pinned maps' entry counts. Everything it
 * creates is removed, also on failure.
 * Run: sudo npm run bench:restart   (RESTART_NS=1000,4000,9000; RESTART_RUNS=3)
 */
import * as fs from 'fs';
import * as path from 'path';
import { Topology, Host } from '../test/support/topo';
import { frame } from '../test/support/packets';
import { packageRoot } from '../src/lib/paths';
import { BpfMap } from '../src/bpf';
import { printTable, environment } from './bench-util';

const NS = (process.env.RESTART_NS ?? '1000,4000,9000').split(',').map(Number);
const RUNS = Number(process.env.RESTART_RUNS ?? 3);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

function inject(t: Topology, from: Host, to: Host, n: number): void {
  const inj = path.join(packageRoot(), 'dist', 'test', 'support', 'inject.js');
  for (let i0 = 0; i0 < n; i0 += 2000) {
    const frames = [];
    for (let i = i0; i < Math.min(n, i0 + 2000); i++) {
      const mac = `02:bb:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      frames.push(frame({ src: mac, dst: to.mac, l3: 'ipv4', ipSrc: '10.10.0.200', ipDst: to.ip, proto: 'udp', sport: 7, dport: 9 }).toString('hex'));
    }
    const r = t.exec(from, [process.execPath, inj, from.dev, ...frames], 120000);
    if (r.status !== 0) throw new Error(`inject: ${r.err}`);
  }
}

const field = (show: string, re: RegExp): number => Number(re.exec(show)?.[1] ?? NaN);

async function waitFlows(t: Topology, n: number): Promise<number> {
  let cur = 0;
  for (let i = 0; i < 200; i++) {
    cur = field(t.ctl('appctl', 'upcall/show'), /current (\d+)/);
    if (cur >= n) break;
    await sleep(100);
  }
  return cur;
}

/** The next pass's duration after `ms` (a pass runs every second). */
async function passAfter(t: Topology, ms: number): Promise<number> {
  await sleep(ms);
  return field(t.ctl('appctl', 'upcall/show'), /dump duration : (\d+)ms/);
}

function pinnedEntries(dir: string): number {
  const m = BpfMap.fromPinned(path.join(dir, 'megaflows'));
  try { let n = 0; for (const _ of m.keys()) n++; return n; } finally { m.close(); }
}

async function one(n: number): Promise<{ idle: number; active: number; ready: number; adopted: number; pinned: number; flows: number; rssMb: number }> {
  const t = new Topology();
  try {
    const a = t.addHost(1), b = t.addHost(2);
    await t.startDaemon();
    t.ctl('vsctl', 'add-br', 'br0');
    t.ctl('vsctl', 'add-port', 'br0', a.port);
    t.ctl('vsctl', 'add-port', 'br0', b.port);
    t.exec(a, ['ping', '-c', '1', '-W', '2', b.ip]);
    inject(t, a, b, n);
    const flows = await waitFlows(t, n);
    const idle = await passAfter(t, 2100);
    inject(t, a, b, n);
    const active = await passAfter(t, 1100);
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
  }
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
  printTable(['frames', 'megaflows', 'pass idle ms', 'pass active ms', 'µs/active flow', 'restart→ready ms', 'adopted/pinned', 'RSS MiB'], rows);
  process.stdout.write(`${RUNS} runs each, median (min–max). ${environment()}\n`);
}

main().catch((e: Error) => { process.stderr.write(`bench-restart: ${e.stack ?? e.message}\n`); process.exit(1); });
