/*
 * A bridge (OVS ofproto): its ports, its OpenFlow tables, groups and
 * meters, MAC learning and the upcall handler, over one datapath. OpenFlow
 * port numbers are the datapath port numbers (each bridge has its own
 * datapath here).
 */
import { EventEmitter } from 'events';
import { DpifXdp, DpifXdpOptions } from '../dpif/dpif-xdp';
import { MAX_METERS } from '../dpif/xvs-abi';
import { DpifPort, PortHook } from '../dpif/dpif';
import { FlowKey } from '../dpif/flow-key';
import { RtNetlink, LinkInfo } from '../netlink';
import { createHash } from 'crypto';
import { Match } from './match';
import { OFPP } from './meta-flow';
import { OfTables, RemovedReason } from './tables';
import { Rule, Meter, OfpAction } from './ofp-actions';
import { OfpError, OFPET, OFPMMFC } from './ofp-errors';
import { MeterStats } from '../dpif/dpif';
import { flowExtract } from '../dpif/flow-extract';
import { MacLearning } from './mac-learning';
import { Udpif } from './udpif';
import { XlateContext, XPort, xlate, XlateResult, XlateOptions } from './xlate';
import { PacketIn } from './packet-in';
import { Vlog } from '../lib/vlog';

const log = new Vlog('ofproto');

export interface PortConfig {
  name: string;
  ofport: number;
  hook: PortHook | 'auto';
  tag?: number;             // access port in this VLAN
  trunks?: number[];        // trunk VLANs (none: all)
}

export type FailMode = 'standalone' | 'secure';

/** Why a port changed (OFPPR_*). */
export type PortChange = 'add' | 'delete' | 'modify';

/** A port with its kernel link, for PORT_DESC / PORT_STATS / PORT_STATUS. */
export interface PortState extends PortConfig { live: boolean; ifindex: number; addedAt: number; link?: LinkInfo }

export class Bridge extends EventEmitter {
  readonly tables = new OfTables();
  readonly macs: MacLearning;
  readonly udpif: Udpif;
  readonly ctx: XlateContext;
  private readonly portsByName = new Map<string, PortConfig & { live: boolean; ifindex: number; addedAt: number }>();
  private revalidatePending = false;
  private failOpenOn = false;
  /** OpenFlow datapath id: OVS takes the local port's MAC; with no local port, a stable hash of the name. */
  readonly datapathId: bigint;
  /** OpenFlow meter id -> datapath meter id (the datapath has MAX_METERS slots). */
  private readonly dpMeters = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private unsubscribeLinks?: () => void;

  private constructor(readonly name: string, readonly dpif: DpifXdp, private readonly rtnl: RtNetlink, agingSec: number, failMode: FailMode) {
    super();
    this.macs = new MacLearning(agingSec);
    this.ctx = {
      bridge: name,
      tables: this.tables,
      macs: this.macs,
      ports: () => this.xports(),
      dpMeter: (id) => this.dpMeters.get(id),
      failOpen: () => this.failOpenOn,
    };
    this.datapathId = BigInt('0x' + createHash('sha256').update(`xdp-vswitch:${name}`).digest('hex').slice(0, 12)) | 0x020000000000n;
    this.udpif = new Udpif(dpif, this.ctx);
    this.udpif.on('packet-in', (p: PacketIn) => this.emit('packet-in', p));
    // A learned MAC that appears, moves or ages out changes NORMAL's answer.
    this.macs.on('changed', (c: { mac: string }) => this.udpif.revalidateMac(c.mac));
    // Table changes revalidate once per burst of flow_mods; sync() forces it (barrier).
    this.tables.on('changed', () => this.scheduleRevalidation());
    this.tables.on('removed', (r: Rule, reason: RemovedReason) => this.emit('flow-removed', r, reason));
    this.tables.on('meter', (m: Meter) => this.meterSet(m));
    this.tables.on('meter-deleted', (id: number) => this.meterDel(id));
    this.timer = setInterval(() => this.expireRules(), 1000).unref();
    this.unsubscribeLinks = rtnl.onLinkChange((ev) => this.linkChanged(ev.link.index, ev.type === 'new' && ev.link.operUp),
      (e) => log.rateLimited('WARN', 'links', `${name}: link monitor: ${e.message}`));
    // fail-mode standalone: a new bridge is a learning switch (OVS's default flow).
    this.resetFlows(failMode === 'standalone');
  }

  /**
   * Deletes every flow; with `normal`, adds OVS's default flow
   * `priority=0 actions=NORMAL` (a standalone bridge with no controller).
   */
  resetFlows(normal: boolean): void {
    this.tables.removeRules([...this.tables.rules()], RemovedReason.DELETE);
    if (normal) this.tables.add({ priority: 0, match: Match.any(), actions: [{ type: 'output', port: OFPP.NORMAL }] });
  }

