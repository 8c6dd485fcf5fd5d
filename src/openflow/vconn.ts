/*
 * The client side of an OpenFlow connection, as OVS's lib/vconn.c: connect
 * to `unix:PATH`, `tcp:IP[:PORT]` or a bridge name (RUNDIR/BR.mgmt), send
 * HELLO with the allowed versions, negotiate, then requests matched to
 * replies by xid: one reply, a multipart dump (until no MORE flag), or
 * messages that only answer on error (sent with one barrier behind them).
 * The peer's echo requests are answered; anything that answers no request
 * (PACKET_IN, FLOW_REMOVED, PORT_STATUS...) is queued for recv() when the
 * connection was opened to monitor.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { OfpError, OFPET, OFPHFC } from './errors';
import { OfFramer, OFP13_VERSION, OFP_TCP_PORT, decodeHeader, negotiateVersion, peerVersions } from './ofp-header';
import { OfMessage, ErrorMsg, MultipartReplyMsg, decodeMessage, encodeMessage, errorReply } from './messages';
import { MultipartRequestBody, OFPMPF_MORE } from './multipart';

/** A message to send: the vconn fills in version and xid. */
type WithoutHeader<T> = T extends unknown ? Omit<T, 'version' | 'xid'> : never;
export type OfRequest = WithoutHeader<OfMessage>;

/** One message as received: its bytes, and what they decode to (or why they do not). */
export interface Received { raw: Buffer; msg?: OfMessage; error?: OfpError }

export type VconnTarget = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** A failure to connect or talk (the message says which, naming the target). */
export class VconnError extends Error {
  constructor(message: string) { super(message); this.name = 'VconnError'; }
}

/** The switch answered a request with OFPT_ERROR. */
export class OfErrorReply extends Error {
  constructor(readonly reply: ErrorMsg, readonly raw: Buffer) {
    super(`OpenFlow error type ${reply.errType} code ${reply.code}`);
    this.name = 'OfErrorReply';
  }
}

/* OVS numbers xids per process: each HELLO and request takes the next one. */
let lastXid = 0;
export function allocXid(): number {
  lastXid = lastXid >= 0xffffffff ? 1 : lastXid + 1;
  return lastXid;
}
/** Restarts xid numbering (tests that compare xids with ovs-ofctl's). */
export function resetXids(): void { lastXid = 0; }

const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused', ENOENT: 'No such file or directory', EACCES: 'Permission denied',
  ETIMEDOUT: 'Connection timed out', EHOSTUNREACH: 'No route to host', ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer', EPIPE: 'Broken pipe', ENOTSOCK: 'Socket operation on non-socket',
  EADDRNOTAVAIL: 'Cannot assign requested address',
};
const strerror = (e: NodeJS.ErrnoException): string => (e.code && STRERROR[e.code]) ?? e.message;

const isSocket = (p: string): boolean => {
  try { return fs.statSync(p).isSocket(); } catch { return false; }
};

/**
 * Where `name` points, as ovs-ofctl resolves it: `unix:PATH`, `tcp:IP[:PORT]`
 * (IPv6 in brackets), else a socket file of that name, else the bridge's
 * management socket RUNDIR/NAME.mgmt.
 */
export function parseTarget(name: string, rundir: string): VconnTarget {
  const colon = name.indexOf(':');
  if (colon < 0) {
    if (isSocket(name)) return { kind: 'unix', path: name };
    const mgmt = path.join(rundir, `${name}.mgmt`);
    if (isSocket(mgmt)) return { kind: 'unix', path: mgmt };
    throw new VconnError(`${name} is not a bridge or a socket`);
  }
  const method = name.slice(0, colon), rest = name.slice(colon + 1);
  if (method === 'unix') {
    if (!rest) throw new VconnError(`${name}: missing socket path`);
    return { kind: 'unix', path: rest };
  }
  if (method !== 'tcp') throw new VconnError(`${name}: unknown connection method "${method}" (use unix:PATH, tcp:IP[:PORT] or a bridge name)`);
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(rest);
  if (!m || net.isIP(m[1]) === 0) throw new VconnError(`${name}: bad address "${rest}" (tcp:IP[:PORT])`);
  const port = m[2] === undefined ? OFP_TCP_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new VconnError(`${name}: bad port "${m[2]}"`);
  return { kind: 'tcp', host: m[1], port };
}

