/*
 * One OpenFlow connection of a bridge (OVS ofconn + the switch side of
 * vconn): HELLO version negotiation, framing, messages handled strictly in
 * order, replies and asynchronous messages, the connection's role and
 * async configuration, and the inactivity probe for controllers.
 *
 * Whatever a peer sends costs it at most its own connection: a message that
 * fails to decode gets an OFPT_ERROR and the connection goes on; a stream
 * that cannot be framed, a failed HELLO, or a peer that stops reading its
 * replies gets the connection closed.
 */
import * as net from 'net';
import {
  OfFramer, OfpError, OFPET, OFPBRC, OFPHFC, OfMessage, decodeMessage, encodeMessage, errorReply, decodeHeader,
  negotiateVersion, decodeHelloBody, OfReader, SUPPORTED_VERSIONS, OFP_HEADER_LEN, OFPT13, OFP10_VERSION, ControllerRole,
} from '../openflow';
import { Vlog } from '../lib/vlog';

const log = new Vlog('ofconn');

/** A controller (active connection we opened) or a service (someone connected to our listener: ovs-ofctl). */
export type ConnKind = 'controller' | 'service';

/** OFPR_* / OFPPR_* / OFPRR_* bit masks for [master-or-equal, slave] (OpenFlow 1.3 SET_ASYNC). */
export interface AsyncConfig { packetIn: [number, number]; portStatus: [number, number]; flowRemoved: [number, number] }

/** OpenFlow 1.3's defaults (7.3.10): masters get everything, slaves only port status. */
export const DEFAULT_ASYNC: AsyncConfig = { packetIn: [0x7, 0x0], portStatus: [0x7, 0x7], flowRemoved: [0x1f, 0x0] };

/** The OpenFlow default miss_send_len for controllers; OVS gives service connections 0 (no async messages). */
const OFP_DEFAULT_MISS_SEND_LEN = 128;
/** Replies and async messages a peer has not read yet; beyond this it is not reading: drop async, then close. */
const ASYNC_BACKLOG = 1 << 20;
const MAX_BACKLOG = 32 << 20;
/** Messages received but not yet handled; above this stop reading (TCP pushes back on the peer). */
const MAX_PENDING = 256;

export type MessageHandler = (conn: OfConn, msg: OfMessage, raw: Buffer) => Promise<void> | void;

export interface OfConnOptions {
  /** Controllers: echo after this long without input, close after twice it (OVS inactivity_probe). */
  probeIntervalMs?: number;
}

export class OfConn {
  version: number | undefined;             // negotiated; undefined until the peer's HELLO
  role = ControllerRole.EQUAL;
  missSendLen: number;
  asyncConfig: AsyncConfig = { packetIn: [...DEFAULT_ASYNC.packetIn], portStatus: [...DEFAULT_ASYNC.portStatus], flowRemoved: [...DEFAULT_ASYNC.flowRemoved] };
  readonly counters = { rx: 0, tx: 0, errors: 0, asyncDropped: 0 };
  private readonly framer = new OfFramer();
  private readonly pending: Buffer[] = [];
  private running = false;
  private closed = false;
  private lastRx = Date.now();
  private probeSent = false;
  private probeTimer?: NodeJS.Timeout;
  private xid = 1;
  /** Set when the stream cannot be framed any further. */
  private fatal?: { error: OfpError; header: Buffer };

