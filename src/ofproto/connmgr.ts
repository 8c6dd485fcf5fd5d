/*
 * A bridge's OpenFlow connections (OVS connmgr): the management socket
 * RUNDIR/BR.mgmt that xdp-ofctl uses, the `ptcp:` / `punix:` listeners and
 * the active `tcp:` / `unix:` controllers that `set-controller` configures,
 * with reconnect backoff and inactivity probes; asynchronous messages
 * (PACKET_IN, FLOW_REMOVED, PORT_STATUS) to the connections that want them;
 * roles; and fail-mode: a standalone bridge whose controllers are all
 * unreachable forwards with NORMAL (fail-open), a secure one never does.
 */
import * as net from 'net';
import * as fs from 'fs';
import * as path from 'path';
import { Bridge, PortChange, PortState, FailMode } from './ofproto';
import { OfConn, ConnKind } from './ofconn';
import { OfpHandler, RoleArbiter, ofPort } from './ofp-handler';
import { PacketIn } from './packet-in';
import { Rule, OFPFF, PacketInReason } from './ofp-actions';
import { RemovedReason } from './tables';
import { Match } from './match';
import { mfField } from './meta-flow';
import {
  OfpError, OFPET, OFPRRFC, ControllerRole, PortReason, OFP10_VERSION, OFP_NO_BUFFER, flowRemovedFromRule, OfMessage, OFP_TCP_PORT, of10Match,
} from '../openflow';
import { Vlog } from '../lib/vlog';

const log = new Vlog('connmgr');
const MAX_CONNECTIONS = 512;

/** A parsed controller target: active (tcp:, unix:) or passive (ptcp:, punix:). */
export type Target =
  | { kind: 'tcp' | 'ptcp'; host: string; port: number; text: string }
  | { kind: 'unix' | 'punix'; path: string; text: string };

/** OVS's target syntax: tcp:IP[:PORT], ptcp:[PORT][:IP], unix:PATH, punix:PATH (IPv6 in brackets). */
export function parseTarget(text: string): Target {
  const m = /^(tcp|ptcp|unix|punix):(.*)$/.exec(text);
  if (!m) throw new Error(`"${text}": target must be tcp:IP[:PORT], ptcp:[PORT][:IP], unix:PATH or punix:PATH`);
  const kind = m[1] as Target['kind'];
  const rest = m[2];
  if (kind === 'unix' || kind === 'punix') {
    if (!rest) throw new Error(`"${text}": missing socket path`);
    return { kind, path: rest, text };
  }
  const port = (s: string | undefined): number => {
    if (s === undefined || s === '') return OFP_TCP_PORT;
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new Error(`"${text}": ${s} is not a TCP port (1-65535)`);
    return n;
  };
  const host = (s: string): string => {
    const h = s.replace(/^\[(.*)\]$/, '$1');
    if (!net.isIP(h)) throw new Error(`"${text}": ${s} is not an IP address`);
    return h;
  };
  if (kind === 'tcp') {
    const t = /^(\[[^\]]+\]|[^:]+)(?::(.*))?$/.exec(rest);
    if (!t) throw new Error(`"${text}": tcp: needs an IP address`);
    return { kind, host: host(t[1]), port: port(t[2]), text };
  }
  // ptcp:[PORT][:IP]; OVS binds every address by default, we bind loopback unless told (an OpenFlow port is root access to the switch).
  const t = /^([^:]*)(?::(.*))?$/.exec(rest)!;
  return { kind, port: port(t[1]), host: t[2] ? host(t[2]) : '127.0.0.1', text };
}

export interface ConnMgrOptions {
  rundir: string;
  /** Controllers: milliseconds of silence before an echo probe (OVS inactivity_probe, default 5 s). */
  probeIntervalMs?: number;
  /** Longest wait between reconnection attempts (OVS max_backoff, default 8 s). */
  maxBackoffMs?: number;
}

/** An active controller connection that keeps reconnecting (OVS rconn). */
class Rconn {
  conn?: OfConn;
  private timer?: NodeJS.Timeout;
  private backoffMs = 0;
  private stopped = false;

  constructor(readonly target: Target, private readonly mgr: ConnMgr) { this.connect(); }

