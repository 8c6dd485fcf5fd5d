/*
 * The OpenFlow agent of xdp-vswitchd, as root over real namespaces, veths
 * and the fast path, driven by the real ovs-ofctl (Debian's
 * openvswitch-common) and by scripted OpenFlow peers: listeners,
 * controllers, flow_mods that reach the datapath before the barrier,
 * PACKET_IN / PACKET_OUT, FLOW_REMOVED, PORT_STATUS, roles, fail modes and
 * bad input.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { Topology, Host } from '../support/topo';
import { OfPeer, fakeController } from '../support/of-peer';
import { frame } from '../support/packets';
import {
  OfMessage, newFlowMod, FlowModCommand, OFPET, OFPBRC, OFPHFC, ControllerRole, OFPRRFC, encodeMessage, OFP10_VERSION,
} from '../../src/openflow';
import { parseFlowMod } from '../../src/ofproto/ofp-parse';
import { OFPFF } from '../../src/ofproto/ofp-actions';
import { Match } from '../../src/ofproto/match';
import { mfField } from '../../src/ofproto/meta-flow';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** Masks what differs between two dumps of the same flows: durations, ages, xids, and the counters of the NORMAL flow (which forwards the hosts' own chatter). */
const durations = (s: string): string => s.replace(/duration=[\d.]+s/g, 'duration=X').replace(/n_packets=\d+, n_bytes=\d+, priority=0 actions=NORMAL/g, 'n_packets=N, n_bytes=N, priority=0 actions=NORMAL').replace(/idle_age=\d+/g, 'idle_age=X').replace(/\(xid=0x[0-9a-f]+\)/g, '(xid=X)');

