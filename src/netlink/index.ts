/*
 * rtnetlink for the switch: query links, bring them up, attach XDP, create
 * veth pairs, watch for link changes. Transport is the `netlink` package's
 * NetlinkSocket (pinned 0.3.0); requests are encoded/decoded in ./codec.
 *
 * Every method returns a Promise that rejects with NetlinkError and never
 * throws synchronously or emits an unhandled 'error': the daemon must survive
 * any kernel answer.
 *
 * Other network namespaces: reads (getLink, listLinks) and deleteLink use
 * IFLA_TARGET_NETNSID. Changes (setUp, setXdp) cannot: in RTM_SETLINK that
 * attribute moves the device instead (see codec.targetNs). For those we find
 * the netns behind the nsid and open a socket inside it (setns, ./netns).
 */
import * as fs from 'fs';
import * as os from 'os';
import { createNetlink, NetlinkSocket, NetlinkMessage, Protocol } from 'netlink';
import {
  LinkInfo, NetlinkError, ENODEV, EINVAL,
  RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK, RTM_NEWNSID, RTM_GETNSID,
  NLMSG_ERROR, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_CREATE, NLM_F_EXCL, RTNLGRP_LINK, IFF_UP,
  concat, u8, ifinfomsg, linkSelector, checkIfName, checkNsid, targetNs, xdpAttr, vethLinkInfo,
  parseLink, getNsidRequest, parseNsidReply,
} from './codec';
import { withNetns, netnsCandidates } from './netns';

export { LinkInfo, LinkStats, NetlinkError, XdpMode, errnoName } from './codec';

export interface LinkEvent { type: 'new' | 'del'; link: LinkInfo }

/** Per-request timeout: rtnetlink answers in microseconds; this only guards against a lost reply. */
const REQUEST_TIMEOUT_MS = 10_000;
const { ETIMEDOUT, EBADF, ENOENT } = os.constants.errno;

function toNetlinkError(op: string, e: unknown): NetlinkError {
  if (e instanceof NetlinkError) return e;
  const errno = (e as { errno?: unknown })?.errno;
  if (typeof errno === 'number') return new NetlinkError(op, Math.abs(errno));
  const msg = e instanceof Error ? e.message : String(e);
  if (/timeout/i.test(msg)) return new NetlinkError(op, ETIMEDOUT);
  return new NetlinkError(op, EINVAL, msg);
}

const opName = (method: string, target: string | number) => `${method}(${target})`;

export class RtNetlink {
  private sock: NetlinkSocket;
  private closed = false;
  /** Requests run one at a time: the kernel allows one dump per socket (EBUSY otherwise). */
  private queue: Promise<unknown> = Promise.resolve();
  private monitor?: NetlinkSocket;
  private subscribers = new Set<{ cb: (ev: LinkEvent) => void; onError?: (err: NetlinkError) => void }>();

  private constructor(sock: NetlinkSocket, private readonly netnsFd?: number) {
    this.sock = sock;
    // Socket-level errors (e.g. ENOBUFS) must not become uncaught exceptions;
    // a request affected by one fails by its timeout.
    this.sock.on('error', () => {});
  }

  /**
   * Open an rtnetlink socket in our netns, or in the netns behind netnsFd
   * (e.g. an fd of /run/netns/NAME or /proc/PID/ns/net; we keep our own copy).
   */
  static async open(opts: { netnsFd?: number } = {}): Promise<RtNetlink> {
    let nsFd: number | undefined;
    try {
      if (opts.netnsFd !== undefined) nsFd = fs.openSync(`/proc/self/fd/${opts.netnsFd}`, 'r');
      const sock = RtNetlink.socketIn(nsFd); // unref'd: an idle socket does not keep Node alive
      return new RtNetlink(sock, nsFd);
    } catch (e) {
      if (nsFd !== undefined) fs.closeSync(nsFd);
      throw toNetlinkError('open', e);
    }
  }

  /** A netlink socket belongs to the netns it was created in. */
  private static socketIn(netnsFd: number | undefined): NetlinkSocket {
    return netnsFd === undefined ? createNetlink(Protocol.ROUTE) : withNetns(netnsFd, () => createNetlink(Protocol.ROUTE));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    this.stopMonitor();
    this.subscribers.clear();
    if (this.netnsFd !== undefined) fs.closeSync(this.netnsFd);
  }

