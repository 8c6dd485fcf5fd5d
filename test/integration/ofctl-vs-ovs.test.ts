/*
 * xdp-ofctl as the OpenFlow client of a real ovs-vswitchd (OVS 3.1, netdev
 * datapath, in a namespace of its own; test/support/ovs.ts), side by side
 * with the real ovs-ofctl on the same switch, in OpenFlow 1.3 and 1.0:
 * every listing must print what ovs-ofctl prints (durations masked; xids
 * match because both number HELLOs and requests the same way), and every
 * change made with xdp-ofctl must show in ovs-ofctl's dumps. ovs-ofctl runs
 * 1.0 with -F openflow10: xdp-ofctl speaks standard OpenFlow 1.0, not OVS's
 * NXM flow format. Needs root and Open vSwitch: fails (not skips) without.
 */
import { strict as assert } from 'assert';
import { spawn, spawnSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/lib/paths';
import { OvsSwitch, Run, isRoot, missingOvsBinaries } from '../support/ovs';

const OFCTL = path.join(packageRoot(), 'dist', 'src', 'cli', 'ofctl.js');
const INJECT = path.join(packageRoot(), 'dist', 'test', 'support', 'inject.js');

/** Durations change between two dumps; nothing else may. */
const mask = (s: string): string => s.replace(/duration=?\d+(\.\d+)?s/g, 'duration=Xs');

const PROTOCOLS = [
  { name: 'OpenFlow13', ours: ['-O', 'OpenFlow13'], theirs: ['-O', 'OpenFlow13'] },
  { name: 'OpenFlow10', ours: ['-O', 'OpenFlow10'], theirs: ['-O', 'OpenFlow10', '-F', 'openflow10'] },
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A frame from host `src` to host `dst` (UDP 1234 -> 53, valid IPv4 checksum). */
function udpFrame(srcMac: string, dstMac: string, srcIp: string, dstIp: string): Buffer {
  const mac = (m: string): Buffer => Buffer.from(m.replace(/:/g, ''), 'hex');
  const ip = Buffer.from([0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, ...srcIp.split('.').map(Number), ...dstIp.split('.').map(Number)]);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  return Buffer.concat([mac(dstMac), mac(srcMac), Buffer.from([8, 0]), ip, Buffer.from([0x04, 0xd2, 0, 53, 0, 8, 0, 0])]);
}

/** An ARP request for `targetIp` from 10.66.0.N / 02:00:00:66:00:N (N in decimal digits): the target's kernel learns the sender. */
function arpRequest(n: number, targetIp: string): Buffer {
  const sha = Buffer.from(`0200006600${String(n).padStart(2, '0')}`, 'hex');
  return Buffer.concat([Buffer.alloc(6, 0xff), sha, Buffer.from([8, 6, 0, 1, 8, 0, 6, 4, 0, 1]), sha, Buffer.from([10, 66, 0, n]),
    Buffer.alloc(6), Buffer.from(targetIp.split('.').map(Number))]);
}

describe('xdp-ofctl against a real ovs-vswitchd', function () {
  this.timeout(60000);
  let sw: OvsSwitch;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xdp-ofctl-test-'));

  before(async function () {
    this.timeout(60000);
    assert.ok(isRoot(), 'these tests need root (network namespaces and Open vSwitch)');
    assert.deepEqual(missingOvsBinaries(), [], 'Open vSwitch (openvswitch-switch, openvswitch-common) must be installed');
    assert.ok(fs.existsSync(OFCTL), `${OFCTL} is missing: build first (npx tsc -p .)`);
    sw = await OvsSwitch.start({ ports: 2 });
  });

  after(async () => {
    await sw?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const ours = (args: string[], input?: string): Run => sw.inNs([process.execPath, OFCTL, ...args], false, input);
  const theirs = (args: string[], input?: string): Run => sw.ofctl(args, input);
  const ok = (r: Run, what: string): string => {
    assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.err}`);
    return r.out;
  };
  /** Runs both and compares (retrying a moment later if a counter moved in between). */
  async function same(o: string[], t: string[], input?: string): Promise<string> {
    let a = '', b = '';
    for (let i = 0; i < 3; i++) {
      const r1 = ours(o, input), r2 = theirs(t, input);
      assert.equal(r1.status, r2.status, `exit status: ours ${r1.status} (${r1.err}), ovs-ofctl ${r2.status} (${r2.err})`);
      a = mask(r1.out + r1.err);
      b = mask(r2.out + r2.err);
      if (a === b) return r1.out + r1.err;
      await sleep(300);
    }
    assert.equal(a, b, `xdp-ofctl ${o.join(' ')} vs ovs-ofctl ${t.join(' ')}`);
    return a;
  }
  const host = (i: number): OvsSwitch['ports'][number] => sw.ports[i - 1];

  for (const P of PROTOCOLS) {
    describe(P.name, () => {
      const o = (...a: string[]): string[] => [...P.ours, ...a];
      const t = (...a: string[]): string[] => [...P.theirs, ...a];
      /** ovs-ofctl's view of the flow table, without statistics, one flow per line. */
      const table = (): string[] => ok(theirs(t('--no-stats', '--rsort', 'dump-flows', sw.target)), 'ovs-ofctl dump-flows').split('\n').filter(Boolean);

      beforeEach(() => { ok(theirs(t('del-flows', sw.target)), 'ovs-ofctl del-flows'); });

      it('show prints what ovs-ofctl prints', async () => {
        const out = await same(o('show', sw.target), t('show', sw.target));
        assert.match(out, new RegExp(`^ 1\\(${host(1).name}\\): addr:`, 'm'));
        assert.match(out, /GET_CONFIG_REPLY.*frags=normal miss_send_len=0/);
      });

      it('add-flow: ovs-ofctl sees the flow; dump-flows (all, MATCH, --no-stats, --sort, --rsort, --names) as ovs-ofctl', async () => {
        ok(ours(o('add-flow', sw.target, 'table=0,priority=100,in_port=1,udp,nw_dst=10.66.0.2,tp_dst=9,actions=output:2')), 'add-flow');
        ok(ours(o('add-flow', sw.target, `cookie=0x2a,priority=90,idle_timeout=300,tcp,in_port=${host(2).name},tp_dst=80,actions=mod_nw_tos:16,output:${host(1).name}`)), 'add-flow with port names');
        ok(ours(o('add-flow', sw.target, 'table=3,priority=5,arp,arp_tpa=10.66.0.1,actions=output:1')), 'add-flow table 3');
        ok(ours(o('add-flow', sw.target, 'priority=0,actions=NORMAL')), 'add-flow NORMAL');
        const v10 = P.name === 'OpenFlow10';
        assert.deepEqual(table(), [
          ' priority=100,udp,in_port=1,nw_dst=10.66.0.2,tp_dst=9 actions=output:2',
          ` cookie=0x2a, idle_timeout=300, priority=90,tcp,in_port=2,tp_dst=80 actions=${v10 ? 'mod_nw_tos:16' : 'set_field:4->ip_dscp'},output:1`,
          ' table=3, priority=5,arp,arp_tpa=10.66.0.1 actions=output:1',
          ' priority=0 actions=NORMAL',
        ]);
        await same(o('dump-flows', sw.target), t('dump-flows', sw.target));
        await same(o('dump-flows', sw.target, 'udp'), t('dump-flows', sw.target, 'udp'));
        await same(o('dump-flows', sw.target, `in_port=${host(2).name}`), t('dump-flows', sw.target, `in_port=${host(2).name}`));
        await same(o('dump-flows', sw.target, 'table=3'), t('dump-flows', sw.target, 'table=3'));
        await same(o('--no-stats', 'dump-flows', sw.target), t('--no-stats', 'dump-flows', sw.target));
        await same(o('--sort', 'dump-flows', sw.target), t('--sort', 'dump-flows', sw.target));
        await same(o('--rsort=tp_dst', '--sort', 'dump-flows', sw.target), t('--rsort=tp_dst', '--sort', 'dump-flows', sw.target));
        const named = await same(o('--names', 'dump-flows', sw.target), t('--names', 'dump-flows', sw.target));
        assert.match(named, new RegExp(`in_port=${host(2).name},tp_dst=80 actions=.*output:${host(1).name}`));
        await same(o('--no-names', 'dump-flows', sw.target, 'tcp'), t('--no-names', 'dump-flows', sw.target, 'tcp'));
      });

      it('add-flows from a file and from stdin (comments, blank lines, per-line commands), flow_mods then one barrier', () => {
        const file = path.join(tmp, `flows-${P.name}.txt`);
        fs.writeFileSync(file, [
          '# a comment', '', 'priority=10,udp,tp_dst=53,actions=output:1   # trailing comment', '  ',
          `priority=20,in_port=${host(1).name},actions=output:2`, 'priority=30,ip,nw_src=10.66.0.0/24,actions=drop', 'priority=40,arp,actions=NORMAL',
          'delete priority=40,arp',
        ].join('\n'));
        ok(ours(o('add-flows', sw.target, file)), 'add-flows FILE');
        assert.deepEqual(table(), [
          ' priority=30,ip,nw_src=10.66.0.0/24 actions=drop', ' priority=20,in_port=1 actions=output:2', ' priority=10,udp,tp_dst=53 actions=output:1',
        ]);
        const before = sw.messagesReceived();
        ok(ours(o('--no-names', 'add-flows', sw.target, '-'), 'priority=50,icmp,actions=drop\n# done\npriority=51,tcp,actions=drop\npriority=52,udp,actions=drop\n'), 'add-flows -');
        assert.equal(sw.messagesReceived() - before, 1 + 3 + 1, 'HELLO, the 3 flow_mods and one barrier');
        assert.deepEqual(table().slice(0, 3), [' priority=52,udp actions=drop', ' priority=51,tcp actions=drop', ' priority=50,icmp actions=drop']);
        const bad = ours(o('add-flows', sw.target, '-'), 'priority=60,actions=drop\npriority=61,tcp,nw_dst=1.2.3.999,actions=drop\n');
        assert.equal(bad.status, 1);
        assert.match(bad.err, /^xdp-ofctl: -:2: bad flow syntax at position \d+ \("1\.2\.3\.999"\)/);
        assert.ok(!table().some((l) => l.includes('priority=60')), 'a file with a bad line sends nothing');
      });

      it('mod-flows (loose and --strict) and del-flows (loose and --strict) change what ovs-ofctl dumps', () => {
        for (const f of ['priority=10,udp,actions=output:1', 'priority=20,udp,tp_dst=53,actions=output:1', 'priority=30,tcp,actions=output:1']) {
          ok(theirs(t('add-flow', sw.target, f)), `ovs-ofctl add-flow ${f}`);
        }
        ok(ours(o('mod-flows', sw.target, 'udp,actions=output:2')), 'mod-flows');
        assert.deepEqual(table(), [' priority=30,tcp actions=output:1', ' priority=20,udp,tp_dst=53 actions=output:2', ' priority=10,udp actions=output:2']);
        ok(ours(o('--strict', 'mod-flows', sw.target, 'priority=20,udp,tp_dst=53,actions=drop')), 'mod-flows --strict');
        // No such flow: OpenFlow 1.3 modifies nothing; OpenFlow 1.0 adds it (ovs-ofctl's own bytes do the same).
        ok(ours(o('--strict', 'mod-flows', sw.target, 'priority=11,udp,actions=drop')), 'mod-flows --strict, no such flow');
        ok(theirs(t('--strict', 'mod-flows', sw.target, 'priority=12,udp,actions=drop')), 'ovs-ofctl mod-flows --strict, no such flow');
        const added = P.name === 'OpenFlow10' ? [' priority=12,udp actions=drop', ' priority=11,udp actions=drop'] : [];
        assert.deepEqual(table(), [' priority=30,tcp actions=output:1', ' priority=20,udp,tp_dst=53 actions=drop', ...added, ' priority=10,udp actions=output:2']);
        if (added.length) {
          ok(theirs(t('--strict', 'del-flows', sw.target, 'priority=12,udp')), 'ovs-ofctl del-flows');
          ok(ours(o('--strict', 'del-flows', sw.target, 'priority=11,udp')), 'del-flows --strict');
        }
        ok(ours(o('--strict', 'del-flows', sw.target, 'udp')), 'del-flows --strict: default priority, no such flow');
        assert.equal(table().length, 3);
        ok(ours(o('--strict', 'del-flows', sw.target, 'priority=10,udp')), 'del-flows --strict');
        assert.deepEqual(table(), [' priority=30,tcp actions=output:1', ' priority=20,udp,tp_dst=53 actions=drop']);
        ok(ours(o('del-flows', sw.target, 'udp')), 'del-flows');
        assert.deepEqual(table(), [' priority=30,tcp actions=output:1']);
        ok(ours(o('del-flows', sw.target)), 'del-flows, everything');
        assert.deepEqual(table(), []);
      });

      it('dump-ports (all, one, by name), dump-ports-desc and dump-tables print what ovs-ofctl prints', async () => {
        ok(theirs(t('add-flow', sw.target, 'table=2,priority=1,actions=drop')), 'ovs-ofctl add-flow');
        await same(o('dump-ports', sw.target), t('dump-ports', sw.target));
        await same(o('dump-ports', sw.target, '2'), t('dump-ports', sw.target, '2'));
        await same(o('dump-ports', sw.target, 'LOCAL'), t('dump-ports', sw.target, 'LOCAL'));
        await same(o('dump-ports', sw.target, host(1).name), t('dump-ports', sw.target, host(1).name));
        await same(o('--names', 'dump-ports', sw.target), t('--names', 'dump-ports', sw.target));
        await same(o('dump-ports-desc', sw.target), t('dump-ports-desc', sw.target));
        const tables = await same(o('dump-tables', sw.target), t('dump-tables', sw.target));
        assert.match(tables, /table 2:\n {4}active=1,/);
        assert.match(tables, /tables \d+\.\.\.253: ditto/);
      });

      it('a bad flow: a syntax error naming the token and its position, exit 1, nothing sent', () => {
        ok(theirs(t('add-flow', sw.target, 'priority=1,actions=drop')), 'ovs-ofctl add-flow');
        const before = sw.messagesReceived();
        for (const [cmd, flow, token] of [['add-flow', 'priority=5,tp_dst=80,actions=drop', 'tp_dst'], ['add-flow', 'priority=5,ip,actions=output:1,mod_dl_src:zz', 'zz'],
          ['del-flows', 'in_port=1,nw_src=10.1', '10.1'], ['dump-flows', 'udp,foo=1', 'foo']]) {
          const r = ours(o(cmd, sw.target, flow));
          assert.equal(r.status, 1, `${cmd} ${flow}: ${r.err}`);
          assert.match(r.err, new RegExp(`^xdp-ofctl: bad (flow|action) syntax at position \\d+ \\("${token.replace('.', '\\.')}"\\)`), r.err);
          assert.equal(r.out, '');
        }
        assert.equal(sw.messagesReceived(), before, 'ovs-vswitchd received no OpenFlow message');
        assert.deepEqual(table(), [' priority=1 actions=drop']);
        // A bare word in actions is a port name: only the switch's port list can tell, so (as ovs-ofctl) that one asks first.
        const r = ours(o('add-flow', sw.target, 'priority=5,actions=nosuchport'));
        assert.equal(r.status, 1);
        assert.match(r.err, /^xdp-ofctl: bad action syntax at position \d+ \("nosuchport"\)/);
        assert.equal(theirs(t('add-flow', sw.target, 'priority=5,actions=nosuchport')).status, 1);
        assert.deepEqual(table(), [' priority=1 actions=drop']);
      });

      it('an error from the switch prints as ovs-ofctl prints it (OFPT_ERROR and the request), exit 1', async () => {
        ok(theirs(t('add-flow', sw.target, 'priority=7,udp,actions=output:1')), 'ovs-ofctl add-flow');
        const flow = 'check_overlap,priority=7,udp,tp_dst=53,actions=output:2';
        const err = await same(o('add-flow', sw.target, flow), t('add-flow', sw.target, flow));
        assert.match(err, new RegExp(`^OFPT_ERROR${P.name === 'OpenFlow13' ? ' \\(OF1\\.3\\)' : ''} \\(xid=0x[0-9a-f]+\\): OFPFMFC_OVERLAP\\nOFPT_FLOW_MOD`));
        const r = ours(o('add-flow', sw.target, flow));
        assert.equal(r.status, 1);
        assert.equal(r.out, '');
      });

      it('--format json: show, dump-flows, dump-ports, dump-ports-desc, dump-tables', () => {
        ok(theirs(t('add-flow', sw.target, 'cookie=0x7,priority=33,tcp,tp_dst=22,actions=output:2')), 'ovs-ofctl add-flow');
        const json = (cmd: string): Record<string, unknown> => JSON.parse(ok(ours(o('--format', 'json', cmd, sw.target)), cmd)) as Record<string, unknown>;
        const dpid = /dpid:([0-9a-f]{16})/.exec(ok(theirs(t('show', sw.target)), 'ovs-ofctl show'))![1];
        const show = json('show') as { version: string; features: { datapath_id: string; n_tables: number }; ports: { name: string; port_no: number }[]; config: { miss_send_len: number } };
        assert.equal(show.version, P.name);
        assert.equal(show.features.datapath_id, dpid);
        assert.equal(show.features.n_tables, 254);
        assert.deepEqual(show.ports.map((p) => p.name).sort(), [host(1).name, host(2).name, sw.bridge].sort());
        assert.equal(show.config.miss_send_len, 0);
        const flows = (json('dump-flows') as { flows: { priority: number; cookie: string; match: string; actions: string; n_packets: number }[] }).flows;
        assert.deepEqual(flows.map((f) => [f.priority, f.cookie, f.match, f.actions, f.n_packets]), [[33, '0x7', 'tcp,tp_dst=22', 'output:2', 0]]);
        const ports = (json('dump-ports') as { ports: { port: string; rx_packets: number; tx_packets: number }[] }).ports;
        assert.deepEqual(ports.map((p) => p.port).sort(), ['1', '2', 'LOCAL']);
        for (const p of ports) assert.ok(Number.isInteger(p.rx_packets) && Number.isInteger(p.tx_packets));
        const desc = (json('dump-ports-desc') as { ports: { port_no: number; name: string; hw_addr: string; state: string[] }[] }).ports;
        assert.deepEqual(desc.filter((p) => p.port_no === 1).map((p) => p.name), [host(1).name]);
        assert.match(desc[0].hw_addr, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
        const tables = (json('dump-tables') as { tables: { table_id: number; active_count: number }[] }).tables;
        assert.equal(tables.length, 254);
        assert.equal(tables[0].active_count, 1);
      });

      it('packet-out (both syntaxes) delivers a frame through OVS into a namespace', () => {
        const h = host(2);
        const cases: [number, string[]][] = [
          [77, ['packet-out', sw.target, `in_port=CONTROLLER,packet=${arpRequest(77, h.ip).toString('hex')},actions=output:${h.name}`]],
          [78, ['packet-out', sw.target, 'LOCAL', 'output:2', arpRequest(78, h.ip).toString('hex')]],
        ];
        for (const [sender, args] of cases) {
          ok(ours(o(...args)), args.join(' '));
          // The host's kernel learns the ARP sender: the frame went through OVS and out of port 2.
          const neigh = run(['ip', '-n', h.hostNs, 'neigh', 'show', `10.66.0.${sender}`]).out;
          assert.match(neigh, new RegExp(`lladdr 02:00:00:66:00:${sender}`), `neighbours of ${h.hostNs}: ${neigh}`);
        }
        const bad = ours(o('packet-out', sw.target, 'in_port=1,packet=0200,actions=output:2'));
        assert.equal(bad.status, 1);
        assert.match(bad.err, /packet: Packet data too short for Ethernet/);
      });

      it('monitor prints the PACKET_IN of an actions=CONTROLLER flow as ovs-ofctl monitor does (and as JSON)', async () => {
        ok(theirs(t('add-flow', sw.target, 'priority=100,in_port=2,actions=CONTROLLER:65535')), 'ovs-ofctl add-flow');
        const frame = udpFrame(host(2).mac, host(1).mac, host(2).ip, host(1).ip);
        const procs: { p: ChildProcess; out: string; err: string; code?: number | null }[] = [];
        const start = (cmd: string[]): (typeof procs)[number] => {
          const p = spawn('ip', ['netns', 'exec', sw.ns, ...cmd], { env: sw.env });
          const rec: (typeof procs)[number] = { p, out: '', err: '' };
          p.stdout!.on('data', (d: Buffer) => { rec.out += d.toString(); });
          p.stderr!.on('data', (d: Buffer) => { rec.err += d.toString(); });
          p.on('exit', (code) => { rec.code = code; });
          procs.push(rec);
          return rec;
        };
        try {
          const mine = start([process.execPath, OFCTL, ...o('monitor', sw.target, '65535', '--count', '1')]);
          const json = start([process.execPath, OFCTL, ...o('--format', 'json', 'monitor', sw.target, '65535', '--count', '1')]);
          const ovs = start(['ovs-ofctl', ...t('-P', 'standard', 'monitor', sw.target, '65535')]);
          // Send until every monitor has seen a packet-in (a monitor may not have set miss_send_len yet).
          for (let i = 0; i < 40 && !(mine.code !== undefined && json.code !== undefined && /OFPT_PACKET_IN/.test(ovs.err)); i++) {
            run(['ip', 'netns', 'exec', host(2).hostNs, process.execPath, INJECT, host(2).hostDev, frame.toString('hex')]);
            await sleep(250);
          }
          assert.equal(mine.code, 0, `xdp-ofctl monitor: ${mine.err}`);
          assert.equal(json.code, 0, `xdp-ofctl monitor --format json: ${json.err}`);
          const packetIn = (s: string): string => /^OFPT_PACKET_IN.*\n.*\n/m.exec(s)?.[0] ?? `(no PACKET_IN in:\n${s})`;
          const v13 = P.name === 'OpenFlow13' ? ' (OF1.3)' : '';
          const expected = `OFPT_PACKET_IN${v13} (xid=0x0):${v13 ? ' cookie=0x0' : ''} total_len=42 in_port=2 (via action) data_len=42 (unbuffered)\n` +
            `udp,vlan_tci=0x0000,dl_src=${host(2).mac},dl_dst=${host(1).mac},nw_src=${host(2).ip},nw_dst=${host(1).ip},nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=53 udp_csum:0\n`;
          assert.equal(packetIn(ovs.err), expected);
          assert.equal(packetIn(mine.err), expected);
          const line = JSON.parse(json.out.trim()) as { type: string; version: string; total_len: number; match: string; reason: string; packet: string };
          assert.deepEqual([line.type, line.version, line.total_len, line.match, line.reason, line.packet], ['packet_in', P.name, 42, 'in_port=2', 'action', frame.toString('hex')]);
        } finally {
          for (const r of procs) if (r.p.exitCode === null) r.p.kill('SIGTERM');
        }
      });

      it('monitor prints FLOW_REMOVED and PORT_STATUS as ovs-ofctl monitor does', async () => {
        const procs: ChildProcess[] = [];
        const collect = (cmd: string[]): { err: string; code?: number | null } => {
          const p = spawn('ip', ['netns', 'exec', sw.ns, ...cmd], { env: sw.env });
          procs.push(p);
          const rec: { err: string; code?: number | null } = { err: '' };
          p.stderr!.on('data', (d: Buffer) => { rec.err += d.toString(); });
          p.on('exit', (code) => { rec.code = code; });
          return rec;
        };
        try {
          const before = sw.messagesReceived();
          const mine = collect([process.execPath, OFCTL, ...o('monitor', sw.target, '128', '--count', '2')]);
          const ovs = collect(['ovs-ofctl', ...t('-P', 'standard', 'monitor', sw.target, '128')]);
          // Both have set miss_send_len once ovs-vswitchd got their SET_CONFIGs and barriers.
          for (let i = 0; i < 100 && sw.messagesReceived() < before + 8; i++) await sleep(50);
          await sleep(300);
          ok(theirs(t('add-flow', sw.target, 'cookie=0x33,priority=44,send_flow_rem,udp,actions=drop')), 'ovs-ofctl add-flow');
          ok(theirs(t('del-flows', sw.target, 'udp')), 'ovs-ofctl del-flows');
          ok(theirs(t('mod-port', sw.target, '2', 'down')), 'ovs-ofctl mod-port');
          for (let i = 0; i < 100 && mine.code === undefined; i++) await sleep(50);
          await sleep(300);
          assert.equal(mine.code, 0, `xdp-ofctl monitor: ${mine.err}`);
          const blocks = (s: string): string[] => mask(s).split(/(?=^OFPT_)/m).filter((b) => /^OFPT_(FLOW_REMOVED|PORT_STATUS)/.test(b));
          assert.deepEqual(blocks(mine.err), blocks(ovs.err).slice(0, 2));
          assert.match(blocks(mine.err)[0], /^OFPT_FLOW_REMOVED.* priority=44,udp reason=delete/);
          assert.match(blocks(mine.err)[1], /^OFPT_PORT_STATUS.* MOD: 2\(/);
        } finally {
          for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
          theirs(t('mod-port', sw.target, '2', 'up'));
        }
      });
    });
  }

  it('an unreachable target: a clear message, exit 1', () => {
    const r = ours(['dump-flows', 'tcp:127.0.0.1:1']);
    assert.equal(r.status, 1);
    assert.equal(r.err, 'xdp-ofctl: connecting to tcp:127.0.0.1:1 (Connection refused)\n');
    const b = ours(['--rundir', sw.rundir, 'dump-flows', 'nosuchbridge']);
    assert.equal(b.status, 1);
    assert.equal(b.err, 'xdp-ofctl: nosuchbridge is not a bridge or a socket\n');
  });

  it('a bridge name reaches RUNDIR/BRIDGE.mgmt (OVS makes one per bridge), as ovs-ofctl BRIDGE does', async () => {
    await same(['-O', 'OpenFlow13', '--rundir', sw.rundir, 'dump-ports-desc', sw.bridge], ['-O', 'OpenFlow13', 'dump-ports-desc', sw.bridge]);
  });
});

function run(args: string[]): Run {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}
