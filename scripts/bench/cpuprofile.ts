/*
 * Reads a V8 .cpuprofile (what `xdp-appctl cpu-profile/stop FILE` writes)
 * and says where the time went: self time per function and total (self +
 * callees) time per function, as shares of all samples. For BENCHMARKS.md's
 * "where the time goes"; standalone: node dist/scripts/bench/cpuprofile.js FILE [N]
 */
import * as fs from 'fs';
import * as path from 'path';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; startTime: number; endTime: number }

export interface ProfileLine { fn: string; selfPct: number; totalPct: number }

const nameOf = (n: Node): string => {
  const f = n.callFrame;
  const file = f.url ? path.basename(f.url.replace(/^file:\/\//, '')) : '';
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
};

export function summarizeProfile(file: string, top = 20): { lines: ProfileLine[]; samples: number; seconds: number; idlePct: number } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const self = new Map<string, number>(), total = new Map<string, number>();
  let idle = 0;
  for (const [id, h] of hits) {
    const n = byId.get(id)!;
    const name = nameOf(n);
    if (n.callFrame.functionName === '(idle)') { idle += h; continue; }
    self.set(name, (self.get(name) ?? 0) + h);
    // Total: once per distinct function on the stack (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const nm = nameOf(byId.get(cur)!);
      if (seen.has(nm)) continue;
      seen.add(nm);
      total.set(nm, (total.get(nm) ?? 0) + h);
    }
  }
  const busy = p.samples.length - idle;
  const pct = (x: number): number => (busy ? (100 * x) / busy : 0);
  const lines = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([fn, h]) => ({ fn, selfPct: pct(h), totalPct: pct(total.get(fn) ?? h) }));
  return { lines, samples: p.samples.length, seconds: (p.endTime - p.startTime) / 1e6, idlePct: p.samples.length ? (100 * idle) / p.samples.length : 0 };
}

/** Shares of busy samples whose stack contains a function matching each pattern (e.g. xlate, flowPut, execute). */
export function inclusiveShares(file: string, patterns: Record<string, RegExp>): Record<string, number> {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const out: Record<string, number> = Object.fromEntries(Object.keys(patterns).map((k) => [k, 0]));
  let busy = 0;
  for (const s of p.samples) {
    if (byId.get(s)!.callFrame.functionName === '(idle)') continue;
    busy++;
    const stack: string[] = [];
    for (let cur: number | undefined = s; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!.callFrame.functionName);
    for (const [k, re] of Object.entries(patterns)) if (stack.some((f) => re.test(f))) out[k]++;
  }
  for (const k of Object.keys(out)) out[k] = busy ? (100 * out[k]) / busy : 0;
  return out;
}

if (require.main === module) {
  const [file, n] = process.argv.slice(2);
  if (!file) { console.error('usage: cpuprofile.js FILE.cpuprofile [TOP]'); process.exit(2); }
  const s = summarizeProfile(file, Number(n ?? 20));
  console.log(`${s.samples} samples over ${s.seconds.toFixed(1)} s, idle ${s.idlePct.toFixed(0)}%; shares of busy samples:\n`);
  console.log('| function | self % | total % |\n|---|---|---|');
  for (const l of s.lines) console.log(`| ${l.fn} | ${l.selfPct.toFixed(1)} | ${l.totalPct.toFixed(1)} |`);
}