  constructor(
    private readonly sock: net.Socket,
    readonly kind: ConnKind,
    readonly name: string,
    private readonly handler: MessageHandler,
    private readonly onClose: (conn: OfConn, why: string) => void,
    opts: OfConnOptions = {},
  ) {
    this.missSendLen = kind === 'controller' ? OFP_DEFAULT_MISS_SEND_LEN : 0;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.receive(d));
    sock.on('error', (e) => this.close(e.message));
    sock.on('close', () => this.close('connection closed by peer'));
    // Our HELLO goes first, advertising every version we speak (OF1.3.1 version bitmap).
    this.write(encodeMessage({ type: 'hello', version: SUPPORTED_VERSIONS[0], xid: this.nextXid(), versions: [...SUPPORTED_VERSIONS] }));
    if (opts.probeIntervalMs) {
      const ms = opts.probeIntervalMs;
      this.probeTimer = setInterval(() => this.probe(ms), Math.max(100, Math.floor(ms / 2)));
      this.probeTimer.unref();
    }
  }

  get isClosed(): boolean { return this.closed; }
  get connected(): boolean { return this.version !== undefined && !this.closed; }

  nextXid(): number { return this.xid++ >>> 0; }

  /** Sends a reply (never dropped; a peer that lets too much pile up is disconnected). */
  send(m: OfMessage | Buffer): void {
    if (this.closed) return;
    this.write(Buffer.isBuffer(m) ? m : encodeMessage(m));
  }

  /** Sends an asynchronous message unless the peer is far behind (then it is dropped and counted, as OVS's rconn queue limit). */
  sendAsync(m: OfMessage): void {
    if (!this.connected) return;
    if (this.sock.writableLength > ASYNC_BACKLOG) { this.counters.asyncDropped++; return; }
    this.send(m);
  }

  close(why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.pending.length = 0;
    log.dbg(`${this.name}: ${why}`);
    this.sock.end();
    this.sock.destroySoon?.();
    setTimeout(() => this.sock.destroy(), 1000).unref();
    this.onClose(this, why);
  }

  private write(buf: Buffer): void {
    if (this.sock.writableLength > MAX_BACKLOG) { this.close('peer is not reading its replies'); return; }
    this.counters.tx++;
    this.sock.write(buf);
  }

  private receive(data: Buffer): void {
    if (this.closed || this.fatal) return;
    this.lastRx = Date.now();
    this.probeSent = false;
    const r = this.framer.pushSome(data);
    for (const m of r.messages) this.pending.push(m);
    // An unframeable stream: what came before the bad header is still handled, then the connection ends.
    if (r.error) this.fatal = { error: r.error, header: r.badHeader ?? data.subarray(0, OFP_HEADER_LEN) };
    if (this.pending.length > MAX_PENDING) this.sock.pause();
    void this.drain();
  }

  /** Handles queued messages one at a time, so replies and effects keep the peer's order. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length && !this.closed) {
        const raw = this.pending.shift()!;
        this.counters.rx++;
        await this.process(raw);
        if (this.pending.length < MAX_PENDING / 2 && this.sock.isPaused()) this.sock.resume();
      }
      if (this.fatal && !this.pending.length && !this.closed) {
        this.replyError(this.fatal.header, this.fatal.error);
        this.close(`unframeable input: ${this.fatal.error.message}`);
      }
    } finally {
      this.running = false;
    }
  }

  private async process(raw: Buffer): Promise<void> {
    const h = decodeHeader(raw);
    if (this.version === undefined) { this.hello(raw, h.type, h.version); return; }
    if (h.type === OFPT13.HELLO) return;       // a repeated HELLO changes nothing
    if (h.version !== this.version && h.type > OFPT13.ECHO_REPLY) {
      this.replyError(raw, new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION,
        `message version 0x${h.version.toString(16)} on a connection that negotiated 0x${this.version.toString(16)}`));
      return;
    }
    let msg: OfMessage;
    try {
      msg = decodeMessage(raw);
    } catch (e) {
      this.replyError(raw, e);
      return;
    }
    try {
      await this.handler(this, msg, raw);
    } catch (e) {
      this.replyError(raw, e);
    }
  }

  private hello(raw: Buffer, type: number, version: number): void {
    if (type !== OFPT13.HELLO) {
      this.replyError(raw, new OfpError(OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE, 'the first message must be HELLO'), SUPPORTED_VERSIONS[0]);
      this.close('first message was not HELLO');
      return;
    }
    let v: number | undefined;
    try {
      v = negotiateVersion(SUPPORTED_VERSIONS, version, decodeHelloBody(new OfReader(raw, OFP_HEADER_LEN, raw.length), version));
    } catch (e) {
      v = undefined;
      log.dbg(`${this.name}: bad HELLO: ${(e as Error).message}`);
    }
    if (v === undefined) {
      const err = new OfpError(OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE,
        `We support versions 0x04, 0x01; you support ${version <= SUPPORTED_VERSIONS[0] ? `no later than version 0x${version.toString(16).padStart(2, '0')}` : `0x${version.toString(16)}`}`);
      this.replyError(raw, err, Math.min(version || OFP10_VERSION, SUPPORTED_VERSIONS[0]));
      this.close('no common OpenFlow version');
      return;
    }
    this.version = v;
    log.dbg(`${this.name}: negotiated OpenFlow version 0x${v.toString(16)}`);
    void this.handler(this, { type: 'hello', version: v, xid: decodeHeader(raw).xid, versions: [v] }, raw);
  }

  private replyError(raw: Buffer, e: unknown, version?: number): void {
    this.counters.errors++;
    if (!(e instanceof OfpError)) {
      // A bug of ours, not the peer's: keep the connection, tell the peer, log it.
      log.rateLimited('ERR', 'handler', `${this.name}: ${(e as Error).stack ?? String(e)}`);
      e = new OfpError(OFPET.BAD_REQUEST, OFPBRC.EPERM, (e as Error).message ?? 'internal error');
    }
    try {
      this.send(errorReply(raw, e as OfpError, version ?? this.version));
    } catch (err) {
      log.rateLimited('WARN', 'errreply', `${this.name}: cannot encode error reply: ${(err as Error).message}`);
    }
  }

  private probe(intervalMs: number): void {
    if (this.closed) return;
    const idle = Date.now() - this.lastRx;
    if (idle >= 2 * intervalMs) { this.close(`no response to inactivity probe after ${(idle / 1000).toFixed(1)} s`); return; }
    if (idle >= intervalMs && !this.probeSent && this.version !== undefined) {
      this.probeSent = true;
      this.send({ type: 'echo_request', version: this.version, xid: this.nextXid(), data: Buffer.alloc(0) });
    }
  }
}
