/*
 * rtnetlink wire format: the few constants, attribute encoders and the link
 * message parser the switch needs. Pure functions (no sockets) so they can be
 * unit-tested without root. Numbers are from linux/if_link.h, rtnetlink.h,
 * netlink.h, veth.h, net_namespace.h (checked against the installed uapi
 * headers and the 6.18 rtnetlink.c); they are kernel ABI and never change.
 * We decode attributes ourselves instead of using the
 * `netlink` package's typed parsers: its types are not stable across versions
 * and a parser that throws on one odd attribute would lose the whole link.
 */
import * as os from 'os';
import * as util from 'util';

// Message types and flags.
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const RTNLGRP_LINK = 1;
export const RTM_NEWNSID = 88;
export const RTM_GETNSID = 90;
export const NETNSA_NSID = 1;
export const NETNSA_FD = 3;

// IFLA_* link attributes.
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_STATS64 = 23;
export const IFLA_NET_NS_FD = 28;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_XDP = 43;
export const IFLA_TARGET_NETNSID = 46;

export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;

export const IFLA_XDP_FD = 1;
export const IFLA_XDP_ATTACHED = 2;
export const IFLA_XDP_FLAGS = 3;
export const IFLA_XDP_PROG_ID = 4;
export const IFLA_XDP_DRV_PROG_ID = 5;
export const IFLA_XDP_SKB_PROG_ID = 6;
export const IFLA_XDP_HW_PROG_ID = 7;
export const IFLA_XDP_EXPECTED_FD = 8;

export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_FLAGS_REPLACE = 1 << 4;
// IFLA_XDP_ATTACHED values.
const XDP_ATTACHED_DRV = 1, XDP_ATTACHED_SKB = 2, XDP_ATTACHED_HW = 3, XDP_ATTACHED_MULTI = 4;

export const IFF_UP = 1 << 0;
export const IFF_RUNNING = 1 << 6;

const IFINFOMSG_LEN = 16;
const IFNAMSIZ = 16;

export type XdpMode = 'native' | 'generic' | 'offload';

export interface LinkStats {
  rxPackets: bigint; txPackets: bigint; rxBytes: bigint; txBytes: bigint;
  rxDropped: bigint; txDropped: bigint; rxErrors: bigint; txErrors: bigint;
}

export interface LinkInfo {
  index: number;
  name: string;
  mtu: number;
  /** aa:bb:cc:dd:ee:ff; '' for devices without a link-layer address. */
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** IFF_RUNNING: operstate UP, or UNKNOWN for drivers that don't report it (lo). */
  operUp: boolean;
  /** IFLA_INFO_KIND ('veth', 'bridge', ...); undefined for physical devices. */
  kind?: string;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's netns). */
  peerIndex?: number;
  /** IFLA_LINK_NETNSID: the peer's netns as seen from the querying netns; absent = same netns. */
  peerNetnsId?: number;
  /** Attached XDP program; with programs in several modes, native wins over generic over offload. */
  xdpProgId?: number;
  xdpMode?: XdpMode;
  stats?: LinkStats;
}

// ---------------------------------------------------------------- errors --

// glibc strerror() wording for the errnos rtnetlink commonly returns; Node
// only has libuv's lower-case descriptions (used as a fallback).
const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted', ENOENT: 'No such file or directory',
  EBADF: 'Bad file descriptor', ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied', EBUSY: 'Device or resource busy',
  EEXIST: 'File exists', ENODEV: 'No such device', EINVAL: 'Invalid argument',
  ENOSPC: 'No space left on device', ERANGE: 'Numerical result out of range',
  E2BIG: 'Argument list too long', EOPNOTSUPP: 'Operation not supported',
  ENOBUFS: 'No buffer space available', ETIMEDOUT: 'Connection timed out',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EMSGSIZE: 'Message too long', ENOTCONN: 'Transport endpoint is not connected',
};

/** Linux errno → symbolic name. libuv calls 95 ENOTSUP; rtnetlink users know it as EOPNOTSUPP. */
export function errnoName(errno: number): string {
  if (errno === 95) return 'EOPNOTSUPP';
  try { return util.getSystemErrorName(-errno); } catch { return `errno ${errno}`; }
}

function describeErrno(errno: number): string {
  const name = errnoName(errno);
  if (STRERROR[name]) return STRERROR[name];
  const d = util.getSystemErrorMap().get(-errno)?.[1];
  return d ? d[0].toUpperCase() + d.slice(1) : 'Unknown error';
}

