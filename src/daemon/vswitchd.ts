/*
 * xdp-vswitchd's state and commands: bridges from the configuration store,
 * the vsctl verbs that change them, and the appctl verbs that inspect the
 * datapaths. Output formats follow ovs-vsctl / ovs-appctl.
 */
import { Bridge } from '../ofproto/ofproto';
import { ConnMgr, parseTarget } from '../ofproto/connmgr';
import { PortHook } from '../dpif/dpif';
import { ConfigStore, Config, BridgeRecord } from './config-store';
import { formatDumpedFlow } from '../dpif/odp-util';
import { FlowKey, KEY_SIZE } from '../dpif/flow-key';
import { flowExtract } from '../dpif/flow-extract';
import { parseFlow } from '../ofproto/ofp-parse';
import { formatFlowStats } from '../ofproto/ofp-print';
import { formatTrace } from '../ofproto/trace-format';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Vlog } from '../lib/vlog';
import { DEFAULT_MAX_IDLE_MS, DEFAULT_FLOW_LIMIT } from '../ofproto/udpif';
import { resolveTable, dbGet, dbSet, dbRemove, dbClear, dbList } from './vsctl-db';
import { cpuProfileStart, cpuProfileStop } from './profile';

const log = new Vlog('bridge');
const HOOKS = ['auto', 'tc', 'xdp', 'xdp-generic'] as const;
export { VERSION } from '../lib/version';
import { VERSION } from '../lib/version';

export class Vswitchd {
  private readonly bridges = new Map<string, Bridge>();
  private readonly connmgrs = new Map<string, ConnMgr>();
  private config: Config = { bridges: {} };
  /** upcall/{enable,disable}-megaflows: one mode for every bridge, as OVS's. */
  private megaflows = true;
  private queue: Promise<unknown> = Promise.resolve();
  onExit?: (cleanup: boolean) => void;

  /**
   * `bpffs`: where each bridge's fast path is pinned (BPFFS/BRIDGE), so
   * that it keeps forwarding across a restart; without it a bridge's fast
   * path goes with the daemon.
   */
  constructor(private readonly store: ConfigStore, private readonly rundir: string, private readonly opts: { bpffs?: string } = {}) {}

  /**
   * Re-creates the stored bridges and ports, adopting the fast path a
   * previous run left pinned (its megaflows keep forwarding throughout), and
   * removes pinned bridges the configuration no longer has. A port that
   * fails is logged and kept in the config.
   */
  async start(): Promise<void> {
    this.config = this.store.load();
    if (!this.config.uuid) { this.config.uuid = randomUUID(); this.save(); }
    await this.purgeStalePins();
    for (const [br, rec] of Object.entries(this.config.bridges)) {
      try {
        await this.createBridge(br, rec);
      } catch (e) {
        log.err(`could not create bridge ${br}: ${(e as Error).message}`);
      }
    }
  }

