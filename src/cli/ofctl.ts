#!/usr/bin/env node
/*
 * xdp-ofctl: an OpenFlow client with ovs-ofctl's commands, syntax and
 * output (OVS 3.1): show, dump-flows, add-flow(s), mod-flows, del-flows,
 * dump-ports, dump-ports-desc, dump-tables, packet-out, monitor. TARGET is
 * unix:PATH, tcp:IP[:PORT] or a bridge name (RUNDIR/BRIDGE.mgmt).
 *
 * Like ovs-ofctl, it fetches the switch's port and table names (on
 * connections of their own) whenever it accepts names in a flow, and shows
 * names only with --names or on a terminal.
 */
import yargs from 'yargs';
import { resolveDirs } from '../lib/paths';
import { parseFlowMod, parsePort, FlowModSpec } from '../ofproto/ofp-parse';
import { OFPP } from '../ofproto/meta-flow';
import { Vconn, VconnError, OfErrorReply, OfRequest, Received, parseProtocols } from '../openflow/vconn';
import { OfpError } from '../openflow/errors';
import { OFP13_VERSION } from '../openflow/ofp-header';
import { FlowStats } from '../openflow/multipart';
import { OfPort } from '../openflow/port';
import { OfFlowMod } from '../openflow/messages';
import {
  PrintOptions, formatMessage, formatFlowStatsEntry, ofVersionName, portsOf,
} from '../openflow/ofp-print-msg';
import {
  FlowOp, AnyPortName, SortCriterion, flowModFor, needsTableIdExtension, flowModTableIdMsg, flowStatsRequestFor, parseFlowFile,
  readFlowFile, parseFileFlows, sortCriterion, sortFlows, parsePacketOut, parsePacketOutArgs,
} from './ofctl-flows';
import { Json, toJson, flowJson, portDescJson, portStatsJson, tableJson, featuresJson, configJson, asyncJson } from './ofctl-json';

const PROG = 'xdp-ofctl';

const USAGE = `$0 [OPTIONS] COMMAND TARGET [ARG...]: OpenFlow switch management (ovs-ofctl syntax)

Commands:
  show TARGET                       switch features, ports and config
  dump-flows TARGET [FLOW]          flow entries (all, or those matching FLOW)
  add-flow TARGET FLOW              add a flow
  add-flows TARGET FILE             add the flows in FILE ("-": stdin), one per line
  mod-flows TARGET FLOW             modify the actions of matching flows (--strict: exact match)
  del-flows TARGET [FLOW]           delete matching flows (--strict: exact match)
  dump-ports TARGET [PORT]          port statistics
  dump-ports-desc TARGET            port descriptions
  dump-tables TARGET                table statistics
  packet-out TARGET PACKET-OUT      in_port=PORT,packet=HEX,actions=ACTIONS
  packet-out TARGET IN_PORT ACTIONS PACKET...
  monitor TARGET [MISS-LEN]         print the messages the switch sends (MISS-LEN: set miss_send_len)

TARGET: unix:PATH | tcp:IP[:PORT] (default port 6653) | BRIDGE (unix:RUNDIR/BRIDGE.mgmt)
Also: --sort[=FIELD], --rsort[=FIELD] (dump-flows; repeatable)`;

/** An error already reported (or to report) as `xdp-ofctl: MESSAGE`, exit status 1. */
class Fatal extends Error {}

interface Options {
  versions: number[];
  rundir: string;
  /** Per-reply limit when --timeout is not given (it then bounds the whole command). */
  waitMs?: number;
  names: -1 | 0 | 1;
  stats: boolean;
  strict: boolean;
  json: boolean;
  sort: SortCriterion[];
  count?: number;
}

interface NameMap { byNumber: Map<number, string>; byName: Map<string, number> }

/** OVS namemap_put_name: names that are not a letter then letters/digits are shown quoted (JSON style). */
const quoteName = (n: string): string => (/^[A-Za-z][A-Za-z0-9]*$/.test(n) ? n : JSON.stringify(n));

