/* src/netlink/codec: request encoding and link parsing, no kernel needed. */
import { strict as assert } from 'assert';
import {
  concat, nla, nlaU32, nlaStr, ifinfomsg, xdpAttr, vethLinkInfo, parseAttrs, parseLink, linkSelector,
  NetlinkError, errnoName, getNsidRequest, parseNsidReply,
  IFLA_IFNAME, IFLA_MTU, IFLA_ADDRESS, IFLA_LINK, IFLA_LINKINFO, IFLA_INFO_KIND, IFLA_INFO_DATA,
  VETH_INFO_PEER, IFLA_LINK_NETNSID, IFLA_XDP, IFLA_XDP_ATTACHED, IFLA_XDP_PROG_ID, IFLA_XDP_FD,
  IFLA_XDP_FLAGS, IFLA_XDP_EXPECTED_FD, IFLA_XDP_DRV_PROG_ID, IFLA_XDP_HW_PROG_ID, IFLA_STATS64,
  IFLA_NET_NS_FD, NETNSA_FD, NETNSA_NSID, IFF_UP, IFF_RUNNING,
  XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_REPLACE,
} from '../../src/netlink/codec';
import { kernelVersion, ifNameToIndex } from '../../src/netlink';

const u8 = (type: number, v: number) => nla(type, Buffer.from([v]));
const s32 = (type: number, v: number) => { const b = Buffer.alloc(4); b.writeInt32LE(v); return nla(type, b); };

/** RTM_NEWLINK payload: ifinfomsg + attributes. */
function linkMsg(index: number, flags: number, attrs: Buffer[]): Buffer {
  return concat([ifinfomsg(index, flags), ...attrs]);
}

