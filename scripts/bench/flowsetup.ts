/*
 * Flow-setup rate (issue 6, measure 3), OVS's flowrate.sh method
 * (ovs-reference/RUNBOOK.md section 5): megaflows disabled, so every new
 * 5-tuple is an upcall and an exact-match datapath flow of its own; max-idle
 * 1000 ms during the test; trafgen blasts `udp(sp=dinc(1024,65535),
 * dp=drnd())`, so practically every packet is a new flow. Reported from each
 * switch's own counters: upcalls handled, flows installed, upcalls not
 * installed because of the dynamic flow limit, upcalls lost before the
 * switch saw them, and the packets delivered to B.
 *
 * Standalone: `node dist/scripts/bench/flowsetup.js` (root; env ROUNDS,
 * SECONDS, CONTENDERS=xvs-tc,xvs-xdp,ovs-system,ovs-afxdp; CPU_PROFILE=PREFIX writes
 * a .cpuprofile of the xdp-vswitch daemon over each window).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchTopo, createTopo, destroyTopo, devStats, must } from './topo';
import { startTrafgen, stopTrafgen, trafgenAlive, writeCfg } from './trafgen';
import { BridgeContender, Contender, OvsContender, XvsContender, checkForwarding } from './contenders';
import { summarize, mmm, si, printTable, environment } from '../bench-util';
import { cpuSeconds } from './load';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/* ---- the switch's upcall knobs and counters, for xdp-vswitch and OVS alike ---- */

export interface UpcallCounters {
  /** Upcalls the switch handled (translated). */
  upcalls: number;
  /** Datapath flows installed. */
  installed: number;
  /** Upcalls forwarded without installing a flow: the dynamic flow limit. */
  notInstalled: number;
  /** Upcalls lost before the switch saw them (ring / socket full). */
  lost: number;
  /** Datapath flows now, and the dynamic flow limit. */
  flows: number;
  limit: number;
}

/** The upcall controls a measurement needs, the same for both switches. */
export interface UpcallCtl {
  setMegaflows(on: boolean): void;
  /** other_config:max-idle in ms; undefined removes it (the switch's default). */
  setMaxIdle(ms: number | undefined): void;
  maxIdle(): number | undefined;
  delFlows(): void;
  counters(): UpcallCounters;
}

const num = (re: RegExp, s: string, what: string): number => {
  const m = re.exec(s);
  if (!m) throw new Error(`no ${what} in:\n${s}`);
  return Number(m[1]);
};

function otherConfigGet(get: () => string): number | undefined {
  try {
    const v = get().trim().replace(/^"|"$/g, '');
    return v ? Number(v) : undefined;
  } catch { return undefined; }   // no such key
}

/** Upcall controls of an xdp-vswitch or OVS contender; undefined for switches without upcalls. */
export function upcallCtl(c: Contender): UpcallCtl | undefined {
  if (c instanceof XvsContender) {
    const ctl = (tool: 'vsctl' | 'appctl', ...a: string[]): string => c.ctl(tool, ...a);
    return {
      setMegaflows: (on) => { ctl('appctl', on ? 'upcall/enable-megaflows' : 'upcall/disable-megaflows'); },
      setMaxIdle: (ms) => {
        if (ms === undefined) ctl('vsctl', 'remove', 'Open_vSwitch', '.', 'other_config', 'max-idle');
        else ctl('vsctl', 'set', 'Open_vSwitch', '.', `other_config:max-idle=${ms}`);
      },
      maxIdle: () => otherConfigGet(() => ctl('vsctl', 'get', 'Open_vSwitch', '.', 'other_config:max-idle')),
      delFlows: () => { ctl('appctl', 'dpctl/del-flows'); },
      counters: () => {
        const u = ctl('appctl', 'upcall/show'), d = ctl('appctl', 'dpctl/show');
        return {
          upcalls: num(/upcalls\s+: (\d+)/, u, 'upcalls'), installed: num(/installed (\d+)/, u, 'installed'),
          notInstalled: num(/(\d+) upcalls not installed/, u, 'not installed'), lost: num(/lost:(\d+)/, d, 'lost'),
          flows: num(/flows: (\d+)/, d, 'flows'), limit: num(/\(limit (\d+)\)/, u, 'limit'),
        };
      },
    };
  }
  if (c instanceof OvsContender) {
    const cov = (name: string): number => Number(c.appctl('coverage/read-counter', name).trim()) || 0;
    return {
      setMegaflows: (on) => { c.appctl(on ? 'upcall/enable-megaflows' : 'upcall/disable-megaflows'); },
      setMaxIdle: (ms) => {
        if (ms === undefined) c.vsctl('remove', 'Open_vSwitch', '.', 'other_config', 'max-idle');
        else c.vsctl('set', 'Open_vSwitch', '.', `other_config:max-idle=${ms}`);
      },
      maxIdle: () => otherConfigGet(() => c.vsctl('--if-exists', 'get', 'Open_vSwitch', '.', 'other_config:max-idle')),
      delFlows: () => { c.appctl('dpctl/del-flows'); },
      counters: () => {
        const d = c.appctl('dpctl/show'), u = c.appctl('upcall/show');
        // dpif-netdev counts an upcall that installed its flow as "missed", and
        // one refused by the flow limit (ENOSPC: still forwarded) as "lost",
        // as also upcall_flow_limit_hit does; the rest of "lost" failed. (Coverage
        // counters are summed about once a second: the difference of a window may be off by that.)
        const missed = num(/missed:(\d+)/, d, 'missed'), lost = num(/lost:(\d+)/, d, 'lost'), limited = cov('upcall_flow_limit_hit');
        return {
          upcalls: missed + lost, installed: missed, notInstalled: limited, lost: lost - limited,
          flows: num(/flows: (\d+)/, d, 'flows'), limit: num(/\(limit (\d+)\)/, u, 'limit'),
        };
      },
    };
  }
  return undefined;
}

