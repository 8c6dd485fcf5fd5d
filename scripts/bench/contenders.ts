/*
 * The switches under test, each put between the same two ports of the
 * switch namespace in turn (research/limits.md, ovs-reference/RUNBOOK.md):
 *   xvs-xdp / xvs-tc  xdp-vswitchd (the real daemon and CLIs) with its veth
 *                     ports on the XDP hook or on the default TC hook;
 *   xdp-redirect      bpf/bench.bpf.o's parse + DEVMAP redirect program, the
 *                     ceiling of any XDP switch here;
 *   bridge / bridge-nf-off   Linux bridge, bridge-nf-call-* on (default) / off;
 *   ovs-system / ovs-afxdp   Open vSwitch 3.1, userspace datapath, started by
 *                     hand with its own run/log/db directories;
 *   veth-route        kernel IP forwarding in the switch namespace;
 *   veth-direct       one veth between the two end namespaces (the ceiling).
 * start() leaves the contender forwarding (checked with pings both ways);
 * stop() leaves the ports bare. Nothing here measures anything.
 */
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BpfObject, xdpAttach } from '../../src/bpf';
import { withNetns } from '../../src/netlink/netns';
import { bpfObjectPath, packageRoot } from '../../src/lib/paths';
import { BenchTopo, Endpoint, ifindex, inNs, macOf, must, mustNs, resetPorts, run, Run } from './topo';