  private connect(): void {
    if (this.stopped) return;
    const t = this.target;
    const sock = t.kind === 'unix' ? net.createConnection(t.path) : t.kind === 'tcp' ? net.createConnection({ host: t.host, port: t.port }) : undefined;
    if (!sock) return;
    let opened = false;
    sock.once('connect', () => {
      opened = true;
      this.conn = this.mgr.adopt(sock, 'controller', t.text, (c) => {
        // A connection that got as far as HELLO starts the backoff over.
        if (c.version !== undefined) this.backoffMs = 0;
        this.conn = undefined;
        this.retry();
      });
    });
    sock.once('error', (e) => {
      if (opened) return;
      log.rateLimited('INFO', `rconn-${t.text}`, `${this.mgr.bridge.name}<->${t.text}: connection failed (${e.message})`);
      sock.destroy();
      this.retry();
    });
  }

  /** OVS backoff: 1 s, doubling up to max_backoff. */
  private retry(): void {
    if (this.stopped) return;
    this.backoffMs = Math.min(Math.max(1000, this.backoffMs * 2), this.mgr.maxBackoffMs);
    this.timer = setTimeout(() => this.connect(), this.backoffMs);
    this.timer.unref();
  }

  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.conn?.close('controller removed');
  }
}

export class ConnMgr implements RoleArbiter {
  readonly handler: OfpHandler;
  maxBackoffMs: number;
  private probeIntervalMs: number;
  private readonly conns = new Set<OfConn>();
  private readonly listeners = new Map<string, net.Server>();
  private readonly actives = new Map<string, Rconn>();
  private mgmt?: net.Server;
  private failMode: FailMode;
  private genId: bigint | undefined;
  private lastControllerSeen = Date.now();
  private readonly failOpenTimer: NodeJS.Timeout;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(readonly bridge: Bridge, private readonly opts: ConnMgrOptions, failMode: FailMode = 'standalone') {
    this.failMode = failMode;
    this.probeIntervalMs = opts.probeIntervalMs ?? 5000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 8000;
    this.handler = new OfpHandler(bridge, this);
    const on = <T extends unknown[]>(ev: string, fn: (...a: T) => void): void => {
      const f = (...a: unknown[]): void => fn(...(a as T));
      bridge.on(ev, f);
      this.unsubscribe.push(() => bridge.off(ev, f));
    };
    on('packet-in', (p: PacketIn) => this.packetIn(p));
    on('flow-removed', (r: Rule, reason: RemovedReason) => this.flowRemoved(r, reason));
    on('port-status', (reason: PortChange, p: { name: string; ofport: number }) => {
      this.portStatus(reason, p).catch((e: Error) => log.rateLimited('WARN', 'portstatus', `${bridge.name}: PORT_STATUS: ${e.message}`));
    });
    // Fail-open is judged once a second, as OVS's fail_open_run.
    this.failOpenTimer = setInterval(() => this.runFailOpen(), 1000);
    this.failOpenTimer.unref();
  }

  get mgmtPath(): string { return path.join(this.opts.rundir, `${this.bridge.name}.mgmt`); }

  /** Opens the management socket (root only, as OVS's). */
  async start(): Promise<void> {
    this.mgmt = await this.listen({ kind: 'punix', path: this.mgmtPath, text: `punix:${this.mgmtPath}` });
  }

  /** Connections that have finished HELLO, for `show`-like listings. */
  connections(): { name: string; kind: ConnKind; role: ControllerRole; version?: number }[] {
    return [...this.conns].map((c) => ({ name: c.name, kind: c.kind, role: c.role, version: c.version }));
  }

  /** Is any active controller connected now? */
  isConnected(target: string): boolean {
    return !!this.actives.get(target)?.conn?.connected;
  }