/**
 * Disables megaflows and sets max-idle for the duration of `fn` (OVS's
 * flowrate.sh/flowsetup.sh setup), teaches the switch both MACs with a ping
 * and flushes the datapath flows; restores max-idle and re-enables megaflows
 * (the switches' default) afterwards.
 */
export async function withExactFlows<T>(t: BenchTopo, c: Contender, maxIdleMs: number | undefined, fn: (u: UpcallCtl) => Promise<T>): Promise<T> {
  const u = upcallCtl(c);
  if (!u) throw new Error(`${c.id} has no upcalls to measure`);
  const prevIdle = u.maxIdle();
  u.setMegaflows(false);
  try {
    if (maxIdleMs !== undefined) u.setMaxIdle(maxIdleMs);
    const { a, b } = c.endpoints(t);
    await checkForwarding(a, b, c.label);
    u.delFlows();
    return await fn(u);
  } finally {
    if (maxIdleMs !== undefined) u.setMaxIdle(prevIdle);
    u.setMegaflows(true);
  }
}

/* ---- the measurement ---------------------------------------------------------- */

export interface FlowSetupResult {
  /** Datapath flows installed per second. */
  newFlowsPerSec: number;
  /** Upcalls handled per second. */
  upcallsPerSec: number;
  /** Upcalls not installed because of the flow limit, over the window. */
  notInstalled: number;
  /** Upcalls lost before the switch saw them, over the window. */
  lost: number;
  /** Packets per second arriving at B's eth0, and sent by A's eth0. */
  deliveredPps: number;
  offeredPps: number;
  /** The dynamic flow limit and the datapath flows at the end of the window. */
  flowLimit: number;
  flowsAtEnd: number;
  /** CPU the switch's processes used over the window (% of one core), and CPU µs per upcall handled. */
  switchCpuPct: number;
  cpuUsPerUpcall: number;
  seconds: number;
}


/**
 * Sustained new-flow rate through `c` (an xdp-vswitch or OVS contender,
 * started): after `warmupSeconds` of traffic, counters are read over
 * `seconds`. Megaflows and max-idle are restored afterwards.
 */
export async function flowSetupRate(t: BenchTopo, c: Contender, opts: { seconds: number; warmupSeconds?: number; cpuProfile?: string }): Promise<FlowSetupResult> {
  const { a, b } = c.endpoints(t);
  return withExactFlows(t, c, 1000, async (u) => {
    // Written after withExactFlows' ping: the destination MAC is the sender's neighbour entry.
    const cfg = writeCfg(path.join(t.workdir, 'flowrate.cfg'), a, b, { sport: [1024, 65535], dport: 'random' });
    const g = startTrafgen(a, cfg, { senders: 1 });
    try {
      await sleep((opts.warmupSeconds ?? 1) * 1000);
      if (!trafgenAlive(g)) throw new Error(`trafgen exited: ${g.stderr()}`);
      const profile = opts.cpuProfile && c instanceof XvsContender;
      if (profile) c.ctl('appctl', 'cpu-profile/start');
      // The window runs from the middle of the first reads to the middle of the last (a busy switch answers slowly).
      const now = (): number => Number(process.hrtime.bigint()) / 1e9;
      let t0 = now();
      const c0 = u.counters(), a0 = devStats(a), b0 = devStats(b), cpu0 = cpuSeconds(c.pids());
      t0 = (t0 + now()) / 2;
      await sleep(opts.seconds * 1000);
      let t1 = now();
      const cpu1 = cpuSeconds(c.pids()), c1 = u.counters(), a1 = devStats(a), b1 = devStats(b);
      t1 = (t1 + now()) / 2;
      const s = t1 - t0;
      if (profile) c.ctl('appctl', 'cpu-profile/stop', opts.cpuProfile!);
      return {
        newFlowsPerSec: (c1.installed - c0.installed) / s, upcallsPerSec: (c1.upcalls - c0.upcalls) / s,
        notInstalled: c1.notInstalled - c0.notInstalled, lost: Math.max(0, c1.lost - c0.lost),
        deliveredPps: (b1.rxPackets - b0.rxPackets) / s, offeredPps: (a1.txPackets - a0.txPackets) / s,
        flowLimit: c1.limit, flowsAtEnd: c1.flows, seconds: s,
        switchCpuPct: (100 * (cpu1 - cpu0)) / s, cpuUsPerUpcall: (1e6 * (cpu1 - cpu0)) / Math.max(1, c1.upcalls - c0.upcalls),
      };
    } finally {
      await stopTrafgen(g);
    }
  });
}

