/*
 * First-packet latency (issue 6, measure 4): the time from a fresh flow's
 * first packet leaving A to its arrival in B, through the switch. With
 * megaflows disabled every packet is a new 5-tuple and one upcall. A small C
 * helper (compiled once with cc) opens an AF_PACKET socket on A's eth0 and a
 * UDP socket in B (setns into each namespace, then both fds are used from one
 * thread), sends one frame at a time and waits for it: the send time is
 * CLOCK_REALTIME just before sendto(), the arrival time the kernel's receive
 * timestamp (SO_TIMESTAMPNS, taken when B's eth0 hands the skb to the
 * stack), so neither end's wake-up is counted. A frame not seen within the
 * timeout counts as lost.
 *
 * Standalone: `node dist/scripts/bench/latency.js` (root; env ROUNDS, FLOWS,
 * CONTENDERS=xvs-tc,xvs-xdp,ovs-system,ovs-afxdp,bridge).
 */
import * as fs from 'fs';
import * as path from 'path';
import { BenchTopo, Endpoint, createTopo, destroyTopo, must } from './topo';
import { Contender } from './contenders';
import { contendersFromEnv, rotateRounds, upcallCtl, withExactFlows } from './flowsetup';
import { summarize, mmm, printTable, environment } from '../bench-util';