  /**
   * Applies `set-controller`: listeners and controllers not in `targets`
   * close, new ones open; a listener that cannot bind changes nothing
   * (`bestEffort`: it is logged and skipped). As OVS, gaining the first or losing the last
   * active controller flushes the flow table (a standalone bridge without
   * controllers gets its NORMAL flow back).
   */
  async setControllers(targets: string[], opts: { bestEffort?: boolean } = {}): Promise<void> {
    const parsed = targets.map(parseTarget);
    const had = this.actives.size > 0;
    const want = new Set(parsed.map((t) => t.text));
    // New listeners first: if one cannot bind (port in use), nothing has changed.
    const opened = new Map<string, net.Server>();
    for (const t of parsed) {
      if ((t.kind !== 'ptcp' && t.kind !== 'punix') || this.listeners.has(t.text) || opened.has(t.text)) continue;
      try {
        opened.set(t.text, await this.listen(t));
      } catch (e) {
        // At start-up a listener that cannot bind is logged and the rest still come up.
        if (opts.bestEffort) { log.err(`${this.bridge.name}: ${(e as Error).message}`); continue; }
        for (const s of opened.values()) s.close();
        throw e;
      }
    }
    for (const [k, srv] of this.listeners) if (!want.has(k)) { srv.close(); this.listeners.delete(k); }
    for (const [k, r] of this.actives) if (!want.has(k)) { r.close(); this.actives.delete(k); }
    for (const [k, s] of opened) this.listeners.set(k, s);
    for (const t of parsed) if ((t.kind === 'tcp' || t.kind === 'unix') && !this.actives.has(t.text)) this.actives.set(t.text, new Rconn(t, this));
    const has = this.actives.size > 0;
    if (had !== has) {
      this.lastControllerSeen = Date.now();
      this.bridge.setFailOpen(false);
      this.bridge.resetFlows(!has && this.failMode === 'standalone');
    }
  }

  /** New inactivity probe / max backoff (undefined: OVS's defaults); active controllers reconnect with them. */
  setTiming(probeIntervalMs: number | undefined, maxBackoffMs: number | undefined): void {
    this.probeIntervalMs = probeIntervalMs ?? 5000;
    this.maxBackoffMs = maxBackoffMs ?? 8000;
    for (const [k, r] of this.actives) { r.close(); this.actives.set(k, new Rconn(r.target, this)); }
  }

  setFailMode(mode: FailMode): void {
    if (mode === this.failMode) return;
    this.failMode = mode;
    if (mode === 'secure') this.bridge.setFailOpen(false);
    if (!this.actives.size) this.bridge.resetFlows(mode === 'standalone');
  }