export interface Contender {
  readonly id: string;
  readonly label: string;
  /** The namespaces the traffic runs between (the direct veth has its own). */
  endpoints(t: BenchTopo): { a: Endpoint; b: Endpoint };
  start(t: BenchTopo): Promise<void>;
  stop(t: BenchTopo): Promise<void>;
  /** The switch's own processes (CPU and RSS accounting); none for kernel switches. */
  pids(): number[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pings both ways until they pass (a switch may need the first packets to learn). */
export async function checkForwarding(a: Endpoint, b: Endpoint, what: string): Promise<void> {
  let last: Run | undefined;
  for (let i = 0; i < 10; i++) {
    last = inNs(a.ns, ['ping', '-c', '1', '-W', '1', b.ip]);
    if (last.status === 0 && inNs(b.ns, ['ping', '-c', '1', '-W', '1', a.ip]).status === 0) return;
    await sleep(200);
  }
  throw new Error(`${what}: no forwarding between ${a.ns} and ${b.ns}: ${last?.out}${last?.err}`);
}

const sameTopo = (t: BenchTopo): { a: Endpoint; b: Endpoint } => ({ a: t.a, b: t.b });
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function killWait(pid: number | undefined, graceMs = 5000): Promise<void> {
  if (pid === undefined || !alive(pid)) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  for (let i = 0; i < graceMs / 50 && alive(pid); i++) await sleep(50);
  if (alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

// ---------------------------------------------------------------------------
// xdp-vswitch
// ---------------------------------------------------------------------------

export interface XvsOptions {
  /** Extra node flags for the daemon (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Extra xdp-vswitchd arguments. */
  args?: string[];
}

export class XvsContender implements Contender {
  readonly id: string;
  readonly label: string;
  readonly bridge = 'br0';
  private daemon?: ChildProcess;
  log = '';
  private dir = '';

  constructor(readonly hook: 'xdp' | 'tc', private readonly opts: XvsOptions = {}) {
    this.id = `xvs-${hook}`;
    this.label = `xdp-vswitch (${hook === 'xdp' ? 'XDP' : 'TC'} hook)`;
  }

  endpoints = sameTopo;
  pids(): number[] { return this.daemon?.pid && this.daemon.exitCode === null ? [this.daemon.pid] : []; }
  get rundir(): string { return path.join(this.dir, 'run'); }

  private bin(name: string): string { return path.join(packageRoot(), 'dist', 'src', name); }

  /** xdp-vsctl / xdp-appctl / xdp-ofctl against this daemon; throws on failure. */
  ctl(tool: 'vsctl' | 'appctl' | 'ofctl', ...args: string[]): string {
    return must(process.execPath, [this.bin(`cli/${tool}.js`), '--rundir', this.rundir, ...args], { timeoutMs: 300000 });
  }

  async start(t: BenchTopo): Promise<void> {
    this.dir = path.join(t.workdir, this.id);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    this.log = '';
    // Inside the switch namespace; `ip netns exec` gives it a private mount namespace,
    // so its bpffs (mounted by the daemon) and pins vanish with it.
    this.daemon = spawn('ip', ['netns', 'exec', t.nsS, process.execPath, ...(this.opts.nodeArgs ?? []), this.bin('daemon/main.js'),
      '--rundir', this.rundir, '--dbdir', path.join(this.dir, 'db'), '--bpffs-dir', `/sys/fs/bpf/${t.prefix}`, ...(this.opts.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
    const grab = (d: Buffer): void => { this.log = (this.log + d.toString()).slice(-64 << 10); };
    this.daemon.stdout!.on('data', grab);
    this.daemon.stderr!.on('data', grab);
    const sock = path.join(this.rundir, 'xdp-vswitchd.ctl');
    for (let i = 0; !fs.existsSync(sock); i++) {
      if (this.daemon.exitCode !== null || i > 400) throw new Error(`xdp-vswitchd did not start:\n${this.log}`);
      await sleep(25);
    }
    this.ctl('vsctl', 'add-br', this.bridge);
    const opt = [`options:dp-hook=${this.hook}`];
    this.ctl('vsctl', 'add-port', this.bridge, t.portA, '--', 'set', 'Interface', t.portA, 'ofport_request=1', ...opt);
    this.ctl('vsctl', 'add-port', this.bridge, t.portB, '--', 'set', 'Interface', t.portB, 'ofport_request=2', ...opt);
    await checkForwarding(t.a, t.b, this.label);
  }

  async stop(t: BenchTopo): Promise<void> {
    const d = this.daemon;
    if (d && d.exitCode === null) {
      const exited = new Promise<void>((r) => d.once('exit', () => r()));
      try { this.ctl('appctl', 'exit', '--cleanup'); } catch { d.kill('SIGTERM'); }
      await Promise.race([exited, sleep(10000)]);
      if (d.exitCode === null) d.kill('SIGKILL');
    }
    this.daemon = undefined;
    resetPorts(t);
  }
}

// ---------------------------------------------------------------------------
// Bare XDP parse + DEVMAP redirect
// ---------------------------------------------------------------------------

export class XdpRedirectContender implements Contender {
  readonly id = 'xdp-redirect';
  readonly label = 'bare XDP parse+redirect';
  private obj?: BpfObject;
  endpoints = sameTopo;
  pids(): number[] { return []; }

  async start(t: BenchTopo): Promise<void> {
    const ia = ifindex(t.nsS, t.portA), ib = ifindex(t.nsS, t.portB);
    const obj = BpfObject.open(bpfObjectPath('bench.bpf.o'));
    this.obj = obj;
    obj.load();
    const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
    // DEVMAP entries and XDP attachment resolve ifindexes in the caller's netns: do both from inside S.
    const nsFd = fs.openSync(`/run/netns/${t.nsS}`, 'r');
    try {
      withNetns(nsFd, () => {
        obj.map('bench_tx').update(u32(ia), u32(ib));
        obj.map('bench_tx').update(u32(ib), u32(ia));
        const fd = obj.program('xvs_bench_redirect').fd;
        xdpAttach(ia, fd, 'native');
        xdpAttach(ib, fd, 'native');
      });
    } finally {
      fs.closeSync(nsFd);
    }
    await checkForwarding(t.a, t.b, this.label);
  }

  async stop(t: BenchTopo): Promise<void> {
    resetPorts(t);
    this.obj?.close();
    this.obj = undefined;
  }
}

// ---------------------------------------------------------------------------
// Linux bridge
// ---------------------------------------------------------------------------

export class BridgeContender implements Contender {
  readonly id: string;
  readonly label: string;
  endpoints = sameTopo;
  pids(): number[] { return []; }

  constructor(private readonly netfilter: boolean) {
    this.id = netfilter ? 'bridge' : 'bridge-nf-off';
    this.label = netfilter ? 'Linux bridge (default)' : 'Linux bridge, bridge-nf off';
  }

  private name(t: BenchTopo): string { return `${t.prefix}br`; }

  async start(t: BenchTopo): Promise<void> {
    const v = this.netfilter ? '1' : '0';
    // Per-netns sysctls; they exist once br_netfilter is loaded (the kernel default is 1).
    const r = inNs(t.nsS, ['sysctl', '-qw', `net.bridge.bridge-nf-call-iptables=${v}`, `net.bridge.bridge-nf-call-ip6tables=${v}`,
      `net.bridge.bridge-nf-call-arptables=${v}`]);
    if (r.status !== 0 && this.netfilter) throw new Error(`bridge-nf sysctls: ${r.err}`);
    must('ip', ['-n', t.nsS, 'link', 'add', this.name(t), 'type', 'bridge', 'stp_state', '0']);
    must('ip', ['-n', t.nsS, 'link', 'set', this.name(t), 'up']);
    for (const p of [t.portA, t.portB]) must('ip', ['-n', t.nsS, 'link', 'set', p, 'master', this.name(t)]);
    await checkForwarding(t.a, t.b, this.label);
  }

  async stop(t: BenchTopo): Promise<void> {
    resetPorts(t);
    run('ip', ['-n', t.nsS, 'link', 'del', this.name(t)]);
  }
}

// ---------------------------------------------------------------------------
// Kernel IP forwarding between the same ports, and the direct veth
// ---------------------------------------------------------------------------

export class VethRouteContender implements Contender {
  readonly id = 'veth-route';
  readonly label = 'kernel IP forwarding (veth routing)';
  endpoints = sameTopo;
  pids(): number[] { return []; }

  async start(t: BenchTopo): Promise<void> {
    mustNs(t.nsS, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const [port, e] of [[t.portA, t.a], [t.portB, t.b]] as const) {
      must('ip', ['-n', t.nsS, 'route', 'replace', `${e.ip}/32`, 'dev', port]);
      must('ip', ['-n', t.nsS, 'neigh', 'replace', e.ip, 'lladdr', e.mac, 'dev', port, 'nud', 'permanent']);
    }
    // The end hosts now send to the router's port MAC.
    must('ip', ['-n', t.a.ns, 'neigh', 'replace', t.b.ip, 'lladdr', macOf(t.nsS, t.portA), 'dev', t.a.dev, 'nud', 'permanent']);
    must('ip', ['-n', t.b.ns, 'neigh', 'replace', t.a.ip, 'lladdr', macOf(t.nsS, t.portB), 'dev', t.b.dev, 'nud', 'permanent']);
    await checkForwarding(t.a, t.b, this.label);
  }

  async stop(t: BenchTopo): Promise<void> {
    run('ip', ['netns', 'exec', t.nsS, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
    for (const [port, e] of [[t.portA, t.a], [t.portB, t.b]] as const) {
      run('ip', ['-n', t.nsS, 'route', 'del', `${e.ip}/32`, 'dev', port]);
      run('ip', ['-n', t.nsS, 'neigh', 'del', e.ip, 'dev', port]);
    }
    must('ip', ['-n', t.a.ns, 'neigh', 'replace', t.b.ip, 'lladdr', t.b.mac, 'dev', t.a.dev, 'nud', 'permanent']);
    must('ip', ['-n', t.b.ns, 'neigh', 'replace', t.a.ip, 'lladdr', t.a.mac, 'dev', t.b.dev, 'nud', 'permanent']);
    resetPorts(t);
  }
}

export class VethDirectContender implements Contender {
  readonly id = 'veth-direct';
  readonly label = 'direct veth (no switch)';
  endpoints(t: BenchTopo): { a: Endpoint; b: Endpoint } { return { a: t.da, b: t.db }; }
  pids(): number[] { return []; }
  async start(t: BenchTopo): Promise<void> { await checkForwarding(t.da, t.db, this.label); }
  async stop(): Promise<void> { /* nothing attached */ }
}

// ---------------------------------------------------------------------------
// Open vSwitch 3.1, userspace (netdev) datapath
// ---------------------------------------------------------------------------

export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export class OvsContender implements Contender {
  readonly id: string;
  readonly label: string;
  private dir = '';
  private env: NodeJS.ProcessEnv = {};
  private bridgeName = '';

  constructor(readonly portType: 'system' | 'afxdp') {
    this.id = `ovs-${portType}`;
    this.label = `OVS 3.1 userspace, ${portType} ports`;
  }

  endpoints = sameTopo;
  get bridge(): string { return this.bridgeName; }
  get rundir(): string { return path.join(this.dir, 'run'); }

  private pid(name: string): number | undefined {
    try {
      const n = Number(fs.readFileSync(path.join(this.rundir, `${name}.pid`), 'utf8').trim());
      return Number.isInteger(n) && n > 1 ? n : undefined;
    } catch { return undefined; }
  }

  pids(): number[] {
    return ['ovs-vswitchd', 'ovsdb-server'].map((n) => this.pid(n)).filter((p): p is number => p !== undefined && alive(p));
  }

  vsctl(...args: string[]): string { return must('ovs-vsctl', ['--timeout=30', ...args], { env: this.env }); }
  appctl(...args: string[]): string { return must('ovs-appctl', ['-t', path.join(this.rundir, 'ovs-vswitchd.ctl'), ...args], { env: this.env }); }
  /** ovs-ofctl on the bridge's management socket. */
  ofctl(...args: string[]): string { return must('ovs-ofctl', args, { env: this.env, timeoutMs: 300000 }); }

  async start(t: BenchTopo): Promise<void> {
    if (!fs.existsSync(OVS_SCHEMA)) throw new Error('Open vSwitch is not installed: apt-get install openvswitch-switch (scripts/setup.sh does)');
    this.dir = path.join(t.workdir, this.id);
    fs.rmSync(this.dir, { recursive: true, force: true });
    const d = (n: string): string => path.join(this.dir, n);
    for (const n of ['run', 'log', 'db', 'etc']) fs.mkdirSync(d(n), { recursive: true });
    this.env = { ...process.env, OVS_RUNDIR: d('run'), OVS_LOGDIR: d('log'), OVS_DBDIR: d('db'), OVS_SYSCONFDIR: d('etc') };
    this.bridgeName = `${t.prefix}ovs`;
    const db = path.join(d('db'), 'conf.db');
    must('ovsdb-tool', ['create', db, OVS_SCHEMA], { env: this.env });
    mustNs(t.nsS, ['ovsdb-server', db, `--remote=punix:${this.rundir}/db.sock`, `--pidfile=${this.rundir}/ovsdb-server.pid`, '--detach',
      `--log-file=${d('log')}/ovsdb-server.log`, `--unixctl=${this.rundir}/ovsdb-server.ctl`], { env: this.env });
    this.vsctl('--no-wait', 'init');
    mustNs(t.nsS, ['ovs-vswitchd', `unix:${this.rundir}/db.sock`, `--pidfile=${this.rundir}/ovs-vswitchd.pid`, '--detach',
      `--log-file=${d('log')}/ovs-vswitchd.log`, `--unixctl=${this.rundir}/ovs-vswitchd.ctl`], { env: this.env });
    this.vsctl('add-br', this.bridgeName, '--', 'set', 'bridge', this.bridgeName, 'datapath_type=netdev');
    // AF_XDP binds one socket per rx queue: poll every queue of the (2-queue) veths.
    const type = this.portType === 'afxdp' ? ['type=afxdp', `options:n_rxq=${t.queues}`] : [];
    this.vsctl('add-port', this.bridgeName, t.portA, '--', 'set', 'interface', t.portA, 'ofport_request=1', ...type,
      '--', 'add-port', this.bridgeName, t.portB, '--', 'set', 'interface', t.portB, 'ofport_request=2', ...type);
    try {
      await checkForwarding(t.a, t.b, this.label);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${this.log().slice(-4000)}`);
    }
  }

  log(): string {
    try { return fs.readFileSync(path.join(this.dir, 'log', 'ovs-vswitchd.log'), 'utf8'); } catch { return ''; }
  }

  async stop(t: BenchTopo): Promise<void> {
    if (this.dir) {
      run('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', this.bridgeName], { env: this.env });
      await killWait(this.pid('ovs-vswitchd'));
      await killWait(this.pid('ovsdb-server'));
    }
    // The netdev datapath's taps stay behind in S.
    run('ip', ['-n', t.nsS, 'link', 'del', 'ovs-netdev']);
    run('ip', ['-n', t.nsS, 'link', 'del', this.bridgeName]);
    resetPorts(t);
  }
}

/** Every contender of the suite, in the table's order. */
export function allContenders(xvs: XvsOptions = {}): Contender[] {
  return [
    new XvsContender('xdp', xvs), new XvsContender('tc', xvs), new XdpRedirectContender(),
    new BridgeContender(true), new BridgeContender(false),
    new OvsContender('system'), new OvsContender('afxdp'),
    new VethRouteContender(), new VethDirectContender(),
  ];
}
