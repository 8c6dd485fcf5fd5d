/*
 * Test topology: network namespaces joined by veth pairs to switch ports in
 * the root namespace, all named with one unique prefix per run, and a
 * private xdp-vswitchd (own --rundir/--dbdir). teardown() removes everything
 * even after a failure.
 */
import { execFileSync, spawn, ChildProcess, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/lib/paths';

export function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 30000, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs and returns {status, stdout, stderr} without throwing. */
export function shTry(cmd: string, args: string[], timeoutMs = 30000): { status: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

export interface Host { ns: string; dev: string; port: string; ip: string; mac: string; ip6: string }

export class Topology {
  readonly prefix = `xt${randomBytes(3).toString('hex')}`;
  readonly hosts: Host[] = [];
  readonly rundir: string;
  readonly dbdir: string;
  /** The daemon's pinned fast path (a private bpffs directory per run). */
  readonly bpffs: string;
  private daemon?: ChildProcess;
  daemonLog = '';

  constructor() {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), `${this.prefix}-`));
    this.rundir = path.join(base, 'run');
    this.dbdir = path.join(base, 'db');
    this.bpffs = `/sys/fs/bpf/${this.prefix}`;
  }

  /** A namespace with one veth; its peer `port` stays in the root namespace for the switch. */
  addHost(i: number, subnet = 10): Host {
    const ns = `${this.prefix}h${i}`;
    const h: Host = { ns, dev: 'eth0', port: `${this.prefix}p${i}`, ip: `10.${subnet}.0.${i}`, ip6: `fd00:${subnet}::${i}`,
      mac: `02:00:00:${subnet.toString(16).padStart(2, '0')}:00:${i.toString(16).padStart(2, '0')}` };
    sh('ip', ['netns', 'add', ns]);
    this.hosts.push(h);
    sh('ip', ['link', 'add', h.port, 'type', 'veth', 'peer', 'name', h.dev, 'netns', ns]);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', h.dev, 'address', h.mac, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${h.ip}/24`, 'dev', h.dev]);
    sh('ip', ['-n', ns, 'addr', 'add', `${h.ip6}/64`, 'dev', h.dev, 'nodad']);
    sh('ip', ['link', 'set', h.port, 'up']);
    return h;
  }

  exec(h: Host, args: string[], timeoutMs = 30000): { status: number | null; out: string; err: string } {
    return shTry('ip', ['netns', 'exec', h.ns, ...args], timeoutMs);
  }

  bin(name: 'daemon/main' | 'cli/vsctl' | 'cli/appctl'): string {
    return path.join(packageRoot(), 'dist', 'src', `${name}.js`);
  }

  async startDaemon(): Promise<void> {
    // A daemon killed with SIGKILL leaves its socket behind: wait for the new one, not the old.
    fs.rmSync(path.join(this.rundir, 'xdp-vswitchd.ctl'), { force: true });
    this.daemon = spawn(process.execPath, [this.bin('daemon/main'), '--rundir', this.rundir, '--dbdir', this.dbdir, '--bpffs-dir', this.bpffs],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const grab = (d: Buffer): void => { this.daemonLog += d.toString(); };
    this.daemon.stdout!.on('data', grab);
    this.daemon.stderr!.on('data', grab);
    const sock = path.join(this.rundir, 'xdp-vswitchd.ctl');
    for (let i = 0; i < 200; i++) {
      if (fs.existsSync(sock)) return;
      if (this.daemon.exitCode !== null) throw new Error(`xdp-vswitchd exited ${this.daemon.exitCode}:\n${this.daemonLog}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`xdp-vswitchd did not create ${sock}:\n${this.daemonLog}`);
  }

  daemonAlive(): boolean { return !!this.daemon && this.daemon.exitCode === null && this.daemon.signalCode === null; }
  daemonPid(): number | undefined { return this.daemon?.pid; }

  async stopDaemon(): Promise<void> {
    const d = this.daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    d.kill('SIGTERM');
    for (let i = 0; i < 100 && d.exitCode === null && d.signalCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  }

  ctl(tool: 'vsctl' | 'appctl', ...args: string[]): string {
    return sh(process.execPath, [this.bin(`cli/${tool}`), '--rundir', this.rundir, ...args]);
  }

  ctlTry(tool: 'vsctl' | 'appctl', ...args: string[]): { status: number | null; out: string; err: string } {
    return shTry(process.execPath, [this.bin(`cli/${tool}`), '--rundir', this.rundir, ...args]);
  }

  async teardown(): Promise<void> {
    await this.stopDaemon();
    for (const h of this.hosts) {
      shTry('ip', ['link', 'del', h.port]);
      shTry('ip', ['netns', 'del', h.ns]);
    }
    // Anything left with our prefix (e.g. after a crash mid-setup).
    for (const ns of shTry('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(this.prefix))) {
      shTry('ip', ['netns', 'del', ns]);
    }
    fs.rmSync(path.dirname(this.rundir), { recursive: true, force: true });
    fs.rmSync(this.bpffs, { recursive: true, force: true });
  }

  /** Kills the daemon with SIGKILL (no chance to clean anything up) and waits until it is gone. */
  async killDaemon(): Promise<void> {
    const d = this.daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    d.kill('SIGKILL');
    for (let i = 0; i < 100 && d.exitCode === null && d.signalCode === null; i++) await new Promise((r) => setTimeout(r, 20));
  }
}

/** Parses `dpctl/show` counters. */
export function dpStats(show: string): { hit: number; missed: number; lost: number; flows: number; truncated: number } {
  const n = (re: RegExp): number => Number(re.exec(show)?.[1] ?? NaN);
  return { hit: n(/hit:(\d+) missed/), missed: n(/missed:(\d+)/), lost: n(/lost:(\d+)/), flows: n(/flows: (\d+)/), truncated: n(/truncated-headers:(\d+)/) };
}
