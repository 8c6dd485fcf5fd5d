/*
 * A scriptable OpenFlow peer for tests: either end of a connection (a
 * client of the switch's listener, or a controller the switch connects
 * to). It frames and decodes what arrives, answers echo requests, and lets
 * a test send messages or raw bytes and wait for a message it expects.
 */
import * as net from 'net';
import {
  OfFramer, OfMessage, decodeMessage, encodeMessage, OFP13_VERSION, SUPPORTED_VERSIONS, OfpError,
} from '../../src/openflow';

/** A message without its header fields (the peer fills version and xid in). */
export type NoHeader<T> = T extends unknown ? Omit<T, 'xid' | 'version'> : never;

export class OfPeer {
  readonly received: OfMessage[] = [];
  closed = false;
  private readonly framer = new OfFramer();
  private waiters: { pred: (m: OfMessage) => boolean; resolve: (m: OfMessage) => void }[] = [];
  private closeWaiters: (() => void)[] = [];
  private xid = 100;
  version = OFP13_VERSION;

  constructor(readonly sock: net.Socket, opts: { versions?: number[]; hello?: boolean; answerEcho?: boolean } = {}) {
    const versions = opts.versions ?? [...SUPPORTED_VERSIONS];
    this.version = Math.max(...versions);
    sock.on('data', (d: Buffer) => {
      let msgs: Buffer[];
      try { msgs = this.framer.push(d); } catch { sock.destroy(); return; }
      for (const raw of msgs) {
        let m: OfMessage;
        try { m = decodeMessage(raw); } catch (e) { if (e instanceof OfpError) continue; throw e; }
        if (m.type === 'echo_request' && opts.answerEcho !== false) this.send({ type: 'echo_reply', version: m.version, xid: m.xid, data: m.data });
        this.received.push(m);
        const w = this.waiters.find((x) => x.pred(m));
        if (w) { this.waiters = this.waiters.filter((x) => x !== w); w.resolve(m); }
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => { this.closed = true; for (const c of this.closeWaiters) c(); });
    if (opts.hello !== false) this.send({ type: 'hello', version: this.version, xid: 1, versions });
  }

  static connect(opts: net.NetConnectOpts & { versions?: number[]; hello?: boolean }): Promise<OfPeer> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(opts);
      s.once('connect', () => resolve(new OfPeer(s, opts)));
      s.once('error', reject);
    });
  }

  nextXid(): number { return this.xid++; }

  send(m: OfMessage): void { this.sock.write(encodeMessage(m)); }
  sendRaw(b: Buffer): void { this.sock.write(b); }

  /** The first message (already received or arriving within `ms`) that satisfies `pred`. */
  wait(pred: (m: OfMessage) => boolean, ms = 5000, what = 'message'): Promise<OfMessage> {
    const have = this.received.find(pred);
    if (have) { this.received.splice(this.received.indexOf(have), 1); return Promise.resolve(have); }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiters = this.waiters.filter((x) => x.resolve !== done); reject(new Error(`no ${what} within ${ms} ms`)); }, ms);
      const done = (m: OfMessage): void => { clearTimeout(t); this.received.splice(this.received.indexOf(m), 1); resolve(m); };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /** Sends `m` with a fresh xid and waits for the reply (or error) with that xid. */
  async request(m: NoHeader<OfMessage>, ms = 5000): Promise<OfMessage> {
    const xid = this.nextXid();
    this.send({ ...(m as OfMessage), version: this.version, xid });
    return this.wait((r) => r.xid === xid && r.type !== m.type, ms, `reply to ${m.type} xid ${xid}`);
  }

  waitClosed(ms = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
      this.closeWaiters.push(() => { clearTimeout(t); resolve(); });
    });
  }

  close(): void { this.sock.destroy(); }
}

/** A fake controller: listens on 127.0.0.1, gives each switch connection to `onConn`. */
export async function fakeController(onConn: (p: OfPeer) => void, opts: { versions?: number[] } = {}): Promise<{ port: number; close: () => Promise<void>; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); onConn(new OfPeer(s, opts)); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port, sockets,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }),
  };
}