  /** Pinned datapaths of bridges deleted while the daemon was down: detach and unpin them. */
  private async purgeStalePins(): Promise<void> {
    const root = this.opts.bpffs;
    if (!root || !fs.existsSync(root)) return;
    for (const d of fs.readdirSync(root)) {
      if (this.config.bridges[d] || !fs.existsSync(path.join(root, d, 'megaflows'))) continue;
      try {
        const b = await Bridge.create(d, { pinDir: path.join(root, d) });
        await b.close({ cleanup: true });
        log.info(`removed the fast path of bridge ${d}, which is no longer configured`);
      } catch (e) {
        log.warn(`could not remove the stale fast path ${path.join(root, d)}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * A bridge with its ports, OpenFlow connections (management socket, stored
   * controllers and fail mode) and other_config; then what a previous run
   * left in its pinned fast path is adopted or released.
   */
  private async createBridge(name: string, rec: BridgeRecord): Promise<Bridge> {
    const pinDir = this.opts.bpffs ? path.join(this.opts.bpffs, name) : undefined;
    // The fast path is sized for other_config:flow-limit when it is created.
    const maxFlows = Number(this.config.otherConfig?.['flow-limit'] ?? DEFAULT_FLOW_LIMIT);
    const b = await Bridge.create(name, { failMode: rec.failMode ?? 'standalone', pinDir, maxFlows });
    b.udpif.setMegaflows(this.megaflows, false);
    this.applyOtherConfig(b, rec);
    for (const [iface, p] of Object.entries(rec.ports)) {
      await b.addPort(iface, { ofport: p.ofport, hook: p.hook, tag: p.tag, trunks: p.trunks }).catch((e: Error) =>
        log.warn(`${name}: could not add port ${iface}: ${e.message}`));
    }
    const mgr = new ConnMgr(b, { rundir: this.rundir, probeIntervalMs: rec.inactivityProbeMs, maxBackoffMs: rec.maxBackoffMs }, rec.failMode ?? 'standalone');
    try {
      await mgr.start();
      await mgr.setControllers(rec.controllers ?? [], { bestEffort: true });
    } catch (e) {
      log.err(`${name}: OpenFlow: ${(e as Error).message}`);
    }
    this.bridges.set(name, b);
    this.connmgrs.set(name, mgr);
    await b.finishRecovery().catch((e: Error) => log.err(`${name}: adopting the previous fast path: ${e.message}`));
    return b;
  }

  private async destroyBridge(name: string, cleanup = true): Promise<void> {
    await this.connmgrs.get(name)?.close();
    this.connmgrs.delete(name);
    await this.bridges.get(name)?.close({ cleanup });
    this.bridges.delete(name);
  }

  /** Open_vSwitch and Bridge other_config keys the switch acts on (vsctl-db.ts KNOWN_KEYS), applied live. */
  private applyOtherConfig(b: Bridge, rec: BridgeRecord | undefined): void {
    const g = this.config.otherConfig ?? {}, oc = rec?.otherConfig ?? {};
    b.udpif.maxIdleMs = Number(g['max-idle'] ?? DEFAULT_MAX_IDLE_MS);
    b.udpif.setFlowLimitCeiling(Number(g['flow-limit'] ?? DEFAULT_FLOW_LIMIT));
    b.macs.configure(Number(oc['mac-aging-time'] ?? 300), Number(oc['mac-table-size'] ?? 8192));
  }

  /**
   * SIGHUP: re-reads the configuration store and brings the running switch
   * in line with it (bridges, ports, VLANs, controllers, fail mode,
   * other_config). A store that does not load leaves everything running.
   */
  reload(): Promise<void> {
    const run = this.queue.then(async () => {
      const next = this.store.load();
      await this.applyConfig(next);
      log.info(`configuration reloaded: ${Object.keys(next.bridges).length} bridges`);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyConfig(next: Config): Promise<void> {
    const cur = this.config;
    this.config = next;
    for (const br of Object.keys(cur.bridges)) if (!next.bridges[br]) await this.destroyBridge(br);
    for (const [br, rec] of Object.entries(next.bridges)) {
      const b = this.bridges.get(br);
      if (!b) { await this.createBridge(br, rec).catch((e: Error) => log.err(`could not create bridge ${br}: ${e.message}`)); continue; }
      const old = cur.bridges[br];
      for (const iface of Object.keys(old.ports)) {
        const p = rec.ports[iface], o = old.ports[iface];
        if (!p || p.ofport !== o.ofport || p.hook !== o.hook) await b.delPort(iface).catch((e: Error) => log.warn(`${br}: ${e.message}`));
      }
      for (const [iface, p] of Object.entries(rec.ports)) {
        if (!b.port(iface)) {
          await b.addPort(iface, { ofport: p.ofport, hook: p.hook, tag: p.tag, trunks: p.trunks }).catch((e: Error) => log.warn(`${br}: could not add port ${iface}: ${e.message}`));
        } else if (p.tag !== b.port(iface)!.tag || JSON.stringify(p.trunks) !== JSON.stringify(b.port(iface)!.trunks)) {
          b.setPortVlans(iface, p.tag, p.trunks);
        }
      }
      const mgr = this.connmgrs.get(br)!;
      mgr.setFailMode(rec.failMode ?? 'standalone');
      mgr.setTiming(rec.inactivityProbeMs, rec.maxBackoffMs);
      if (JSON.stringify(rec.controllers ?? []) !== JSON.stringify(old.controllers ?? [])) {
        await mgr.setControllers(rec.controllers ?? [], { bestEffort: true });
      }
    }
    for (const [br, b] of this.bridges) this.applyOtherConfig(b, next.bridges[br]);
  }

  private connmgr(name: string | undefined): ConnMgr {
    return this.connmgrs.get(this.bridge(name).name)!;
  }

  /** Without `cleanup`, pinned fast paths keep forwarding for the next start to adopt. */
  async stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    for (const m of this.connmgrs.values()) await m.close().catch((e: Error) => log.warn(e.message));
    this.connmgrs.clear();
    for (const b of this.bridges.values()) await b.close({ cleanup: opts.cleanup ?? false }).catch((e: Error) => log.warn(e.message));
    this.bridges.clear();
  }

  /** Commands run one at a time so configuration changes never interleave. */
  handle(argv: string[]): Promise<string> {
    const run = this.queue.then(() => this.dispatch(argv));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async dispatch(argv: string[]): Promise<string> {
    const [cmd, ...args] = argv;
    if (cmd === 'vsctl') return this.vsctl(args);
    const h = this.appctl[cmd];
    if (!h) throw new Error(`"${cmd}" is not a valid command (use list-commands to see the list)`);
    return h(args);
  }

  private bridge(name: string | undefined): Bridge {
    if (!name) throw new Error('missing bridge name');
    const dpName = name.startsWith('xdp@') ? name.slice(4) : name;
    const b = this.bridges.get(dpName);
    if (!b) throw new Error(`no bridge named ${name}`);
    return b;
  }

  private save(): void { this.store.save(this.config); }

  /* ---- vsctl ------------------------------------------------------------- */

  private async vsctl(raw: string[]): Promise<string> {
    // `--format json` / `--columns a,b` as ovs-vsctl also takes them: `--format=json`.
    const argv: string[] = [];
    for (let i = 0; i < raw.length; i++) {
      if ((raw[i] === '--format' || raw[i] === '--columns') && i + 1 < raw.length) argv.push(`${raw[i]}=${raw[++i]}`);
      else argv.push(raw[i]);
    }
    const opt = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    const format = opt('format');
    if (format !== undefined && !['list', 'table', 'json'].includes(format)) throw new Error(`--format=${format}: expected list, table or json`);
    const flags = new Set(argv.filter((a) => a.startsWith('--') && a !== '--'));
    const dd = argv.indexOf('--');
    const words = (dd < 0 ? argv : argv.slice(0, dd)).filter((a) => !a.startsWith('--'));
    const extra = dd < 0 ? [] : argv.slice(dd + 1);
    const [verb, ...rest] = words;
    switch (verb) {
      case 'add-br': {
        const [br] = rest;
        if (!br) throw new Error("'add-br' command requires at least 1 arguments");
        if (this.bridges.has(br)) { if (flags.has('--may-exist')) return ''; throw new Error(`cannot create a bridge named ${br} because a bridge named ${br} already exists`); }
        this.config.bridges[br] = { ports: {} };
        await this.createBridge(br, this.config.bridges[br]).catch((e: Error) => { delete this.config.bridges[br]; throw e; });
        this.save();
        return '';
      }
      case 'del-br': {
        const [br] = rest;
        if (!br) throw new Error("'del-br' command requires at least 1 arguments");
        const b = this.bridges.get(br);
        if (!b) { if (flags.has('--if-exists')) return ''; throw new Error(`no bridge named ${br}`); }
        await this.destroyBridge(br);
        delete this.config.bridges[br];
        this.save();
        return '';
      }
      case 'list-br': return names([...this.bridges.keys()].sort(), format);
      case 'br-exists': if (!this.bridges.has(rest[0] ?? '')) throw new Error(`no bridge named ${rest[0]}`); return '';
      case 'add-port': {
        const [br, iface, ...cols] = rest;
        if (!br || !iface) throw new Error("'add-port' command requires at least 2 arguments");
        const b = this.bridge(br);
        if (b.port(iface)) { if (flags.has('--may-exist')) return ''; }
        // `add-port br0 p0 tag=10` sets Port columns, `-- set Interface|Port p0 ...` either table's.
        const vlans = portColumns(cols, {});
        const opts = { ...this.interfaceSettings(iface, extra, vlans), ...vlans };
        const pc = await b.addPort(iface, opts);
        this.config.bridges[br].ports[iface] = { ofport: pc.ofport, hook: pc.hook, tag: pc.tag, trunks: pc.trunks };
        this.save();
        return '';
      }
      case 'get': case 'list': case 'remove': return this.dbCommand(verb, rest, { format, columns: opt('columns')?.split(','), ifExists: flags.has('--if-exists') });
      case 'set': case 'clear': {
        // set Port P tag=10 trunks=10,20 / clear Port P tag trunks (the Port columns we have)
        const [table, rec, ...cols] = rest;
        if (/^controller$/i.test(table ?? '') && verb === 'set') return this.setControllerColumns(rec, cols);
        if (/^(open_vswitch|bridge|interface)$/i.test(table ?? '')) return this.dbCommand(verb, rest, {});
        if (!/^port$/i.test(table ?? '')) throw new Error(`table "${table ?? ''}" is not supported (supported: Open_vSwitch, Bridge, Interface, Port, Controller)`);
        const b = [...this.bridges.values()].find((x) => x.port(rec ?? ''));
        if (!b) throw new Error(`no row "${rec ?? ''}" in table Port`);
        const cur = b.port(rec)!;
        const next = verb === 'set' ? portColumns(cols, { tag: cur.tag, trunks: cur.trunks }) : clearColumns(cols, { tag: cur.tag, trunks: cur.trunks });
        b.setPortVlans(rec, next.tag, next.trunks);
        Object.assign(this.config.bridges[b.name].ports[rec], { tag: next.tag, trunks: next.trunks });
        this.save();
        return '';
      }
      case 'del-port': {
        const [a, c] = rest;
        const iface = c ?? a;
        if (!iface) throw new Error("'del-port' command requires at least 1 arguments");
        const b = c ? this.bridge(a) : [...this.bridges.values()].find((x) => x.port(iface));
        if (!b || !b.port(iface)) { if (flags.has('--if-exists')) return ''; throw new Error(`no port named ${iface}`); }
        await b.delPort(iface);
        delete this.config.bridges[b.name].ports[iface];
        this.save();
        return '';
      }
      case 'list-ports': return names(this.bridge(rest[0]).ports().map((p) => p.name).sort(), format);
      case 'port-to-br': {
        const b = [...this.bridges.values()].find((x) => x.port(rest[0] ?? ''));
        if (!b) throw new Error(`no port named ${rest[0]}`);
        return b.name + '\n';
      }
      case 'set-controller': {
        const [br, ...targets] = rest;
        if (!br || !targets.length) throw new Error("'set-controller' command requires at least 2 arguments");
        targets.forEach(parseTarget);                       // all valid, or nothing changes
        await this.connmgr(br).setControllers(targets);
        this.config.bridges[this.bridge(br).name].controllers = targets;
        this.save();
        return '';
      }
      case 'del-controller': {
        const br = this.bridge(rest[0]).name;
        await this.connmgr(br).setControllers([]);
        delete this.config.bridges[br].controllers;
        this.save();
        return '';
      }
      case 'get-controller': return (this.config.bridges[this.bridge(rest[0]).name].controllers ?? []).map((t) => t + '\n').join('');
      case 'set-fail-mode': {
        const [br, mode] = rest;
        if (mode !== 'standalone' && mode !== 'secure') throw new Error(`fail-mode must be "standalone" or "secure", not "${mode ?? ''}"`);
        this.connmgr(br).setFailMode(mode);
        this.config.bridges[this.bridge(br).name].failMode = mode;
        this.save();
        return '';
      }
      case 'del-fail-mode': {
        const br = this.bridge(rest[0]).name;
        this.connmgr(br).setFailMode('standalone');
        delete this.config.bridges[br].failMode;
        this.save();
        return '';
      }
      case 'get-fail-mode': { const m = this.config.bridges[this.bridge(rest[0]).name].failMode; return m ? m + '\n' : ''; }
      case 'show': return this.show();
      case undefined: throw new Error('missing command name (use --help for help)');
      default: throw new Error(`unknown command '${verb}'; use --help for help`);
    }
  }

  /**
   * get / set / remove / clear / list on the Open_vSwitch, Bridge and
   * Interface tables (vsctl-db.ts). A change is computed on a copy,
   * validated, applied live, then stored; a failure changes nothing.
   */
  private async dbCommand(verb: string, args: string[], o: { format?: string; columns?: string[]; ifExists?: boolean }): Promise<string> {
    const [t, rec, ...more] = args;
    const table = resolveTable(t);
    if (verb === 'list') return dbList(this.config, table, rec === undefined ? [] : [rec, ...more], o);
    if (verb === 'get') return dbGet(this.config, table, rec, more, o);
    const next = verb === 'set' ? dbSet(this.config, table, rec, more)
      : verb === 'remove' ? dbRemove(this.config, table, rec, more[0], more.slice(1))
      : dbClear(this.config, table, rec, more);
    this.config = next;
    for (const [br, b] of this.bridges) this.applyOtherConfig(b, next.bridges[br]);
    this.save();
    return '';
  }

  /**
   * `set Controller BR inactivity_probe=MS max_backoff=MS` (OVS keeps these per
   * controller; here they apply to all of a bridge's controllers). Active
   * controllers reconnect with the new settings.
   */
  private setControllerColumns(br: string | undefined, cols: string[]): string {
    const rec = this.config.bridges[this.bridge(br).name];
    const next = { ...rec };
    for (const c of cols) {
      const m = /^(inactivity_probe|max_backoff)=(\d+)$/.exec(c);
      if (!m) throw new Error(`"${c}": Controller column not supported (supported: inactivity_probe=MS, max_backoff=MS)`);
      const ms = Number(m[2]);
      if (ms < 100 || ms > 3600_000) throw new Error(`"${c}": expected 100..3600000 ms`);
      if (m[1] === 'inactivity_probe') next.inactivityProbeMs = ms; else next.maxBackoffMs = ms;
    }
    const name = this.bridge(br).name;
    this.connmgr(name).setTiming(next.inactivityProbeMs, next.maxBackoffMs);
    this.config.bridges[name] = next;
    this.save();
    return '';
  }

  /** `-- set Interface IFACE ofport_request=N options:dp-hook=tc` (or `-- set Port IFACE tag=N`) after add-port. */
  private interfaceSettings(iface: string, extra: string[], vlans: PortVlans): { ofport?: number; hook?: PortHook | 'auto' } {
    const out: { ofport?: number; hook?: PortHook | 'auto' } = {};
    if (!extra.length) return out;
    const [verb, table, rec, ...sets] = extra;
    if (verb !== 'set' || !/^(interface|port)$/i.test(table ?? '') || rec !== iface) {
      throw new Error(`only "-- set Interface|Port ${iface} COLUMN=VALUE..." may follow add-port`);
    }
    if (/^port$/i.test(table)) { Object.assign(vlans, portColumns(sets, vlans)); return out; }
    for (const s of sets) {
      const m = /^([a-z_]+(?::[a-z-]+)?)=(.*)$/.exec(s);
      if (!m) throw new Error(`"${s}": expected COLUMN=VALUE`);
      const [, col, val] = m;
      if (col === 'ofport_request') {
        const n = Number(val);
        if (!Number.isInteger(n) || n < 1 || n > 1023) throw new Error(`ofport_request=${val}: expected 1..1023`);
        out.ofport = n;
      } else if (col === 'options:dp-hook') {
        if (!(HOOKS as readonly string[]).includes(val)) throw new Error(`options:dp-hook=${val}: expected one of ${HOOKS.join(', ')}`);
        out.hook = val as PortHook | 'auto';
      } else throw new Error(`Interface column "${col}" is not supported (supported: ofport_request, options:dp-hook)`);
    }
    return out;
  }

  private show(): string {
    const lines = [this.config.uuid ?? ''];
    for (const b of [...this.bridges.values()].sort((x, y) => x.name.localeCompare(y.name))) {
      lines.push(`    Bridge ${b.name}`);
      const rec = this.config.bridges[b.name];
      const mgr = this.connmgrs.get(b.name);
      for (const t of rec?.controllers ?? []) {
        lines.push(`        Controller "${t}"`);
        if (/^(tcp|unix):/.test(t) && mgr?.isConnected(t)) lines.push('            is_connected: true');
      }
      if (rec?.failMode) lines.push(`        fail_mode: ${rec.failMode}`);
      lines.push('        datapath_type: xdp');
      const dp = new Map(b.dpPorts().map((p) => [p.name, p]));
      for (const p of [...b.ports()].sort((x, y) => x.name.localeCompare(y.name))) {
        lines.push(`        Port ${p.name}`);
        if (p.tag !== undefined) lines.push(`            tag: ${p.tag}`);
        if (p.trunks?.length) lines.push(`            trunks: [${p.trunks.join(', ')}]`);
        lines.push(`            Interface ${p.name}`);
        const d = dp.get(p.name);
        if (d) lines.push(`                options: {dp-hook=${d.hook}}`);
      }
    }
    lines.push(`    ovs_version: "${VERSION}"`);
    return lines.join('\n') + '\n';
  }

  /* ---- appctl -------------------------------------------------------------- */

  private readonly appctl: Record<string, (args: string[]) => Promise<string> | string> = {
    'list-commands': () => 'The available commands are:\n' + Object.keys(this.appctl).sort().map((c) => `  ${c}\n`).join(''),
    version: () => `xdp-vswitchd (xdp-vswitch) ${VERSION}\n`,
    exit: (args) => { setImmediate(() => this.onExit?.(args.includes('--cleanup'))); return ''; },
    'dpctl/show': (args) => this.targets(args).map((b) => this.dpShow(b)).join(''),
    'dpctl/dump-flows': (args) => {
      const verbose = args.includes('-m') || args.includes('--more');
      const nowMs = process.hrtime.bigint() / 1000000n;
      return this.targets(args.filter((a) => !a.startsWith('-'))).map((b) => {
        const names = new Map(b.dpPorts().map((p) => [p.portNo, p.name]));
        const pn = verbose ? (p: number): string | undefined => names.get(p) : undefined;
        return b.dpif.flowDump().map((f) => formatDumpedFlow({
          key: f.key, mask: f.mask, actions: f.actions, packets: f.stats.packets, bytes: f.stats.bytes,
          usedMsAgo: f.used > 0n ? Number(nowMs - f.used) : undefined, tcpFlags: f.tcpFlags,
          ufid: uuidFromBytes(f.ufid),
        }, pn, verbose) + '\n').join('');
      }).join('');
    },
    'ofproto/trace': (args) => this.trace(args),
    'bridge/dump-flows': (args) => {
      const b = this.bridge(args[0]);
      const now = Date.now();
      const rules = [...b.tables.rules()].sort((x, y) => x.tableId - y.tableId || y.priority - x.priority || x.id - y.id);
      return rules.map((r) => formatFlowStats(r, now, { version: 'OpenFlow13' }) + '\n').join('');
    },
    'dpctl/del-flows': (args) => { for (const b of this.targets(args)) b.udpif.flush(); return ''; },
    'fdb/show': (args) => {
      const b = this.bridge(args[0]);
      const now = Date.now();
      return ' port  VLAN  MAC                Age\n' + b.macs.entries().map((e) =>
        `${String(e.port).padStart(5)}  ${String(e.vlan).padStart(4)}  ${e.mac}  ${String(Math.floor((now - e.usedAt) / 1000)).padStart(3)}\n`).join('');
    },
    'fdb/flush': (args) => {
      for (const b of args[0] ? [this.bridge(args[0])] : this.bridges.values()) b.macs.flush();
      return 'table successfully flushed\n';
    },
    // OVS: the mode is global (every datapath) and switching it flushes the datapath flows.
    'upcall/disable-megaflows': () => { for (const b of this.bridges.values()) b.udpif.setMegaflows(false); this.megaflows = false; return 'megaflows disabled\n'; },
    'upcall/enable-megaflows': () => { for (const b of this.bridges.values()) b.udpif.setMegaflows(true); this.megaflows = true; return 'megaflows enabled\n'; },
    'cpu-profile/start': (args) => cpuProfileStart(args[0] ? Number(args[0]) : undefined),
    'cpu-profile/stop': (args) => {
      if (!args[0]) throw new Error('usage: cpu-profile/stop FILE');
      return cpuProfileStop(path.resolve(args[0]));
    },
    'upcall/show': () => [...this.bridges.values()].map((b) => {
      const c = b.udpif.counters, r = b.dpif.ringStats(), x = b.dpif.counters, u = b.udpif, d = u.dump;
      const atLimit = u.flowCount() >= u.flowLimit;
      return `${b.dpif.name}:\n` +
        `  flows         : (current ${u.flowCount()}) (avg ${Math.round(d.avgFlows)}) (max ${d.maxFlows}) (limit ${u.flowLimit})\n` +
        `  dump duration : ${Math.round(d.durationMs)}ms\n` +
        `  ufid enabled  : true\n` +
        `  megaflows     : ${u.megaflows ? 'enabled' : 'disabled'}\n` +
        `  max idle      : ${u.maxIdleMs}ms\n` +
        `  flow limit    : ${atLimit ? 'REACHED: upcalls are forwarded without installing flows' : 'not reached'} (ceiling ${u.flowLimitMax}, datapath capacity ${b.dpif.flowCapacity}, ${c.limited} upcalls not installed)\n` +
        `  idle expired  : ${c.idleExpired} flows\n` +
        (c.adopted + c.adoptRejected ? `  restart       : ${c.adopted} flows adopted, ${c.adoptRejected} deleted\n` : '') +
        `  upcalls       : ${c.upcalls} (installed ${c.installed}, install failed ${c.installFailed}, executed ${c.executed}, malformed ${c.badUpcalls + x.upcallErrors})\n` +
        `  perf ring     : ${r.samples} records, ${r.lost} lost, ${r.turns} turns\n` +
        `  revalidated   : ${c.revalidated} flows deleted\n` +
        `  stats pushed  : ${c.xcachePushes} through xlate caches, ${c.retranslated} by translating again\n` +
        `  execute       : ${x.executeErrors} errors, ${x.upcallTruncated} truncated, ${x.checksumsCompleted} partial checksums completed\n`;
    }).join(''),
  };

  /**
   * ofproto/trace [BRIDGE] FLOW [PACKET]: FLOW in ovs-ofctl syntax; with a
   * packet in hex, the flow comes from the packet and FLOW gives in_port.
   */
  private trace(args: string[]): string {
    const words = args.filter((a) => a !== '-generate');
    const hexPkt = words.length > 1 && /^([0-9a-fA-F]{2}){14,}$/.test(words[words.length - 1]) ? words.pop() : undefined;
    if (words.length === 1 && this.bridges.size === 1) words.unshift([...this.bridges.keys()][0]);
    if (words.length !== 2) throw new Error('usage: ofproto/trace BRIDGE FLOW [PACKET]   (FLOW as for ovs-ofctl, e.g. in_port=1,udp,udp_dst=53)');
    const b = this.bridge(words[0]);
    const portNames = new Map(b.ports().map((p) => [p.name, p.ofport]));
    const flow = parseFlow(words[1], { portNames });
    const key = hexPkt ? flowExtract(Buffer.from(hexPkt, 'hex'), flow.readUInt32LE(0)) : new FlowKey(flow.subarray(0, KEY_SIZE));
    return formatTrace(b.name, key, b.trace(key));
  }

  /** Datapaths named in args (`xdp@br0` or `br0`), or all of them. */
  private targets(args: string[]): Bridge[] {
    if (args.length) return args.map((a) => this.bridge(a));
    return [...this.bridges.values()].sort((x, y) => x.name.localeCompare(y.name));
  }

  private dpShow(b: Bridge): string {
    const s = b.dpif.stats();
    const pkts = s.megaflowHit;
    const hpp = pkts > 0n ? Number(s.masksHit) / Number(pkts) : 0;
    const total = s.hit + s.missed;
    const rate = total > 0n ? (100 * Number(s.emcHit)) / Number(total) : 0;
    const lines = [
      `${b.dpif.name}:`,
      `  lookups: hit:${s.hit} missed:${s.missed} lost:${s.lost}`,
      `  flows: ${s.flows}`,
      `  masks: hit:${s.masksHit} total:${s.masksTotal} hit/pkt:${hpp.toFixed(2)}`,
      `  cache: hit:${s.emcHit} hit-rate:${rate.toFixed(2)}%`,
      `  megaflow: hit:${s.megaflowHit} slow-path:${s.slowPath} tx-errors:${s.txErrors} truncated-headers:${s.parseTruncated}`,
      ...b.dpPorts().map((p) => `  port ${p.portNo}: ${p.name} (${p.hook}${p.peer ? `, ${p.peer}` : ''})`),
    ];
    return lines.join('\n') + '\n';
  }
}

/** list-br / list-ports: one name per line, or a JSON array with --format json. */
function names(list: string[], format: string | undefined): string {
  return format === 'json' ? JSON.stringify(list) + '\n' : list.map((n) => n + '\n').join('');
}

function uuidFromBytes(b: Buffer): string {
  const h = b.toString('hex').padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

interface PortVlans { tag?: number; trunks?: number[] }

/** Port columns as ovs-vsctl writes them: tag=10, trunks=10,20 or trunks=[10,20]. */
function portColumns(cols: string[], base: PortVlans): PortVlans {
  const out = { ...base };
  for (const c of cols) {
    const m = /^(tag|trunks)=(.*)$/.exec(c);
    if (!m) throw new Error(`"${c}": Port column not supported (supported: tag=VLAN, trunks=VLAN,...)`);
    const vlan = (v: string): number => {
      const n = Number(v.trim());
      if (!/^\s*\d+\s*$/.test(v) || n > 4095) throw new Error(`"${c}": ${v.trim() || '(empty)'} is not a VLAN (0-4095)`);
      return n;
    };
    if (m[1] === 'tag') out.tag = vlan(m[2]);
    else {
      const body = m[2].replace(/^\[|\]$/g, '').trim();
      out.trunks = body ? body.split(/[\s,]+/).map(vlan) : [];
    }
  }
  return out;
}

function clearColumns(cols: string[], base: PortVlans): PortVlans {
  const out = { ...base };
  for (const c of cols) {
    if (c === 'tag') out.tag = undefined;
    else if (c === 'trunks') out.trunks = undefined;
    else throw new Error(`"${c}": Port column not supported (supported: tag, trunks)`);
  }
  return out;
}
