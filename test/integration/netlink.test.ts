/*
 * src/netlink against the running kernel. Needs root and iproute2 and FAILS
 * (never skips) without them: CI runs as root. Everything it creates is named xnl<6 hex>* and removed in after(),
 * also when a test fails.
 *
 * XDP program: a 2-instruction XDP_PASS loaded with libbpf's bpf_prog_load via
 * koffi, so the test needs no clang, no bpffs and nothing from src/bpf.
 */
import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import koffi from 'koffi';
import { RtNetlink, NetlinkError, ifNameToIndex, kernelVersion } from '../../src/netlink';

const P = `xnl${crypto.randomBytes(3).toString('hex')}`;
const NS1 = `${P}n1`; // holds the far ends of the veth pairs
const NS2 = `${P}n2`; // NS2 <-> NS3: a pair to ping across
const NS3 = `${P}n3`;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function ipQuiet(...args: string[]): void {
  try { ip(...args); } catch { /* cleanup of something that may not exist */ }
}
/** `ip -j -d link show` of one device, optionally inside a named netns. */
function ipLink(name: string, ns?: string): { ifindex: number; xdp?: { mode: number; prog?: { id: number } } } {
  const nsArgs = ns ? ['-n', ns] : [];
  return JSON.parse(ip(...nsArgs, '-j', '-d', 'link', 'show', 'dev', name))[0];
}

/** Load `r0 = XDP_PASS; exit` and return its fd. */
function loadXdpPass(): number {
  const load = koffi.load('libbpf.so.1').func(
    'int bpf_prog_load(int type, const char *name, const char *license, const uint8_t *insns, size_t cnt, void *opts)');
  const insns = Buffer.from([0xb7, 0, 0, 0, 2, 0, 0, 0, /* mov r0, 2 */ 0x95, 0, 0, 0, 0, 0, 0, 0 /* exit */]);
  const fd = load(6 /* BPF_PROG_TYPE_XDP */, 'xnl_pass', 'GPL', insns, 2, null) as number;
  if (fd < 0) throw new Error(`bpf_prog_load: ${fd}`);
  return fd;
}

