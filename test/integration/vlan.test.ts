/*
 * NORMAL with VLANs end to end (root, netns + veth, real fast path): access
 * ports in VLAN 10 reach each other and VLAN 10 on a trunk, not
 * the access port in VLAN 20; `set Port` changes take effect on live flows;
 * ofproto/trace shows the pipeline the way OVS prints it.
 */
import { strict as assert } from 'assert';
import * as path from 'path';
import { Topology, Host } from '../support/topo';
import { frame } from '../support/packets';
import { packageRoot } from '../../src/lib/paths';

describe('NORMAL with access and trunk VLAN ports (root, netns + veth)', function () {
  this.timeout(120000);
  const t = new Topology();
  let h1: Host, h2: Host, h3: Host, h4: Host;
  const ping = (from: Host, ip: string): boolean => t.exec(from, ['ping', '-c', '1', '-W', '2', ip]).status === 0;

  before(async function () {
    assert.strictEqual(process.getuid?.(), 0, 'integration tests must run as root');
    [h1, h2, h3, h4] = [1, 2, 3, 4].map((i) => t.addHost(i));
    await t.startDaemon();
    t.ctl('vsctl', 'add-br', 'br0');
    t.ctl('vsctl', 'add-port', 'br0', h1.port, 'tag=10');
    t.ctl('vsctl', 'add-port', 'br0', h2.port, '--', 'set', 'Port', h2.port, 'tag=10');
    t.ctl('vsctl', 'add-port', 'br0', h3.port, 'tag=20');
    t.ctl('vsctl', 'add-port', 'br0', h4.port, 'trunks=10,20');
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || !t.daemonAlive()) process.stderr.write(`--- daemon log ---\n${t.daemonLog}\n`);
    await t.teardown();
  });

  it('shows tag and trunks as ovs-vsctl does', () => {
    const show = t.ctl('vsctl', 'show');
    assert.match(show, new RegExp(`Port ${h1.port}\\n\\s+tag: 10\\n`));
    assert.match(show, new RegExp(`Port ${h4.port}\\n\\s+trunks: \\[10, 20\\]\\n`));
  });

  it('access ports of one VLAN talk; another VLAN is unreachable', () => {
    assert.ok(ping(h1, h2.ip), 'VLAN 10 access to access');
    assert.ok(!ping(h1, h3.ip), 'VLAN 10 must not reach VLAN 20');
  });

  /*
   * The trunk host speaks 802.1Q through raw frames (this kernel has no 8021q
   * module for VLAN subinterfaces): a tagged ARP request from it must reach
   * only the access ports of that VLAN, untagged, and the answer must come
   * back tagged.
   */
  const arpFromTrunk = (vid: number, spa: string, tpa: string): void => {
    const f = frame({ src: h4.mac, dst: 'ff:ff:ff:ff:ff:ff', vlan: { vid }, l3: 'arp', arpOp: 1, ipSrc: spa, ipDst: tpa });
    const r = t.exec(h4, [process.execPath, path.join(packageRoot(), 'dist', 'test', 'support', 'inject.js'), h4.dev, f.toString('hex')]);
    assert.equal(r.status, 0, r.err);
  };
  const neigh = (h: Host, ip: string): string => t.exec(h, ['ip', 'neigh', 'show', ip]).out;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('a trunk carries VLAN 10 tagged: access ports see it untagged, answers go back tagged', async () => {
    arpFromTrunk(10, '10.10.0.14', h1.ip);
    await sleep(300);
    assert.match(neigh(h1, '10.10.0.14'), new RegExp(h4.mac), 'h1 (access 10) got the request untagged');
    assert.equal(neigh(h3, '10.10.0.14').trim(), '', 'h3 (VLAN 20) did not');
    const fdb = t.ctl('appctl', 'fdb/show', 'br0');
    assert.match(fdb, new RegExp(`\\s4\\s+10\\s+${h4.mac}`), `h4 learned in VLAN 10 on port 4:\n${fdb}`);
    const flows = t.ctl('appctl', 'dpctl/dump-flows');
    assert.match(flows, /in_port\(4\),eth\([^)]*\),eth_type\(0x8100\),vlan\(vid=10[^)]*\),encap\(eth_type\(0x0806\)\).*actions:pop_vlan,1,2/, flows);
    assert.match(flows, new RegExp(`in_port\\(1\\),eth\\(src=${h1.mac},dst=${h4.mac}\\).*actions:push_vlan\\(vid=10,pcp=0\\),4`), 'the ARP reply went back tagged');
  });

  it('a trunk keeps VLANs apart and drops VLANs it does not carry', async () => {
    arpFromTrunk(20, '10.10.0.15', h3.ip);
    arpFromTrunk(30, '10.10.0.16', h1.ip);
    await sleep(300);
    assert.match(neigh(h3, '10.10.0.15'), new RegExp(h4.mac), 'VLAN 20 reaches h3');
    assert.equal(neigh(h1, '10.10.0.15').trim(), '', 'VLAN 20 does not reach h1');
    assert.equal(neigh(h1, '10.10.0.16').trim(), '', 'VLAN 30 is not trunked on port 4');
  });

  it('set Port moves a port to another VLAN; clear makes it a trunk for all VLANs', () => {
    t.ctl('vsctl', 'set', 'Port', h3.port, 'tag=10');
    assert.ok(ping(h1, h3.ip), 'h3 is in VLAN 10 now');
    t.ctl('vsctl', 'set', 'Port', h3.port, 'tag=20');
    assert.ok(!ping(h1, h3.ip), 'and out again');
    const bad = t.ctlTry('vsctl', 'set', 'Port', h3.port, 'tag=5000');
    assert.notEqual(bad.status, 0);
    assert.match(bad.err, /5000 is not a VLAN/);
    assert.match(t.ctl('vsctl', 'show'), new RegExp(`Port ${h3.port}\\n\\s+tag: 20\\n`), 'a rejected change changes nothing');
    t.ctl('vsctl', 'clear', 'Port', h3.port, 'tag');
    assert.match(t.ctl('vsctl', 'show'), new RegExp(`Port ${h3.port}\\n\\s+Interface`), 'no tag: a trunk of every VLAN');
    assert.ok(!ping(h1, h3.ip), 'VLAN 10 reaches the trunk tagged, which the untagged host ignores');
    t.ctl('vsctl', 'set', 'Port', h3.port, 'tag=20');
  });

  it('ofproto/trace prints the pipeline, megaflow and datapath actions as OVS', () => {
    const out = t.ctl('appctl', 'ofproto/trace', 'br0', `in_port=1,dl_src=${h1.mac},dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_spa=10.10.0.1,arp_tpa=10.10.0.2`);
    assert.match(out, /^Flow: arp,in_port=1,vlan_tci=0x0000,dl_src=02:00:00:0a:00:01,dl_dst=ff:ff:ff:ff:ff:ff,/m);
    assert.match(out, /^bridge\("br0"\)\n-{13}\n 0\. priority 0\n {4}NORMAL\n {5}-> multicast or broadcast destination, flooding$/m);
    assert.match(out, /^Megaflow: recirc_id=0,eth,arp,in_port=1,vlan_tci=0x0000,dl_src=02:00:00:0a:00:01,dl_dst=ff:ff:ff:ff:ff:ff$/m);
    assert.match(out, /^Datapath actions: 2,push_vlan\(vid=10,pcp=0\),4$/m);
    const bad = t.ctlTry('appctl', 'ofproto/trace', 'br0', 'in_port=1,tcp,tp_dstt=80');
    assert.notEqual(bad.status, 0);
    assert.match(bad.err, /tp_dstt/);
  });
});