  private listen(t: Target): Promise<net.Server> {
    const srv = net.createServer((sock) => {
      // Each connection holds buffers and a queue: a flood of connections is refused, not served.
      if (this.conns.size >= MAX_CONNECTIONS) {
        log.rateLimited('WARN', 'maxconn', `${this.bridge.name}: ${t.text}: refusing connection, ${MAX_CONNECTIONS} already open`);
        sock.destroy();
        return;
      }
      const peer = t.kind === 'ptcp' ? `${sock.remoteAddress}:${sock.remotePort}` : 'unix';
      this.adopt(sock, 'service', `${this.bridge.name}<->${peer}`);
    });
    return new Promise((resolve, reject) => {
      srv.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`${t.text}: cannot listen: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`)));
      const done = (): void => {
        srv.removeAllListeners('error');
        srv.on('error', (e) => log.warn(`${t.text}: ${e.message}`));
        if (t.kind === 'punix') { try { fs.chmodSync(t.path, 0o600); } catch { /* gone already */ } }
        log.info(`${this.bridge.name}: listening for OpenFlow on ${t.text}`);
        resolve(srv);
      };
      if (t.kind === 'punix') {
        fs.mkdirSync(path.dirname(t.path), { recursive: true });
        try { fs.unlinkSync(t.path); } catch { /* not there */ }
        srv.listen(t.path, done);
      } else if (t.kind === 'ptcp') srv.listen(t.port, t.host, done);
    });
  }

  /** Wraps a connected socket as an OpenFlow connection of this bridge. */
  adopt(sock: net.Socket, kind: ConnKind, name: string, onClose?: (c: OfConn) => void): OfConn {
    const conn = new OfConn(sock, kind, name, (c, m) => {
      if (m.type === 'hello' && c.kind === 'controller') { this.lastControllerSeen = Date.now(); this.bridge.setFailOpen(false); }
      return this.handler.handle(c, m);
    }, (c, why) => {
      this.conns.delete(c);
      if (c.kind === 'controller') { log.info(`${this.bridge.name}<->${name}: disconnected (${why})`); this.lastControllerSeen = Date.now(); }
      onClose?.(c);
    }, { probeIntervalMs: kind === 'controller' ? this.probeIntervalMs : undefined });
    this.conns.add(conn);
    if (kind === 'controller') log.info(`${this.bridge.name}<->${name}: connected`);
    return conn;
  }

  /* ---- roles ------------------------------------------------------------- */

  generationId(): bigint { return this.genId ?? 0n; }

  setRole(conn: OfConn, role: ControllerRole, generationId: bigint): void {
    if (role === ControllerRole.MASTER || role === ControllerRole.SLAVE) {
      // A generation id older than the last one seen is stale (compared modulo 2^64, OpenFlow 1.3 6.3.5).
      if (this.genId !== undefined && BigInt.asIntN(64, generationId - this.genId) < 0n) {
        throw new OfpError(OFPET.ROLE_REQUEST_FAILED, OFPRRFC.STALE, `generation id ${generationId} is older than ${this.genId}`);
      }
      this.genId = generationId;
    }
    if (role === ControllerRole.MASTER) for (const c of this.conns) if (c !== conn && c.role === ControllerRole.MASTER) c.role = ControllerRole.SLAVE;
    conn.role = role;
  }

  /* ---- asynchronous messages --------------------------------------------- */

  /** OVS: a service connection gets async messages only after asking with a nonzero miss_send_len (ovs-ofctl monitor). */
  private wants(c: OfConn, kind: 'packetIn' | 'portStatus' | 'flowRemoved', reason: number): boolean {
    if (!c.connected) return false;
    if (c.kind === 'service' && c.missSendLen === 0) return false;
    const mask = c.asyncConfig[kind][c.role === ControllerRole.SLAVE ? 1 : 0];
    return (mask & (1 << reason)) !== 0;
  }

  private packetIn(p: PacketIn): void {
    const match = new Match().set(mfField('in_port'), BigInt(p.inPort));
    if (p.metadata) match.set(mfField('metadata'), p.metadata);
    for (const c of this.conns) {
      if (!this.wants(c, 'packetIn', p.reason)) continue;
      const v = c.version!;
      const reason = v === OFP10_VERSION && p.reason === PacketInReason.INVALID_TTL ? PacketInReason.ACTION : p.reason;
      c.sendAsync({
        type: 'packet_in', version: v, xid: 0, bufferId: OFP_NO_BUFFER, totalLen: p.totalLen, reason,
        tableId: p.tableId, cookie: p.cookie, match, data: p.packet,
      });
    }
  }

  private flowRemoved(r: Rule, reason: RemovedReason): void {
    if (!(r.flags & OFPFF.SEND_FLOW_REM)) return;
    for (const c of this.conns) {
      if (!this.wants(c, 'flowRemoved', reason)) continue;
      // OpenFlow 1.0 knows idle, hard and delete only.
      const rr = c.version === OFP10_VERSION && reason > RemovedReason.DELETE ? RemovedReason.DELETE : reason;
      const m = flowRemovedFromRule(r, rr, c.version!);
      c.sendAsync(c.version === OFP10_VERSION ? { ...m, match: of10Match(m.match) } : m);
    }
  }

  private async portStatus(change: PortChange, p: { name: string; ofport: number }): Promise<void> {
    const reason = change === 'add' ? PortReason.ADD : change === 'delete' ? PortReason.DELETE : PortReason.MODIFY;
    let state: PortState | undefined = (await this.bridge.portStates()).find((x) => x.ofport === p.ofport);
    // A deleted port is gone from the bridge: describe it from what we knew.
    state ??= { ...(p as PortState), live: false, ifindex: 0, addedAt: Date.now(), hook: 'auto' };
    const desc = ofPort(state);
    for (const c of this.conns) {
      if (!this.wants(c, 'portStatus', reason)) continue;
      const m: OfMessage = { type: 'port_status', version: c.version!, xid: 0, reason, port: desc };
      c.sendAsync(m);
    }
  }

  /* ---- fail mode --------------------------------------------------------- */

  private runFailOpen(): void {
    if (this.failMode !== 'standalone' || !this.actives.size) return;
    const anyUp = [...this.actives.values()].some((r) => r.conn?.connected);
    if (anyUp) { this.lastControllerSeen = Date.now(); return; }
    // OVS: fail open after three probe intervals without a controller.
    if (Date.now() - this.lastControllerSeen >= 3 * this.probeIntervalMs) this.bridge.setFailOpen(true);
  }

  async close(): Promise<void> {
    clearInterval(this.failOpenTimer);
    for (const u of this.unsubscribe) u();
    for (const r of this.actives.values()) r.close();
    this.actives.clear();
    for (const c of [...this.conns]) c.close('bridge closing');
    const servers = [...this.listeners.values(), ...(this.mgmt ? [this.mgmt] : [])];
    this.listeners.clear();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    try { fs.unlinkSync(this.mgmtPath); } catch { /* gone */ }
  }
}