async function rejectsWith(p: Promise<unknown>, code: string, opRe?: RegExp): Promise<NetlinkError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof NetlinkError, `expected NetlinkError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (opRe) assert.match(e.message, opRe);
    return e;
  }
  assert.fail(`expected rejection with ${code}`);
}


describe('netlink (root, real kernel)', function () {
  this.timeout(30_000);
  let nl: RtNetlink;
  const progFds: number[] = [];

  before(async function () {
    assert.strictEqual(process.getuid?.(), 0, 'the netlink integration tests must run as root');
    ip('-V');
    for (const ns of [NS1, NS2, NS3]) ip('netns', 'add', ns);
    nl = await RtNetlink.open();
  });

  after(() => {
    nl?.close();
    for (const dev of ['a', 'i', 'e', 'g', 's', 'v']) ipQuiet('link', 'del', `${P}${dev}`);
    for (const ns of [NS1, NS2, NS3]) ipQuiet('netns', 'del', ns); // takes the remaining far ends with it
    for (const fd of progFds) fs.closeSync(fd);
  });

  it('reports kind, peer ifindex and peer nsid of a veth whose peer is in another netns', async () => {
    ip('link', 'add', `${P}a`, 'type', 'veth', 'peer', 'name', `${P}b`, 'netns', NS1);
    const a = await nl.getLink(`${P}a`);
    assert.ok(a);
    assert.equal(a.kind, 'veth');
    assert.equal(a.index, ifNameToIndex(`${P}a`));
    assert.equal(a.peerIndex, ipLink(`${P}b`, NS1).ifindex);
    const ids = JSON.parse(ip('-j', 'netns', 'list-id')) as { nsid: number; name?: string }[];
    assert.equal(a.peerNetnsId, ids.find((x) => x.name === NS1)?.nsid);

    // The same device, looked up from here inside the other netns.
    const b = await nl.getLink(a.peerIndex!, { netnsId: a.peerNetnsId });
    assert.ok(b);
    assert.equal(b.name, `${P}b`);
    assert.equal(b.kind, 'veth');
    assert.equal(b.peerIndex, a.index);
    assert.ok(b.peerNetnsId !== undefined, 'peer (us) is in another netns as seen from NS1');
    assert.deepEqual((await nl.getLink(`${P}b`, { netnsId: a.peerNetnsId }))?.index, b.index);
    const inNs = await nl.listLinks({ netnsId: a.peerNetnsId });
    assert.deepEqual(inNs.map((l) => l.name).sort(), ['lo', `${P}b`]);
  });

  it('infers the peer ifindex when it equals our own (kernel omits IFLA_LINK then)', async () => {
    let k = 0;
    for (let tries = 0; tries < 20 && !k; tries++) {
      const cand = 40_000 + crypto.randomInt(20_000);
      try {
        ip('link', 'add', `${P}i`, 'index', String(cand), 'type', 'veth', 'peer', 'name', `${P}j`, 'index', String(cand), 'netns', NS1);
        k = cand;
      } catch { /* index taken: retry */ }
    }
    assert.ok(k, 'could not find a free ifindex');
    const i = await nl.getLink(`${P}i`);
    assert.equal(i?.index, k);
    assert.equal(i?.peerIndex, k);
    assert.ok(i?.peerNetnsId !== undefined);
  });

  it('attaches XDP to a device in another netns (by nsid) without touching our device with the same ifindex', async () => {
    const fd = loadXdpPass();
    progFds.push(fd);
    const i = (await nl.getLink(`${P}i`))!; // i (here) and j (NS1) share one ifindex
    await nl.setXdp(i.peerIndex!, fd, 'native', { netnsId: i.peerNetnsId });

    const j = ipLink(`${P}j`, NS1);
    assert.equal(j.xdp?.mode, 1 /* XDP_ATTACHED_DRV */);
    const seen = await nl.getLink(i.peerIndex!, { netnsId: i.peerNetnsId });
    assert.equal(seen?.name, `${P}j`);
    assert.equal(seen?.xdpMode, 'native');
    assert.equal(seen?.xdpProgId, j.xdp?.prog?.id);
    assert.ok(seen!.xdpProgId! > 0);
    // Our i is still here, without XDP (IFLA_TARGET_NETNSID in RTM_SETLINK would have moved it).
    const iNow = await nl.getLink(`${P}i`);
    assert.equal(iNow?.index, i.index);
    assert.equal(iNow?.xdpProgId, undefined);

    await nl.setUp(i.peerIndex!, true, { netnsId: i.peerNetnsId });
    assert.equal((await nl.getLink(i.peerIndex!, { netnsId: i.peerNetnsId }))?.up, true);

    await nl.setXdp(i.peerIndex!, -1, 'native', { netnsId: i.peerNetnsId });
    assert.equal(ipLink(`${P}j`, NS1).xdp, undefined);
    assert.equal((await nl.getLink(i.peerIndex!, { netnsId: i.peerNetnsId }))?.xdpProgId, undefined);

  });

  it('attaches native and generic XDP in our netns and reports id and mode', async () => {
    const fd = loadXdpPass();
    const other = loadXdpPass();
    progFds.push(fd, other);
    const a = (await nl.getLink(`${P}a`))!;

    await nl.setXdp(a.index, fd, 'native');
    let l = await nl.getLink(a.index);
    assert.equal(l?.xdpMode, 'native');
    assert.equal(l?.xdpProgId, ipLink(`${P}a`).xdp?.prog?.id);
    const nativeId = l!.xdpProgId;

    // Replace only if the expected program is attached.
    await rejectsWith(nl.setXdp(a.index, other, 'native', { expectedFd: other }), 'EEXIST', /^setXdp\(\d+\)/);
    await nl.setXdp(a.index, other, 'native', { expectedFd: fd });
    assert.notEqual((await nl.getLink(a.index))?.xdpProgId, nativeId);

    // The kernel refuses native and generic at the same time.
    await rejectsWith(nl.setXdp(a.index, fd, 'generic'), 'EEXIST');
    await nl.setXdp(a.index, -1, 'native');
    assert.equal((await nl.getLink(a.index))?.xdpProgId, undefined);

    await nl.setXdp(a.index, fd, 'generic');
    l = await nl.getLink(a.index);
    assert.equal(l?.xdpMode, 'generic');
    assert.equal(l?.xdpProgId, nativeId); // same program as before, now in generic mode
    assert.equal(ipLink(`${P}a`).xdp?.mode, 2 /* XDP_ATTACHED_SKB */);

    await nl.setXdp(a.index, -1, 'generic');
    l = await nl.getLink(a.index);
    assert.equal(l?.xdpProgId, undefined);
    assert.equal(l?.xdpMode, undefined);
  });

  it('stats64 counters rise with traffic (socket opened inside a netns by fd)', async () => {
    ip('-n', NS2, 'link', 'add', `${P}p`, 'type', 'veth', 'peer', 'name', `${P}q`, 'netns', NS3);
    ip('-n', NS2, 'addr', 'add', '192.0.2.1/30', 'dev', `${P}p`);
    ip('-n', NS3, 'addr', 'add', '192.0.2.2/30', 'dev', `${P}q`);
    ip('-n', NS2, 'link', 'set', `${P}p`, 'up');
    ip('-n', NS3, 'link', 'set', `${P}q`, 'up');

    const nsFd = fs.openSync(`/run/netns/${NS2}`, 'r');
    let inNs: RtNetlink;
    try {
      inNs = await RtNetlink.open({ netnsFd: nsFd });
    } finally {
      fs.closeSync(nsFd); // open() keeps its own reference
    }
    try {
      const before = (await inNs.getLink(`${P}p`))!;
      assert.ok(before.stats);
      assert.equal(before.up, true);
      execFileSync('ip', ['netns', 'exec', NS2, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.2'], { stdio: 'ignore' });
      const after = (await inNs.getLink(`${P}p`))!;
      assert.ok(after.stats!.txPackets >= before.stats!.txPackets + 3n, `tx ${before.stats!.txPackets} -> ${after.stats!.txPackets}`);
      assert.ok(after.stats!.rxPackets >= before.stats!.rxPackets + 3n, `rx ${before.stats!.rxPackets} -> ${after.stats!.rxPackets}`);
      assert.ok(after.stats!.txBytes > before.stats!.txBytes);
      assert.equal(after.operUp, true);
      assert.ok((await inNs.listLinks()).some((l) => l.name === `${P}p`));
      assert.equal(await inNs.getLink(`${P}a`), undefined, 'our root-netns device is not visible from NS2');
    } finally {
      inNs.close();
    }
    // Opening inside NS2 moved the thread there only briefly: new sockets are ours again.
    const fresh = await RtNetlink.open();
    try {
      assert.equal((await fresh.getLink(`${P}a`))?.name, `${P}a`);
    } finally {
      fresh.close();
    }
  });

  it('createVethPair (peer into a netns by fd), setUp, and onLinkChange new/del events', async () => {
    const events: { type: string; name: string }[] = [];
    const errors: NetlinkError[] = [];
    const unsubscribe = nl.onLinkChange((ev) => events.push({ type: ev.type, name: ev.link.name }), (e) => errors.push(e));
    const thrown: NetlinkError[] = [];
    const unsubscribeThrower = nl.onLinkChange(() => { throw new Error('boom'); }, (e) => thrown.push(e));
    try {
      await nl.createVethPair(`${P}e`, `${P}f`);
      const e = (await nl.getLink(`${P}e`))!;
      assert.equal(e.kind, 'veth');
      assert.equal(e.peerNetnsId, undefined, 'peer in the same netns');
      assert.equal(e.peerIndex, ifNameToIndex(`${P}f`));
      await nl.setUp(e.index, true);
      assert.equal((await nl.getLink(e.index))?.up, true);
      await nl.setUp(e.index, false);
      assert.equal((await nl.getLink(e.index))?.up, false);
      await nl.deleteLink(`${P}e`);
      assert.equal(await nl.getLink(`${P}f`), undefined, 'deleting one end deletes the pair');

      const deadline = Date.now() + 5000;
      while (!events.some((x) => x.type === 'del' && x.name === `${P}e`) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.ok(events.some((x) => x.type === 'new' && x.name === `${P}e`), JSON.stringify(events));
      assert.ok(events.some((x) => x.type === 'del' && x.name === `${P}e`), JSON.stringify(events));
      assert.deepEqual(errors, []);
      assert.ok(thrown.length > 0 && thrown.every((e) => /boom/.test(e.message)), 'a throwing callback is reported, not fatal');
    } finally {
      unsubscribe();
      unsubscribeThrower();
    }

    const nsFd = fs.openSync(`/run/netns/${NS1}`, 'r');
    try {
      await nl.createVethPair(`${P}g`, `${P}h`, { bNetnsFd: nsFd });
    } finally {
      fs.closeSync(nsFd);
    }
    const g = (await nl.getLink(`${P}g`))!;
    assert.equal(g.peerIndex, ipLink(`${P}h`, NS1).ifindex);
    assert.ok(g.peerNetnsId !== undefined);
    await rejectsWith(nl.createVethPair(`${P}g`, `${P}x`), 'EEXIST');
  });

  it('returns undefined for missing links and rejects bad input with NetlinkError', async () => {
    assert.equal(await nl.getLink('doesnotexist'), undefined);
    assert.equal(await nl.getLink(`${P}zz`), undefined);
    assert.equal(await nl.getLink(0x7ffffff0), undefined);
    assert.equal(ifNameToIndex('doesnotexist'), undefined);
    assert.equal(ifNameToIndex('../lo'), undefined);

    await rejectsWith(nl.getLink(''), 'EINVAL');
    await rejectsWith(nl.getLink('a/b'), 'EINVAL');
    await rejectsWith(nl.getLink('waytoolongname_x'), 'EINVAL');
    await rejectsWith(nl.getLink(-1), 'EINVAL');
    await rejectsWith(nl.getLink(1.5), 'EINVAL');
    await rejectsWith(nl.getLink('lo', { netnsId: 0x7ffff000 }), 'EINVAL'); // no such nsid
    await rejectsWith(nl.setXdp(0x7ffffff0, -1, 'native'), 'ENODEV', /^setXdp\(2147483632\): No such device \(ENODEV\)$/);
    const a = (await nl.getLink(`${P}a`))!;
    await rejectsWith(nl.setXdp(a.index, 1_000_000, 'native'), 'EBADF');
    await rejectsWith(nl.setXdp(a.index, -1, 'bogus' as 'native'), 'EINVAL');
    await rejectsWith(nl.setXdp(a.index, -1, 'native', { netnsId: 0x7ffff000 }), 'ENOENT');
    await rejectsWith(nl.setUp(0x7ffffff0, true), 'ENODEV');
    await rejectsWith(nl.deleteLink(`${P}zz`), 'ENODEV');
    await rejectsWith(nl.createVethPair(`${P}ok`, ''), 'EINVAL');
    const notNs = fs.openSync('/proc/self/status', 'r');
    try {
      await rejectsWith(RtNetlink.open({ netnsFd: notNs }), 'EINVAL', /^setns: /);
    } finally {
      fs.closeSync(notNs);
    }
    await rejectsWith(RtNetlink.open({ netnsFd: 1_000_000 }), 'ENOENT', /^open: /);

    // Concurrent requests on the one socket (a dump + gets) all complete.
    const [links, lo, eth] = await Promise.all([nl.listLinks(), nl.getLink('lo'), nl.getLink(`${P}a`)]);
    assert.ok(links.some((l) => l.name === 'lo' && l.index === 1));
    assert.equal(lo?.index, 1);
    assert.equal(eth?.name, `${P}a`);
  });

  it('rejects after close, and reports the kernel version', async () => {
    const tmp = await RtNetlink.open();
    tmp.close();
    tmp.close(); // idempotent
    await rejectsWith(tmp.getLink('lo'), 'EBADF');
    const v = kernelVersion();
    assert.ok(v.major >= 5, v.release);
  });
});