/** Every failure of this module: `errno` is a positive Linux errno, `op` e.g. 'setXdp(veth0)'. */
export class NetlinkError extends Error {
  readonly errno: number;
  readonly op: string;
  readonly code: string;
  constructor(op: string, errno: number, detail?: string) {
    super(`${op}: ${detail ?? describeErrno(errno)} (${errnoName(errno)})`);
    this.name = 'NetlinkError';
    this.op = op;
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

export const ENODEV = os.constants.errno.ENODEV;
export const EINVAL = os.constants.errno.EINVAL;

// -------------------------------------------------------------- encoding --

const NLA_ALIGN = (n: number) => (n + 3) & ~3;

/*
 * Buffer.concat/copy are avoided on purpose: with @types/node 20.9 and
 * TypeScript 5.9, Buffer is not assignable to Uint8Array, so those calls fail
 * to type-check. Uint8Array.set takes any ArrayLike<number>.
 */
export function concat(parts: Buffer[]): Buffer {
  const out = Buffer.alloc(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** A plain Uint8Array view, as the `netlink` package's send() is typed to take. */
export const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** One netlink attribute, padded to 4 bytes so attributes can be concatenated. */
export function nla(type: number, payload: Buffer | Buffer[]): Buffer {
  const body = Array.isArray(payload) ? concat(payload) : payload;
  const out = Buffer.alloc(NLA_ALIGN(4 + body.length));
  out.writeUInt16LE(4 + body.length, 0); // nla_len excludes the trailing pad
  out.writeUInt16LE(type, 2);            // no NLA_F_NESTED, like iproute2 (kernel accepts both)
  out.set(body, 4);
  return out;
}
export const nlaU32 = (type: number, v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return nla(type, b); };
export const nlaS32 = (type: number, v: number) => { const b = Buffer.alloc(4); b.writeInt32LE(v); return nla(type, b); };
export const nlaStr = (type: number, s: string) => nla(type, Buffer.from(s + '\0'));

/** struct ifinfomsg (family AF_UNSPEC). */
export function ifinfomsg(index = 0, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

/**
 * Identify a link either by ifindex (in ifinfomsg) or by name (IFLA_IFNAME).
 * Validates here so bad input fails with EINVAL before reaching the kernel.
 */
export function linkSelector(op: string, nameOrIndex: string | number): { index: number; attrs: Buffer[] } {
  if (typeof nameOrIndex === 'number') {
    if (!Number.isInteger(nameOrIndex) || nameOrIndex <= 0 || nameOrIndex > 0x7fffffff)
      throw new NetlinkError(op, EINVAL, `invalid ifindex ${String(nameOrIndex)}`);
    return { index: nameOrIndex, attrs: [] };
  }
  checkIfName(op, nameOrIndex);
  return { index: 0, attrs: [nlaStr(IFLA_IFNAME, nameOrIndex)] };
}

export function checkIfName(op: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) >= IFNAMSIZ ||
      /[\s/:\0]/.test(name) || name === '.' || name === '..')
    throw new NetlinkError(op, EINVAL, `invalid interface name ${JSON.stringify(name)}`);
}

export function checkNsid(op: string, nsid: number | undefined): void {
  if (nsid !== undefined && (!Number.isInteger(nsid) || nsid < 0 || nsid > 0x7fffffff))
    throw new NetlinkError(op, EINVAL, `invalid netns id ${String(nsid)}`);
}

/**
 * IFLA_TARGET_NETNSID: makes RTM_GETLINK and RTM_DELLINK act on a device in
 * another netns. Never put it in RTM_SETLINK: there the device is looked up in
 * our own netns and the attribute means "move it into that netns" (6.18).
 */
export const targetNs = (nsid: number | undefined): Buffer[] =>
  nsid === undefined ? [] : [nlaS32(IFLA_TARGET_NETNSID, nsid)];

/**
 * IFLA_XDP for attach (fd >= 0) or detach (fd = -1) in one mode. expectedFd
 * makes the kernel replace only if that program is still the attached one
 * (XDP_FLAGS_REPLACE), so two writers can't silently clobber each other.
 */
export function xdpAttr(fd: number, mode: 'native' | 'generic', expectedFd?: number): Buffer {
  let flags = mode === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  const parts = [nlaS32(IFLA_XDP_FD, fd)];
  if (expectedFd !== undefined) {
    flags |= XDP_FLAGS_REPLACE;
    parts.push(nlaS32(IFLA_XDP_EXPECTED_FD, expectedFd));
  }
  parts.push(nlaU32(IFLA_XDP_FLAGS, flags));
  return nla(IFLA_XDP, parts);
}

/**
 * IFLA_LINKINFO for a veth pair. The `netlink` package has no encoder for
 * VETH_INFO_PEER, whose payload is a whole ifinfomsg followed by the peer's
 * own IFLA_* attributes (name, and the netns to create it in).
 */
export function vethLinkInfo(peer: string, peerNs?: { fd?: number; pid?: number }): Buffer {
  const peerAttrs = [ifinfomsg(), nlaStr(IFLA_IFNAME, peer)];
  if (peerNs?.fd !== undefined) peerAttrs.push(nlaU32(IFLA_NET_NS_FD, peerNs.fd));
  else if (peerNs?.pid !== undefined) peerAttrs.push(nlaU32(IFLA_NET_NS_PID, peerNs.pid));
  return nla(IFLA_LINKINFO, [
    nlaStr(IFLA_INFO_KIND, 'veth'),
    nla(IFLA_INFO_DATA, nla(VETH_INFO_PEER, peerAttrs)),
  ]);
}

// -------------------------------------------------------------- decoding --

/** Split an attribute stream into type → payload (last one wins; flags stripped). */
export function parseAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break; // malformed tail: keep what we have
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += NLA_ALIGN(len);
  }
  return out;
}

const u32 = (b: Buffer | undefined) => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);
const s32 = (b: Buffer | undefined) => (b && b.length >= 4 ? b.readInt32LE(0) : undefined);
const cstr = (b: Buffer) => { const z = b.indexOf(0); return b.toString('utf8', 0, z < 0 ? b.length : z); };