describe('OpenFlow agent: ovs-ofctl and scripted peers against xdp-vswitchd (root, netns + veth)', function () {
  this.timeout(120000);
  const t = new Topology();
  let a: Host, b: Host, c: Host;
  let ofport: number;
  let target: string;
  const env = { ...process.env, OVS_RUNDIR: path.dirname(t.rundir) };   // ovs-ofctl's own control socket goes here

  const ofctl = (...args: string[]): { status: number | null; out: string; err: string } => {
    const r = spawnSync('ovs-ofctl', args, { encoding: 'utf8', env, timeout: 20000 });
    return { status: r.status, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  };
  const ofctlOk = (...args: string[]): string => {
    const r = ofctl(...args);
    assert.equal(r.status, 0, `ovs-ofctl ${args.join(' ')} failed:\n${r.err}${r.out}`);
    return r.out;
  };
  const ping = (from: Host, to: Host): boolean => t.exec(from, ['ping', '-c', '1', '-W', '1', to.ip]).status === 0;
  const connect = (opts: { versions?: number[]; hello?: boolean } = {}): Promise<OfPeer> => OfPeer.connect({ host: '127.0.0.1', port: ofport, ...opts });
  const flowMod = (p: OfPeer, spec: string, cmd: FlowModCommand = FlowModCommand.ADD, extra: Partial<ReturnType<typeof newFlowMod>> = {}): number => {
    const f = parseFlowMod(spec, cmd === FlowModCommand.ADD ? 'add' : cmd <= FlowModCommand.MODIFY_STRICT ? 'modify' : 'delete');
    const xid = p.nextXid();
    p.send({ type: 'flow_mod', version: p.version, xid, ...newFlowMod(cmd, { ...f, ...extra }) } as OfMessage);
    return xid;
  };
  const barrier = (p: OfPeer): Promise<OfMessage> => p.request({ type: 'barrier_request' });

  before(async function () {
    assert.strictEqual(process.getuid?.(), 0, 'integration tests must run as root');
    assert.equal(spawnSync('ovs-ofctl', ['--version']).status, 0, 'ovs-ofctl (openvswitch-common) must be installed: run scripts/setup.sh');
    a = t.addHost(1); b = t.addHost(2); c = t.addHost(3);
    await t.startDaemon();
    t.ctl('vsctl', 'add-br', 'br0');
    for (const [i, h] of [a, b, c].entries()) t.ctl('vsctl', 'add-port', 'br0', h.port, '--', 'set', 'Interface', h.port, `ofport_request=${i + 1}`);
    ofport = await freePort();
    target = `tcp:127.0.0.1:${ofport}`;
    t.ctl('vsctl', 'set-controller', 'br0', `ptcp:${ofport}:127.0.0.1`);
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || !t.daemonAlive()) process.stderr.write(`--- daemon log ---\n${t.daemonLog}\n`);
    await t.teardown();
  });

  it('set-controller is stored and shown as ovs-vsctl does; bad targets change nothing', () => {
    assert.equal(t.ctl('vsctl', 'get-controller', 'br0'), `ptcp:${ofport}:127.0.0.1\n`);
    assert.match(t.ctl('vsctl', 'show'), new RegExp(`Bridge br0\\n\\s+Controller "ptcp:${ofport}:127.0.0.1"\\n\\s+datapath_type: xdp`));
    for (const bad of ['ptcp:99999', 'tcp:not-an-ip:6653', 'ssl:1.2.3.4:6653', 'ptcp:6653:300.1.1.1']) {
      const r = t.ctlTry('vsctl', 'set-controller', 'br0', bad);
      assert.notEqual(r.status, 0, bad);
      assert.ok(r.err.includes(bad.split(':').slice(0, 2).join(':').slice(0, 4)), `${bad}: ${r.err}`);
    }
    assert.equal(t.ctl('vsctl', 'get-controller', 'br0'), `ptcp:${ofport}:127.0.0.1\n`);
  });

  it('the management socket RUNDIR/br0.mgmt is root-only and serves ovs-ofctl', () => {
    const mgmt = path.join(t.rundir, 'br0.mgmt');
    assert.equal(fs.statSync(mgmt).mode & 0o777, 0o600);
    assert.match(ofctlOk('-O', 'OpenFlow13', 'show', `unix:${mgmt}`), /^OFPT_FEATURES_REPLY \(OF1\.3\) \(xid=0x\d\): dpid:[0-9a-f]{16}\nn_tables:255, n_buffers:0\n/);
  });

  for (const names of [['--no-names'], []]) {
    for (const ver of ['OpenFlow13', 'OpenFlow10']) {
      it(`ovs-ofctl -O ${ver} ${names.join(' ') || '(names)'}: show, dump-ports, dump-ports-desc, dump-tables`, () => {
        const o = ['-O', ver, ...names];
        const show = ofctlOk(...o, 'show', target);
        for (const [i, h] of [a, b, c].entries()) assert.match(show, new RegExp(`^ ${i + 1}\\(${h.port}\\): addr:[0-9a-f:]{17}$`, 'm'), show);
        assert.match(show, /current: +10GB-FD COPPER/);
        const ports = ofctlOk(...o, 'dump-ports', target);
        assert.match(ports, /: 3 ports\n/);
        assert.match(ports, /port +1: rx pkts=\d+, bytes=\d+, drop=\d+, errs=\d+/);
        assert.match(ofctlOk(...o, 'dump-ports', target, '2'), /: 1 ports\n +port +2: rx pkts=/);
        assert.match(ofctlOk(...o, 'dump-ports-desc', target), new RegExp(` 3\\(${c.port}\\): addr:`));
        const tables = ofctlOk(...o, 'dump-tables', target);
        assert.match(tables, /table 0/);
        assert.match(tables, /active=1, lookup=\d+, matched=\d+/);
      });
    }
  }

  it('add-flow, add-flows, dump-flows, mod-flows and del-flows: ovs-ofctl sees exactly the switch\'s tables', () => {
    const file = path.join(path.dirname(t.rundir), 'flows.txt');
    fs.writeFileSync(file, [
      '# comment',
      'table=0,priority=100,in_port=1,udp,nw_dst=10.77.0.2,tp_dst=9,actions=output:2',
      'priority=50,ip,nw_dst=10.0.0.0/24,actions=dec_ttl,goto_table:3',
      'table=3,cookie=0x42,reg0=5,actions=CONTROLLER:100',
      '',
    ].join('\n'));
    ofctlOk('-O', 'OpenFlow13', 'add-flows', target, file);
    ofctlOk('-O', 'OpenFlow13', 'add-flow', target, 'priority=60,ipv6,ipv6_dst=fd00::/64,actions=mod_dl_dst:02:00:00:00:00:01,output:3');
    const dump = ofctlOk('-O', 'OpenFlow13', 'dump-flows', target);
    assert.equal(durations(dump), durations([
      'OFPST_FLOW reply (OF1.3) (xid=0x2):',
      ' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=100,udp,in_port=1,nw_dst=10.77.0.2,tp_dst=9 actions=output:2',
      ' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=60,ipv6,ipv6_dst=fd00::/64 actions=set_field:02:00:00:00:00:01->eth_dst,output:3',
      ' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=50,ip,nw_dst=10.0.0.0/24 actions=dec_ttl,goto_table:3',
      ' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL',
      ' cookie=0x42, duration=0s, table=3, n_packets=0, n_bytes=0, reg0=0x5 actions=CONTROLLER:100',
      '',
    ].join('\n')));
    // The same flows through the daemon's own formatter (xdp-appctl bridge/dump-flows), line for line.
    const ours = t.ctl('appctl', 'bridge/dump-flows', 'br0');
    assert.equal(durations(ours), durations(dump.split('\n').slice(1).join('\n')));
    // A match and --strict select as OVS does.
    assert.equal(ofctlOk('-O', 'OpenFlow13', '--no-stats', 'dump-flows', target, 'table=3'), ' cookie=0x42, table=3, reg0=0x5 actions=CONTROLLER:100\n');
    ofctlOk('-O', 'OpenFlow13', 'mod-flows', target, 'table=3,actions=drop');
    assert.match(ofctlOk('-O', 'OpenFlow13', 'dump-flows', target, 'table=3'), /reg0=0x5 actions=drop\n/);
    ofctlOk('-O', 'OpenFlow13', '--strict', 'del-flows', target, 'priority=100,in_port=1,udp,nw_dst=10.77.0.2,tp_dst=9');
    ofctlOk('-O', 'OpenFlow13', 'del-flows', target, 'ip');
    ofctlOk('-O', 'OpenFlow13', 'del-flows', target, 'table=3');
    ofctlOk('-O', 'OpenFlow13', 'del-flows', target, 'ipv6');
    assert.equal(durations(ofctlOk('-O', 'OpenFlow13', 'dump-flows', target)), durations('OFPST_FLOW reply (OF1.3) (xid=0x2):\n cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL\n'));
  });

  const xofctl = (args: string[], input?: string): { status: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [path.join(path.dirname(t.bin('cli/vsctl')), 'ofctl.js'), '--rundir', t.rundir, ...args], { encoding: 'utf8', input, timeout: 20000 });
    return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
  };
  const xofctlOk = (args: string[], input?: string): string => {
    const r = xofctl(args, input);
    assert.equal(r.status, 0, `xdp-ofctl ${args.join(' ')} failed:\n${r.err}${r.out}`);
    return r.out;
  };

  it('xdp-ofctl (bridge name = management socket) and ovs-ofctl (ptcp) list exactly the same flows', () => {
    xofctlOk(['add-flows', 'br0', '-'], [
      'table=0,priority=120,in_port=2,tcp,tp_dst=443,actions=output:1',
      'priority=90,arp,arp_tpa=10.10.0.0/24,actions=FLOOD',
      'table=5,priority=7,udp,udp_dst=53,actions=set_field:10.0.0.53->ip_dst,output:3',
      'priority=95,ipv6,ipv6_dst=fd00::/64,actions=goto_table:5',
      'cookie=0x1234,priority=30,dl_vlan=10,actions=strip_vlan,NORMAL',
    ].join('\n'));
    for (const ver of ['OpenFlow13', 'OpenFlow10']) {
      for (const extra of [[], ['--no-stats']]) {
        const ours = xofctlOk(['-O', ver, ...extra, 'dump-flows', 'br0']);
        const theirs = ofctlOk('-O', ver, ...extra, 'dump-flows', target);
        assert.equal(durations(ours), durations(theirs), `${ver} ${extra.join(' ')}`);
        assert.ok(ours.split('\n').length >= 6, ours);
      }
    }
    assert.equal(durations(xofctlOk(['-O', 'OpenFlow13', 'dump-flows', 'br0', 'table=5'])), durations(ofctlOk('-O', 'OpenFlow13', 'dump-flows', target, 'table=5')));
    const json = JSON.parse(xofctlOk(['--format', 'json', 'dump-flows', 'br0'])) as { flows: { match: string; actions: string; table: number }[] };
    assert.ok(json.flows.some((f) => f.table === 5 && f.actions === 'set_field:10.0.0.53->ip_dst,output:3'), JSON.stringify(json));
    xofctlOk(['--strict', 'del-flows', 'br0', 'table=5,priority=7,udp,udp_dst=53']);
    xofctlOk(['del-flows', 'br0', 'tcp']);
    for (const m of ['arp', 'ipv6', 'dl_vlan=10']) xofctlOk(['del-flows', 'br0', m]);
    assert.equal(xofctlOk(['--no-stats', 'dump-flows', 'br0']), ofctlOk('-O', 'OpenFlow13', '--no-stats', 'dump-flows', target));
    const bad = xofctl(['add-flow', 'br0', 'priority=5,tcp,tp_dstt=80,actions=drop']);
    assert.equal(bad.status, 1);
    assert.match(bad.err, /tp_dstt/);
  });

  it('xdp-ofctl show, dump-ports, dump-ports-desc, dump-tables print what ovs-ofctl prints', () => {
    const mask = (s: string): string => durations(s).replace(/(pkts|bytes)=\d+/g, '$1=N').replace(/duration=[\d.]+s/g, 'duration=X');
    for (const ver of ['OpenFlow13', 'OpenFlow10']) {
      for (const cmd of ['show', 'dump-ports', 'dump-ports-desc', 'dump-tables']) {
        assert.equal(mask(xofctlOk(['-O', ver, '--no-names', cmd, 'br0'])), mask(ofctlOk('-O', ver, '--no-names', cmd, target)), `${ver} ${cmd}`);
      }
    }
  });

  it('xdp-ofctl monitor prints a PACKET_IN; xdp-ofctl packet-out delivers a frame into a namespace', async () => {
    xofctlOk(['add-flow', 'br0', 'priority=200,udp,tp_dst=9997,actions=CONTROLLER:200']);
    const mon = spawn(process.execPath, [path.join(path.dirname(t.bin('cli/vsctl')), 'ofctl.js'), '--rundir', t.rundir, '--count', '1', 'monitor', 'br0', '65535']);
    let out = '';
    mon.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    mon.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => mon.on('exit', (code) => r(code)));
    try {
      await sleep(700);
      t.exec(a, ['ping', '-c', '1', '-W', '1', b.ip]);
      t.exec(a, ['bash', '-c', `echo hello > /dev/udp/${b.ip}/9997`]);
      const code = await Promise.race([exited, sleep(8000).then(() => 'timeout')]);
      assert.equal(code, 0, out);
      assert.match(out, /OFPT_PACKET_IN \(OF1\.3\) \(xid=0x0\): cookie=0x0 total_len=48 in_port=1 \(via action\) data_len=48 \(unbuffered\)\nudp,vlan_tci=0x0000,dl_src=02:00:00:0a:00:01,dl_dst=02:00:00:0a:00:02,nw_src=10\.10\.0\.1,nw_dst=10\.10\.0\.2,.*tp_dst=9997/);
    } finally {
      mon.kill();
    }
    xofctlOk(['del-flows', 'br0', 'udp']);
    const arp = frame({ src: '02:00:00:00:00:79', dst: 'ff:ff:ff:ff:ff:ff', l3: 'arp', arpOp: 1, ipSrc: '10.10.0.79', ipDst: c.ip });
    xofctlOk(['packet-out', 'br0', 'CONTROLLER', 'output:3', arp.toString('hex')]);
    await sleep(200);
    assert.match(t.exec(c, ['ip', 'neigh', 'show', '10.10.0.79']).out, /02:00:00:00:00:79/, 'c received the packet-out');
  });

  it('OpenFlow 1.0: flows that 1.0 cannot say are dumped as OVS shows them, nothing fails', () => {
    ofctlOk('-O', 'OpenFlow13', 'add-flow', target, 'priority=50,ip,nw_dst=10.0.0.0/24,actions=dec_ttl,goto_table:3');
    const d10 = ofctlOk('-O', 'OpenFlow10', 'dump-flows', target);
    assert.match(d10, /priority=50,ip,nw_dst=10\.0\.0\.0\/24 actions=dec_ttl,resubmit\(,3\)/);
    ofctlOk('-O', 'OpenFlow10', 'add-flow', target, 'priority=77,tcp,tp_dst=22,actions=mod_nw_tos:16,output:2');
    assert.match(ofctlOk('-O', 'OpenFlow10', 'dump-flows', target, 'tcp'), /^ cookie=0x0, duration=[\d.]+s, table=0, n_packets=0, n_bytes=0, priority=77,tcp,tp_dst=22 actions=mod_nw_tos:16,output:2$/m);
    ofctlOk('-O', 'OpenFlow10', 'del-flows', target, 'tcp');
    ofctlOk('-O', 'OpenFlow13', 'del-flows', target, 'ip');
  });

  it('groups, meters and port mods through ovs-ofctl: add, dump, stats, features, delete', () => {
    const O = ['-O', 'OpenFlow13'];
    ofctlOk(...O, 'add-group', target, 'group_id=1,type=select,bucket=weight:50,output:1,bucket=weight:50,output:2');
    ofctlOk(...O, 'add-group', target, 'group_id=2,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2');
    assert.match(ofctlOk(...O, 'dump-groups', target), /\n group_id=1,type=select,bucket=weight:50,actions=output:1,bucket=weight:50,actions=output:2\n group_id=2,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,actions=output:2\n/);
    assert.match(ofctlOk(...O, 'dump-group-features', target), /Types: +0xf\n/);
    ofctlOk(...O, 'add-meter', target, 'meter=1,kbps,burst,band=type=drop,rate=1000,burst_size=100');
    assert.match(ofctlOk(...O, 'dump-meters', target), /meter=1 kbps burst bands=\ntype=drop rate=1000 burst_size=100/);
    assert.match(ofctlOk(...O, 'meter-features', target), /max_meter:\d+ max_bands:1 max_color:0\nband_types: drop\ncapabilities: kbps pktps burst stats/);
    ofctlOk(...O, 'add-flow', target, 'priority=10,ip,actions=meter:1,group:1');
    assert.match(ofctlOk(...O, 'dump-group-stats', target), /group_id=1,duration=[\d.]+s,ref_count=1,/);
    assert.match(ofctlOk(...O, 'meter-stats', target), /meter:1 flow_count:1 /);
    ofctlOk(...O, 'del-groups', target, 'group_id=1');
    assert.doesNotMatch(ofctlOk(...O, 'dump-flows', target), /group:1/, 'deleting a group deletes the flows that use it');
    ofctlOk(...O, 'del-meters', target);
    ofctlOk(...O, 'del-groups', target);
    assert.equal(ofctlOk(...O, 'dump-meters', target).split('\n').length, 2);
    ofctlOk(...O, 'mod-port', target, '2', 'down');
    assert.match(spawnSync('ip', ['link', 'show', b.port], { encoding: 'utf8' }).stdout, /<BROADCAST,MULTICAST>/, 'the link is administratively down');
    assert.match(ofctlOk(...O, 'dump-ports-desc', target), / 2\([^)]+\): addr:[0-9a-f:]+\n\s+config:\s+PORT_DOWN\n/);
    ofctlOk(...O, 'mod-port', target, '2', 'up');
    assert.match(ofctlOk(...O, 'dump-ports-desc', target), / 2\([^)]+\): addr:[0-9a-f:]+\n\s+config:\s+0\n/);
  });

  it('a bad flow from ovs-ofctl gets the switch\'s OpenFlow error and changes nothing', () => {
    const r = ofctl('-O', 'OpenFlow13', 'add-flow', target, 'priority=5,arp,actions=group:7');
    assert.notEqual(r.status, 0);
    assert.match(r.err, /OFPT_ERROR \(OF1\.3\) \(xid=0x[0-9a-f]+\): OFPBAC_BAD_OUT_GROUP/);
    assert.doesNotMatch(ofctlOk('-O', 'OpenFlow13', 'dump-flows', target), /arp/);
  });

  it('a FLOW_MOD is in the datapath before its barrier reply: no stale megaflow forwards a packet', () => {
    assert.ok(ping(a, b), 'NORMAL forwards');
    assert.match(t.ctl('appctl', 'dpctl/dump-flows'), /actions:2/, 'megaflows to b are installed');
    ofctlOk('-O', 'OpenFlow13', 'add-flow', target, `priority=100,ip,nw_dst=${b.ip},actions=drop`);   // ovs-ofctl waits for the barrier
    assert.ok(!ping(a, b), 'the drop flow wins at once');
    ofctlOk('-O', 'OpenFlow13', 'del-flows', target, `ip,nw_dst=${b.ip}`);
    assert.ok(ping(a, b), 'and forwarding is back at once');
  });

  it('datapath traffic counts in n_packets, table lookups and idle timeouts (stats pushed from the megaflows)', async () => {
    ofctlOk('-O', 'OpenFlow13', 'add-flow', target, 'priority=150,idle_timeout=2,icmp,actions=NORMAL');
    const lookups0 = Number(/table 0:\n\s+active=\d+, lookup=(\d+)/.exec(ofctlOk('-O', 'OpenFlow13', 'dump-tables', target))![1]);
    // 8 echo requests over 3.5 s: longer than the idle timeout, so only datapath hits keep the flow alive.
    assert.equal(t.exec(a, ['ping', '-c', '8', '-i', '0.5', '-W', '1', b.ip], 20000).status, 0);
    await sleep(1200);
    const dump = ofctlOk('-O', 'OpenFlow13', 'dump-flows', target, 'icmp');
    const n = Number(/n_packets=(\d+)/.exec(dump)?.[1]);
    assert.ok(n >= 16, `requests and replies counted, upcalled or not: ${dump}`);
    const lookups1 = Number(/table 0:\n\s+active=\d+, lookup=(\d+)/.exec(ofctlOk('-O', 'OpenFlow13', 'dump-tables', target))![1]);
    assert.ok(lookups1 - lookups0 >= 16, `table 0 lookups count datapath hits: ${lookups0} -> ${lookups1}`);
    await sleep(3000);
    assert.equal(ofctlOk('-O', 'OpenFlow13', 'dump-flows', target, 'icmp').split('\n').length, 2, 'idle flow expired');
  });

  it('PACKET_IN reaches ovs-ofctl monitor (with miss-len) and PACKET_OUT delivers a frame into a namespace', async () => {
    ofctlOk('-O', 'OpenFlow13', 'add-flow', target, 'priority=200,udp,tp_dst=9999,actions=CONTROLLER:200');
    const mon = spawn('ovs-ofctl', ['-O', 'OpenFlow13', 'monitor', target, '65535'], { env });
    let out = '';
    mon.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    mon.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      await sleep(700);
      t.exec(a, ['ping', '-c', '1', '-W', '1', b.ip]);                    // ARP resolved through NORMAL
      t.exec(a, ['bash', '-c', `echo hello > /dev/udp/${b.ip}/9999`]);
      for (let i = 0; i < 50 && !/OFPT_PACKET_IN/.test(out); i++) await sleep(100);
      assert.match(out, /OFPT_PACKET_IN \(OF1\.3\) \(xid=0x0\): cookie=0x0 total_len=48 in_port=1 \(via action\) data_len=48 \(unbuffered\)\nudp,vlan_tci=0x0000,dl_src=02:00:00:0a:00:01,dl_dst=02:00:00:0a:00:02,nw_src=10\.10\.0\.1,nw_dst=10\.10\.0\.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=\d+,tp_dst=9999 udp_csum:[0-9a-f]+/, out);
    } finally {
      mon.kill();
    }
    ofctlOk('-O', 'OpenFlow13', 'del-flows', target, 'udp');
    // An ARP request from a host that does not exist, sent by the controller out of port 3: c's kernel learns the sender.
    const arp = frame({ src: '02:00:00:00:00:77', dst: 'ff:ff:ff:ff:ff:ff', l3: 'arp', arpOp: 1, ipSrc: '10.10.0.77', ipDst: c.ip });
    ofctlOk('-O', 'OpenFlow13', 'packet-out', target, 'CONTROLLER', 'output:3', arp.toString('hex'));
    await sleep(200);
    assert.match(t.exec(c, ['ip', 'neigh', 'show', '10.10.0.77']).out, /02:00:00:00:00:77/, 'c received the packet-out');
    assert.equal(t.exec(b, ['ip', 'neigh', 'show', '10.10.0.77']).out.trim(), '', 'only port 3 got it');
    // output:TABLE runs the pipeline (NORMAL floods the broadcast to every port but the input).
    const arp2 = frame({ src: '02:00:00:00:00:78', dst: 'ff:ff:ff:ff:ff:ff', l3: 'arp', arpOp: 1, ipSrc: '10.10.0.78', ipDst: b.ip });
    ofctlOk('-O', 'OpenFlow13', 'packet-out', target, '1', 'TABLE', arp2.toString('hex'));
    await sleep(200);
    assert.match(t.exec(b, ['ip', 'neigh', 'show', '10.10.0.78']).out, /02:00:00:00:00:78/, 'b received it through the tables');
    const bad = ofctl('-O', 'OpenFlow13', 'packet-out', target, '9', 'output:3', arp.toString('hex'));
    assert.notEqual(bad.status, 0);
    assert.match(bad.err, /OFPBRC_BAD_PORT/);
  });

  it('FLOW_REMOVED on idle timeout and PORT_STATUS reach a connection that asked for async messages', async () => {
    const p = await connect();
    try {
      await p.wait((m) => m.type === 'hello');
      p.send({ type: 'set_config', version: p.version, xid: p.nextXid(), flags: 0, missSendLen: 0xffff });
      flowMod(p, 'priority=300,cookie=0x99,tcp,tp_dst=4444,idle_timeout=1,actions=drop', FlowModCommand.ADD, { flags: OFPFF.SEND_FLOW_REM, cookie: 0x99n });
      await barrier(p);
      const fr = await p.wait((m) => m.type === 'flow_removed', 5000, 'FLOW_REMOVED');
      assert.ok(fr.type === 'flow_removed' && fr.reason === 0 && fr.cookie === 0x99n && fr.priority === 300 && fr.idleTimeout === 1, JSON.stringify(fr, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      const d = t.addHost(4);
      t.ctl('vsctl', 'add-port', 'br0', d.port);
      const add = await p.wait((m) => m.type === 'port_status' && m.reason === 0, 5000, 'PORT_STATUS add');
      assert.ok(add.type === 'port_status' && add.port.name === d.port && add.port.portNo === 4);
      t.ctl('vsctl', 'del-port', 'br0', d.port);
      const del = await p.wait((m) => m.type === 'port_status' && m.reason === 1, 5000, 'PORT_STATUS delete');
      assert.ok(del.type === 'port_status' && del.port.portNo === 4);
    } finally {
      p.close();
    }
  });

  it('roles: a slave cannot change the switch, a new master demotes the old one, stale generation ids are refused', async () => {
    const p1 = await connect(), p2 = await connect();
    try {
      const r1 = await p1.request({ type: 'role_request', role: ControllerRole.MASTER, generationId: 10n });
      assert.ok(r1.type === 'role_reply' && r1.role === ControllerRole.MASTER && r1.generationId === 10n);
      const r2 = await p2.request({ type: 'role_request', role: ControllerRole.MASTER, generationId: 11n });
      assert.ok(r2.type === 'role_reply' && r2.role === ControllerRole.MASTER);
      const again = await p1.request({ type: 'role_request', role: ControllerRole.NOCHANGE, generationId: 0n });
      assert.ok(again.type === 'role_reply' && again.role === ControllerRole.SLAVE, 'p1 was demoted');
      const xid = flowMod(p1, 'priority=9,tcp,actions=drop');
      const err = await p1.wait((m) => m.xid === xid && m.type === 'error');
      assert.ok(err.type === 'error' && err.errType === OFPET.BAD_REQUEST && err.code === OFPBRC.IS_SLAVE);
      const stale = await p1.request({ type: 'role_request', role: ControllerRole.MASTER, generationId: 5n });
      assert.ok(stale.type === 'error' && stale.errType === OFPET.ROLE_REQUEST_FAILED && stale.code === OFPRRFC.STALE);
      assert.doesNotMatch(ofctlOk('-O', 'OpenFlow13', 'dump-flows', target), /priority=9,tcp/);
    } finally {
      p1.close(); p2.close();
    }
  });

  it('bad input costs only its own connection: errors for bad messages, close for unframeable ones', async () => {
    const witness = await connect();
    const bad = await connect();
    try {
      await bad.wait((m) => m.type === 'hello');
      // A FLOW_MOD whose OXM TLV claims more bytes than the match has.
      const fm = encodeMessage({ type: 'flow_mod', version: 4, xid: 7, ...newFlowMod(FlowModCommand.ADD, { match: new Match().set(mfField('in_port'), 1n) }) } as OfMessage);
      fm[0x30 + 7] = 0x40;
      bad.sendRaw(fm);
      const e1 = await bad.wait((m) => m.type === 'error' && m.xid === 7);
      assert.ok(e1.type === 'error' && e1.errType === OFPET.BAD_MATCH, JSON.stringify(e1.type === 'error' ? [e1.errType, e1.code] : e1));
      assert.deepEqual(e1.type === 'error' && e1.data, fm.subarray(0, 64), 'the error carries the first 64 bytes');
      bad.sendRaw(Buffer.from('04ee000800000008', 'hex'));                                  // unknown type
      const e2 = await bad.wait((m) => m.type === 'error' && m.xid === 8);
      assert.ok(e2.type === 'error' && e2.errType === OFPET.BAD_REQUEST && e2.code === OFPBRC.BAD_TYPE);
      bad.sendRaw(Buffer.from('0105000800000009', 'hex'));                                  // 1.0 message on a 1.3 connection
      const e3 = await bad.wait((m) => m.type === 'error' && m.xid === 9);
      assert.ok(e3.type === 'error' && e3.errType === OFPET.BAD_REQUEST && e3.code === OFPBRC.BAD_VERSION);
      bad.sendRaw(Buffer.from('0402000400000010', 'hex'));                                  // length 4: cannot be framed
      await bad.waitClosed();
      const echo = await witness.request({ type: 'echo_request', data: Buffer.from('still here') });
      assert.ok(echo.type === 'echo_reply' && echo.data.toString() === 'still here');
      // A peer that skips HELLO is told so and closed.
      const rude = await connect({ hello: false });
      rude.send({ type: 'features_request', version: 4, xid: 3 });
      const e4 = await rude.wait((m) => m.type === 'error');
      assert.ok(e4.type === 'error' && e4.errType === OFPET.HELLO_FAILED && e4.code === OFPHFC.INCOMPATIBLE);
      await rude.waitClosed();
      // A peer with no common version gets HELLO_FAILED.
      const old = await connect({ versions: [2, 3] });
      const e5 = await old.wait((m) => m.type === 'error');
      assert.ok(e5.type === 'error' && e5.errType === OFPET.HELLO_FAILED);
      await old.waitClosed();
      assert.ok(t.daemonAlive());
    } finally {
      witness.close(); bad.close();
    }
  });

  it('OpenFlow 1.0 peers: negotiation, FEATURES with ports, PACKET_IN with a 1.0 header', async () => {
    const p = await connect({ versions: [OFP10_VERSION] });
    try {
      const f = await p.request({ type: 'features_request' });
      assert.ok(f.type === 'features_reply' && f.version === 1 && f.ports?.length === 3 && f.nTables === 255);
      p.send({ type: 'set_config', version: 1, xid: p.nextXid(), flags: 0, missSendLen: 128 });
      flowMod(p, 'priority=210,udp,tp_dst=9998,actions=CONTROLLER:200');
      await barrier(p);
      t.exec(a, ['bash', '-c', `echo hello > /dev/udp/${b.ip}/9998`]);
      const pin = await p.wait((m) => m.type === 'packet_in', 5000, 'PACKET_IN');
      assert.ok(pin.type === 'packet_in' && pin.version === 1 && pin.reason === 1 && pin.totalLen === 48 && pin.data.length === 48);
      assert.equal(pin.match.get(mfField('in_port')).value, 1n);
      flowMod(p, 'udp,tp_dst=9998', FlowModCommand.DELETE);
      await barrier(p);
    } finally {
      p.close();
    }
  });

  it('a listener that cannot bind is a clear error that changes nothing; controllers survive a restart', async () => {
    const blocker = net.createServer();
    const busy = await freePort();
    await new Promise<void>((r) => blocker.listen(busy, '127.0.0.1', () => r()));
    try {
      const r = t.ctlTry('vsctl', 'set-controller', 'br0', `ptcp:${ofport}:127.0.0.1`, `ptcp:${busy}:127.0.0.1`);
      assert.notEqual(r.status, 0);
      assert.match(r.err, new RegExp(`ptcp:${busy}:127.0.0.1: cannot listen: address already in use`));
      assert.equal(t.ctl('vsctl', 'get-controller', 'br0'), `ptcp:${ofport}:127.0.0.1\n`);
      ofctlOk('-O', 'OpenFlow13', 'show', target);
    } finally {
      blocker.close();
    }
    await t.stopDaemon();
    await t.startDaemon();
    for (let i = 0; i < 40 && ofctl('-O', 'OpenFlow13', 'show', target).status !== 0; i++) await sleep(100);
    assert.equal(t.ctl('vsctl', 'get-controller', 'br0'), `ptcp:${ofport}:127.0.0.1\n`);
    assert.match(ofctlOk('-O', 'OpenFlow13', 'show', target), new RegExp(` 3\\(${c.port}\\)`));
    assert.ok(ping(a, b), 'standalone without controllers after restart: NORMAL');
  });

  describe('an active controller (tcp:) and fail modes', () => {
    let ctl: Awaited<ReturnType<typeof fakeController>>;
    const peers: OfPeer[] = [];
    const nextPeer = async (ms = 6000): Promise<OfPeer> => {
      for (let i = 0; i < ms / 50; i++) { if (peers.length) return peers.shift()!; await sleep(50); }
      throw new Error('the switch did not connect to the controller');
    };

    before(async () => {
      ctl = await fakeController((p) => peers.push(p));
      t.ctl('vsctl', 'set', 'Controller', 'br0', 'inactivity_probe=1000', 'max_backoff=2000');
      t.ctl('vsctl', 'set-controller', 'br0', `ptcp:${ofport}:127.0.0.1`, `tcp:127.0.0.1:${ctl.port}`);
    });
    after(async () => { await ctl.close(); });

    it('connects, flushes the NORMAL flow as OVS does, and sends table-miss PACKET_INs', async () => {
      const p = await nextPeer();
      await p.wait((m) => m.type === 'hello');
      const f = await p.request({ type: 'features_request' });
      assert.ok(f.type === 'features_reply');
      assert.match(t.ctl('vsctl', 'show'), new RegExp(`Controller "tcp:127.0.0.1:${ctl.port}"\\n\\s+is_connected: true`));
      assert.equal(ofctlOk('-O', 'OpenFlow13', '--no-stats', 'dump-flows', target), '', 'a bridge with a controller starts empty');
      flowMod(p, 'priority=0,actions=CONTROLLER:65535');
      await barrier(p);
      t.exec(a, ['ping', '-c', '1', '-W', '1', b.ip]);
      const pin = await p.wait((m) => m.type === 'packet_in', 5000, 'PACKET_IN');
      assert.ok(pin.type === 'packet_in' && pin.reason === 0 && pin.tableId === 0 && pin.bufferId === 0xffffffff);
      assert.equal(pin.match.get(mfField('in_port')).value, 1n);
      assert.equal(pin.data.subarray(6, 12).toString('hex'), a.mac.replace(/:/g, ''));
      peers.unshift(p);
    });

    it('probes an idle controller with ECHO and reconnects with backoff when it goes away', async () => {
      const p = await nextPeer();
      const probe = await p.wait((m) => m.type === 'echo_request', 4000, 'inactivity probe');
      assert.ok(probe.type === 'echo_request');
      p.close();
      const t0 = Date.now();
      const p2 = await nextPeer(5000);
      assert.ok(Date.now() - t0 < 4000, 'reconnected within the backoff');
      await p2.wait((m) => m.type === 'hello');
      peers.unshift(p2);
    });

    it('a controller that stops answering probes is disconnected', async () => {
      const p = await nextPeer();
      p.sock.removeAllListeners('data');                       // deaf: no echo replies
      await p.waitClosed(5000);
      const p2 = await nextPeer(5000);
      peers.unshift(p2);
    });

    it('fail-mode standalone forwards with NORMAL once the controller is gone; secure does not', async () => {
      ofctlOk('-O', 'OpenFlow13', 'del-flows', target);
      assert.ok(!ping(a, b), 'connected controller, empty table: drop');
      await ctl.close();                                        // controller gone for good
      await sleep(4000);                                        // 3 probe intervals of 1 s, judged once a second
      assert.ok(ping(a, b), 'fail-open: NORMAL');
      assert.match(t.daemonLog, /entering fail-open/);
      t.ctl('vsctl', 'set-fail-mode', 'br0', 'secure');
      assert.ok(!ping(a, b), 'secure: never fails open');
      assert.match(t.ctl('vsctl', 'show'), /fail_mode: secure/);
      t.ctl('vsctl', 'set-controller', 'br0', `ptcp:${ofport}:127.0.0.1`);
      assert.equal(ofctlOk('-O', 'OpenFlow13', '--no-stats', 'dump-flows', target), '', 'secure without controllers: no flows');
      assert.ok(!ping(a, b));
      t.ctl('vsctl', 'set-fail-mode', 'br0', 'standalone');
      assert.equal(ofctlOk('-O', 'OpenFlow13', '--no-stats', 'dump-flows', target), ' priority=0 actions=NORMAL\n');
      assert.ok(ping(a, b), 'standalone without controllers: a learning switch again');
    });
  });
});
