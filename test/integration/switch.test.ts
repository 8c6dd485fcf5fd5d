/*
 * End to end, as root: namespaces joined through bridge br0 of a private
 * xdp-vswitchd, real veths, real XDP/TC programs. Namespaces keep their
 * default offloads (TX checksum offload and TSO on).
 */
import { strict as assert } from 'assert';
import { Topology, Host, dpStats, sh } from '../support/topo';
import { frame } from '../support/packets';
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { packageRoot } from '../../src/lib/paths';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function offloads(t: Topology, h: Host): string {
  return t.exec(h, ['ethtool', '-k', h.dev]).out;
}

/** Sends `mb` MiB of random bytes over TCP from client to server; returns both ends' byte counts and SHA-256. */
function tcpTransfer(t: Topology, server: Host, client: Host, mb: number): { sent: string; got: string } {
  const port = 5200 + Math.floor(Math.random() * 700);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${t.prefix}-tcp-`));
  fs.writeFileSync(path.join(dir, 'srv.js'), `const h=require('crypto').createHash('sha256');let n=0;
    const srv=require('net').createServer(s=>{s.on('data',d=>{n+=d.length;h.update(d)});s.on('end',()=>{console.log(n+' '+h.digest('hex'));process.exit(0)})}).listen(${port});
    setTimeout(()=>{console.log('timeout '+n);process.exit(2)},30000);`);
  fs.writeFileSync(path.join(dir, 'cli.js'), `const d=require('crypto').randomBytes(${mb}*1048576);
    console.log(d.length+' '+require('crypto').createHash('sha256').update(d).digest('hex'));
    const c=require('net').connect(${port},'${server.ip}',()=>c.end(d));c.on('error',e=>{console.error(e.message);process.exit(1)});`);
  try {
    const out = sh('bash', ['-c', `ip netns exec ${server.ns} ${process.execPath} ${dir}/srv.js & sleep 0.5; ` +
      `ip netns exec ${client.ns} ${process.execPath} ${dir}/cli.js; wait`], { timeoutMs: 60000 }).trim().split('\n');
    return { sent: out[0], got: out[1] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function describeSwitch(hook: 'tc' | 'xdp'): void {
  describe(`xdp-vswitchd forwarding, ports on the ${hook} hook (root, netns + veth)`, function () {
    this.timeout(120000);
    const t = new Topology();
    let a: Host, b: Host, c: Host;

    before(async function () {
      assert.strictEqual(process.getuid?.(), 0, 'integration tests must run as root');
      a = t.addHost(1); b = t.addHost(2); c = t.addHost(3);
      await t.startDaemon();
      t.ctl('vsctl', 'add-br', 'br0');
      for (const [i, h] of [a, b, c].entries()) {
        t.ctl('vsctl', 'add-port', 'br0', h.port, '--', 'set', 'Interface', h.port, `ofport_request=${i + 1}`, `options:dp-hook=${hook}`);
      }
    });

    after(async function () {
      if (this.currentTest?.state === 'failed' || !t.daemonAlive()) process.stderr.write(`--- daemon log ---\n${t.daemonLog}\n`);
      await t.teardown();
    });

    it('shows the bridge and its ports', () => {
      const show = t.ctl('vsctl', 'show');
      assert.match(show, /Bridge br0/);
      for (const h of [a, b, c]) assert.match(show, new RegExp(`Port ${h.port}`));
      const dp = t.ctl('appctl', 'dpctl/show');
      assert.match(dp, /^xdp@br0:/);
      assert.match(dp, new RegExp(`port 1: ${a.port} \\(${hook}`));
      assert.equal(t.ctl('vsctl', 'list-ports', 'br0').trim().split('\n').length, 3);
    });

    it('a fresh switch delivers the first packet: ping -c 1 succeeds', () => {
      const r = t.exec(a, ['ping', '-c', '1', '-W', '3', b.ip]);
      assert.equal(r.status, 0, `ping failed:\n${r.out}${r.err}\n${t.ctl('appctl', 'dpctl/dump-flows')}`);
      const s = dpStats(t.ctl('appctl', 'dpctl/show'));
      assert.ok(s.missed >= 2, `ARP and ICMP went up as upcalls (missed=${s.missed})`);
    });

    it('installs megaflows with L4 wildcarded under the L2 (NORMAL) table', () => {
      const flows = t.ctl('appctl', 'dpctl/dump-flows');
      const ip = flows.split('\n').filter((l) => l.includes('eth_type(0x0800)'));
      assert.ok(ip.length >= 2, `IPv4 megaflows both ways:\n${flows}`);
      for (const l of ip) {
        assert.match(l, /^in_port\(\d\),eth\(src=[0-9a-f:]{17},dst=[0-9a-f:]{17}\),eth_type\(0x0800\),ipv4\(frag=no\), packets:\d+, bytes:\d+, used:/);
        assert.doesNotMatch(l, /icmp\(|tcp\(|udp\(|src=10\./, 'L3/L4 fields are wildcarded');
      }
      assert.match(flows, new RegExp(`in_port\\(1\\),eth\\(src=${a.mac},dst=${b.mac}\\),eth_type\\(0x0800\\),ipv4\\(frag=no\\), packets:\\d+, bytes:\\d+, used:(never|[0-9.]+s), actions:2`));
    });

    it('later packets are forwarded by the fast path alone: counters rise, no further upcalls', () => {
      const ufids = (): Map<string, string> => new Map(t.ctl('appctl', 'dpctl/dump-flows', '-m').trim().split('\n')
        .map((l) => [/^ufid:([0-9a-f-]+)/.exec(l)![1], l] as [string, string]));
      const flowsBefore = ufids();
      const before = dpStats(t.ctl('appctl', 'dpctl/show'));
      const r = t.exec(a, ['ping', '-c', '20', '-i', '0.01', '-W', '2', b.ip]);
      assert.equal(r.status, 0, r.out);
      const after = dpStats(t.ctl('appctl', 'dpctl/show'));
      // Fresh namespaces still send IPv6 MLD/RS chatter, each a new flow; no miss
      // may be for a flow that was already installed, and no IPv4 flow is new.
      const added = [...ufids()].filter(([u]) => !flowsBefore.has(u)).map(([, l]) => l);
      assert.ok(after.missed - before.missed <= added.length, `${after.missed - before.missed} upcalls for ${added.length} new flows:\n${added.join('\n')}`);
      assert.ok(!added.some((l) => l.includes('eth_type(0x0800)')), `IPv4 flows were re-installed:\n${added.join('\n')}`);
      assert.ok(after.hit - before.hit >= 40, `fast-path hits rose by ${after.hit - before.hit}`);
      const flow = t.ctl('appctl', 'dpctl/dump-flows').split('\n').find((l) => l.startsWith(`in_port(1),eth(src=${a.mac},dst=${b.mac}),eth_type(0x0800)`))!;
      assert.ok(Number(/packets:(\d+)/.exec(flow)![1]) >= 20, flow);
    });

    it('floods to every other port but not back to the sender; unicast reaches only its owner', () => {
      const r = t.exec(c, ['ping', '-c', '1', '-W', '3', a.ip]);
      assert.equal(r.status, 0, r.out);
      const fdb = t.ctl('appctl', 'fdb/show', 'br0');
      for (const h of [a, b, c]) assert.match(fdb, new RegExp(h.mac));
    });

    it('IPv6 (neighbour discovery + ICMPv6) works through the switch', () => {
      const r = t.exec(a, ['ping', '-6', '-c', '2', '-W', '3', b.ip6]);
      assert.equal(r.status, 0, r.out + r.err);
      assert.match(t.ctl('appctl', 'dpctl/dump-flows'), /eth_type\(0x86dd\),ipv6\(frag=no\)/);
    });

    it('TCP: 16 MiB arrive intact (SHA-256), through the hook the port runs', () => {
      const r = tcpTransfer(t, b, a, 16);
      assert.match(r.sent, /^16777216 [0-9a-f]{64}$/);
      assert.equal(r.got, r.sent);
    });

    if (hook === 'tc') {
      it('keeps the namespaces default offloads: TSO and TX checksum offload stay on, no XDP on the peers', () => {
        for (const h of [a, b]) {
          assert.match(offloads(t, h), /tcp-segmentation-offload: on/);
          assert.match(offloads(t, h), /tx-checksumming: on/);
          assert.doesNotMatch(sh('ip', ['-n', h.ns, '-d', 'link', 'show', h.dev]), /prog\/xdp/);
        }
      });
    } else {
      it('arranges the veth peers: each namespace end has an XDP program so redirected frames are accepted', () => {
        for (const h of [a, b, c]) {
          const l = sh('ip', ['-n', h.ns, '-d', 'link', 'show', h.dev]);
          assert.match(l, /prog\/xdp id \d+/, `${h.ns}/${h.dev}: ${l}`);
          // XDP on a veth cannot carry CHECKSUM_PARTIAL skbs: the switch turns TX checksum offload off on the peer
          assert.match(offloads(t, h), /tx-checksumming: off/);
        }
        assert.match(t.ctl('appctl', 'dpctl/show'), /xdp_pass on peer eth0/);
      });

      it('UDP through native XDP redirect', () => {
        const node = process.execPath;
        const srv = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log(String(m));process.exit(0)});s.bind(9999);setTimeout(()=>process.exit(3),5000)`;
        const cli = `const s=require('dgram').createSocket('udp4');let n=0;const t=setInterval(()=>{s.send('hello-xdp',9999,'${b.ip}');if(++n>20){clearInterval(t);s.close()}},100)`;
        const r = sh('bash', ['-c', `ip netns exec ${b.ns} ${node} -e "${srv}" & sleep 0.3; ip netns exec ${a.ns} ${node} -e "${cli}" & wait %1`]);
        assert.match(r, /hello-xdp/);
      });
    }

    it('upcall/disable-megaflows: exact-match flows, one per 5-tuple; enable-megaflows brings megaflows back (OVS)', async () => {
      const udpFlows = (): string[] => t.ctl('appctl', 'dpctl/dump-flows').split('\n').filter((l) => /udp\(src=(4001|4002)/.test(l));
      const send = (...sports: number[]): void => {
        const frames = sports.map((sp) => frame({ src: a.mac, dst: b.mac, ipSrc: a.ip, ipDst: b.ip, proto: 'udp', sport: sp, dport: 9, payload: 18 }).toString('hex'));
        const inject = path.join(packageRoot(), 'dist', 'test', 'support', 'inject.js');
        assert.equal(t.exec(a, [process.execPath, inject, a.dev, ...frames]).status, 0);
      };
      assert.equal(t.ctl('appctl', 'upcall/disable-megaflows'), 'megaflows disabled\n');
      assert.match(t.ctl('appctl', 'upcall/show'), /megaflows {5}: disabled/);
      // Switching flushes the datapath flows (a straggler packet may have installed an exact one since).
      assert.doesNotMatch(t.ctl('appctl', 'dpctl/dump-flows'), /ipv4\(frag=no\)/, 'the wildcarded megaflows were flushed');
      const before = dpStats(t.ctl('appctl', 'dpctl/show'));
      send(4001, 4002);
      await sleep(300);
      const flows = udpFlows();
      assert.equal(flows.length, 2, `two exact flows:\n${t.ctl('appctl', 'dpctl/dump-flows')}`);
      for (const [i, l] of flows.sort().entries()) {
        // No "/mask" anywhere: every field of the packet is matched exactly, L4 included.
        assert.match(l, new RegExp(`^in_port\\(1\\),eth\\(src=${a.mac},dst=${b.mac}\\),eth_type\\(0x0800\\),ipv4\\(src=${a.ip},dst=${b.ip},proto=17,tos=0,ttl=64,frag=no\\),udp\\(src=${4001 + i},dst=9\\), packets:`));
      }
      assert.ok(dpStats(t.ctl('appctl', 'dpctl/show')).missed - before.missed >= 2, 'each 5-tuple was an upcall');
      assert.equal(t.ctl('appctl', 'upcall/enable-megaflows'), 'megaflows enabled\n');
      assert.equal(udpFlows().length, 0, 'flushed');
      send(4001, 4002);
      await sleep(300);
      assert.equal(udpFlows().length, 0, 'L4 wildcarded again under NORMAL');
      assert.equal(t.exec(a, ['ping', '-c', '1', '-W', '3', b.ip]).status, 0);
    });

    it('malformed frames (truncated IPv4/IPv6/TCP, bad IHL, runts) neither crash nor wedge the switch', () => {
      const before = dpStats(t.ctl('appctl', 'dpctl/show'));
      const good = frame({ src: a.mac, dst: b.mac, ipSrc: a.ip, ipDst: b.ip, proto: 'tcp', payload: 20 });
      const v6 = frame({ src: a.mac, dst: b.mac, l3: 'ipv6', proto: 'udp', payload: 8 });
      const badIhl = Buffer.from(good); badIhl[14] = 0x42;
      const badVer = Buffer.from(good); badVer[14] = 0x65;
      const frames = [
        good.subarray(0, 14 + 10),          // truncated IPv4 header
        badIhl, badVer,
        good.subarray(0, 14 + 20 + 8),      // truncated TCP header
        v6.subarray(0, 14 + 20),            // truncated IPv6 header
        v6.subarray(0, 14 + 40 + 3),        // truncated UDP header
        good.subarray(0, 14),               // Ethernet header only (the kernel refuses shorter frames)
        good.subarray(0, 20),               // runt
        frame({ src: a.mac, dst: b.mac, vlan: { vid: 5 } }).subarray(0, 16),   // truncated VLAN tag
        frame({ src: a.mac, dst: b.mac, l3: 'arp' }).subarray(0, 14 + 12),     // truncated ARP
      ].map((f) => f.toString('hex'));
      const inject = path.join(packageRoot(), 'dist', 'test', 'support', 'inject.js');
      const r = t.exec(a, [process.execPath, inject, a.dev, ...frames, ...frames]);
      assert.equal(r.status, 0, r.err);
      assert.ok(t.daemonAlive(), 'daemon still running');
      const after = dpStats(t.ctl('appctl', 'dpctl/show'));
      assert.ok(after.truncated > before.truncated, `truncated headers counted (${before.truncated} -> ${after.truncated})`);
      const p = t.exec(a, ['ping', '-c', '2', '-W', '3', b.ip]);
      assert.equal(p.status, 0, 'still forwarding');
      assert.match(t.ctl('appctl', 'version'), /xdp-vswitchd/);
    });

    it('bad CLI input gets a clear error and changes nothing', () => {
      let r = t.ctlTry('vsctl', 'add-port', 'br0', `${t.prefix}nope`);
      assert.notEqual(r.status, 0);
      assert.match(r.err, /no such network device/);
      r = t.ctlTry('vsctl', 'add-port', 'nobr', a.port);
      assert.match(r.err, /no bridge named nobr/);
      r = t.ctlTry('vsctl', 'add-port', 'br0', a.port);
      assert.match(r.err, /already exists/);
      r = t.ctlTry('appctl', 'no/such-command');
      assert.match(r.err, /not a valid command/);
      assert.equal(t.ctl('vsctl', 'list-ports', 'br0').trim().split('\n').length, 3);
    });

    it('del-port detaches the hook and removes the port', async () => {
      t.ctl('vsctl', 'del-port', 'br0', c.port);
      assert.doesNotMatch(t.ctl('vsctl', 'list-ports', 'br0'), new RegExp(c.port));
      const l = sh('ip', ['-d', 'link', 'show', c.port]);
      assert.doesNotMatch(l, /prog\/xdp/);
      if (hook === 'tc') assert.doesNotMatch(sh('tc', ['filter', 'show', 'dev', c.port, 'ingress']), /xvs_tc/);
      else assert.match(offloads(t, c), /tx-checksumming: on/, 'peer TX checksum offload restored');
      await sleep(10);
      assert.equal(t.exec(a, ['ping', '-c', '1', '-W', '3', b.ip]).status, 0);
    });

    it('configuration survives a daemon restart', async () => {
      await t.stopDaemon();
      await t.startDaemon();
      assert.equal(t.ctl('vsctl', 'list-ports', 'br0').trim().split('\n').length, 2);
      const r = t.exec(a, ['ping', '-c', '1', '-W', '3', b.ip]);
      assert.equal(r.status, 0, r.out);
    });
  });
}

describeSwitch('tc');
describeSwitch('xdp');
