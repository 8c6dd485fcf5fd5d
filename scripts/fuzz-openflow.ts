/*
 * OpenFlow reliability run (not a test): a seeded stream of hostile OpenFlow
 * (test/support/of-fuzz.ts) over many connections against a live agent,
 * with one well-behaved witness connection doing ECHO+BARRIER round trips
 * all along. By default it starts its own xdp-vswitchd (private rundir,
 * `add-br br0`, `set-controller br0 ptcp:PORT:127.0.0.1`) and fuzzes over
 * TCP and the unix socket RUNDIR/br0.mgmt; with --target it fuzzes what is
 * given instead (tcp:IP:PORT or unix:PATH, repeatable; --pid PID for RSS).
 *
 * Prints a summary table (messages, bytes, connections, peer closes, errors
 * by type/code, witness round-trip p50/p99, daemon RSS before/after, crashes)
 * and writes the bytes of every connection that showed a problem to --out
 * (replay one with --replay FILE --target T). Exit status 1 when the daemon
 * died or anything was wrong, 0 otherwise.
 *
 *   sudo npm run fuzz:openflow -- [--count 1000000] [--seed 1] [--concurrency 8]
 *        [--per-conn 50-600] [--fatal-rate 0.015] [--time-budget SEC]
 *        [--target tcp:127.0.0.1:6653 ...] [--pid PID] [--out DIR] [--stop-on-violation]
 *   node dist/scripts/fuzz-openflow.js --replay FILE.bin --target T
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Topology } from '../test/support/topo';
import {
  CampaignStats, Target, connectionBytes, connect, errorName, internalErrors, parseTarget, percentile, runCampaign, targetName,
  verifyFlowRoundTrip, waitListening, OfClient,
} from '../test/support/of-fuzz';
import { printTable, environment, si } from './bench-util';

interface Args {
  count: number; seed: number; concurrency: number; perConn: [number, number]; fatalRate: number; timeBudget?: number;
  targets: Target[]; witness?: Target; pid?: number; out: string; stopOnViolation: boolean; replay?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { count: 1_000_000, seed: 1, concurrency: 8, perConn: [50, 600], fatalRate: 0.015, targets: [], out: '', stopOnViolation: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = (): string => { const x = argv[++i]; if (x === undefined) throw new Error(`${k} needs a value`); return x; };
    switch (k) {
      case '--count': a.count = Number(v()); break;
      case '--seed': a.seed = Number(v()) >>> 0; break;
      case '--concurrency': a.concurrency = Number(v()); break;
      case '--per-conn': { const [lo, hi] = v().split('-').map(Number); a.perConn = [lo, hi ?? lo]; break; }
      case '--fatal-rate': a.fatalRate = Number(v()); break;
      case '--time-budget': a.timeBudget = Number(v()) * 1000; break;
      case '--target': a.targets.push(parseTarget(v())); break;
      case '--witness': a.witness = parseTarget(v()); break;
      case '--pid': a.pid = Number(v()); break;
      case '--out': a.out = v(); break;
      case '--stop-on-violation': a.stopOnViolation = true; break;
      case '--replay': a.replay = v(); break;
      case '-h': case '--help':
        console.log(fs.readFileSync(__filename.replace(/dist\/scripts\/(.*)\.js$/, 'scripts/$1.ts'), 'utf8').split('*/')[0]);
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${k}`);
    }
  }
  if (!Number.isFinite(a.count) || a.count <= 0) throw new Error('--count must be positive');
  a.out ||= path.join(os.tmpdir(), `of-fuzz-${a.seed}-${process.pid}`);
  return a;
}

const rssKb = (pid?: number): number | undefined => {
  if (!pid) return undefined;
  try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]); } catch { return undefined; }
};
/** Running, and not a zombie (a --detach'ed daemon's parent may never reap it). */
const pidAlive = (pid: number): boolean => {
  try { return !/^\d+ \(.*\) [ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
};

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => res(p)); });
  });
}

/** --replay: send a saved stream in one go, print every reply, wait for the close (or 5 s of silence). */
async function replay(file: string, t: Target): Promise<void> {
  const bytes = file.endsWith('.hex') ? Buffer.from(fs.readFileSync(file, 'utf8').replace(/\s+/g, ''), 'hex') : fs.readFileSync(file);
  const c = new OfClient(await connect(t), (raw, msg, err) => {
    if (!msg) { console.log(`MALFORMED (${err}): ${raw.toString('hex')}`); return; }
    const extra = msg.type === 'error' ? ` ${errorName(msg.version, msg.errType, msg.code, msg.experimenter)} data=${msg.data.toString('hex').slice(0, 128)}` : '';
    console.log(`<- v${msg.version} ${msg.type} xid=0x${msg.xid.toString(16)}${extra}`);
  });
  console.log(`-> ${bytes.length} bytes to ${targetName(t)}`);
  await c.write(bytes);
  let last = c.received.length;
  for (let quiet = 0; quiet < 50 && !c.closed; quiet++) {
    await new Promise((r) => setTimeout(r, 100));
    if (c.received.length !== last) { last = c.received.length; quiet = 0; }
  }
  console.log(c.closed ? `connection closed by ${c.closedByPeer ? 'the peer' : 'us'}` : 'connection still open after 5 s of silence');
  c.close();
}

function report(a: Args, st: CampaignStats, rss: [number | undefined, number | undefined], verify: string | undefined, crashes: number, target: string): void {
  const errTotal = [...st.errors.values()].reduce((x, y) => x + y, 0);
  const kb = (x?: number): string => (x === undefined ? 'n/a' : `${(x / 1024).toFixed(1)} MiB`);
  console.log(`\n## OpenFlow fuzz: seed ${a.seed}, ${target}\n\n${environment()}\n`);
  printTable(['what', 'value'], [
    ['messages sent', `${st.messages} (${si(st.messages / (st.durationMs / 1000))}/s)`],
    ['bytes sent', `${st.bytes} (${si(st.bytes / (st.durationMs / 1000))}B/s)`],
    ['connections', st.connections],
    ['closed by the peer', st.closedByPeer],
    ['answered the closing ECHO', st.answered],
    ['replies received', st.replies],
    ['errors received', errTotal],
    ['requests unanswered when the peer closed', st.unansweredBeforeClose],
    ['witness round trips', st.witnessRtts.length],
    ['witness RTT p50 / p99 / max', `${percentile(st.witnessRtts, 50).toFixed(2)} / ${percentile(st.witnessRtts, 99).toFixed(2)} / ${Math.max(0, ...st.witnessRtts).toFixed(2)} ms`],
    ['daemon RSS before / after', `${kb(rss[0])} / ${kb(rss[1])}`],
    ['crashes', crashes],
    ['violations', st.violations.length],
    ['flow add + dump afterwards', verify ?? 'ok'],
    ['duration', `${(st.durationMs / 1000).toFixed(1)} s`],
  ]);
  console.log('\n### Errors received, by type/code\n');
  printTable(['error', 'count'], [...st.errors].sort((x, y) => y[1] - x[1]).map(([k, n]) => [k, n]));
  console.log('\n### Messages generated, by kind (top 40)\n');
  printTable(['kind', 'count'], [...st.kinds].sort((x, y) => y[1] - x[1]).slice(0, 40).map(([k, n]) => [k, n]));
  if (st.violations.length) {
    // Per kind: the count and the first few, each with the whole stream of its connection saved for --replay.
    const byKind = new Map<string, typeof st.violations>();
    for (const v of st.violations) { const l = byKind.get(v.kind) ?? []; l.push(v); byKind.set(v.kind, l); }
    console.log(`\n### Violations by kind (${st.violations.length}); streams in ${a.out}\n`);
    printTable(['kind', 'count'], [...byKind].map(([k, l]) => [k, l.length]));
    fs.mkdirSync(a.out, { recursive: true });
    const saved = new Set<number>();
    for (const [kind, list] of byKind) {
      console.log(`\n${kind}:`);
      for (const v of list.slice(0, 5)) {
        let file = '';
        if (v.plan && !saved.has(v.plan.id)) {
          saved.add(v.plan.id);
          file = path.join(a.out, `conn-${v.plan.id}.bin`);
          fs.writeFileSync(file, connectionBytes(v.plan));
          fs.writeFileSync(`${file}.plan.json`, JSON.stringify(v.plan, null, 1));
        }
        console.log(`- ${v.conn}: ${v.detail}${file ? ` (stream: ${file})` : ''}`);
      }
    }
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.replay) {
    if (a.targets.length !== 1) throw new Error('--replay needs exactly one --target');
    await replay(a.replay, a.targets[0]);
    return;
  }
  let topo: Topology | undefined;
  const cleanup = async (): Promise<void> => { if (topo) { const t = topo; topo = undefined; await t.teardown(); } };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { void cleanup().then(() => process.exit(130)); });
  try {
    let pid = a.pid;
    let alive = (): boolean => (pid ? pidAlive(pid) : true);
    if (!a.targets.length) {
      if (process.getuid?.() !== 0) throw new Error('starting xdp-vswitchd needs root (or give --target)');
      topo = new Topology();
      await topo.startDaemon();
      topo.ctl('vsctl', 'add-br', 'br0');
      const port = await freePort();
      topo.ctl('vsctl', 'set-controller', 'br0', `ptcp:${port}:127.0.0.1`);
      a.targets.push({ kind: 'tcp', host: '127.0.0.1', port }, { kind: 'unix', path: path.join(topo.rundir, 'br0.mgmt') });
      for (const t of a.targets) await waitListening(t);
      pid = topo.daemonPid();
      const tp = topo;
      alive = (): boolean => tp.daemonAlive();
    }
    const rssBefore = rssKb(pid);
    console.log(`fuzzing ${a.targets.map(targetName).join(' + ')} with ${a.count} messages, seed ${a.seed}, ${a.concurrency} connections at a time`);
    let lastPrint = Date.now();
    const st = await runCampaign({
      seed: a.seed, targets: a.targets, witness: a.witness ?? a.targets[0], totalMessages: a.count, timeBudgetMs: a.timeBudget,
      concurrency: a.concurrency, messagesPerConn: a.perConn, fatalRate: a.fatalRate, alive, stopOnViolation: a.stopOnViolation,
      onProgress: (s) => {
        if (Date.now() - lastPrint < 5000) return;
        lastPrint = Date.now();
        console.log(`  ${s.messages} messages, ${s.connections} connections, ${s.violations.length} violations, witness p99 ${percentile(s.witnessRtts, 99).toFixed(1)} ms, RSS ${((rssKb(pid) ?? 0) / 1024).toFixed(0)} MiB`);
      },
    });
    const rssAfter = rssKb(pid);
    const verify = st.daemonDied ? 'daemon dead' : await verifyFlowRoundTrip(a.targets[0]);
    let appctl = '';
    if (topo && !st.daemonDied) {
      const r = topo.ctlTry('appctl', 'dpctl/show');
      if (r.status !== 0) appctl = `xdp-appctl dpctl/show failed: ${r.err}`;
    }
    const internal = topo ? internalErrors(topo.daemonLog) : [];
    report(a, st, [rssBefore, rssAfter], [verify, appctl].filter(Boolean).join('; ') || undefined, st.daemonDied ? 1 : 0, a.targets.map(targetName).join(' + '));
    if (topo) {
      console.log(`\n### Daemon log: ${internal.length} distinct internal errors\n`);
      for (const l of internal.slice(0, 40)) console.log(`- ${l}`);
    }
    if (topo && st.daemonDied) console.log(`\ndaemon log (tail):\n${topo.daemonLog.split('\n').slice(-40).join('\n')}`);
    process.exitCode = st.daemonDied || st.violations.length || verify || appctl || internal.length ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().catch((e: unknown) => { console.error((e as Error)?.stack ?? e); process.exitCode = 2; });
