/*
 * The daemon's lifecycle, as root with real namespaces, veths and the fast
 * path: hitless restart (kill -9 while traffic flows: nothing lost, flows
 * adopted, no orphaned or duplicate map entries), SIGTERM vs exit --cleanup,
 * the revalidator (idle expiry, the flow limit), other_config through
 * xdp-vsctl (get/set/remove/list, --format json, errors change nothing) and
 * SIGHUP reload of the configuration store.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { Topology, Host } from '../support/topo';
import { frame } from '../support/packets';
import { packageRoot } from '../../src/lib/paths';
import { BpfMap } from '../../src/bpf';
import { LAYOUT, FLOW_F_ALIVE } from '../../src/dpif/xvs-abi';
import { tcQueryIngress } from '../../src/bpf';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `ping` in the background; resolves with transmitted/received. */
function pingAsync(t: Topology, from: Host, to: Host, count: number, intervalS: number): Promise<{ tx: number; rx: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', from.ns, 'ping', '-q', '-c', String(count), '-i', String(intervalS), '-W', '1', to.ip]);
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('close', () => {
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      resolve({ tx: Number(m?.[1] ?? 0), rx: Number(m?.[2] ?? 0), out });
    });
  });
}

function ping(t: Topology, from: Host, to: Host, count = 1): boolean {
  return t.exec(from, ['ping', '-c', String(count), '-i', '0.2', '-W', '2', to.ip]).status === 0;
}

/** Reads the pinned maps directly: megaflow entries, the slots they name, and live slots. */
function pinnedState(dir: string): { megaflows: number; distinctSlots: number; aliveSlots: number; dangling: number } {
  const mf = BpfMap.fromPinned(path.join(dir, 'megaflows'));
  const flows = BpfMap.fromPinned(path.join(dir, 'flows'));
  try {
    const slots = new Map<number, number>();
    let megaflows = 0, dangling = 0;
    for (const [, v] of mf.entries()) {
      megaflows++;
      const id = v.readUInt32LE(0), gen = v.readUInt32LE(4);
      slots.set(id, (slots.get(id) ?? 0) + 1);
      const f = flows.lookup(Buffer.from(Uint32Array.of(id).buffer));
      if (!f || f.readUInt32LE(LAYOUT.xvs_flow.gen) !== gen || !(f.readUInt16LE(LAYOUT.xvs_flow.flags) & FLOW_F_ALIVE)) dangling++;
    }
    let aliveSlots = 0;
    for (let id = 0; id < flows.maxEntries; id++) {
      const f = flows.lookup(Buffer.from(Uint32Array.of(id).buffer));
      if (f && f.readUInt16LE(LAYOUT.xvs_flow.flags) & FLOW_F_ALIVE) aliveSlots++;
    }
    return { megaflows, distinctSlots: slots.size, aliveSlots, dangling };
  } finally {
    mf.close();
    flows.close();
  }
}

function dumpFlows(t: Topology): string[] {
  return t.ctl('appctl', 'dpctl/dump-flows').split('\n').filter(Boolean);
}