  /**
   * Send one request and return the reply messages (empty for a plain ACK).
   * Kernel errors come back as NLMSG_ERROR and are turned into NetlinkError.
   */
  private request(op: string, type: number, flags: number, payload: Buffer[]): Promise<NetlinkMessage[]> {
    const run = async (): Promise<NetlinkMessage[]> => {
      if (this.closed) throw new NetlinkError(op, EBADF, 'socket is closed');
      let msgs: NetlinkMessage[];
      try {
        [msgs] = await this.sock.request(type, u8(concat(payload)), { flags, timeout: REQUEST_TIMEOUT_MS, checkError: false });
      } catch (e) {
        throw toNetlinkError(op, e);
      }
      const first = msgs[0];
      if (first && first.type === NLMSG_ERROR) {
        const errno = -first.data.readInt32LE(0);
        if (errno !== 0) throw new NetlinkError(op, errno);
        return [];
      }
      return msgs;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** One link by name or ifindex; undefined if it does not exist. netnsId: look in that netns (IFLA_TARGET_NETNSID). */
  async getLink(nameOrIndex: string | number, opts: { netnsId?: number } = {}): Promise<LinkInfo | undefined> {
    const op = opName('getLink', nameOrIndex);
    const sel = linkSelector(op, nameOrIndex);
    checkNsid(op, opts.netnsId);
    try {
      const msgs = await this.request(op, RTM_GETLINK, 0, [ifinfomsg(sel.index), ...sel.attrs, ...targetNs(opts.netnsId)]);
      const m = msgs.find((x) => x.type === RTM_NEWLINK);
      return m ? parseLink(m.data) : undefined;
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENODEV) return undefined;
      throw e;
    }
  }

  /** All links of our netns (or of the netns netnsId names). */
  async listLinks(opts: { netnsId?: number } = {}): Promise<LinkInfo[]> {
    const op = 'listLinks()';
    checkNsid(op, opts.netnsId);
    // A dump that raced with a link change is flagged NLM_F_DUMP_INTR; redo it.
    for (let attempt = 0; ; attempt++) {
      const msgs = await this.request(op, RTM_GETLINK, NLM_F_DUMP, [ifinfomsg(), ...targetNs(opts.netnsId)]);
      if (attempt < 3 && msgs.some((m) => m.flags & NLM_F_DUMP_INTR)) continue;
      return msgs.filter((m) => m.type === RTM_NEWLINK).map((m) => parseLink(m.data));
    }
  }

  /** Set IFF_UP on or off. netnsId: the device lives in that netns. */
  async setUp(index: number, up: boolean, opts: { netnsId?: number } = {}): Promise<void> {
    const op = opName('setUp', index);
    const sel = linkSelector(op, index);
    checkNsid(op, opts.netnsId);
    if (opts.netnsId !== undefined) return this.inNetns(op, opts.netnsId, (nl) => nl.setUp(index, up));
    await this.request(op, RTM_SETLINK, 0, [ifinfomsg(sel.index, up ? IFF_UP : 0, IFF_UP)]);
  }

  /**
   * Attach (fd >= 0) or detach (fd = -1) the XDP program of one mode. netnsId:
   * the device lives in that netns (e.g. the far end of a veth port).
   * expectedFd: replace only if that program is still the attached one.
   */
  async setXdp(index: number, fd: number, mode: 'native' | 'generic',
    opts: { netnsId?: number; expectedFd?: number } = {}): Promise<void> {
    const op = opName('setXdp', index);
    const sel = linkSelector(op, index);
    checkNsid(op, opts.netnsId);
    if (!Number.isInteger(fd) || fd < -1) throw new NetlinkError(op, EINVAL, `invalid program fd ${String(fd)}`);
    if (mode !== 'native' && mode !== 'generic') throw new NetlinkError(op, EINVAL, `invalid XDP mode ${String(mode)}`);
    if (opts.expectedFd !== undefined && (!Number.isInteger(opts.expectedFd) || opts.expectedFd < -1))
      throw new NetlinkError(op, EINVAL, `invalid expected fd ${String(opts.expectedFd)}`);
    if (opts.netnsId !== undefined) {
      // Program fds are per process, not per netns: usable from the other socket as is.
      return this.inNetns(op, opts.netnsId, (nl) => nl.setXdp(index, fd, mode, { expectedFd: opts.expectedFd }));
    }
    await this.request(op, RTM_SETLINK, 0, [ifinfomsg(sel.index), xdpAttr(fd, mode, opts.expectedFd)]);
  }

  /** Create veth pair a <-> b; b optionally created directly in another netns (by netns fd or by a pid inside it). */
  async createVethPair(a: string, b: string, opts: { bNetnsFd?: number; bNetnsPid?: number } = {}): Promise<void> {
    const op = opName('createVethPair', `${a}, ${b}`);
    checkIfName(op, a);
    checkIfName(op, b);
    for (const v of [opts.bNetnsFd, opts.bNetnsPid])
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new NetlinkError(op, EINVAL, `invalid netns ${String(v)}`);
    await this.request(op, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, [
      ifinfomsg(), ...linkSelector(op, a).attrs, vethLinkInfo(b, { fd: opts.bNetnsFd, pid: opts.bNetnsPid }),
    ]);
  }

  /** Delete a link (both ends, for a veth). Rejects with ENODEV if it does not exist. */
  async deleteLink(nameOrIndex: string | number, opts: { netnsId?: number } = {}): Promise<void> {
    const op = opName('deleteLink', nameOrIndex);
    const sel = linkSelector(op, nameOrIndex);
    checkNsid(op, opts.netnsId);
    await this.request(op, RTM_DELLINK, 0, [ifinfomsg(sel.index), ...sel.attrs, ...targetNs(opts.netnsId)]);
  }

  /**
   * Path of the netns that has `nsid` as seen from ours (/run/netns/NAME or
   * /proc/PID/ns/net), or undefined. Needed to run anything else in a veth
   * peer's netns (e.g. ethtool). Scans /run/netns and /proc: not for hot paths.
   */
  async netnsPath(nsid: number): Promise<string | undefined> {
    const found = await this.findNetns(opName('netnsPath', nsid), nsid);
    if (!found) return undefined;
    fs.closeSync(found.fd);
    return found.path;
  }

  private async findNetns(op: string, nsid: number): Promise<{ fd: number; path: string } | undefined> {
    checkNsid(op, nsid);
    for (const path of netnsCandidates()) {
      let fd: number;
      try { fd = fs.openSync(path, 'r'); } catch { continue; } // process exited meanwhile
      try {
        const msgs = await this.request(op, RTM_GETNSID, 0, getNsidRequest(fd));
        const m = msgs.find((x) => x.type === RTM_NEWNSID);
        if (m && parseNsidReply(m.data) === nsid) return { fd, path };
      } catch { /* not a netns any more, or no nsid: keep looking */ }
      fs.closeSync(fd);
    }
    return undefined;
  }

  /** Run fn with a temporary RtNetlink living in the netns `nsid` names. */
  private async inNetns<T>(op: string, nsid: number, fn: (nl: RtNetlink) => Promise<T>): Promise<T> {
    const found = await this.findNetns(op, nsid);
    if (!found) throw new NetlinkError(op, ENOENT, `no netns with nsid ${nsid} found in /run/netns or /proc/*/ns/net`);
    let nl: RtNetlink;
    try {
      nl = await RtNetlink.open({ netnsFd: found.fd });
    } finally {
      fs.closeSync(found.fd);
    }
    try {
      return await fn(nl);
    } finally {
      nl.close();
    }
  }

  /**
   * Subscribe to RTNLGRP_LINK (links of this socket's netns). One shared
   * multicast socket serves all subscribers; it does not keep Node's event
   * loop alive. onError reports lost events (ENOBUFS: resync with listLinks)
   * and exceptions thrown by cb. Returns the unsubscribe function.
   */
  onLinkChange(cb: (ev: LinkEvent) => void, onError?: (err: NetlinkError) => void): () => void {
    const sub = { cb, onError };
    if (this.closed) {
      queueMicrotask(() => onError?.(new NetlinkError('onLinkChange', EBADF, 'socket is closed')));
      return () => {};
    }
    this.subscribers.add(sub);
    try {
      this.startMonitor();
    } catch (e) {
      this.subscribers.delete(sub);
      const err = toNetlinkError('onLinkChange', e);
      queueMicrotask(() => onError?.(err));
      return () => {};
    }
    return () => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.stopMonitor();
    };
  }