const versionList = (vs: readonly number[]): string =>
  `version${vs.length > 1 ? 's' : ''} ${vs.map((v) => `0x${v.toString(16).padStart(2, '0')}`).join(', ')}`;

/** OVS sends a version bitmap only when the versions are not simply 1..max. */
function helloBody(versions: readonly number[]): { versions?: number[] } {
  const max = Math.max(...versions);
  const contiguous = versions.length === max && versions.every((v) => v >= 1 && v <= max);
  return contiguous ? {} : { versions: [...versions].sort((a, b) => a - b) };
}

export interface VconnOptions {
  /** Versions to offer (OFP10_VERSION, OFP13_VERSION). */
  versions: readonly number[];
  /** RUNDIR for bridge names. */
  rundir: string;
  /** Limit for connecting and for each reply (ms); undefined: wait forever. */
  timeoutMs?: number;
  /** Queue messages that answer no request, for recv() (monitor). */
  monitor?: boolean;
}

type Waiter = (r: Received) => void;

export class Vconn {
  version = 0;
  private readonly framer = new OfFramer();
  private readonly waiters = new Map<number, Waiter>();
  private readonly queue: Received[] = [];
  private queueWaiter?: () => void;
  private failure?: Error;
  private onFailure: ((e: Error) => void)[] = [];
  private helloWaiter?: (r: Received) => void;

  private constructor(readonly name: string, private readonly sock: net.Socket, private readonly opts: VconnOptions) {
    sock.on('data', (d: Buffer) => this.input(d));
    sock.on('error', (e: NodeJS.ErrnoException) => this.fail(new VconnError(`${this.name}: connection failed (${strerror(e)})`)));
    sock.on('close', () => this.fail(new VconnError(
      this.framer.buffered ? `${this.name}: connection closed in the middle of a message` : `${this.name}: connection closed by peer (End of file)`)));
  }