/** A name map without duplicates (OVS leaves a name out when two numbers share it, or one number has two). */
function nameMap(entries: [number, string][]): NameMap {
  const count = new Map<string, number>(), numbers = new Map<number, number>();
  for (const [n, s] of entries) { count.set(s, (count.get(s) ?? 0) + 1); numbers.set(n, (numbers.get(n) ?? 0) + 1); }
  const m: NameMap = { byNumber: new Map(), byName: new Map() };
  for (const [n, s] of entries) {
    if (!s || count.get(s)! > 1 || numbers.get(n)! > 1) continue;
    m.byNumber.set(n, quoteName(s));
    m.byName.set(s, n);
  }
  return m;
}

/** `table=NAME` in a flow, for a switch whose tables have names. */
function resolveTableNames(flow: string, tables: NameMap): string {
  if (!tables.byName.size) return flow;
  return flow.replace(/(^|[\s,])(table[=:])("(?:[^"\\]|\\.)*"|[^\s,]+)/g, (all, pre: string, key: string, v: string) => {
    const name = v.startsWith('"') ? JSON.parse(v) as string : v;
    const n = tables.byName.get(name);
    return n === undefined ? all : `${pre}${key}${n}`;
  });
}

class Ofctl {
  private readonly portMaps = new Map<string, NameMap>();
  private readonly tableMaps = new Map<string, NameMap>();
  private readonly open: Vconn[] = [];

  constructor(private readonly o: Options) {}

  private out(s: string): void { process.stdout.write(s); }

  async connect(target: string, monitor = false): Promise<Vconn> {
    const v = await Vconn.open(target, { versions: this.o.versions, rundir: this.o.rundir, timeoutMs: this.o.waitMs, monitor });
    this.open.push(v);
    return v;
  }

  closeAll(): void { for (const v of this.open.splice(0)) v.close(); }

  /* ---- names (ovs-ofctl's ports_to_accept/show, tables_to_accept/show) ---- */

  private get showNames(): boolean { return this.o.names === 1 || (this.o.names === -1 && !!process.stdout.isTTY); }
  private get acceptNames(): boolean { return this.o.names !== 0; }

  private async fetchPorts(target: string): Promise<NameMap> {
    let m = this.portMaps.get(target);
    if (m) return m;
    const v = await this.connect(target);
    let ports: OfPort[] = [];
    try {
      ports = v.version < OFP13_VERSION ? portsOf((await v.transact({ type: 'features_request' })).msg!)
        : (await v.dump({ mpType: 'port_desc' })).flatMap((r) => portsOf(r.msg));
    } catch (e) {
      if (!(e instanceof OfErrorReply)) throw e;      // a switch that will not say: no names
    } finally {
      v.close();
    }
    m = nameMap(ports.map((p) => [p.portNo, p.name]));
    this.portMaps.set(target, m);
    return m;
  }

  private async fetchTables(target: string): Promise<NameMap> {
    let m = this.tableMaps.get(target);
    if (m) return m;
    const v = await this.connect(target);
    const names: [number, string][] = [];
    try {
      if (v.version < OFP13_VERSION) {
        for (const r of await v.dump({ mpType: 'table' })) if (r.msg.body.mpType === 'table') for (const t of r.msg.body.tables) names.push([t.tableId, t.name ?? '']);
      } else {
        for (const r of await v.dump({ mpType: 'table_features', tables: [] })) {
          if (r.msg.body.mpType === 'table_features') for (const t of r.msg.body.tables) names.push([t.tableId, t.name]);
        }
      }
    } catch (e) {
      if (!(e instanceof OfErrorReply)) throw e;
    } finally {
      v.close();
    }
    m = nameMap(names);
    this.tableMaps.set(target, m);
    return m;
  }

  private async portsToAccept(target: string): Promise<Map<string, number> | undefined> {
    return this.acceptNames ? (await this.fetchPorts(target)).byName : undefined;
  }

  /** Names to print with: fetched when shown, as ovs-ofctl does at print time. */
  private async printOpts(target: string, verbosity = 1): Promise<PrintOptions> {
    if (!this.showNames) return { verbosity };
    return { verbosity, portNames: (await this.fetchPorts(target)).byNumber, tableNames: (await this.fetchTables(target)).byNumber };
  }

