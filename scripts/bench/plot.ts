/*
 * The suite's plot, as a self-contained SVG (no plotting dependency): one
 * panel per forwarding configuration (Mpps per contender) and one for the
 * flow-setup rate, bars at the median with a min–max whisker.
 */
import { Results, Row } from './report';

const COLORS: Record<string, string> = {
  'xvs-xdp': '#d62728', 'xvs-tc': '#ff7f0e', 'xdp-redirect': '#8c564b', bridge: '#1f77b4', 'bridge-nf-off': '#6baed6',
  'ovs-system': '#2ca02c', 'ovs-afxdp': '#98df8a', 'veth-route': '#9467bd', 'veth-direct': '#7f7f7f',
};

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(r: Row, ids: string[], labels: Map<string, string>, x0: number, y0: number, w: number, h: number): string {
  const stats = ids.map((id) => {
    const v = (r.samples[id] ?? []).map((s) => s.v).filter(Number.isFinite).sort((a, b) => a - b);
    return { id, med: v.length ? v[Math.floor(v.length / 2)] : undefined, min: v[0], max: v[v.length - 1] };
  }).filter((s) => s.med !== undefined);
  const top = Math.max(1e-9, ...stats.map((s) => s.max!)) * 1.15;
  const left = 150, right = 10, titleH = 22, rowH = (h - titleH - 10) / Math.max(1, stats.length);
  const plotW = w - left - right;
  const out = [`<g transform="translate(${x0},${y0})">`,
    `<text x="${w / 2}" y="15" text-anchor="middle" font-weight="bold">${esc(`${r.label} (${r.unit.split(' · ')[0]})`)}</text>`];
  stats.forEach((s, i) => {
    const y = titleH + i * rowH, bh = rowH * 0.7, sx = (v: number): number => left + (v / top) * plotW;
    out.push(`<text x="${left - 5}" y="${y + bh * 0.8}" text-anchor="end" font-size="11">${esc(labels.get(s.id) ?? s.id)}</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${sx(s.med!) - left}" height="${bh}" fill="${COLORS[s.id] ?? '#999'}"/>`);
    out.push(`<line x1="${sx(s.min!)}" x2="${sx(s.max!)}" y1="${y + bh / 2}" y2="${y + bh / 2}" stroke="black"/>`);
    const label = s.med! >= 100 ? s.med!.toFixed(0) : s.med!.toPrecision(3);
    out.push(`<text x="${sx(s.max!) + 4}" y="${y + bh * 0.8}" font-size="11">${label}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

/** Mpps per contender for each forwarding row, and new flows per second per contender. */
export function plotSvg(res: Results): string {
  const labels = new Map(res.contenders.map((c) => [c.id, c.id]));
  const ids = res.contenders.map((c) => c.id);
  const rows = res.rows.filter((r) => r.id.startsWith('fwd:') || r.id === 'setup:rate');
  const cols = 2, pw = 520, ph = 250;
  const n = rows.length, height = Math.ceil(n / cols) * ph + 50;
  const parts = rows.map((r, i) => panel(r, ids, labels, (i % cols) * pw, 40 + Math.floor(i / cols) * ph, pw - 20, ph - 20));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * pw}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(`xdp-vswitch benchmark suite: median with min–max of ${res.settings.rounds} rounds`)}</text>`,
    `<text x="10" y="36" font-size="11">${esc(res.environment)}</text>`,
    ...parts, '</svg>',
  ].join('\n');
}