  private startMonitor(): void {
    if (this.monitor) return;
    const mon = RtNetlink.socketIn(this.netnsFd);
    try {
      mon.setRecvBufferSize(4 << 20); // a burst of link changes (e.g. 1000 veths) must not overflow
    } catch { /* capped by net.core.rmem_max: fine */ }
    mon.on('error', (e) => this.report(toNetlinkError('onLinkChange', e)));
    try {
      mon.addMembership(RTNLGRP_LINK);
    } catch (e) {
      mon.close();
      throw e;
    }
    mon.on('message', (msgs) => {
      for (const m of msgs) {
        if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) continue;
        let ev: LinkEvent;
        try {
          ev = { type: m.type === RTM_NEWLINK ? 'new' : 'del', link: parseLink(m.data) };
        } catch (e) {
          this.report(toNetlinkError('onLinkChange', e));
          continue;
        }
        for (const s of [...this.subscribers]) {
          try { s.cb(ev); } catch (e) { this.report(toNetlinkError('onLinkChange callback', e), s); }
        }
      }
    });
    this.monitor = mon;
  }

  private stopMonitor(): void {
    this.monitor?.close();
    this.monitor = undefined;
  }

  private report(err: NetlinkError, only?: { onError?: (err: NetlinkError) => void }): void {
    let handled = false;
    for (const s of only ? [only] : [...this.subscribers]) {
      if (!s.onError) continue;
      handled = true;
      try { s.onError(err); } catch { /* an error handler that throws has nowhere to go */ }
    }
    if (!handled) process.emitWarning(err.message, 'NetlinkWarning');
  }
}

/** Running kernel version from uname -r (os.release()), e.g. 6.18.0-1-amd64. */
export function kernelVersion(): { major: number; minor: number; patch: number; release: string } {
  const release = os.release();
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return { major: Number(m?.[1] ?? 0), minor: Number(m?.[2] ?? 0), patch: Number(m?.[3] ?? 0), release };
}

/**
 * ifindex of a link by name, synchronously, via sysfs. Note /sys/class/net
 * shows the netns sysfs was mounted in (normally the process's own).
 */
export function ifNameToIndex(name: string): number | undefined {
  try {
    checkIfName('ifNameToIndex', name);
    const n = Number.parseInt(fs.readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
