/*
 * The suite's results: one row per measure, samples per contender, printed
 * as a single markdown table (median (min–max) per contender, the ratios the
 * issue's targets are about, and the load while the row was measured), kept
 * as JSON so the table and the plot can be produced again without re-running.
 */
import { LoadReport } from './load';

export interface Sample {
  v: number;
  /** A secondary figure shown after the value (CPU ns per packet, retransmits). */
  sub?: number;
  note?: string;
  load?: Pick<LoadReport, 'otherPct' | 'otherTop' | 'stealPct'>;
}

export interface Ratio {
  num: string;
  den: string;
  /** The target (e.g. 0.95 for ≥ 0.95×); lowerIsBetter rows compare the other way. */
  target?: number;
}

export interface Row {
  id: string;
  label: string;
  unit: string;
  /** Digits after the point for the value. */
  digits: number;
  subUnit?: string;
  lowerIsBetter?: boolean;
  /** Absolute target for the numerator contender (latency rows: p50 ≤ 100 µs). */
  absTarget?: { contender: string; max?: number; min?: number };
  samples: Record<string, Sample[]>;
  ratios: Ratio[];
}

export interface Results {
  command: string;
  environment: string;
  startedAt: string;
  finishedAt?: string;
  contenders: { id: string; label: string }[];
  rows: Row[];
  loadavg: { start: number[]; end?: number[] };
  settings: Record<string, number | string>;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

export function rowMedian(r: Row, contender: string): number | undefined {
  const s = (r.samples[contender] ?? []).map((x) => x.v).filter((v) => Number.isFinite(v));
  return s.length ? median(s) : undefined;
}

function fmtCell(r: Row, contender: string): string {
  const ss = r.samples[contender];
  if (!ss?.length) return '–';
  const ok = ss.filter((s) => Number.isFinite(s.v));
  if (!ok.length) return ss[0].note ?? 'failed';
  const vs = ok.map((s) => s.v);
  const f = (x: number): string => x.toFixed(r.digits);
  let cell = ok.length > 1 ? `${f(median(vs))} (${f(Math.min(...vs))}–${f(Math.max(...vs))})` : f(vs[0]);
  const subs = ok.map((s) => s.sub).filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (subs.length) cell += ` · ${median(subs).toFixed(0)}${r.subUnit ?? ''}`;
  const notes = [...new Set(ss.map((s) => s.note).filter(Boolean))];
  if (notes.length) cell += ` [${notes.join('; ')}]`;
  if (ok.length < ss.length) cell += ` (${ss.length - ok.length} failed)`;
  return cell;
}

export function ratioValue(r: Row, q: Ratio): number | undefined {
  const n = rowMedian(r, q.num), d = rowMedian(r, q.den);
  return n !== undefined && d !== undefined && d !== 0 ? n / d : undefined;
}

function fmtRatio(r: Row, q: Ratio, short: (id: string) => string): string {
  const x = ratioValue(r, q);
  if (x === undefined) return '';
  const met = q.target === undefined ? '' : (r.lowerIsBetter ? x <= q.target : x >= q.target) ? ' ✓' : ' ✗';
  return `${short(q.num)}/${short(q.den)} ${x.toFixed(2)}${q.target !== undefined ? ` (target ${r.lowerIsBetter ? '≤' : '≥'} ${q.target})` : ''}${met}`;
}

function fmtAbs(r: Row): string {
  const a = r.absTarget;
  if (!a) return '';
  const m = rowMedian(r, a.contender);
  if (m === undefined) return '';
  const ok = (a.max === undefined || m <= a.max) && (a.min === undefined || m >= a.min);
  return `target ${a.max !== undefined ? `≤ ${a.max}` : `≥ ${a.min}`} ${r.unit} ${ok ? '✓' : '✗'}`;
}

function fmtLoad(r: Row): string {
  const loads = Object.values(r.samples).flat().map((s) => s.load).filter((l): l is NonNullable<Sample['load']> => !!l);
  if (!loads.length) return '';
  const worst = loads.reduce((a, b) => (b.otherPct > a.otherPct ? b : a));
  return `${median(loads.map((l) => l.otherPct)).toFixed(0)}% (max ${worst.otherPct.toFixed(0)}%${worst.otherTop ? `, ${worst.otherTop}` : ''})`;
}

/** The single table: measure × contender, then ratios/targets and the other load. */
export function formatTable(res: Results): string {
  const ids = res.contenders.map((c) => c.id);
  const short = (id: string): string => id;
  const used = ids.filter((id) => res.rows.some((r) => r.samples[id]?.length));
  const head = ['measure', ...used, 'ratios (same run) / targets', 'other load: median (max)'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of res.rows) {
    const ratios = [...r.ratios.map((q) => fmtRatio(r, q, short)), fmtAbs(r)].filter(Boolean).join('<br>');
    lines.push(`| ${r.label} (${r.unit}) | ${used.map((id) => fmtCell(r, id)).join(' | ')} | ${ratios} | ${fmtLoad(r)} |`);
  }
  return lines.join('\n');
}
