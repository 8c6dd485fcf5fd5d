/*
 * Machine load during a measurement, so a noisy run is visible in the table:
 * per-CPU busy/softirq/steal from /proc/stat, and the CPU used by processes
 * that are not part of the test ("other load", research/limits.md's method:
 * everything except the generators, the switch's own processes and the
 * kernel's softirq/NAPI threads, which carry the forwarding itself).
 */
import * as fs from 'fs';
import * as os from 'os';

const USER_HZ = 100;   // /proc tick unit (USER_HZ is 100 on every Linux ABI we run on)

interface CpuTimes { busy: number; total: number; softirq: number; steal: number }
export interface LoadSnapshot { at: bigint; cpus: CpuTimes[]; procs: Map<number, { comm: string; ticks: number }> }

function cpuTimes(): CpuTimes[] {
  return fs.readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).map((l) => {
    const v = l.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = v[3] + v[4], total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle - v[7], total, softirq: v[6], steal: v[7] };
  });
}

/** One process's name and utime+stime in ticks (threads included), or undefined once it has exited. */
export function procStat(pid: number | string): { comm: string; ticks: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' ');   // fields from 3 (state) on: utime, stime are 14, 15
    return { comm: s.slice(s.indexOf('(') + 1, close), ticks: Number(f[11]) + Number(f[12]) };
  } catch { return undefined; }
}

/** CPU seconds the processes have used so far. */
export const cpuSeconds = (pids: number[]): number => pids.reduce((t, p) => t + (procStat(p)?.ticks ?? 0), 0) / USER_HZ;
export { USER_HZ };

/** utime+stime of every process. */
function procTicks(): Map<number, { comm: string; ticks: number }> {
  const m = new Map<number, { comm: string; ticks: number }>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(d);
    if (st) m.set(Number(d), st);
  }
  return m;
}

export function loadSnapshot(): LoadSnapshot {
  return { at: process.hrtime.bigint(), cpus: cpuTimes(), procs: procTicks() };
}

/** Processes that are the test itself: generators, receivers, kernel forwarding threads. */
const TEST_COMM = /^(trafgen|iperf3|ksoftirqd\/\d+|napi\/.*|ip|ping)$/;

export interface LoadReport {
  /** Busy % per CPU (steal excluded), softirq % per CPU. */
  busyPct: number[];
  softirqPct: number[];
  stealPct: number;
  /** CPU % (of one core) used by processes outside the test. */
  otherPct: number;
  /** The biggest of those. */
  otherTop: string;
  /** CPU seconds used by all CPUs (busy) over the window. */
  busySeconds: number;
  /** CPU seconds used by the given processes. */
  pidSeconds: number;
  seconds: number;
}

export function loadBetween(a: LoadSnapshot, b: LoadSnapshot, testPids: number[] = []): LoadReport {
  const seconds = Number(b.at - a.at) / 1e9;
  const pct = (f: (c: CpuTimes) => number) => b.cpus.map((c, i) => {
    const dt = c.total - a.cpus[i].total;
    return dt > 0 ? (100 * (f(c) - f(a.cpus[i]))) / dt : 0;
  });
  const own = new Set([process.pid, ...testPids]);
  let other = 0, top = '', topTicks = 0, pidTicks = 0;
  for (const [pid, p] of b.procs) {
    const d = p.ticks - (a.procs.get(pid)?.ticks ?? 0);
    if (d <= 0) continue;
    if (testPids.includes(pid)) { pidTicks += d; continue; }
    if (own.has(pid) || TEST_COMM.test(p.comm)) continue;
    other += d;
    if (d > topTicks) { topTicks = d; top = p.comm; }
  }
  const steal = pct((c) => c.steal);
  const busy = b.cpus.reduce((s, c, i) => s + c.busy - a.cpus[i].busy, 0) / USER_HZ;
  return {
    busyPct: pct((c) => c.busy), softirqPct: pct((c) => c.softirq), stealPct: Math.max(...steal),
    otherPct: (100 * other) / USER_HZ / seconds, otherTop: top ? `${top} ${((100 * topTicks) / USER_HZ / seconds).toFixed(0)}%` : '',
    busySeconds: busy, pidSeconds: pidTicks / USER_HZ, seconds,
  };
}

export const cpuCount = (): number => os.cpus().length;
