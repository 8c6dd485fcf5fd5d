/*
 * The benchmark topology (research/limits.md's method): a sender namespace A
 * and a receiver namespace B, each with one veth (eth0) whose peer sits in a
 * switch namespace S (ports PREFIXa, PREFIXb). Every contender is put between
 * those same two ports in turn; the direct-veth ceiling uses its own pair of
 * namespaces (DA, DB) with the same addresses and MACs. Keeping the switch in
 * its own namespace keeps host iptables rules out and lets the per-netns
 * bridge-nf sysctls be set. Every name starts with one random prefix, and
 * destroyTopo() removes everything (also what a crashed run left behind).
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bpfObjectPath } from '../../src/lib/paths';

export interface Run { status: number | null; out: string; err: string }

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: opts.env, input: opts.input, timeout: opts.timeoutMs ?? 60000, maxBuffer: 256 << 20 });
  if (r.error) return { status: null, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error.message}` };
  return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** Runs a command and throws with its stderr when it fails. */
export function must(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.err.trim()}`);
  return r.out;
}

/** `ip netns exec NS ...` (a fresh mount namespace with this netns's /sys). */
export const inNs = (ns: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Run =>
  run('ip', ['netns', 'exec', ns, ...args], opts);
export const mustNs = (ns: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): string =>
  must('ip', ['netns', 'exec', ns, ...args], opts);

/** One end of the test traffic: a namespace, its device and addresses. */
export interface Endpoint { ns: string; dev: string; mac: string; ip: string }

export interface BenchTopo {
  prefix: string;
  /** Sender (A) and receiver (B) namespaces, device eth0 in each. */
  a: Endpoint;
  b: Endpoint;
  /** The switch namespace and its two ports (the veth peers of A's and B's eth0). */
  nsS: string;
  portA: string;
  portB: string;
  /** The direct-veth ceiling: its own namespaces, same addresses and MACs as a/b. */
  da: Endpoint;
  db: Endpoint;
  /** Scratch directory (configs, daemon directories), removed by destroyTopo. */
  workdir: string;
  /** Queues per veth (2: two senders scale only with 2 queues, limits.md). */
  queues: number;
}

export const MAC_A = '02:00:0a:ea:00:01';
export const MAC_B = '02:00:0a:ea:00:02';
export const IP_A = '10.234.0.1';
export const IP_B = '10.234.0.2';

/** ifindex of `dev` inside `ns`. */
export function ifindex(ns: string, dev: string): number {
  const j = JSON.parse(must('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev])) as { ifindex: number }[];
  return j[0].ifindex;
}

export function macOf(ns: string, dev: string): string {
  const j = JSON.parse(must('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev])) as { address: string }[];
  return j[0].address;
}

function quietNs(ns: string): void {
  must('ip', ['netns', 'add', ns]);
  must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // No IPv6 chatter (router/neighbour solicitations) in the counts.
  mustNs(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
}

/** Host side of a test endpoint: address, static neighbour to the peer, GRO on (needed for XDP-redirected frames). */
function endpoint(e: Endpoint, peer: Endpoint, queues: number): void {
  must('ip', ['-n', e.ns, 'link', 'set', e.dev, 'address', e.mac]);
  must('ip', ['-n', e.ns, 'addr', 'add', `${e.ip}/24`, 'dev', e.dev]);
  must('ip', ['-n', e.ns, 'link', 'set', e.dev, 'up']);
  must('ip', ['-n', e.ns, 'neigh', 'replace', peer.ip, 'lladdr', peer.mac, 'dev', e.dev, 'nud', 'permanent']);
  mustNs(e.ns, ['ethtool', '-K', e.dev, 'gro', 'on']);
  mustNs(e.ns, ['ethtool', '-L', e.dev, 'rx', String(queues), 'tx', String(queues)]);
}

export function createTopo(opts: { queues?: number; prefix?: string } = {}): BenchTopo {
  const prefix = opts.prefix ?? `xb${randomBytes(3).toString('hex')}`;
  const queues = opts.queues ?? 2;
  const ep = (ns: string, mac: string, ip: string): Endpoint => ({ ns, dev: 'eth0', mac, ip });
  const t: BenchTopo = {
    prefix, nsS: `${prefix}S`, portA: `${prefix}a`, portB: `${prefix}b`, queues,
    a: ep(`${prefix}A`, MAC_A, IP_A), b: ep(`${prefix}B`, MAC_B, IP_B),
    da: ep(`${prefix}DA`, MAC_A, IP_A), db: ep(`${prefix}DB`, MAC_B, IP_B),
    workdir: fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`)),
  };
  try {
    for (const ns of [t.a.ns, t.b.ns, t.nsS, t.da.ns, t.db.ns]) quietNs(ns);
    must('ip', ['link', 'add', t.a.dev, 'netns', t.a.ns, 'type', 'veth', 'peer', 'name', t.portA, 'netns', t.nsS]);
    must('ip', ['link', 'add', t.b.dev, 'netns', t.b.ns, 'type', 'veth', 'peer', 'name', t.portB, 'netns', t.nsS]);
    must('ip', ['link', 'add', t.da.dev, 'netns', t.da.ns, 'type', 'veth', 'peer', 'name', t.db.dev, 'netns', t.db.ns]);
    for (const p of [t.portA, t.portB]) {
      must('ip', ['-n', t.nsS, 'link', 'set', p, 'up']);
      mustNs(t.nsS, ['ethtool', '-L', p, 'rx', String(queues), 'tx', String(queues)]);
    }
    endpoint(t.a, t.b, queues); endpoint(t.b, t.a, queues);
    endpoint(t.da, t.db, queues); endpoint(t.db, t.da, queues);
  } catch (e) {
    destroyTopo(t);
    throw e;
  }
  return t;
}

