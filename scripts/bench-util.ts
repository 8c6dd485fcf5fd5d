/*
 * Helpers shared by the benchmark scripts (bench-ofproto, bench-spray):
 * medians and spreads of repeated runs, a deterministic PRNG, heap
 * measurement after a forced GC, and markdown table printing. Benchmarks
 * are not tests; nothing here asserts anything.
 */
import { execFileSync } from 'child_process';
import * as os from 'os';
import * as v8 from 'v8';

export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/** Median, min and max of repeated measurements, and the spread (max-min)/median. */
export interface Summary { med: number; min: number; max: number; spread: number; n: number }
export function summarize(xs: number[]): Summary {
  const med = median(xs);
  const min = Math.min(...xs), max = Math.max(...xs);
  return { med, min, max, spread: med ? (max - min) / med : 0, n: xs.length };
}

/** Seconds since `t0` (process.hrtime.bigint()). */
export const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** Deterministic xorshift32 PRNG, so every run and every contender sees the same data. */
export class Rng {
  private s: number;
  constructor(seed = 0x9e3779b9) { this.s = seed >>> 0 || 1; }
  u32(): number { let x = this.s; x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; this.s = x >>> 0; return this.s; }
  /** Integer in [0, n). */
  int(n: number): number { return this.u32() % n; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
}

/** Forces a full GC when node runs with --expose-gc (twice: weak refs and finalizers settle). */
export function gcNow(): boolean {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) return false;
  g(); g();
  return true;
}

/** Live JS heap plus ArrayBuffer memory (Buffers live outside the JS heap), after a GC when possible. */
export function memNow(): { heap: number; buffers: number } {
  gcNow();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

export const hasGc = (): boolean => typeof (globalThis as { gc?: unknown }).gc === 'function';

/** v8 heap size (fallback when there is no --expose-gc: then numbers include garbage). */
export const v8Heap = (): number => v8.getHeapStatistics().used_heap_size;

/** Prints a markdown table. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** 1234567 -> "1.23 M", 12345 -> "12.3 k". */
export function si(x: number, digits = 3): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toPrecision(digits)} G`;
  if (a >= 1e6) return `${(x / 1e6).toPrecision(digits)} M`;
  if (a >= 1e3) return `${(x / 1e3).toPrecision(digits)} k`;
  return x.toPrecision(digits);
}

/** "median (min-max)" with the given formatter. */
export const mmm = (s: Summary, f: (x: number) => string): string => `${f(s.med)} (${f(s.min)}–${f(s.max)})`;

/** One line describing where and when this ran (commit, kernel, node, load). */
export function environment(): string {
  // BENCH_COMMIT names the commit when running from an exported tree (git archive) without .git.
  let commit = process.env.BENCH_COMMIT ?? 'unknown';
  if (!process.env.BENCH_COMMIT) try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dirty) commit += ' (+ uncommitted changes in the tree)';
  } catch { /* not a git checkout */ }
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return `${new Date().toISOString().slice(0, 10)}, commit ${commit}, node ${process.version}, kernel ${os.release()}, ${os.cpus().length} CPUs, loadavg ${load}`;
}
