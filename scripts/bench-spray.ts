/*
 * OVS spray scenario through the real switch (not a test; root): two
 * namespaces joined by veths to an in-process Bridge, MACs learned by a
 * ping, then 10 000 UDP packets from A to B, each with a new source or
 * destination port, under (i) `priority=0,actions=NORMAL` and (ii) that plus
 * `priority=100,udp,tp_dst={9,53,80,443,4789},actions=output:2`. Counts
 * the datapath flows (UDP megaflows, masks), upcalls and what B's stack
 * received, next to OVS 3.1's numbers recorded on this machine
 * (shared/research/ovs-reference/baseline-results.md, not the same run).
 * Everything it creates is removed, also on failure and on SIGINT/SIGTERM.
 * Rows are paced at SPRAY_PPS (25 kpps, about OVS's trafgen `-t 1us` rate),
 * plus the tp_dst/dport spray unpaced and at 5 kpps; SPRAY_RUNS (3) runs each.
 * Run: sudo npm run bench:spray   (SPRAY_N=10000 packets per run)
 */
import { spawn, ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as path from 'path';
import { Bridge } from '../src/ofproto/ofproto';
import { Match } from '../src/ofproto/match';
import { mfField } from '../src/ofproto/meta-flow';
import { DumpReply } from '../src/dpif/dpif';
import { formatFlowMatch } from '../src/dpif/odp-util';
import { setLogLevel } from '../src/lib/vlog';
import { Topology, Host, shTry } from '../test/support/topo';
import { printTable, environment, since } from './bench-util';

setLogLevel('WARN');
const N = Number(process.env.SPRAY_N ?? 10_000);
const PPS = Number(process.env.SPRAY_PPS ?? 25_000);
const RUNS = Number(process.env.SPRAY_RUNS ?? 3);
const FIRST_PORT = 1024;
const TP_DST_RULES = [9, 53, 80, 443, 4789];

/** OVS 3.1 system ports, baseline-results.md "One-shot 10k distinct flows" (recorded, not this run). */
const OVS: Record<string, { flows: string; udp: string; upcalls: string; delivered: string; note?: string }> = {
  'normal/sport': { flows: '2', udp: '0', upcalls: '2', delivered: '10000' },
  'normal/dport': { flows: '2', udp: '0', upcalls: '2', delivered: '10000' },
  'tpdst/sport': { flows: '3', udp: '1', upcalls: '2', delivered: '10000' },
  'tpdst/dport': { flows: '18', udp: '16', upcalls: '17', delivered: '10000', note: '5.64 subtable lookups per hit' },
};

/** The sender runs inside namespace A: frames from test/support/packets, AF_PACKET socket, paced by a busy loop. */
const SENDER = `
const [rawsock, packets, spec] = process.argv.slice(1);
const { PacketSocket } = require(rawsock);
const { frame } = require(packets);
const a = JSON.parse(spec);
const ifindex = Number(require('fs').readFileSync('/sys/class/net/' + a.dev + '/ifindex', 'utf8'));
const frames = [];
for (let i = 0; i < a.n; i++) {
  const p = a.first + i;
  frames.push(frame({ src: a.src, dst: a.dst, ipSrc: a.ipSrc, ipDst: a.ipDst, proto: 'udp',
    sport: a.field === 'sport' ? p : a.fixed, dport: a.field === 'dport' ? p : a.fixed, payload: 18 }));
}
const s = new PacketSocket();
let sent = 0, errors = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < frames.length; i++) {
  if (a.pps) { const due = BigInt(Math.round((i * 1e9) / a.pps)); while (process.hrtime.bigint() - t0 < due) { /* pace */ } }
  try { s.send(ifindex, frames[i]); sent++; } catch { errors++; }
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
s.close();
process.stdout.write(JSON.stringify({ sent, errors, secs }));
`;

interface RxCounters { udp: number; noPorts: number; inErrors: number; csumErrors: number; rxPackets: number }

/** UDP MIB of B's namespace (/proc/net/snmp is per netns) and its eth0 RX counter. */
function rxCounters(t: Topology, h: Host): RxCounters {
  const snmp = t.exec(h, ['cat', '/proc/net/snmp']).out.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = snmp[0].split(/\s+/), vals = snmp[1].split(/\s+/).map(Number);
  const v = (n: string): number => vals[names.indexOf(n)];
  const rx = Number(t.exec(h, ['cat', `/sys/class/net/${h.dev}/statistics/rx_packets`]).out);
  return { udp: v('InDatagrams'), noPorts: v('NoPorts'), inErrors: v('InErrors'), csumErrors: v('InCsumErrors'), rxPackets: rx };
}

const isUdpMegaflow = (f: DumpReply): boolean => f.key.ethType === 0x0800 && f.key.nwProto === 17 && f.mask.nwProto === 0xff;

interface Scenario { table: 'normal' | 'tpdst'; field: 'sport' | 'dport'; pps: number }
interface Result {
  s: Scenario; sent: number; sendErrors: number; secs: number; flows: number; udpFlows: number; masks: number; udpMasks: number;
  upcalls: number; installed: number; installFailed: number; missed: number; lost: number; hits: number; masksPerHit: number; delivered: number;
  rx: number; csumErrors: number; sampleUdp: string[]; other: string[];
}

let child: ChildProcess | undefined;

function send(t: Topology, a: Host, b: Host, s: Scenario): Promise<{ sent: number; errors: number; secs: number }> {
  const dist = path.resolve(__dirname, '..');
  const spec = JSON.stringify({ dev: a.dev, src: a.mac, dst: b.mac, ipSrc: a.ip, ipDst: b.ip, field: s.field, first: FIRST_PORT, n: N,
    fixed: 9, pps: s.pps });
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: this process must keep reading upcalls while the sender runs.
    const c = spawn('ip', ['netns', 'exec', a.ns, process.execPath, '-e', SENDER, path.join(dist, 'src/netdev/rawsock.js'),
      path.join(dist, 'test/support/packets.js'), spec], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '', err = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('error', reject);
    c.on('close', (code) => {
      child = undefined;
      if (code !== 0) reject(new Error(`sender exited ${code}: ${err}`));
      else resolve(JSON.parse(out));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a command in `h`'s namespace without blocking this process's event loop (which handles the upcalls). */
function execAsync(h: Host, args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', h.ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('error', (e) => { child = undefined; resolve({ status: null, out: e.message }); });
    c.on('close', (status) => { child = undefined; resolve({ status, out }); });
  });
}

/** Waits until upcalls and B's counters stop moving (the slow path has drained). */
async function settle(br: Bridge, t: Topology, b: Host): Promise<void> {
  let last = '';
  const t0 = process.hrtime.bigint();
  for (let quiet = 0; quiet < 3 && since(t0) < 15;) {
    await sleep(200);
    const now = `${br.udpif.counters.upcalls}/${rxCounters(t, b).rxPackets}`;
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

async function scenario(br: Bridge, t: Topology, a: Host, b: Host, s: Scenario): Promise<Result> {
  // As OVS's flowsetup.sh: a ping so both MACs are learned, then an empty datapath.
  const ping = await execAsync(a, ['ping', '-c', '1', '-W', '2', b.ip]);
  if (ping.status !== 0) throw new Error(`ping ${a.ns} -> ${b.ip} failed: ${ping.out}`);
  await sleep(300);
  br.udpif.flush();
  await sleep(100);
  const c0 = { ...br.udpif.counters }, d0 = br.dpif.stats(), l0 = br.dpif.ringStats().lost, r0 = rxCounters(t, b);
  const tx = await send(t, a, b, s);
  await settle(br, t, b);
  const c1 = br.udpif.counters, d1 = br.dpif.stats(), l1 = br.dpif.ringStats().lost, r1 = rxCounters(t, b);
  const flows = br.dpif.flowDump();
  const udp = flows.filter(isUdpMegaflow);
  const fmt = (f: DumpReply): string => `${formatFlowMatch(f.key, f.mask)} packets:${f.stats.packets}`;
  const hits = Number(d1.megaflowHit - d0.megaflowHit);   // subtables are probed on megaflow lookups (EMC misses)
  return {
    s, sent: tx.sent, sendErrors: tx.errors, secs: tx.secs,
    flows: flows.length, udpFlows: udp.length,
    masks: new Set(flows.map((f) => f.mask.hex())).size, udpMasks: new Set(udp.map((f) => f.mask.hex())).size,
    upcalls: c1.upcalls - c0.upcalls, installed: c1.installed - c0.installed, installFailed: c1.installFailed - c0.installFailed,
    // Lost upcalls: the BPF-side counter of failed perf outputs. DpifStats.lost is that counter
    // plus the ring's PERF_RECORD_LOST count (the same drops, reported late), so subtract the latter.
    missed: Number(d1.missed - d0.missed), lost: Number(d1.lost - d0.lost) - (l1 - l0), hits: Number(d1.hit - d0.hit), masksPerHit: hits ? Number(d1.masksHit - d0.masksHit) / hits : 0,
    delivered: (r1.udp - r0.udp) + (r1.noPorts - r0.noPorts) + (r1.inErrors - r0.inErrors),
    rx: r1.rxPackets - r0.rxPackets, csumErrors: r1.csumErrors - r0.csumErrors,
    sampleUdp: udp.map(fmt), other: flows.filter((f) => !isUdpMegaflow(f)).map(fmt),
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (namespaces, veths, BPF)');
  const t = new Topology();
  let br: Bridge | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      if (child?.pid) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
      try { await br?.close(); } catch (e) { console.error(`bridge close: ${(e as Error).message}`); }
      await t.teardown();
    })();
    return cleaning;
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => { console.error(`\n${sig}: cleaning up`); cleanup().finally(() => process.exit(130)); });
  }
  const results: Result[][] = [];
  try {
    const a = t.addHost(1), b = t.addHost(2);
    // No IPv6 chatter (router/neighbour solicitations) in the flow counts.
    for (const h of [a, b]) {
      t.exec(h, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      shTry('sysctl', ['-qw', `net.ipv6.conf.${h.port}.disable_ipv6=1`]);
    }
    br = await Bridge.create(`xs${randomBytes(3).toString('hex')}`);
    await br.addPort(a.port, { ofport: 1 });
    await br.addPort(b.port, { ofport: 2 });
    const hooks = br.dpPorts().map((p) => `${p.name}:${p.hook}`).join(' ');
    console.error(`bridge ${br.name}: ${hooks}; namespaces ${a.ns} ${b.ns}`);
    const scenarios: Scenario[] = [
      { table: 'normal', field: 'sport', pps: PPS }, { table: 'normal', field: 'dport', pps: PPS },
      { table: 'tpdst', field: 'sport', pps: PPS }, { table: 'tpdst', field: 'dport', pps: PPS },
      { table: 'tpdst', field: 'dport', pps: 0 }, { table: 'tpdst', field: 'dport', pps: 5000 },
    ];
    for (const s of scenarios) {
      if (s.table === 'tpdst' && !results.some((r) => r[0].s.table === 'tpdst')) {
        for (const p of TP_DST_RULES) {
          br.tables.add({ priority: 100, match: new Match().set(mfField('dl_type'), 0x0800n).set(mfField('nw_proto'), 17n).set(mfField('tp_dst'), BigInt(p)),
            actions: [{ type: 'output', port: 2 }] });
        }
        br.sync();
      }
      const rs: Result[] = [];
      for (let run = 0; run < RUNS; run++) {
        const r = await scenario(br, t, a, b, s);
        rs.push(r);
        console.error(`  ${s.table}/${s.field}${s.pps ? '' : ' unpaced'}: ${r.udpFlows} udp megaflows, ${r.upcalls} upcalls, ${r.delivered}/${r.sent} delivered`);
      }
      results.push(rs);
    }
  } finally {
    await cleanup();
  }
  report(results);
}

function report(all: Result[][]): void {
  // The row shown is the run with the median upcall count; the other runs' counts follow in parentheses.
  const results = all.map((rs) => [...rs].sort((x, y) => x.upcalls - y.upcalls)[Math.floor(rs.length / 2)]);
  const runs = (i: number, f: (r: Result) => number | string): string => (all[i].length > 1 ? ` (${all[i].map(f).join('/')})` : '');
  console.log(`\nbench-spray: ${environment()}`);
  console.log(`${RUNS} runs per row: the row is the run with the median upcall count, (all runs' values) for udp flows, upcalls and delivered.`);
  console.log(`${N} UDP packets of 60 bytes from ns A (AF_PACKET) per row, one new port value each (${FIRST_PORT}..${FIRST_PORT + N - 1}; the other port 9); megaflows on; veth ports on the default hook (TC).\n`);
  const tName = (s: Scenario): string => (s.table === 'normal' ? '(i) NORMAL' : '(ii) tp_dst rules + NORMAL');
  printTable(['table', 'sprayed', 'offered', 'dp flows (udp)', 'OVS 3.1 recorded: dp flows (udp)', 'masks (udp)', 'packets that missed',
    'upcalls handled', 'OVS recorded upcalls', 'upcalls lost (ring full)', 'delivered to B', 'OVS recorded delivered', 'subtables probed per megaflow hit'],
  results.map((r, i) => {
    const o = OVS[`${r.s.table}/${r.s.field}`];
    return [tName(r.s), r.s.field, r.s.pps ? `${(r.sent / r.secs / 1000).toFixed(1)} kpps` : `unpaced, ${(r.sent / r.secs / 1000).toFixed(0)} kpps`,
      `${r.flows} (${r.udpFlows})${runs(i, (x) => x.udpFlows)}`, `${o.flows} (${o.udp})`, `${r.masks} (${r.udpMasks})`, r.missed,
      `${r.upcalls}${runs(i, (x) => x.upcalls)}${r.installFailed ? `, ${r.installFailed} not installed` : ''}`, o.upcalls, r.lost,
      `${r.delivered} of ${r.sent}${runs(i, (x) => x.delivered)}${r.csumErrors ? `, ${r.csumErrors} bad csum` : ''}`,
      o.delivered, `${r.masksPerHit.toFixed(2)}${o.note ? ` (OVS: ${o.note.split(' ')[0]})` : ''}`];
  }));
  console.log('\ndelivered = UDP datagrams that reached B\'s stack (Udp InDatagrams + NoPorts + InErrors in B\'s namespace); packets that missed = the datapath\'s missed counter (each one an upcall handled or lost); OVS columns are the recorded results, not this run.');
  for (const r of results) {
    console.log(`\n${tName(r.s)}, ${r.s.field}${r.s.pps ? '' : ' (unpaced)'}: ${r.udpFlows} UDP megaflows${r.udpFlows > 24 ? ' (first 24)' : ''}`);
    for (const l of r.sampleUdp.slice(0, 24)) console.log(`  ${l}`);
    for (const l of r.other) console.log(`  other: ${l}`);
  }
}

main().then(() => process.exit(0), (e: Error) => { console.error(e.stack ?? e.message); process.exit(1); });