/** TX checksum offload (and with it TSO) on the namespace-side veths: off for the UDP runs and OVS, default on. */
export function setTxCsum(t: BenchTopo, on: boolean): void {
  for (const e of [t.a, t.b, t.da, t.db]) mustNs(e.ns, ['ethtool', '-K', e.dev, 'tx', on ? 'on' : 'off']);
}

/** The receiver's sink: its IP stack, or a tc drop at eth0's ingress (the packet is already an skb there). */
export type Sink = 'ip' | 'tc';
export function setSink(e: Endpoint, sink: Sink): void {
  run('tc', ['-n', e.ns, 'qdisc', 'del', 'dev', e.dev, 'clsact']);
  if (sink === 'tc') {
    must('tc', ['-n', e.ns, 'qdisc', 'add', 'dev', e.dev, 'clsact']);
    must('tc', ['-n', e.ns, 'filter', 'add', 'dev', e.dev, 'ingress', 'bpf', 'da', 'obj', bpfObjectPath('bench_sink.bpf.o'), 'sec', 'tc']);
  }
}

/** A device's counters in its namespace (/sys is per netns only under `ip netns exec`). */
export function devStats(e: { ns: string; dev: string }): { rxPackets: number; rxBytes: number; rxDropped: number; txPackets: number; txDropped: number } {
  const j = JSON.parse(must('ip', ['-n', e.ns, '-j', '-s', 'link', 'show', 'dev', e.dev])) as
    { stats64: { rx: { packets: number; bytes: number; dropped: number }; tx: { packets: number; dropped: number } } }[];
  const s = j[0].stats64;
  return { rxPackets: s.rx.packets, rxBytes: s.rx.bytes, rxDropped: s.rx.dropped, txPackets: s.tx.packets, txDropped: s.tx.dropped };
}

/** Takes the switch ports back to bare veths: no XDP, no clsact, no master. */
export function resetPorts(t: BenchTopo): void {
  for (const p of [t.portA, t.portB]) {
    for (const mode of ['xdpdrv', 'xdpgeneric']) run('ip', ['-n', t.nsS, 'link', 'set', 'dev', p, mode, 'off']);
    run('tc', ['-n', t.nsS, 'qdisc', 'del', 'dev', p, 'clsact']);
    run('ip', ['-n', t.nsS, 'link', 'set', 'dev', p, 'nomaster']);
    run('ip', ['-n', t.nsS, 'link', 'set', 'dev', p, 'up']);
  }
}

export function destroyTopo(t: BenchTopo): void {
  for (const ns of run('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(t.prefix))) {
    run('ip', ['netns', 'del', ns]);
  }
  fs.rmSync(t.workdir, { recursive: true, force: true });
  fs.rmSync(`/sys/fs/bpf/${t.prefix}`, { recursive: true, force: true });
}