/** Decode the payload (ifinfomsg + attributes) of an RTM_NEWLINK/RTM_DELLINK message. */
export function parseLink(data: Buffer): LinkInfo {
  if (data.length < IFINFOMSG_LEN) throw new Error(`short ifinfomsg (${data.length} bytes)`);
  const index = data.readInt32LE(4);
  const flags = data.readUInt32LE(8);
  const a = parseAttrs(data.subarray(IFINFOMSG_LEN));
  const addr = a.get(IFLA_ADDRESS);
  const link: LinkInfo = {
    index,
    name: a.has(IFLA_IFNAME) ? cstr(a.get(IFLA_IFNAME)!) : '',
    mtu: u32(a.get(IFLA_MTU)) ?? 0,
    mac: addr ? [...addr].map((x) => x.toString(16).padStart(2, '0')).join(':') : '',
    up: (flags & IFF_UP) !== 0,
    operUp: (flags & IFF_RUNNING) !== 0,
  };
  const li = a.get(IFLA_LINKINFO);
  if (li) {
    const kind = parseAttrs(li).get(IFLA_INFO_KIND);
    if (kind) link.kind = cstr(kind);
  }
  // The kernel omits IFLA_LINK when it equals the device's own ifindex. A veth
  // always has one (0 once the peer is gone), so a veth without it has a peer
  // with the same ifindex in another netns.
  const peer = s32(a.get(IFLA_LINK));
  if (peer !== undefined) { if (peer > 0) link.peerIndex = peer; }
  else if (link.kind === 'veth') link.peerIndex = index;
  const nsid = s32(a.get(IFLA_LINK_NETNSID));
  if (nsid !== undefined && nsid >= 0) link.peerNetnsId = nsid; // -1 = NETNSA_NSID_NOT_ASSIGNED
  const xdp = a.get(IFLA_XDP);
  if (xdp) Object.assign(link, parseXdp(parseAttrs(xdp)));
  const st = a.get(IFLA_STATS64);
  if (st && st.length >= 64) {
    // struct rtnl_link_stats64: rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped, ...
    const q = (i: number) => st.readBigUInt64LE(i * 8);
    link.stats = {
      rxPackets: q(0), txPackets: q(1), rxBytes: q(2), txBytes: q(3),
      rxErrors: q(4), txErrors: q(5), rxDropped: q(6), txDropped: q(7),
    };
  }
  return link;
}

function parseXdp(x: Map<number, Buffer>): { xdpProgId?: number; xdpMode?: XdpMode } {
  const attached = x.get(IFLA_XDP_ATTACHED)?.[0] ?? 0;
  const single: Record<number, XdpMode> = { [XDP_ATTACHED_DRV]: 'native', [XDP_ATTACHED_SKB]: 'generic', [XDP_ATTACHED_HW]: 'offload' };
  if (single[attached]) {
    const id = u32(x.get(IFLA_XDP_PROG_ID));
    return id ? { xdpProgId: id, xdpMode: single[attached] } : {};
  }
  if (attached === XDP_ATTACHED_MULTI) {
    const modes: [number, XdpMode][] = [[IFLA_XDP_DRV_PROG_ID, 'native'], [IFLA_XDP_SKB_PROG_ID, 'generic'], [IFLA_XDP_HW_PROG_ID, 'offload']];
    for (const [attr, mode] of modes) {
      const id = u32(x.get(attr));
      if (id) return { xdpProgId: id, xdpMode: mode };
    }
  }
  return {};
}

/** RTM_GETNSID request: which nsid does the netns behind `fd` have, as seen from ours? */
export function getNsidRequest(netnsFd: number): Buffer[] {
  return [Buffer.alloc(4) /* struct rtgenmsg, padded */, nlaU32(NETNSA_FD, netnsFd)];
}

/** NETNSA_NSID of an RTM_NEWNSID reply; -1 (NETNSA_NSID_NOT_ASSIGNED) if none. */
export function parseNsidReply(data: Buffer): number {
  return s32(parseAttrs(data.subarray(4)).get(NETNSA_NSID)) ?? -1;
}