/* ---- standalone ------------------------------------------------------------- */

export function contendersFromEnv(def: string): Contender[] {
  const make: Record<string, () => Contender> = {
    'xvs-tc': () => new XvsContender('tc'), 'xvs-xdp': () => new XvsContender('xdp'),
    'ovs-system': () => new OvsContender('system'), 'ovs-afxdp': () => new OvsContender('afxdp'),
    bridge: () => new BridgeContender(false),
  };
  return (process.env.CONTENDERS ?? def).split(',').map((id) => {
    const f = make[id];
    if (!f) throw new Error(`unknown contender ${id} (${Object.keys(make).join(', ')})`);
    return f();
  });
}

/** Runs `measure` for each contender in rounds whose order rotates; one array of results per contender. */
export async function rotateRounds<R>(t: BenchTopo, cs: Contender[], rounds: number, measure: (c: Contender) => Promise<R>): Promise<Map<string, R[]>> {
  const out = new Map<string, R[]>(cs.map((c) => [c.id, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < cs.length; k++) {
      const c = cs[(r + k) % cs.length];
      await c.start(t);
      try {
        const res = await measure(c);
        out.get(c.id)!.push(res);
        process.stderr.write(`round ${r + 1} ${c.id}: ${JSON.stringify(res)}  (loadavg ${os.loadavg()[0].toFixed(2)})\n`);
      } finally {
        await c.stop(t);
      }
    }
  }
  return out;
}

async function main(): Promise<void> {
  const rounds = Number(process.env.ROUNDS ?? 3), seconds = Number(process.env.SECONDS ?? 10);
  const cs = contendersFromEnv('xvs-tc,xvs-xdp,ovs-system,ovs-afxdp');
  must('which', ['trafgen']);
  const t = createTopo();
  const loads: string[] = [];
  try {
    const res = await rotateRounds(t, cs, rounds, async (c) => {
      const prof = process.env.CPU_PROFILE && c instanceof XvsContender ? `${process.env.CPU_PROFILE}.${c.id}.${Date.now()}.cpuprofile` : undefined;
      const r = await flowSetupRate(t, c, { seconds, cpuProfile: prof });
      loads.push(fs.readFileSync('/proc/loadavg', 'utf8').trim());
      return r;
    });
    console.log(`\nFlow setup rate: megaflows disabled, max-idle 1000 ms, trafgen udp(sp=dinc(1024,65535), dp=drnd()), ${seconds} s after 1 s warm-up, ` +
      `median of ${rounds} (min–max). ${environment()}\n`);
    const ovs = res.get('ovs-system')?.map((r) => r.newFlowsPerSec);
    printTable(['switch', 'new flows/s', '× OVS system (same round)', 'upcalls/s', 'not installed (flow limit)', 'lost upcalls', 'delivered pps', 'offered pps', 'flow limit at end', 'switch CPU %', 'CPU µs/upcall'],
      cs.map((c) => {
        const rs = res.get(c.id)!;
        const f = (k: keyof FlowSetupResult): string => mmm(summarize(rs.map((r) => r[k])), (x) => si(x));
        const ratio = ovs && ovs.length === rs.length ? mmm(summarize(rs.map((r, i) => r.newFlowsPerSec / ovs[i])), (x) => x.toFixed(2)) : 'n/a';
        return [c.label, f('newFlowsPerSec'), ratio, f('upcallsPerSec'), f('notInstalled'), f('lost'), f('deliveredPps'), f('offeredPps'), f('flowLimit'), f('switchCpuPct'), f('cpuUsPerUpcall')];
      }));
    console.log(`\n/proc/loadavg after each run: ${loads.join(' | ')}`);
  } finally {
    for (const c of cs) await c.stop(t).catch(() => undefined);
    destroyTopo(t);
  }
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