const HELPER_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *m) { perror(m); exit(2); }
static void enter(const char *ns) {
  int fd = open(ns, O_RDONLY);
  if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) die(ns);
  close(fd);
}
static uint16_t csum(const void *p, int n, uint32_t s) {
  const uint8_t *b = p;
  for (int i = 0; i + 1 < n; i += 2) s += (b[i] << 8) | b[i + 1];
  if (n & 1) s += b[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s;
}
static void mac(const char *s, uint8_t *o) {
  if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", o, o + 1, o + 2, o + 3, o + 4, o + 5) != 6) die("mac");
}
static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

/* latency-helper NS_A NS_B DEV_A MAC_A MAC_B IP_A IP_B SPORT0 DPORT N TIMEOUT_MS GAP_US
 * sends N frames with sport SPORT0+i (wrapping in 1024..65535), prints "i ns" or "i lost" */
int main(int argc, char **argv) {
  if (argc != 13) { fprintf(stderr, "usage\n"); return 2; }
  int self = open("/proc/self/ns/net", O_RDONLY);
  enter(argv[1]);
  int tx = socket(AF_PACKET, SOCK_RAW, 0);
  if (tx < 0) die("AF_PACKET");
  struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = if_nametoindex(argv[3]) };
  if (!ll.sll_ifindex) die(argv[3]);
  enter(argv[2]);
  int rx = socket(AF_INET, SOCK_DGRAM, 0), on = 1, dport = atoi(argv[9]);
  if (rx < 0 || setsockopt(rx, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) die("rx socket");
  struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons(dport) };
  inet_pton(AF_INET, argv[7], &b.sin_addr);
  if (bind(rx, (void *)&b, sizeof b) < 0) die("bind");
  if (setns(self, CLONE_NEWNET) < 0) die("setns back");
  uint8_t f[60] = {0};
  mac(argv[5], f); mac(argv[4], f + 6); f[12] = 0x08;
  uint8_t *ip = f + 14, *udp = f + 34;
  ip[0] = 0x45; ip[3] = 46; ip[8] = 64; ip[9] = 17;
  inet_pton(AF_INET, argv[6], ip + 12); inet_pton(AF_INET, argv[7], ip + 16);
  udp[2] = dport >> 8; udp[3] = dport; udp[5] = 26;
  memset(udp + 8, 0x41, 18);
  int sport0 = atoi(argv[8]), n = atoi(argv[10]), timeout = atoi(argv[11]), gap = atoi(argv[12]);
  for (int i = 0; i < n; i++) {
    int sp = 1024 + (sport0 - 1024 + i) % 64512;
    udp[0] = sp >> 8; udp[1] = sp; udp[6] = udp[7] = 0;
    ip[4] = i >> 8; ip[5] = i; ip[10] = ip[11] = 0;
    uint16_t c = csum(ip, 20, 0); ip[10] = c >> 8; ip[11] = c;
    uint32_t ph = (ip[12] << 8 | ip[13]) + (ip[14] << 8 | ip[15]) + (ip[16] << 8 | ip[17]) + (ip[18] << 8 | ip[19]) + 17 + 26;
    c = csum(udp, 26, ph); if (!c) c = 0xffff; udp[6] = c >> 8; udp[7] = c;
    struct timespec t0, now;
    clock_gettime(CLOCK_REALTIME, &t0);
    if (sendto(tx, f, sizeof f, 0, (void *)&ll, sizeof ll) < 0) die("sendto");
    int64_t lat = -1;
    for (;;) {
      clock_gettime(CLOCK_REALTIME, &now);
      int left = timeout - (int)((ns(now) - ns(t0)) / 1000000);
      struct pollfd p = { .fd = rx, .events = POLLIN };
      if (left <= 0 || poll(&p, 1, left) <= 0) break;
      char buf[64], cb[256];
      struct sockaddr_in from;
      struct iovec iov = { buf, sizeof buf };
      struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb };
      if (recvmsg(rx, &mh, 0) < 0) continue;
      if (ntohs(from.sin_port) != sp) continue;   /* a late frame of an earlier flow */
      for (struct cmsghdr *m = CMSG_FIRSTHDR(&mh); m; m = CMSG_NXTHDR(&mh, m))
        if (m->cmsg_level == SOL_SOCKET && m->cmsg_type == SO_TIMESTAMPNS) {
          struct timespec ts; memcpy(&ts, CMSG_DATA(m), sizeof ts); lat = ns(ts) - ns(t0);
        }
      break;
    }
    if (lat >= 0) printf("%d %lld\n", i, (long long)lat); else printf("%d lost\n", i);
    if (gap) usleep(gap);
  }
  return 0;
}
`;

/** Builds the helper in `dir` (once) and returns its path. */
function helper(dir: string): string {
  const bin = path.join(dir, 'latency-helper');
  if (!fs.existsSync(bin)) {
    const c = path.join(dir, 'latency-helper.c');
    fs.writeFileSync(c, HELPER_C);
    must('cc', ['-O2', '-Wall', '-o', bin, c]);
  }
  return bin;
}

export interface LatencyResult {
  p50us: number;
  p90us: number;
  p99us: number;
  maxUs: number;
  /** Frames delivered and measured, and frames that never arrived (within the timeout). */
  n: number;
  lost: number;
  /** Upcalls the switch counted over the run (one per flow when megaflows are disabled); -1 without upcalls. */
  upcalls: number;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

let sportBase = 1024 + Math.floor(Math.random() * 60000);

/** Sends `flows` packets, each a new 5-tuple, one at a time; gapUs between a packet's arrival and the next send. */
export function sendFlows(t: BenchTopo, a: Endpoint, b: Endpoint, flows: number, opts: { gapUs?: number; timeoutMs?: number } = {}): { lat: number[]; lost: number } {
  // Each call starts where the last stopped: no 5-tuple repeats within 64 k flows, whatever the switch kept.
  const sport0 = sportBase;
  sportBase = 1024 + ((sportBase - 1024 + flows) % 64512);
  const out = must(helper(t.workdir), [`/run/netns/${a.ns}`, `/run/netns/${b.ns}`, a.dev, a.mac, b.mac, a.ip, b.ip,
    String(sport0), '9', String(flows), String(opts.timeoutMs ?? 200), String(opts.gapUs ?? 500)], { timeoutMs: 600000 });
  const lat: number[] = [];
  let lost = 0;
  for (const l of out.trim().split('\n')) {
    const [, v] = l.split(' ');
    if (v === 'lost') lost++;
    else lat.push(Number(v) / 1000);
  }
  return { lat, lost };
}

/**
 * First-packet latency through `c` (started): an xdp-vswitch or OVS contender
 * with megaflows disabled (each packet an upcall; restored afterwards), or a
 * kernel switch as it is (no upcall, for scale).
 */
export async function firstPacketLatency(t: BenchTopo, c: Contender, opts: { flows: number; gapUs?: number }): Promise<LatencyResult> {
  const { a, b } = c.endpoints(t);
  const measure = (upcalls: () => number): LatencyResult => {
    const u0 = upcalls();
    const { lat, lost } = sendFlows(t, a, b, opts.flows, { gapUs: opts.gapUs });
    const s = [...lat].sort((x, y) => x - y);
    return { p50us: pct(s, 50), p90us: pct(s, 90), p99us: pct(s, 99), maxUs: s[s.length - 1], n: s.length, lost, upcalls: upcalls() - u0 };
  };
  if (!upcallCtl(c)) return measure(() => -1);
  // The default max-idle (10 s) keeps every flow of the run installed: no expiry work in the way.
  return withExactFlows(t, c, undefined, async (u) => measure(() => u.counters().upcalls));
}

async function main(): Promise<void> {
  const rounds = Number(process.env.ROUNDS ?? 3), flows = Number(process.env.FLOWS ?? 1000);
  const cs = contendersFromEnv('xvs-tc,xvs-xdp,ovs-system,ovs-afxdp,bridge');
  const t = createTopo();
  const loads: string[] = [];
  try {
    const res = await rotateRounds(t, cs, rounds, async (c) => {
      const r = await firstPacketLatency(t, c, { flows });
      loads.push(fs.readFileSync('/proc/loadavg', 'utf8').trim());
      return r;
    });
    console.log(`\nFirst-packet latency: ${flows} fresh 5-tuples per run, one at a time (0.5 ms after each arrival), megaflows disabled ` +
      `(each packet one upcall; the bridge has none), send (CLOCK_REALTIME before sendto) to B's kernel receive timestamp; ` +
      `median of ${rounds} runs (min–max). ${environment()}\n`);
    const ovs = res.get('ovs-system');
    const us = (x: number): string => x.toFixed(0);
    printTable(['switch', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs', 'p50 × OVS system', 'measured', 'lost', 'upcalls'], cs.map((c) => {
      const rs = res.get(c.id)!;
      const f = (k: keyof LatencyResult, fmt = us): string => mmm(summarize(rs.map((r) => r[k])), fmt);
      const ratio = ovs && ovs.length === rs.length ? mmm(summarize(rs.map((r, i) => r.p50us / ovs[i].p50us)), (x) => x.toFixed(2)) : 'n/a';
      return [c.label, f('p50us'), f('p90us'), f('p99us'), f('maxUs'), ratio, f('n'), f('lost'), f('upcalls')];
    }));
    console.log(`\n/proc/loadavg after each run: ${loads.join(' | ')}`);
  } finally {
    for (const c of cs) await c.stop(t).catch(() => undefined);
    destroyTopo(t);
  }
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