  /**
   * Parses a flow the way ovs-ofctl does, with names when accepted: first
   * with every name allowed (a syntax error then stops us before anything
   * is sent), then, after fetching the switch's tables and ports, for real.
   */
  private async parseFlow(target: string, text: string, op: FlowOp, portsFirst = false): Promise<FlowModSpec> {
    if (!this.acceptNames) return parseFlowMod(text, op);
    parseFlowMod(text, op, { portNames: new AnyPortName() });
    let tables: NameMap, ports: NameMap;
    if (portsFirst) { ports = await this.fetchPorts(target); tables = await this.fetchTables(target); }
    else { tables = await this.fetchTables(target); ports = await this.fetchPorts(target); }
    return parseFlowMod(resolveTableNames(text, tables), op, { portNames: ports.byName });
  }

  private async reportErrors(target: string, errors: { error: OfErrorReply }[]): Promise<void> {
    if (!errors.length) return;
    const opts = await this.printOpts(target, 2);
    for (const { error } of errors) process.stderr.write(formatMessage(error.raw, opts));
    throw new Fatal();
  }

  private json(v: Json): void { this.out(`${toJson(v)}\n`); }

  /* ---- commands --------------------------------------------------------- */

  async show(target: string): Promise<void> {
    const v = await this.connect(target);
    const f = await v.transact({ type: 'features_request' });
    if (f.msg!.type !== 'features_reply') throw new Fatal(`${target}: bad reply to the features request`);
    const features = f.msg!;
    let ports: OfPort[] = features.ports ?? [];
    if (!this.o.json) this.out(formatMessage(f.raw, { verbosity: 1 }));
    if (v.version >= OFP13_VERSION) {
      const replies = await v.dump({ mpType: 'port_desc' });
      ports = replies.flatMap((r) => portsOf(r.msg));
      if (!this.o.json) {
        const opts = await this.printOpts(target);
        for (const r of replies) this.out(formatMessage(r.raw, opts));
      }
    }
    const c = await this.connect(target);      // ovs-ofctl asks for the config on a connection of its own
    const config = await c.transact({ type: 'get_config_request' });
    if (config.msg!.type !== 'get_config_reply') throw new Fatal(`${target}: bad reply to the config request`);
    if (this.o.json) {
      this.json({ version: ofVersionName(v.version), features: featuresJson(features), ports: ports.map((p) => portDescJson(p, v.version)), config: configJson(config.msg!) });
    } else {
      this.out(formatMessage(config.raw, await this.printOpts(target)));
    }
  }

  async dumpFlows(target: string, match?: string): Promise<void> {
    const spec = match ? await this.parseFlow(target, match, 'delete', true) : parseFlowMod('', 'delete');
    const v = await this.connect(target);
    const body = { mpType: 'flow' as const, ...flowStatsRequestFor(spec, v.version) };
    if (!this.o.sort.length && !this.showNames && this.o.stats && !this.o.json) {
      // ovs-ofctl prints each reply message as it is, header and all.
      for (const r of await v.dump(body)) this.out(formatMessage(r.raw, { verbosity: 1 }));
      return;
    }
    let flows: FlowStats[] = (await v.dump(body)).flatMap((r) => (r.msg.body.mpType === 'flow' ? r.msg.body.flows : []));
    if (this.o.sort.length) flows = sortFlows(flows, this.o.sort);
    const opts = { ...(await this.printOpts(target)), noStats: !this.o.stats };
    if (this.o.json) this.json({ version: ofVersionName(v.version), flows: flows.map((f) => flowJson(f, v.version, opts)) });
    else for (const f of flows) this.out(` ${formatFlowStatsEntry(f, v.version, opts)}\n`);
  }