  /** Connects to `name`, exchanges HELLOs and settles the version. */
  static async open(name: string, opts: VconnOptions): Promise<Vconn> {
    const target = parseTarget(name, opts.rundir);
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = target.kind === 'unix' ? net.createConnection({ path: target.path }) : net.createConnection({ host: target.host, port: target.port });
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
        s.destroy();
        reject(new VconnError(`connecting to ${name} (Connection timed out)`));
      }, opts.timeoutMs);
      s.once('connect', () => { clearTimeout(timer); resolve(s); });
      s.once('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); s.destroy(); reject(new VconnError(`connecting to ${name} (${strerror(e)})`)); });
    });
    sock.setNoDelay(true);
    const v = new Vconn(name, sock, opts);
    try {
      await v.handshake();
    } catch (e) {
      v.close();
      throw e;
    }
    return v;
  }

  private async handshake(): Promise<void> {
    const ours = this.opts.versions;
    const hello = this.wait<Received>('the HELLO', (resolve) => { this.helloWaiter = resolve; });
    this.write(encodeMessage({ type: 'hello', version: Math.max(...ours), xid: allocXid(), ...helloBody(ours) }));
    const r = await hello;
    const m = r.msg;
    if (m?.type === 'error') {
      const text = m.errType === OFPET.HELLO_FAILED ? `: ${m.data.toString('latin1').replace(/[^\x20-\x7e]/g, '')}` : '';
      throw new VconnError(`${this.name}: peer rejected our hello (error type ${m.errType} code ${m.code})${text}`);
    }
    if (m?.type !== 'hello') {
      throw new VconnError(`${this.name}: received ${r.error ? 'a malformed message' : m?.type} while expecting hello${r.error ? ` (${r.error.message})` : ''}`);
    }
    const v = negotiateVersion(ours, m.version, m);
    if (v === undefined) {
      const msg = `version negotiation failed (we support ${versionList(ours)}, peer supports ${versionList(peerVersions(m.version, m))})`;
      this.write(errorReply(r.raw, new OfpError(OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE, `We support ${versionList(ours)}, you support ${versionList(peerVersions(m.version, m))}.`), Math.max(...ours)));
      throw new VconnError(`${this.name}: ${msg}`);
    }
    this.version = v;
  }

  /* ---- input ---------------------------------------------------------- */

  private input(d: Buffer): void {
    let raws: Buffer[];
    try {
      raws = this.framer.push(d);
    } catch (e) {
      this.fail(new VconnError(`${this.name}: received a malformed OpenFlow stream (${(e as Error).message})`));
      this.sock.destroy();
      return;
    }
    for (const raw of raws) {
      if (this.failure) return;
      this.deliver(raw);
    }
  }

  private deliver(raw: Buffer): void {
    const r: Received = { raw };
    try {
      r.msg = decodeMessage(raw);
    } catch (e) {
      if (!(e instanceof OfpError)) throw e;
      r.error = e;
    }
    if (this.helloWaiter) {
      const w = this.helloWaiter;
      this.helloWaiter = undefined;
      w(r);
      return;
    }
    const h = decodeHeader(raw);
    if (h.version !== this.version && h.type > 3) {     // HELLO, ERROR and ECHO_* may come in any version
      this.fail(new VconnError(`${this.name}: received OpenFlow version 0x${h.version.toString(16).padStart(2, '0')} != expected 0x${this.version.toString(16).padStart(2, '0')}`));
      this.sock.destroy();
      return;
    }
    if (r.msg?.type === 'echo_request') {
      this.write(encodeMessage({ type: 'echo_reply', version: this.version, xid: r.msg.xid, data: r.msg.data }));
    }
    const w = r.msg?.type === 'echo_request' ? undefined : this.waiters.get(h.xid);
    if (w) { w(r); return; }
    if (this.opts.monitor) {
      this.queue.push(r);
      this.queueWaiter?.();
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const f of this.onFailure.splice(0)) f(e);
    this.queueWaiter?.();
  }

  /* ---- output --------------------------------------------------------- */

  private write(b: Buffer): void {
    if (!this.failure) this.sock.write(b);
  }

  /** Encodes `m` in the negotiated version with a new xid (or `xid`), sends it; returns the bytes sent. */
  send(m: OfRequest, xid = allocXid()): Buffer {
    if (this.failure) throw this.failure;
    const b = encodeMessage({ ...m, version: this.version, xid } as OfMessage);
    this.write(b);
    return b;
  }

  /**
   * A promise that `start` settles, rejected when the connection fails or
   * the timeout passes first; `cleanup` runs whatever happens.
   */
  private wait<T>(what: string, start: (resolve: (v: T) => void, reject: (e: Error) => void) => void, cleanup?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.onFailure = this.onFailure.filter((f) => f !== onFail);
        cleanup?.();
      };
      const onFail = (e: Error): void => { done(); reject(e); };
      if (this.failure) { onFail(this.failure); return; }
      this.onFailure.push(onFail);
      if (this.opts.timeoutMs !== undefined) {
        timer = setTimeout(() => onFail(new VconnError(`${this.name}: timed out waiting for ${what}`)), this.opts.timeoutMs);
      }
      start((v) => { done(); resolve(v); }, (e) => { done(); reject(e); });
    });
  }

  /** Sends `m` and returns its one reply; OfErrorReply if the switch answered with an error. */
  async transact(m: OfRequest): Promise<Received> {
    const xid = allocXid();
    const r = await this.wait<Received>(`the reply to ${m.type}`, (resolve) => {
      this.waiters.set(xid, resolve);
      this.send(m, xid);
    }, () => this.waiters.delete(xid));
    if (r.msg?.type === 'error') throw new OfErrorReply(r.msg, r.raw);
    if (!r.msg) throw new VconnError(`${this.name}: received bad reply to ${m.type} (${r.error!.message})`);
    return r;
  }

  /**
   * A multipart (stats) request and every reply message, until one without
   * OFPMPF_REPLY_MORE. Each element keeps its bytes, so a caller can print
   * message by message as ovs-ofctl does.
   */
  async dump(body: MultipartRequestBody): Promise<(Received & { msg: MultipartReplyMsg })[]> {
    const xid = allocXid();
    const out: (Received & { msg: MultipartReplyMsg })[] = [];
    await this.wait<void>(`the ${body.mpType} statistics reply`, (resolve, reject) => {
      this.waiters.set(xid, (r) => {
        const m = r.msg;
        if (m?.type === 'error') { reject(new OfErrorReply(m, r.raw)); return; }
        if (m?.type !== 'multipart_reply' || m.body.mpType !== body.mpType) {
          reject(new VconnError(`${this.name}: received bad reply to the ${body.mpType} statistics request (${r.error?.message ?? m?.type})`));
          return;
        }
        out.push({ ...r, msg: m });
        if (!(m.flags & OFPMPF_MORE)) resolve();
      });
      this.send({ type: 'multipart_request', flags: 0, body }, xid);
    }, () => this.waiters.delete(xid));
    return out;
  }

  /**
   * Sends `msgs` (requests answered only on error), then one barrier, and
   * waits for the barrier reply. Returns the errors the switch sent for
   * them, each with the bytes of the request it answers.
   */
  async transactNoReply(msgs: OfRequest[]): Promise<{ error: OfErrorReply; request: Buffer }[]> {
    const sent = new Map<number, Buffer>();
    const errors: { error: OfErrorReply; request: Buffer }[] = [];
    const xids = msgs.map(() => allocXid());
    const barrier = allocXid();
    await this.wait<void>('the barrier reply', (resolve, reject) => {
      for (const xid of xids) {
        this.waiters.set(xid, (r) => {
          if (r.msg?.type === 'error') errors.push({ error: new OfErrorReply(r.msg, r.raw), request: sent.get(xid)! });
          else reject(new VconnError(`${this.name}: unexpected reply ${r.msg?.type ?? `(${r.error?.message})`} with xid 0x${xid.toString(16)}`));
        });
      }
      this.waiters.set(barrier, (r) => {
        if (r.msg?.type === 'barrier_reply') resolve();
        else if (r.msg?.type === 'error') reject(new OfErrorReply(r.msg, r.raw));
        else reject(new VconnError(`${this.name}: received bad reply to the barrier request (${r.msg?.type ?? r.error?.message})`));
      });
      msgs.forEach((m, i) => sent.set(xids[i], this.send(m, xids[i])));
      this.send({ type: 'barrier_request' }, barrier);
    }, () => { for (const x of [...xids, barrier]) this.waiters.delete(x); });
    return errors;
  }

  /** The next message that answered no request (monitor); undefined once the connection is gone. */
  async recv(): Promise<Received | undefined> {
    for (;;) {
      const r = this.queue.shift();
      if (r) return r;
      if (this.failure) return undefined;
      await new Promise<void>((resolve) => { this.queueWaiter = resolve; });
      this.queueWaiter = undefined;
    }
  }

  /** Why the connection ended, if it did. */
  get error(): Error | undefined { return this.failure; }

  close(): void {
    this.failure ??= new VconnError(`${this.name}: connection closed`);
    this.sock.end();
    this.sock.destroy();
  }
}

/** The versions named by -O/--protocols (OpenFlow10, OpenFlow13, comma-separated), highest first. */
export function parseProtocols(s: string): number[] {
  const out = new Set<number>();
  for (const w of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const v = { openflow10: 1, openflow13: OFP13_VERSION }[w.toLowerCase()];
    if (v === undefined) throw new VconnError(`${w}: unknown or unsupported OpenFlow version (OpenFlow10 and OpenFlow13 are supported)`);
    out.add(v);
  }
  if (!out.size) throw new VconnError('no OpenFlow version given');
  return [...out].sort((a, b) => b - a);
}