describe('xdp-vswitchd lifecycle (root, netns + veth + pinned fast path)', function () {
  this.timeout(120000);
  const t = new Topology();
  let a: Host, b: Host, c: Host;
  const pins = (): string => path.join(t.bpffs, 'br0');

  before(async function () {
    assert.strictEqual(process.getuid?.(), 0, 'integration tests must run as root');
    a = t.addHost(1); b = t.addHost(2); c = t.addHost(3);
    await t.startDaemon();
    t.ctl('vsctl', 'add-br', 'br0');
    for (const h of [a, b, c]) t.ctl('vsctl', 'add-port', 'br0', h.port);
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || !t.daemonAlive()) process.stderr.write(`--- daemon log ---\n${t.daemonLog}\n`);
    await t.teardown();
  });

  it('kill -9 under steady traffic: 0 packets lost while down, flows adopted on restart, new flows work, no orphaned or duplicate entries', async () => {
    assert.ok(ping(t, a, b, 2), 'warm-up ping a -> b');
    const before = dumpFlows(t).length;
    assert.ok(before >= 2, `megaflows installed before the kill:\n${dumpFlows(t).join('\n')}`);
    // 600 pings over ~3 s; the daemon is dead for ~1.5 s in the middle of them.
    const steady = pingAsync(t, a, b, 600, 0.005);
    await sleep(500);
    const oldPid = t.daemonPid();
    await t.killDaemon();
    assert.ok(!t.daemonAlive(), 'daemon killed');
    await sleep(1500);
    assert.ok(fs.existsSync(path.join(pins(), 'megaflows')), 'the fast path stays pinned while the daemon is down');
    t.daemonLog = '';
    await t.startDaemon();
    assert.notStrictEqual(t.daemonPid(), oldPid);
    const r = await steady;
    assert.strictEqual(r.tx, 600, r.out);
    assert.strictEqual(r.rx, 600, `established flows lost packets across kill -9 + restart:\n${r.out}`);
    assert.match(t.daemonLog, /adopted the pinned fast path .*: \d+ megaflows, 3 ports/);
    assert.match(t.daemonLog, /kept [1-9]\d* megaflows from the previous run/);
    assert.match(t.ctl('appctl', 'upcall/show'), /restart {7}: [1-9]\d* flows adopted/);
    // New flows, to a host that had not talked before the restart.
    assert.ok(ping(t, a, c), 'new flow a -> c after restart');
    assert.ok(ping(t, c, b), 'new flow c -> b after restart');
    // The maps hold exactly what the daemon tracks: one live slot per megaflow, none dangling.
    const flows = dumpFlows(t);
    const st = pinnedState(pins());
    assert.strictEqual(st.megaflows, flows.length, `megaflows map vs dpctl/dump-flows:\n${flows.join('\n')}`);
    assert.strictEqual(st.distinctSlots, st.megaflows, 'no two megaflows share a flow slot');
    assert.strictEqual(st.aliveSlots, st.megaflows, 'no live flow slot without its megaflow');
    assert.strictEqual(st.dangling, 0, 'no megaflow naming a dead slot');
  });

  it('SIGTERM leaves the fast path forwarding; exit --cleanup detaches and unpins it', async () => {
    assert.ok(ping(t, a, b), 'flows a <-> b present');
    await t.stopDaemon();
    assert.ok(!t.daemonAlive());
    assert.ok(ping(t, a, b, 3), 'the fast path forwards established flows with the daemon stopped');
    const ifindex = Number(fs.readFileSync(`/sys/class/net/${a.port}/ifindex`, 'utf8'));
    assert.ok(tcQueryIngress(ifindex) > 0, 'the TC program stays attached');
    t.daemonLog = '';
    await t.startDaemon();
    assert.match(t.daemonLog, /kept \d+ megaflows from the previous run/);
    t.ctl('appctl', 'exit', '--cleanup');
    for (let i = 0; i < 100 && t.daemonAlive(); i++) await sleep(50);
    assert.ok(!t.daemonAlive(), 'exit --cleanup stops the daemon');
    assert.strictEqual(tcQueryIngress(ifindex), 0, 'hook detached');
    assert.ok(!fs.existsSync(pins()), 'pins removed');
    // Back to a running switch for the next tests (its configuration is stored).
    t.daemonLog = '';
    await t.startDaemon();
    assert.doesNotMatch(t.daemonLog, /adopted the pinned fast path/);
    assert.ok(ping(t, a, b), 'forwarding again after a clean start');
  });

  it('the revalidator expires idle megaflows after other_config:max-idle', async () => {
    t.ctl('vsctl', 'set', 'Open_vSwitch', '.', 'other_config:max-idle=1000');
    assert.strictEqual(t.ctl('vsctl', 'get', 'Open_vSwitch', '.', 'other_config:max-idle'), '"1000"\n');
    assert.match(t.ctl('appctl', 'upcall/show'), /max idle {6}: 1000ms/);
    assert.ok(ping(t, a, b));
    assert.ok(dumpFlows(t).length > 0);
    let left = -1;
    for (let i = 0; i < 40 && left !== 0; i++) { await sleep(100); left = dumpFlows(t).length; }
    const waited = Date.now();
    assert.strictEqual(left, 0, `idle megaflows left:\n${dumpFlows(t).join('\n')}`);
    assert.match(t.ctl('appctl', 'upcall/show'), /idle expired {2}: [1-9]\d* flows/);
    // The next packet upcalls and installs again.
    assert.ok(ping(t, a, b));
    assert.ok(dumpFlows(t).length > 0 && Date.now() - waited < 5000);
    t.ctl('vsctl', 'remove', 'Open_vSwitch', '.', 'other_config', 'max-idle');
    assert.match(t.ctl('appctl', 'upcall/show'), /max idle {6}: 10000ms/);
  });

  it('above the flow limit, packets are still forwarded but no flows are installed, and upcall/show says so', async () => {
    t.ctl('vsctl', 'set', 'Open_vSwitch', '.', 'other_config:flow-limit=1000');
    assert.ok(ping(t, a, b));
    // 1300 source MACs: NORMAL matches eth_src exactly, so each is its own megaflow.
    const frames = Array.from({ length: 1300 }, (_, i) =>
      frame({ src: `02:aa:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, dst: b.mac,
        l3: 'ipv4', ipSrc: '10.10.0.200', ipDst: b.ip, proto: 'udp', sport: 7, dport: 9 }).toString('hex'));
    const r = t.exec(a, [process.execPath, path.join(packageRoot(), 'dist', 'test', 'support', 'inject.js'), a.dev, ...frames], 60000);
    assert.strictEqual(r.status, 0, r.err);
    await sleep(500);
    const show = t.ctl('appctl', 'upcall/show');
    const cur = Number(/current (\d+)/.exec(show)?.[1]);
    assert.ok(cur <= 1000 && cur >= 990, `flows capped at the limit:\n${show}`);
    assert.match(show, /\(limit 1000\)/);
    assert.match(show, /flow limit {4}: REACHED: upcalls are forwarded without installing flows \(ceiling 1000, datapath capacity \d+, [1-9]\d* upcalls not installed\)/);
    // A new flow still gets through (translated and executed, not installed).
    assert.ok(ping(t, c, b), 'forwarding continues above the flow limit');
    t.ctl('vsctl', 'remove', 'Open_vSwitch', '.', 'other_config', 'flow-limit');
    t.ctl('appctl', 'dpctl/del-flows');
    t.ctl('appctl', 'fdb/flush', 'br0');
  });

  it('other_config: get/set/remove/clear/list, --format json, Interface rows; bad input is refused and changes nothing', () => {
    t.ctl('vsctl', 'set', 'Bridge', 'br0', 'other_config:mac-aging-time=60', 'other_config:note=lab');
    assert.strictEqual(t.ctl('vsctl', 'get', 'Bridge', 'br0', 'other_config:mac-aging-time'), '"60"\n');
    assert.strictEqual(t.ctl('vsctl', 'get', 'Bridge', 'br0', 'other_config'), '{mac-aging-time="60", note=lab}\n');
    t.ctl('vsctl', 'set', 'Interface', a.port, 'other_config:rack=r1');
    assert.strictEqual(t.ctl('vsctl', 'get', 'Interface', a.port, 'other_config:rack'), 'r1\n');
    const j = JSON.parse(t.ctl('vsctl', '--format', 'json', 'list', 'Bridge', 'br0')) as { data: unknown[][]; headings: string[] };
    const oc = j.data[0][j.headings.indexOf('other_config')];
    assert.deepStrictEqual(oc, ['map', [['mac-aging-time', '60'], ['note', 'lab']]]);
    assert.deepStrictEqual(JSON.parse(t.ctl('vsctl', '--format=json', 'list-ports', 'br0')), [a.port, b.port, c.port].sort());
    assert.match(t.ctl('vsctl', 'list', 'Interface', a.port), new RegExp(`^name {16}: ${a.port}$`, 'm'));
    const conf = path.join(t.dbdir, 'conf.json');
    const stored = fs.readFileSync(conf, 'utf8');
    for (const bad of [
      ['set', 'Bridge', 'nosuch', 'other_config:x=1'],
      ['set', 'Bridge', 'br0', 'other_config:mac-aging-time=soon'],
      ['set', 'Open_vSwitch', '.', 'other_config:max-idle=5'],
      ['set', 'Interface', 'nosuchif', 'other_config:x=1'],
      ['set', 'Frobnicator', 'br0', 'other_config:x=1'],
      ['get', 'Bridge', 'br0', 'other_config:absent'],
      ['list', 'Bridge', 'br0', '--columns=nosuch'],
      ['--format', 'yaml', 'list', 'Bridge'],
      ['add-port', 'nosuchbr', 'x'],
      ['del-port', 'br0', 'nosuchport'],
    ]) {
      const r = t.ctlTry('vsctl', ...bad);
      assert.strictEqual(r.status, 1, `${bad.join(' ')} must fail`);
      assert.match(r.err, /^xdp-vsctl: .+/, r.err);
    }
    assert.strictEqual(fs.readFileSync(conf, 'utf8'), stored, 'failed commands leave the store untouched');
    t.ctl('vsctl', 'remove', 'Bridge', 'br0', 'other_config', 'note');
    t.ctl('vsctl', 'clear', 'Interface', a.port, 'other_config');
    assert.strictEqual(t.ctl('vsctl', 'get', 'Bridge', 'br0', 'other_config'), '{mac-aging-time="60"}\n');
    assert.strictEqual(t.ctl('vsctl', 'get', 'Interface', a.port, 'other_config'), '{}\n');
  });

  it('SIGHUP reloads the configuration store: a port removed from it goes, other_config applies', async () => {
    const conf = path.join(t.dbdir, 'conf.json');
    const c0 = JSON.parse(fs.readFileSync(conf, 'utf8'));
    delete c0.bridges.br0.ports[c.port];
    c0.otherConfig = { 'max-idle': '2500' };
    fs.writeFileSync(conf, JSON.stringify(c0));
    process.kill(t.daemonPid()!, 'SIGHUP');
    let ports = '';
    for (let i = 0; i < 50; i++) { await sleep(100); ports = t.ctl('vsctl', 'list-ports', 'br0'); if (!ports.includes(c.port)) break; }
    assert.strictEqual(ports, [a.port, b.port].sort().join('\n') + '\n');
    assert.match(t.ctl('appctl', 'upcall/show'), /max idle {6}: 2500ms/);
    assert.match(t.daemonLog, /configuration reloaded/);
    // A store that does not parse is refused; the running switch keeps its configuration.
    fs.writeFileSync(conf, '{ not json');
    process.kill(t.daemonPid()!, 'SIGHUP');
    await sleep(500);
    assert.ok(t.daemonAlive());
    assert.match(t.daemonLog, /reload failed, running configuration kept: .*not valid JSON/);
    assert.strictEqual(t.ctl('vsctl', 'list-ports', 'br0'), [a.port, b.port].sort().join('\n') + '\n');
    assert.ok(ping(t, a, b));
  });

  it('a bridge deleted from the store while the daemon is down is detached and unpinned at start; del-br does the same live', async () => {
    const conf = path.join(t.dbdir, 'conf.json');
    const ifindex = (h: Host): number => Number(fs.readFileSync(`/sys/class/net/${h.port}/ifindex`, 'utf8'));
    t.ctl('vsctl', 'add-br', 'br1');
    t.ctl('vsctl', 'add-port', 'br1', c.port);
    assert.ok(tcQueryIngress(ifindex(c)) > 0);
    await t.stopDaemon();
    const c0 = JSON.parse(fs.readFileSync(conf, 'utf8'));
    delete c0.bridges.br1;
    fs.writeFileSync(conf, JSON.stringify(c0));
    assert.ok(fs.existsSync(path.join(t.bpffs, 'br1', 'megaflows')), 'br1 still pinned while the daemon is down');
    t.daemonLog = '';
    await t.startDaemon();
    assert.match(t.daemonLog, /removed the fast path of bridge br1, which is no longer configured/);
    assert.ok(!fs.existsSync(path.join(t.bpffs, 'br1')), 'br1 unpinned');
    assert.strictEqual(tcQueryIngress(ifindex(c)), 0, 'br1 hook detached from its port');
    assert.ok(ping(t, a, b), 'br0 untouched');
    t.ctl('vsctl', 'del-br', 'br0');
    assert.ok(!fs.existsSync(path.join(t.bpffs, 'br0')), 'del-br unpins');
    assert.strictEqual(tcQueryIngress(ifindex(a)), 0, 'del-br detaches');
    t.ctl('vsctl', 'add-br', 'br0');
    assert.ok(fs.existsSync(path.join(t.bpffs, 'br0', 'megaflows')), 'a new bridge is pinned again');
  });
});
