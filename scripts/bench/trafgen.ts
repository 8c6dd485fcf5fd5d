/*
 * The traffic generator: netsniff-ng's trafgen in the sender namespace
 * (research/limits.md: `trafgen --no-sock-mem -Q -P N`; xdp-trafficgen does
 * not work on this kernel). With -P 2, one of the two sender processes quits
 * at once with EAGAIN unless its AF_PACKET socket has a large send buffer: a
 * tiny LD_PRELOAD shim sets SO_SNDBUFFORCE on AF_PACKET sockets (no global
 * sysctl changes). Frames are 60 bytes (64 on the wire with the FCS).
 */
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Endpoint, must } from './topo';

const SHIM_C = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
int socket(int d, int t, int p) {
  static int (*real)(int, int, int);
  if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  int fd = real(d, t, p);
  if (fd >= 0 && d == AF_PACKET) { int v = 32 << 20; setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v); }
  return fd;
}
`;

/** Builds the SO_SNDBUFFORCE shim in `dir` (once) and returns its path. */
export function sndbufShim(dir: string): string {
  const so = path.join(dir, 'sndbuf-shim.so');
  if (!fs.existsSync(so)) {
    const c = path.join(dir, 'sndbuf-shim.c');
    fs.writeFileSync(c, SHIM_C);
    must('cc', ['-O2', '-shared', '-fPIC', '-o', so, c, '-ldl']);
  }
  return so;
}

/** The destination MAC the sender's stack would use for `b` (a router's port MAC under veth routing). */
export function nextHopMac(a: Endpoint, b: Endpoint): string {
  const j = JSON.parse(must('ip', ['-n', a.ns, '-j', 'neigh', 'show', 'to', b.ip, 'dev', a.dev])) as { lladdr?: string }[];
  if (!j[0]?.lladdr) throw new Error(`${a.ns}: no neighbour entry for ${b.ip}`);
  return j[0].lladdr;
}

export interface UdpSpec {
  /** UDP source port: a number, or [first, last] to step through (dinc), or 'random'. */
  sport: number | [number, number] | 'random';
  dport: number | [number, number] | 'random';
}

const field = (v: UdpSpec['sport']): string =>
  v === 'random' ? 'drnd()' : Array.isArray(v) ? `dinc(${v[0]}, ${v[1]}, 1)` : String(v);

/** A trafgen config for one 60-byte Eth/IPv4/UDP frame from a to b; dynamic ports make many flows. */
export function writeCfg(file: string, a: Endpoint, b: Endpoint, spec: UdpSpec): string {
  const dst = nextHopMac(a, b);
  fs.writeFileSync(file, `{ eth(da=${dst}, sa=${a.mac}), ipv4(sa=${a.ip}, da=${b.ip}, ttl=64), ` +
    `udp(sp=${field(spec.sport)}, dp=${field(spec.dport)}), fill(0x41, 18) }\n`);
  return file;
}

export interface Trafgen { child: ChildProcess; stderr: () => string }

/** Starts trafgen with `senders` processes in a's namespace, in its own process group. */
export function startTrafgen(a: Endpoint, cfg: string, opts: { senders: number; shim?: string; gapUs?: number }): Trafgen {
  const env = opts.shim ? ['env', `LD_PRELOAD=${opts.shim}`] : [];
  const args = ['netns', 'exec', a.ns, ...env, 'trafgen', '--no-sock-mem', '-Q', '-P', String(opts.senders), '-o', a.dev, '-i', cfg];
  if (opts.gapUs) args.push('-t', `${opts.gapUs}us`);
  const child = spawn('ip', args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4096); });
  return { child, stderr: () => err };
}

/** SIGINT to the whole group (-P N forks children), then SIGKILL if it lingers. */
export async function stopTrafgen(g: Trafgen): Promise<void> {
  const pid = g.child.pid;
  if (pid === undefined || g.child.exitCode !== null || g.child.signalCode !== null) return;
  const done = new Promise<void>((r) => g.child.once('exit', () => r()));
  try { process.kill(-pid, 'SIGINT'); } catch { /* gone */ }
  const t = setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
  await done;
  clearTimeout(t);
}

/** True when trafgen is still running (it exits at once on a bad config or a socket error). */
export const trafgenAlive = (g: Trafgen): boolean => g.child.exitCode === null && g.child.signalCode === null;
