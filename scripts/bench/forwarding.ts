/*
 * Measures 1 and 2 of the suite: 64-byte forwarding (Mpps and CPU ns per
 * delivered packet) and TCP throughput through a started contender.
 *
 * Forwarding: trafgen in the sender namespace, 1 flow or 10 k flows (10 k
 * UDP source ports), 1 or 2 sender processes (2-queue veths), into the
 * receiver's IP stack (a closed UDP port) or a tc drop at its eth0 ingress.
 * Delivered = rx_packets of the receiving eth0 over the window, after a
 * warm-up. CPU ns per packet = CPU time of all CPUs over the window, minus
 * what processes outside the test used, per delivered packet: on this
 * machine the whole path runs on the senders' cores, and a busy-polling
 * switch (OVS's PMD) pays for its polling too.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import { Contender } from './contenders';
import { loadBetween, LoadReport, loadSnapshot } from './load';
import { BenchTopo, devStats, Endpoint, inNs, setSink, Sink } from './topo';
import { sndbufShim, startTrafgen, stopTrafgen, trafgenAlive, writeCfg } from './trafgen';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FwdCell { flows: 1 | 10000; senders: 1 | 2; sink: Sink }
export const FWD_CELLS: FwdCell[] = [];
for (const sink of ['tc', 'ip'] as const) {
  for (const flows of [1, 10000] as const) for (const senders of [1, 2] as const) FWD_CELLS.push({ flows, senders, sink });
}
export const cellName = (c: FwdCell): string =>
  `${c.flows === 1 ? '1 flow' : '10k flows'}, ${c.senders} sender${c.senders > 1 ? 's' : ''}, ${c.sink === 'tc' ? 'tc drop' : 'IP stack'}`;

export interface FwdSample {
  mpps: number;
  /** CPU ns (all CPUs, foreign load excluded) per delivered packet. */
  nsPerPkt: number;
  /** Frames the sender's eth0 sent, Mpps. */
  offeredMpps: number;
  load: LoadReport;
}

export interface FwdOptions { warmS: number; windowS: number }

export async function forwardingRun(t: BenchTopo, c: Contender, cell: FwdCell, o: FwdOptions): Promise<FwdSample> {
  const { a, b } = c.endpoints(t);
  setSink(b, cell.sink);
  const cfg = writeCfg(path.join(t.workdir, `udp-${c.id}-${cell.flows}.cfg`), a, b,
    { sport: cell.flows === 1 ? 1024 : [1024, 1024 + cell.flows - 1], dport: 9 });
  const g = startTrafgen(a, cfg, { senders: cell.senders, shim: sndbufShim(t.workdir) });
  try {
    await sleep(o.warmS * 1000);
    if (!trafgenAlive(g)) throw new Error(`trafgen exited: ${g.stderr()}`);
    const r0 = devStats(b), s0 = devStats(a), l0 = loadSnapshot();
    await sleep(o.windowS * 1000);
    const r1 = devStats(b), s1 = devStats(a), l1 = loadSnapshot();
    if (!trafgenAlive(g)) throw new Error(`trafgen exited during the window: ${g.stderr()}`);
    const load = loadBetween(l0, l1, c.pids());
    const delivered = r1.rxPackets - r0.rxPackets;
    const cpu = Math.max(0, load.busySeconds - (load.otherPct / 100) * load.seconds);
    return {
      mpps: delivered / load.seconds / 1e6, nsPerPkt: delivered ? (cpu * 1e9) / delivered : NaN,
      offeredMpps: (s1.txPackets - s0.txPackets) / load.seconds / 1e6, load,
    };
  } finally {
    await stopTrafgen(g);
    setSink(b, 'ip');
  }
}

export interface TcpSample { gbps: number; retransmits: number; note: string; load: LoadReport }

/**
 * Whether the namespaces keep TX checksum offload for the TCP runs. Open
 * vSwitch's userspace datapath needs it off (AF_PACKET/AF_XDP forward
 * CHECKSUM_PARTIAL packets unfixed: ovs-reference/RUNBOOK.md), and so does the
 * bare XDP program (XDP on veth drops the partial checksum state: with it on,
 * TCP never connects, research/limits.md). xdp-vswitch needs nothing: on the
 * TC hook offloads stay, and on the XDP hook it turns the peers' TX checksum
 * off itself. Set before the contender starts.
 */
export const tcpTxCsum = (c: Contender): boolean => !(c.id.startsWith('ovs-') || c.id === 'xdp-redirect');

/** One iperf3 stream a -> b for `seconds` (start the contender after setTxCsum(t, tcpTxCsum(c))). */
export async function tcpRun(t: BenchTopo, c: Contender, seconds: number): Promise<TcpSample> {
  const { a, b } = c.endpoints(t);
  const port = '5201';
  const server = spawn('ip', ['netns', 'exec', b.ns, 'iperf3', '-s', '-1', '-p', port], { stdio: 'ignore', detached: true });
  try {
    await waitListening(b, port);
    const l0 = loadSnapshot();
    const r = inNs(a.ns, ['iperf3', '-c', b.ip, '-p', port, '-t', String(seconds), '-J', '--connect-timeout', '3000'],
      { timeoutMs: (seconds + 30) * 1000 });
    const load = loadBetween(l0, loadSnapshot(), c.pids());
    let j: { error?: string; end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } } };
    try { j = JSON.parse(r.out); } catch { throw new Error(`iperf3: ${r.err || r.out}`); }
    if (j.error || !j.end?.sum_received) throw new Error(`iperf3: ${j.error ?? 'no result'}`);
    return {
      gbps: j.end.sum_received.bits_per_second / 1e9, retransmits: j.end.sum_sent?.retransmits ?? 0,
      note: tcpTxCsum(c) ? '' : 'ns TX csum off', load,
    };
  } finally {
    if (server.pid) try { process.kill(-server.pid, 'SIGKILL'); } catch { /* done */ }
  }
}

async function waitListening(e: Endpoint, port: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (inNs(e.ns, ['ss', '-Hltn', 'sport', '=', `:${port}`]).out.trim()) return;
    await sleep(20);
  }
  throw new Error(`iperf3 server in ${e.ns} is not listening`);
}