describe('netlink codec', () => {
  it('pads attributes to 4 bytes but keeps nla_len exact', () => {
    const a = nlaStr(IFLA_IFNAME, 'eth0'); // 4 header + 5 payload
    assert.equal(a.length, 12);
    assert.equal(a.readUInt16LE(0), 9);
    assert.equal(a.readUInt16LE(2), IFLA_IFNAME);
    assert.equal(a.toString('latin1', 4, 9), 'eth0\0');
    assert.deepEqual([...nlaU32(IFLA_MTU, 1500)], [8, 0, 4, 0, 0xdc, 0x05, 0, 0]);
  });

  it('encodes ifinfomsg (family, index, flags, change)', () => {
    const m = ifinfomsg(7, IFF_UP, IFF_UP);
    assert.equal(m.length, 16);
    assert.equal(m[0], 0); // AF_UNSPEC
    assert.equal(m.readInt32LE(4), 7);
    assert.equal(m.readUInt32LE(8), 1);
    assert.equal(m.readUInt32LE(12), 1);
  });

  it('encodes IFLA_XDP for attach, detach and replace', () => {
    const attach = parseAttrs(parseAttrs(xdpAttr(5, 'native')).get(IFLA_XDP)!);
    assert.equal(attach.get(IFLA_XDP_FD)!.readInt32LE(0), 5);
    assert.equal(attach.get(IFLA_XDP_FLAGS)!.readUInt32LE(0), XDP_FLAGS_DRV_MODE);
    assert.equal(attach.has(IFLA_XDP_EXPECTED_FD), false);

    const detach = parseAttrs(parseAttrs(xdpAttr(-1, 'generic')).get(IFLA_XDP)!);
    assert.equal(detach.get(IFLA_XDP_FD)!.readInt32LE(0), -1);
    assert.equal(detach.get(IFLA_XDP_FLAGS)!.readUInt32LE(0), XDP_FLAGS_SKB_MODE);

    const replace = parseAttrs(parseAttrs(xdpAttr(6, 'native', 5)).get(IFLA_XDP)!);
    assert.equal(replace.get(IFLA_XDP_EXPECTED_FD)!.readInt32LE(0), 5);
    assert.equal(replace.get(IFLA_XDP_FLAGS)!.readUInt32LE(0), XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE);
  });

  it('encodes veth IFLA_LINKINFO with the peer ifinfomsg, name and netns fd', () => {
    const li = parseAttrs(parseAttrs(vethLinkInfo('vb', { fd: 9 })).get(IFLA_LINKINFO)!);
    assert.equal(li.get(IFLA_INFO_KIND)!.toString(), 'veth\0');
    const peer = parseAttrs(li.get(IFLA_INFO_DATA)!).get(VETH_INFO_PEER)!;
    assert.deepEqual([...peer.subarray(0, 16)], new Array(16).fill(0)); // struct ifinfomsg first
    const peerAttrs = parseAttrs(peer.subarray(16));
    assert.equal(peerAttrs.get(IFLA_IFNAME)!.toString(), 'vb\0');
    assert.equal(peerAttrs.get(IFLA_NET_NS_FD)!.readUInt32LE(0), 9);
  });

  it('parses a veth link message', () => {
    const stats = Buffer.alloc(200);
    [10n, 20n, 1000n, 2000n, 1n, 2n, 3n, 4n].forEach((v, i) => stats.writeBigUInt64LE(v, i * 8));
    const l = parseLink(linkMsg(12, IFF_UP | IFF_RUNNING, [
      nlaStr(IFLA_IFNAME, 'veth0'),
      nlaU32(IFLA_MTU, 9000),
      nla(IFLA_ADDRESS, Buffer.from([0x02, 0xaa, 0, 1, 0x0b, 0xff])),
      nlaU32(IFLA_LINK, 3),
      s32(IFLA_LINK_NETNSID, 4),
      nla(IFLA_LINKINFO, [nlaStr(IFLA_INFO_KIND, 'veth'), nla(IFLA_INFO_DATA, Buffer.alloc(0))]),
      nla(IFLA_XDP, [u8(IFLA_XDP_ATTACHED, 1), nlaU32(IFLA_XDP_PROG_ID, 77)]),
      nla(IFLA_STATS64, stats),
      nlaU32(999, 1), // unknown attribute: ignored
    ]));
    assert.deepEqual(l, {
      index: 12, name: 'veth0', mtu: 9000, mac: '02:aa:00:01:0b:ff', up: true, operUp: true,
      kind: 'veth', peerIndex: 3, peerNetnsId: 4, xdpProgId: 77, xdpMode: 'native',
      stats: { rxPackets: 10n, txPackets: 20n, rxBytes: 1000n, txBytes: 2000n, rxErrors: 1n, txErrors: 2n, rxDropped: 3n, txDropped: 4n },
    });
  });

  it('parses a bare device: no kind, no peer, no XDP', () => {
    const l = parseLink(linkMsg(1, IFF_UP, [
      nlaStr(IFLA_IFNAME, 'lo'), nlaU32(IFLA_MTU, 65536),
      nla(IFLA_XDP, [u8(IFLA_XDP_ATTACHED, 0)]),
      s32(IFLA_LINK_NETNSID, -1),
    ]));
    assert.deepEqual(l, { index: 1, name: 'lo', mtu: 65536, mac: '', up: true, operUp: false });
  });

  it('a veth without IFLA_LINK has a peer with its own ifindex', () => {
    const l = parseLink(linkMsg(40, 0, [nlaStr(IFLA_IFNAME, 'v'), s32(IFLA_LINK_NETNSID, 0),
      nla(IFLA_LINKINFO, nlaStr(IFLA_INFO_KIND, 'veth'))]));
    assert.equal(l.peerIndex, 40);
    assert.equal(l.peerNetnsId, 0);
  });

  it('reports the native program when several modes are attached', () => {
    const l = parseLink(linkMsg(5, 0, [nla(IFLA_XDP, [
      u8(IFLA_XDP_ATTACHED, 4 /* MULTI */), nlaU32(IFLA_XDP_HW_PROG_ID, 8), nlaU32(IFLA_XDP_DRV_PROG_ID, 9),
    ])]));
    assert.equal(l.xdpProgId, 9);
    assert.equal(l.xdpMode, 'native');
  });

  it('tolerates a truncated attribute stream', () => {
    const good = nlaStr(IFLA_IFNAME, 'x');
    const m = parseAttrs(concat([good, Buffer.from([200, 0, 3, 0, 1])]));
    assert.equal(m.get(IFLA_IFNAME)!.toString(), 'x\0');
    assert.throws(() => parseLink(Buffer.alloc(8)), /short ifinfomsg/);
  });

  it('encodes RTM_GETNSID and parses its reply', () => {
    const req = concat(getNsidRequest(11));
    assert.equal(req.length, 12);
    assert.equal(parseAttrs(req.subarray(4)).get(NETNSA_FD)!.readUInt32LE(0), 11);
    assert.equal(parseNsidReply(concat([Buffer.alloc(4), s32(NETNSA_NSID, 3)])), 3);
    assert.equal(parseNsidReply(Buffer.alloc(4)), -1);
  });

  it('validates link selectors', () => {
    assert.deepEqual(linkSelector('op', 3), { index: 3, attrs: [] });
    assert.equal(linkSelector('op', 'eth0').index, 0);
    for (const bad of [0, -1, 1.5, NaN, 2 ** 31, '', 'a/b', 'a b', '.', '..', '0123456789abcdef'] as (string | number)[])
      assert.throws(() => linkSelector('op', bad), (e: unknown) => e instanceof NetlinkError && e.errno === 22);
  });

  it('formats NetlinkError like strerror with the errno name', () => {
    const e = new NetlinkError('setXdp(veth0)', 95);
    assert.equal(e.message, 'setXdp(veth0): Operation not supported (EOPNOTSUPP)');
    assert.equal(e.errno, 95);
    assert.equal(e.op, 'setXdp(veth0)');
    assert.equal(e.code, 'EOPNOTSUPP');
    assert.ok(e instanceof Error);
    assert.equal(new NetlinkError('getLink(x)', 19).message, 'getLink(x): No such device (ENODEV)');
    assert.equal(new NetlinkError('x', 22, 'bad name').message, 'x: bad name (EINVAL)');
    assert.equal(errnoName(17), 'EEXIST');
    assert.match(new NetlinkError('x', 71).message, /^x: \S.* \(EPROTO\)$/); // not in our table: libuv text
  });

  it('kernelVersion and ifNameToIndex', () => {
    const v = kernelVersion();
    assert.ok(v.major > 0 && v.release.startsWith(`${v.major}.${v.minor}`));
    assert.equal(ifNameToIndex('lo'), 1);
    assert.equal(ifNameToIndex('no-such-dev0'), undefined);
    assert.equal(ifNameToIndex('../../etc'), undefined);
  });
});