  /** Fail-open (standalone bridge whose controllers are all unreachable): NORMAL overrides the tables. */
  setFailOpen(on: boolean): void {
    if (on === this.failOpenOn) return;
    this.failOpenOn = on;
    log.info(`${this.name}: ${on ? 'no controller connected: entering fail-open (NORMAL)' : 'controller connected: leaving fail-open'}`);
    this.udpif.flush();
  }

  get failOpen(): boolean { return this.failOpenOn; }

  static async create(name: string, opts: DpifXdpOptions & { macAgingSec?: number; failMode?: FailMode } = {}): Promise<Bridge> {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`invalid bridge name "${name}" (1-15 of A-Z a-z 0-9 _ . -)`);
    const dpif = await DpifXdp.open(name, opts);
    const rtnl = await RtNetlink.open();
    return new Bridge(name, dpif, rtnl, opts.macAgingSec ?? 300, opts.failMode ?? 'standalone');
  }

  private xports(): XPort[] {
    return [...this.portsByName.values()].map((p) => ({ ofport: p.ofport, name: p.name, live: p.live, tag: p.tag, trunks: p.trunks }));
  }

  private scheduleRevalidation(): void {
    this.udpif.bumpRevalSeq();             // no push through a cache built before this change
    if (this.revalidatePending) return;
    this.revalidatePending = true;
    setImmediate(() => this.sync());
  }

  /** Brings every megaflow in line with the tables now (OpenFlow barrier). */
  sync(): void {
    if (!this.revalidatePending) return;
    this.revalidatePending = false;
    this.udpif.revalidate();
  }

  private expireRules(): void {
    // Traffic the datapath forwarded counts before timeouts are judged.
    try { this.udpif.revalidatorPass(); } catch (e) { log.rateLimited('WARN', 'push', `${this.name}: revalidator: ${(e as Error).message}`); }
    const gone = this.tables.expired();
    for (const reason of [RemovedReason.IDLE_TIMEOUT, RemovedReason.HARD_TIMEOUT]) {
      this.tables.removeRules(gone.filter((g) => g.reason === reason).map((g) => g.rule), reason);
    }
  }

  private linkChanged(ifindex: number, live: boolean): void {
    for (const p of this.portsByName.values()) {
      if (p.ifindex !== ifindex || p.live === live) continue;
      p.live = live;
      log.info(`${this.name}: port ${p.name} link ${live ? 'up' : 'down'}`);
      this.emit('port-status', 'modify', p);
      this.scheduleRevalidation();         // fast-failover groups depend on liveness
    }
  }

  /** Meters are enforced in the datapath: one drop band, as OVS's dpif meters. */
  private meterSet(m: Meter): void {
    let dpId = this.dpMeters.get(m.id);
    if (dpId === undefined) {
      const used = new Set(this.dpMeters.values());
      dpId = 0;
      while (used.has(dpId)) dpId++;
      if (dpId >= MAX_METERS) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.OUT_OF_METERS, `the datapath has ${MAX_METERS} meters`);
    }
    const band = m.bands[0];
    this.dpif.meterSet(dpId, { kbps: m.flags.kbps, rate: band.rate, burst: m.flags.burst ? band.burst : 0 });
    this.dpMeters.set(m.id, dpId);
  }

  private meterDel(id: number): void {
    const dpId = this.dpMeters.get(id);
    if (dpId === undefined) return;
    this.dpif.meterDel(dpId);
    this.dpMeters.delete(id);
  }

  meterStats(id: number): MeterStats | undefined {
    const dpId = this.dpMeters.get(id);
    return dpId === undefined ? undefined : this.dpif.meterStats(dpId);
  }

  /**
   * PACKET_OUT: runs `actions` (output:TABLE runs the tables) on `packet` as
   * if it arrived on `inPort` (OFPP_CONTROLLER when from nowhere).
   */
  packetOut(packet: Buffer, inPort: number, actions: OfpAction[]): XlateResult {
    const key = flowExtract(packet, inPort);
    const x = xlate(this.ctx, key, { actions, learn: false });
    if (x.actions.length) this.dpif.execute(packet, key, x.actions);
    return x;
  }

  /** ofproto/trace: translates without learning or installing anything. */
  trace(key: FlowKey, opts: XlateOptions = {}): XlateResult {
    return xlate(this.ctx, key, { ...opts, learn: false });
  }

  ports(): PortConfig[] { return [...this.portsByName.values()].sort((a, b) => a.ofport - b.ofport).map(({ live: _l, ifindex: _i, ...p }) => p); }
  port(name: string): PortConfig | undefined { return this.portsByName.get(name); }
  portLive(name: string): boolean { return this.portsByName.get(name)?.live ?? false; }
  dpPorts(): DpifPort[] { return this.dpif.ports(); }

  async addPort(name: string, opts: { ofport?: number; hook?: PortHook | 'auto'; tag?: number; trunks?: number[] } = {}): Promise<PortConfig> {
    if (this.portsByName.has(name)) throw new Error(`cannot create a port named ${name} because a port named ${name} already exists on bridge ${this.name}`);
    checkVlans(opts.tag, opts.trunks);
    const used = new Set([...this.portsByName.values()].map((p) => p.ofport));
    let ofport = opts.ofport;
    if (ofport === undefined) { ofport = 1; while (used.has(ofport)) ofport++; }
    else if (used.has(ofport)) throw new Error(`ofport ${ofport} is already in use on bridge ${this.name}`);
    const dp = await this.dpif.addPort(name, ofport, opts.hook ?? 'auto');
    const link = await this.rtnl.getLink(name);
    const pc = { name, ofport, hook: opts.hook ?? 'auto', tag: opts.tag, trunks: opts.trunks, live: link?.operUp ?? false, ifindex: dp.ifindex, addedAt: Date.now() };
    this.portsByName.set(name, pc);
    // Floods and ALL now include the new port: re-translate, replacing the megaflows whose actions change.
    this.udpif.revalidate();
    log.info(`${this.name}: added port ${name} as ofport ${ofport} (${dp.hook})`);
    this.emit('port-status', 'add', pc);
    return pc;
  }

  /** Changes a port's VLAN mode (tag / trunks); megaflows follow. */
  setPortVlans(name: string, tag: number | undefined, trunks: number[] | undefined): void {
    const p = this.portsByName.get(name);
    if (!p) throw new Error(`bridge ${this.name} does not have a port ${name}`);
    checkVlans(tag, trunks);
    p.tag = tag;
    p.trunks = trunks;
    this.macs.flush(p.ofport);
    this.udpif.revalidate();
  }

  async delPort(name: string): Promise<void> {
    const p = this.portsByName.get(name);
    if (!p) throw new Error(`bridge ${this.name} does not have a port ${name}`);
    this.portsByName.delete(name);
    await this.dpif.removePort(p.ofport);
    this.macs.flush(p.ofport);
    this.udpif.revalidate();       // including every megaflow whose in_port was this port
    this.emit('port-status', 'delete', p);
  }

  /** Ports with their kernel links (MAC, admin/oper state, counters), by OpenFlow port number. */
  async portStates(): Promise<PortState[]> {
    const ports = [...this.portsByName.values()].sort((a, b) => a.ofport - b.ofport);
    const links = await Promise.all(ports.map((p) => this.rtnl.getLink(p.ifindex).catch(() => undefined)));
    return ports.map((p, i) => ({ ...p, link: links[i] }));
  }

  /** PORT_MOD's OFPPC_PORT_DOWN: the link's administrative state. */
  async setPortAdminUp(ofport: number, up: boolean): Promise<void> {
    const p = [...this.portsByName.values()].find((x) => x.ofport === ofport);
    if (!p) throw new Error(`bridge ${this.name} has no port ${ofport}`);
    await this.rtnl.setUp(p.ifindex, up);
  }

  portByNumber(ofport: number): PortConfig | undefined {
    for (const p of this.portsByName.values()) if (p.ofport === ofport) return p;
    return undefined;
  }

  /**
   * After a restart, once the stored ports are back: adopts the megaflows
   * the previous run left in a pinned datapath, and releases the ports and
   * flows no one claimed.
   */
  async finishRecovery(): Promise<void> {
    if (!this.dpif.unadoptedFlows() && !this.dpif.recoveredPortCount()) return;
    const { kept, deleted } = this.udpif.adopt();
    const rel = await this.dpif.releaseRecovered();
    log.info(`${this.name}: kept ${kept} megaflows from the previous run, deleted ${deleted + rel.flows} stale ones, released ${rel.ports} unclaimed ports`);
  }

  /** With `cleanup` false a pinned datapath keeps forwarding after this (daemon restart). */
  async close(opts: { cleanup?: boolean } = {}): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribeLinks?.();
    this.udpif.close();
    this.macs.close();
    this.rtnl.close();
    await this.dpif.close(opts);
  }
}

function checkVlans(tag: number | undefined, trunks: number[] | undefined): void {
  const bad = [tag, ...(trunks ?? [])].find((v) => v !== undefined && (!Number.isInteger(v) || v < 0 || v > 4095));
  if (bad !== undefined) throw new Error(`VLAN ${bad} is out of range (0-4095)`);
  if (tag !== undefined && trunks?.length) throw new Error('a port is either an access port (tag) or a trunk (trunks), not both');
}
