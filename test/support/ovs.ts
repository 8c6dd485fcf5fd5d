/*
 * A real Open vSwitch for tests: ovsdb-server and ovs-vswitchd run inside a
 * fresh network namespace (the userspace datapath's taps, `ovs-netdev` and
 * one per bridge, stay in it), with private run/log/db/etc directories, one
 * bridge with the netdev datapath listening for OpenFlow on
 * ptcp:PORT:127.0.0.1 (inside the namespace), and optional ports: veths
 * whose other end sits in a host namespace of its own. Every name starts
 * with one random prefix per switch; stop() kills both daemons and removes
 * the namespaces and directories whatever state start() got to.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const OVS_BINARIES = ['ovsdb-tool', 'ovsdb-server', 'ovs-vsctl', 'ovs-vswitchd', 'ovs-ofctl', 'ovs-appctl'];
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface Run { status: number | null; out: string; err: string }

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: opts.env, input: opts.input, timeout: opts.timeoutMs ?? 30000 });
  if (r.error) return { status: null, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error.message}` };
  return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function must(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.err.trim()}`);
  return r.out;
}

/** The missing OVS programs (none: Open vSwitch can run here). */
export function missingOvsBinaries(): string[] {
  return OVS_BINARIES.filter((b) => run('sh', ['-c', `command -v ${b}`]).status !== 0).concat(fs.existsSync(SCHEMA) ? [] : [SCHEMA]);
}

export interface OvsPort {
  /** The switch side, in the OVS namespace, on the bridge. */
  name: string;
  ofport: number;
  /** The host side: its namespace, device, MAC and IPv4 address. */
  hostNs: string;
  hostDev: string;
  mac: string;
  ip: string;
}