  /** Sends flow_mods then one barrier (after OVS's table-id extension when OpenFlow 1.0 needs it). */
  private async sendFlowMods(target: string, v: Vconn, fms: OfFlowMod[]): Promise<void> {
    if (fms.some((fm) => needsTableIdExtension(fm, v.version))) await this.reportErrors(target, await v.transactNoReply([flowModTableIdMsg()]));
    await this.reportErrors(target, await v.transactNoReply(fms.map((fm) => ({ type: 'flow_mod', ...fm }))));
  }

  async flowMod(target: string, op: FlowOp, flow: string): Promise<void> {
    const spec = await this.parseFlow(target, flow, op);
    const v = await this.connect(target);
    await this.sendFlowMods(target, v, [flowModFor(spec, op, this.o.strict, v.version)]);
  }

  async addFlows(target: string, file: string): Promise<void> {
    let text: string;
    try {
      text = readFlowFile(file);
    } catch (e) {
      throw new Fatal(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
    }
    const lines = parseFlowFile(text);
    let specs: ReturnType<typeof parseFileFlows>;
    if (this.acceptNames) {
      parseFileFlows(file, lines, new AnyPortName());
      const tables = await this.fetchTables(target), ports = await this.fetchPorts(target);
      specs = parseFileFlows(file, lines.map((l) => ({ ...l, text: resolveTableNames(l.text, tables) })), ports.byName);
    } else {
      specs = parseFileFlows(file, lines);
    }
    const v = await this.connect(target);
    await this.sendFlowMods(target, v, specs.map(({ flow, spec }) => flowModFor(spec, flow.op, flow.strict || this.o.strict, v.version)));
  }

  /** ovs-ofctl's str_to_port_no: numbers and reserved names as they are, other names from the switch. */
  private async portNumber(target: string, s: string): Promise<number> {
    const p = parsePort(s) ?? parsePort(s, { portNames: await this.portsToAccept(target) });
    if (p === undefined) throw new Fatal(`${target}: unknown port \`${s}'`);
    return p;
  }

  async dumpPorts(target: string, port?: string): Promise<void> {
    const v = await this.connect(target);
    const portNo = port === undefined ? OFPP.ANY : await this.portNumber(target, port);
    const replies = await v.dump({ mpType: 'port_stats', portNo });
    if (this.o.json) {
      const opts = await this.printOpts(target);
      const ports = replies.flatMap((r) => (r.msg.body.mpType === 'port_stats' ? r.msg.body.ports : []));
      this.json({ version: ofVersionName(v.version), ports: ports.map((p) => portStatsJson(p, v.version, opts)) });
      return;
    }
    for (const r of replies) this.out(formatMessage(r.raw, await this.printOpts(target)));
  }

  async dumpPortsDesc(target: string): Promise<void> {
    const v = await this.connect(target);
    const replies = await v.dump({ mpType: 'port_desc' });      // OpenFlow 1.0 too: OVS's extension, as ovs-ofctl
    if (this.o.json) {
      this.json({ version: ofVersionName(v.version), ports: replies.flatMap((r) => portsOf(r.msg)).map((p) => portDescJson(p, v.version)) });
      return;
    }
    for (const r of replies) this.out(formatMessage(r.raw, await this.printOpts(target)));
  }

  async dumpTables(target: string): Promise<void> {
    const v = await this.connect(target);
    const replies = await v.dump({ mpType: 'table' });
    if (this.o.json) {
      const tables = replies.flatMap((r) => (r.msg.body.mpType === 'table' ? r.msg.body.tables : []));
      this.json({ version: ofVersionName(v.version), tables: tables.map((t) => tableJson(t, v.version)) });
      return;
    }
    for (const r of replies) this.out(formatMessage(r.raw, await this.printOpts(target)));
  }

  async packetOut(target: string, args: string[]): Promise<void> {
    const names = async (): Promise<Map<string, number> | undefined> => {
      if (!this.acceptNames) return undefined;
      await this.fetchTables(target);
      return (await this.fetchPorts(target)).byName;
    };
    let pos: OfRequest[];
    if (args.length === 1) {
      if (this.acceptNames) parsePacketOut(args[0], new AnyPortName());
      pos = [parsePacketOut(args[0], await names())];
    } else if (args.length >= 3) {
      if (this.acceptNames) parsePacketOutArgs(args[0], args[1], args.slice(2), new AnyPortName());
      pos = parsePacketOutArgs(args[0], args[1], args.slice(2), await names());
    } else {
      throw new Fatal(`packet-out needs PACKET-OUT (in_port=...,packet=...,actions=...) or IN_PORT ACTIONS PACKET...`);
    }
    const v = await this.connect(target);
    // As ovs-ofctl: each packet-out with its own barrier.
    for (const po of pos) await this.reportErrors(target, await v.transactNoReply([po]));
  }

  async monitor(target: string, args: string[]): Promise<void> {
    for (const a of args) if (!/^\d+$/.test(a)) throw new Fatal(`${a}: unsupported "monitor" argument`);
    const v = await this.connect(target, true);
    for (const a of args) {
      const missSendLen = Number(a);
      if (missSendLen > 0xffff) throw new Fatal(`${a}: miss-len must be at most 65535`);
      const cfg = await v.transact({ type: 'get_config_request' });
      if (cfg.msg!.type !== 'get_config_reply') throw new Fatal(`${target}: bad reply to config request`);
      await this.reportErrors(target, await v.transactNoReply([{ type: 'set_config', flags: cfg.msg!.flags, missSendLen }]));
    }
    const opts = await this.printOpts(target, 2);
    let seen = 0;
    for (;;) {
      if (this.o.count !== undefined && seen >= this.o.count) return;
      const r: Received | undefined = await v.recv();
      if (!r) throw new Fatal(`vconn_recv: ${v.error?.message ?? 'connection closed'}`);
      const t = r.msg?.type;
      const isAsync = t === 'packet_in' || t === 'flow_removed' || t === 'port_status';
      if (this.o.json) {
        if (r.msg && (r.msg.type === 'packet_in' || r.msg.type === 'flow_removed' || r.msg.type === 'port_status')) this.out(`${toJson(asyncJson(r.msg, opts), 0)}\n`);
      } else {
        process.stderr.write(formatMessage(r.raw, opts));     // ovs-ofctl monitor prints to stderr
      }
      if (isAsync) seen++;
    }
  }
}

/* ---- command line --------------------------------------------------------- */

interface CommandDef { min: number; max: number; run: (c: Ofctl, a: string[]) => Promise<void> }

const COMMANDS: Record<string, CommandDef> = {
  show: { min: 1, max: 1, run: (c, a) => c.show(a[0]) },
  'dump-flows': { min: 1, max: 2, run: (c, a) => c.dumpFlows(a[0], a[1]) },
  'add-flow': { min: 2, max: 2, run: (c, a) => c.flowMod(a[0], 'add', a[1]) },
  'add-flows': { min: 2, max: 2, run: (c, a) => c.addFlows(a[0], a[1]) },
  'mod-flows': { min: 2, max: 2, run: (c, a) => c.flowMod(a[0], 'modify', a[1]) },
  'del-flows': { min: 1, max: 2, run: (c, a) => c.flowMod(a[0], 'delete', a[1] ?? '') },
  'dump-ports': { min: 1, max: 2, run: (c, a) => c.dumpPorts(a[0], a[1]) },
  'dump-ports-desc': { min: 1, max: 1, run: (c, a) => c.dumpPortsDesc(a[0]) },
  'dump-tables': { min: 1, max: 1, run: (c, a) => c.dumpTables(a[0]) },
  'packet-out': { min: 2, max: Infinity, run: (c, a) => c.packetOut(a[0], a.slice(1)) },
  monitor: { min: 1, max: 2, run: (c, a) => c.monitor(a[0], a.slice(1)) },
};

/** --sort[=FIELD] and --rsort[=FIELD] keep their order (ovs-ofctl applies them in turn): taken out before yargs. */
function takeSortOptions(argv: string[]): { rest: string[]; sort: SortCriterion[] } {
  const rest: string[] = [], sort: SortCriterion[] = [];
  for (const a of argv) {
    const m = /^--(r?sort)(?:=(.*))?$/.exec(a);
    if (m) sort.push(sortCriterion(m[1] === 'sort' ? 'asc' : 'desc', m[2]));
    else rest.push(a);
  }
  return { rest, sort };
}

async function main(argv: string[]): Promise<number> {
  const { rest, sort } = takeSortOptions(argv);
  const args = await yargs(rest)
    .scriptName(PROG)
    .usage(USAGE)
    .option('protocols', { alias: 'O', type: 'string', default: 'OpenFlow13,OpenFlow10', describe: 'OpenFlow versions to offer (OpenFlow13, OpenFlow10, comma-separated)' })
    .option('names', { type: 'boolean', describe: 'show port and table names (--no-names: neither accept nor show them)' })
    .option('stats', { type: 'boolean', default: true, describe: 'show statistics in flow dumps (--no-stats: do not)' })
    .option('strict', { type: 'boolean', default: false, describe: 'mod-flows/del-flows: match priority and fields exactly' })
    .option('format', { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'output format of listings and monitor' })
    .option('count', { type: 'number', describe: 'monitor: exit after this many PACKET_IN/FLOW_REMOVED/PORT_STATUS messages' })
    .option('rundir', { type: 'string', describe: 'where BRIDGE.mgmt sockets are (env XDP_VSWITCH_RUNDIR, default /run/xdp-vswitch)' })
    .option('timeout', { alias: 't', type: 'number', describe: 'give up after this many seconds' })
    .parserConfiguration({ 'parse-positional-numbers': false, 'halt-at-non-option': false })
    .strictOptions()
    .help()
    .version(false)
    .wrap(null)
    .fail((msg, err) => { throw new Fatal(err?.message ?? msg); })
    .parse();

  const words = args._.map(String);
  if (!words.length) throw new Fatal('missing command name; use --help for help');
  const [cmd, ...cmdArgs] = words;
  const def = COMMANDS[cmd];
  if (!def) throw new Fatal(`unknown command '${cmd}'; use --help for help`);
  if (cmdArgs.length < def.min) throw new Fatal(`'${cmd}' command requires at least ${def.min} arguments`);
  if (cmdArgs.length > def.max) throw new Fatal(`'${cmd}' command takes at most ${def.max} arguments`);
  if (args.timeout !== undefined && !(args.timeout >= 1)) throw new Fatal(`value ${args.timeout} on -t or --timeout is not at least 1`);
  if (args.count !== undefined && !(Number.isInteger(args.count) && args.count >= 0)) throw new Fatal(`--count ${args.count} is not a count`);

  const ofctl = new Ofctl({
    versions: parseProtocols(args.protocols), rundir: resolveDirs(args).rundir,
    waitMs: args.timeout === undefined ? 30000 : undefined,
    names: args.names === undefined ? -1 : args.names ? 1 : 0,
    stats: args.stats, strict: args.strict, json: args.format === 'json', sort, count: args.count,
  });
  if (args.timeout !== undefined) {
    setTimeout(() => {
      process.stderr.write(`${PROG}: timed out after ${args.timeout} seconds\n`);
      process.exit(142);      // as ovs-ofctl, killed by SIGALRM
    }, args.timeout * 1000);
  }
  try {
    await def.run(ofctl, cmdArgs);
  } finally {
    ofctl.closeAll();
  }
  return 0;
}

/** Exits once stdout and stderr have taken everything written (they may be pipes). */
function exit(code: number): void {
  let pending = 2;
  const done = (): void => { if (--pending === 0) process.exit(code); };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exit, (e: unknown) => {
  if (e instanceof Fatal) {
    if (e.message) process.stderr.write(`${PROG}: ${e.message}\n`);
  } else if (e instanceof OfErrorReply) {
    process.stderr.write(formatMessage(e.raw, { verbosity: 2 }));
  } else if (e instanceof VconnError || e instanceof SyntaxError || e instanceof OfpError) {
    process.stderr.write(`${PROG}: ${e.message}\n`);
  } else if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) && !(e instanceof ReferenceError)) {
    process.stderr.write(`${PROG}: ${e.message}\n`);
  } else {
    process.stderr.write(`${PROG}: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  }
  exit(1);
});