export interface OvsOptions {
  /** Veth ports to add (OpenFlow ports 1..n). */
  ports?: number;
  /** TCP port of the ptcp controller inside the namespace (its own stack, so any fixed port is free). */
  ofPort?: number;
  /** Prefix for every name (default: "xo" and 3 random bytes in hex). */
  prefix?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class OvsSwitch {
  readonly prefix: string;
  readonly ns: string;
  readonly bridge: string;
  readonly ofPort: number;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly ports: OvsPort[] = [];
  private readonly hostNamespaces: string[] = [];

  private constructor(opts: OvsOptions) {
    this.prefix = opts.prefix ?? `xo${randomBytes(3).toString('hex')}`;
    this.ns = `${this.prefix}ovs`;
    this.bridge = `${this.prefix}br`;
    this.ofPort = opts.ofPort ?? 6653;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.prefix}-`));
    const d = (n: string): string => path.join(this.dir, n);
    this.env = { ...process.env, OVS_RUNDIR: d('run'), OVS_LOGDIR: d('log'), OVS_DBDIR: d('db'), OVS_SYSCONFDIR: d('etc') };
    for (const n of ['run', 'log', 'db', 'etc']) fs.mkdirSync(d(n));
  }

  get rundir(): string { return this.env.OVS_RUNDIR!; }
  get logdir(): string { return this.env.OVS_LOGDIR!; }
  /** The OpenFlow target as seen from inside the namespace. */
  get target(): string { return `tcp:127.0.0.1:${this.ofPort}`; }

  /** Starts OVS; on any failure everything already made is removed before the error is thrown. */
  static async start(opts: OvsOptions = {}): Promise<OvsSwitch> {
    const missing = missingOvsBinaries();
    if (missing.length) throw new Error(`Open vSwitch is not installed (missing ${missing.join(', ')}): apt-get install openvswitch-switch`);
    const sw = new OvsSwitch(opts);
    try {
      await sw.boot(opts.ports ?? 0);
    } catch (e) {
      await sw.stop();
      throw e;
    }
    return sw;
  }

  private async boot(nPorts: number): Promise<void> {
    const { rundir, logdir } = this, db = path.join(this.env.OVS_DBDIR!, 'conf.db');
    must('ip', ['netns', 'add', this.ns]);
    must('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    must('ovsdb-tool', ['create', db, SCHEMA], { env: this.env });
    this.inNs(['ovsdb-server', db, `--remote=punix:${rundir}/db.sock`, `--pidfile=${rundir}/ovsdb-server.pid`, '--detach',
      `--log-file=${logdir}/ovsdb-server.log`, `--unixctl=${rundir}/ovsdb-server.ctl`], true);
    this.vsctl('--no-wait', 'init');
    this.inNs(['ovs-vswitchd', `unix:${rundir}/db.sock`, `--pidfile=${rundir}/ovs-vswitchd.pid`, '--detach',
      `--log-file=${logdir}/ovs-vswitchd.log`, `--unixctl=${rundir}/ovs-vswitchd.ctl`], true);
    this.vsctl('add-br', this.bridge, '--', 'set', 'bridge', this.bridge, 'datapath_type=netdev');
    for (let i = 1; i <= nPorts; i++) this.addPort(i);
    this.vsctl('set-controller', this.bridge, `ptcp:${this.ofPort}:127.0.0.1`, '--', 'set', 'controller', this.bridge, 'connection-mode=out-of-band');
    for (let i = 0; !this.inNs(['ss', '-Hltn', 'sport', '=', `:${this.ofPort}`]).out.trim(); i++) {
      if (i > 100) throw new Error(`ovs-vswitchd does not listen on ${this.target}:\n${this.log()}`);
      await sleep(50);
    }
  }

  /** A veth: switch side on the bridge as OpenFlow port `i`, host side in namespace PREFIXhI with 10.66.0.I/24, no IPv6 (no stray traffic). */
  private addPort(i: number): void {
    const p: OvsPort = {
      name: `${this.prefix}p${i}`, ofport: i, hostNs: `${this.prefix}h${i}`, hostDev: 'eth0',
      mac: `02:00:00:66:00:${i.toString(16).padStart(2, '0')}`, ip: `10.66.0.${i}`,
    };
    must('ip', ['netns', 'add', p.hostNs]);
    this.hostNamespaces.push(p.hostNs);
    must('ip', ['netns', 'exec', p.hostNs, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    must('ip', ['link', 'add', p.name, 'netns', this.ns, 'type', 'veth', 'peer', 'name', p.hostDev, 'netns', p.hostNs]);
    must('ip', ['netns', 'exec', this.ns, 'sysctl', '-qw', `net.ipv6.conf.${p.name}.disable_ipv6=1`]);
    must('ip', ['-n', p.hostNs, 'link', 'set', p.hostDev, 'address', p.mac, 'up']);
    must('ip', ['-n', p.hostNs, 'addr', 'add', `${p.ip}/24`, 'dev', p.hostDev]);
    must('ip', ['-n', this.ns, 'link', 'set', p.name, 'up']);
    this.vsctl('add-port', this.bridge, p.name, '--', 'set', 'interface', p.name, `ofport_request=${i}`);
    this.ports.push(p);
  }

  /** Runs a command inside the OVS namespace with the OVS environment. */
  inNs(args: string[], check = false, input?: string): Run {
    const r = run('ip', ['netns', 'exec', this.ns, ...args], { env: this.env, input });
    if (check && r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.err.trim()}`);
    return r;
  }

  vsctl(...args: string[]): string {
    return must('ovs-vsctl', ['--timeout=20', ...args], { env: this.env });
  }

  /** The real ovs-ofctl, inside the namespace (so it reaches the ptcp listener). */
  ofctl(args: string[], input?: string): Run {
    return this.inNs(['ovs-ofctl', ...args], false, input);
  }

  appctl(...args: string[]): string {
    return must('ovs-appctl', ['-t', path.join(this.rundir, 'ovs-vswitchd.ctl'), ...args], { env: this.env });
  }

  /** How many OpenFlow messages ovs-vswitchd has received so far (its vconn_received coverage counter). */
  messagesReceived(): number {
    return Number(this.appctl('coverage/read-counter', 'vconn_received').trim());
  }

  log(): string {
    try { return fs.readFileSync(path.join(this.logdir, 'ovs-vswitchd.log'), 'utf8'); } catch { return ''; }
  }

  private pid(name: string): number | undefined {
    try {
      const n = Number(fs.readFileSync(path.join(this.rundir, `${name}.pid`), 'utf8').trim());
      return Number.isInteger(n) && n > 1 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  private static alive(pid: number): boolean {
    try { process.kill(pid, 0); return true; } catch { return false; }
  }

  /** Kills the daemons (TERM, then KILL), deletes the namespaces and the directories. Safe to call twice. */
  async stop(): Promise<void> {
    for (const name of ['ovs-vswitchd', 'ovsdb-server']) {
      const pid = this.pid(name);
      if (pid === undefined || !OvsSwitch.alive(pid)) continue;
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
      for (let i = 0; i < 100 && OvsSwitch.alive(pid); i++) await sleep(50);
      if (OvsSwitch.alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const ns of [this.ns, ...this.hostNamespaces]) run('ip', ['netns', 'del', ns]);
    // Anything else with our prefix (a run that died between creating and recording a namespace).
    for (const ns of run('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(this.prefix))) {
      run('ip', ['netns', 'del', ns]);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** True when running as root (the integration tests need it). */
export const isRoot = (): boolean => process.getuid?.() === 0;

