/*
 * What xdp-ofctl sends for flow commands, built the way ovs-ofctl 3.1
 * builds it (lib/ofp-flow.c ofputil_encode_flow_mod with -F openflow10 for
 * OpenFlow 1.0): flow_mods and flow stats requests from parsed flows,
 * flow files, --sort, and the packet-out syntax.
 */
import * as fs from 'fs';
import { FlowModSpec, parseFlowMod, parseActions, parsePort } from '../ofproto/ofp-parse';
import { MfField, mfByName, mfGet, prereqOk } from '../ofproto/meta-flow';
import { OFPP } from '../ofproto/meta-flow';
import { OFPG_ANY } from '../ofproto/ofp-actions';
import { FlowModCommand, OfFlowMod, newFlowMod, OFP_NO_BUFFER, OFPTT_ALL, PacketOutMsg } from '../openflow/messages';
import { FlowStats, FlowStatsRequest } from '../openflow/multipart';
import { OFP10_VERSION } from '../openflow/ofp-header';
import { NX_VENDOR_ID } from '../openflow/actions';

export type FlowOp = 'add' | 'modify' | 'delete';

/** A port-name map that knows every name: parsing with it checks syntax before any name is fetched. */
export class AnyPortName extends Map<string, number> {
  override get(): number { return 1; }
  override has(): boolean { return true; }
}

/** The flow_mod ovs-ofctl sends for `spec` in `version`. */
export function flowModFor(spec: FlowModSpec, op: FlowOp, strict: boolean, version: number): OfFlowMod {
  if (spec.importance) throw new Error('importance needs OpenFlow 1.4 or later, which xdp-ofctl does not speak');
  const v10 = version === OFP10_VERSION;
  if (v10 && spec.cookieMask) throw new Error('matching on a cookie (cookie=VALUE/MASK) needs OpenFlow 1.3 (-O OpenFlow13)');
  const command = op === 'add' ? FlowModCommand.ADD
    : op === 'modify' ? (strict ? FlowModCommand.MODIFY_STRICT : FlowModCommand.MODIFY)
      : (strict ? FlowModCommand.DELETE_STRICT : FlowModCommand.DELETE);
  // OpenFlow 1.1+ modify has no "all tables" (OVS sends table 0); delete does.
  const tableId = spec.tableId ?? (op === 'add' || (op === 'modify' && !v10) ? 0 : OFPTT_ALL);
  let cookie: bigint;
  // OpenFlow 1.0 has no cookie mask: its cookie is the new cookie (add, or modify with cookie=V), else 0.
  if (v10) cookie = op === 'add' || (op === 'modify' && spec.modifyCookie) ? spec.cookie : 0n;
  else cookie = op === 'add' || spec.cookieMask ? spec.cookie : 0n;
  return newFlowMod(command, {
    tableId, cookie, cookieMask: spec.cookieMask, priority: spec.priority, idleTimeout: spec.idleTimeout, hardTimeout: spec.hardTimeout,
    flags: spec.flags, match: spec.match, actions: spec.actions, bufferId: OFP_NO_BUFFER,
    outPort: spec.outPort ?? OFPP.ANY, outGroup: spec.outGroup ?? OFPG_ANY,
  });
}

/** OpenFlow 1.0 carries a table other than the default only with OVS's NXT_FLOW_MOD_TABLE_ID extension on. */
export const needsTableIdExtension = (fm: OfFlowMod, version: number): boolean =>
  version === OFP10_VERSION && fm.tableId !== (fm.command === FlowModCommand.ADD ? 0 : OFPTT_ALL);

/** NXT_FLOW_MOD_TABLE_ID (enable), as ovs-ofctl -F openflow10 sends it before such flow_mods. */
export const flowModTableIdMsg = (): { type: 'experimenter'; experimenter: number; data: Buffer } =>
  ({ type: 'experimenter', experimenter: NX_VENDOR_ID, data: Buffer.from([0, 0, 0, 15, 1, 0, 0, 0, 0, 0, 0, 0]) });

/** The flow stats request for dump-flows' MATCH (parsed as del-flows parses it). */
export function flowStatsRequestFor(spec: FlowModSpec, version: number): FlowStatsRequest {
  if (version === OFP10_VERSION && spec.cookieMask) throw new Error('matching on a cookie (cookie=VALUE/MASK) needs OpenFlow 1.3 (-O OpenFlow13)');
  return {
    tableId: spec.tableId ?? OFPTT_ALL, outPort: spec.outPort ?? OFPP.ANY, outGroup: spec.outGroup ?? OFPG_ANY,
    cookie: spec.cookie, cookieMask: spec.cookieMask, match: spec.match,
  };
}

/* ---- flow files ------------------------------------------------------------ */

export interface FileFlow { line: number; op: FlowOp; strict: boolean; text: string }

const LINE_COMMANDS: [string, FlowOp, boolean][] = [
  ['add', 'add', false], ['delete', 'delete', false], ['delete_strict', 'delete', true], ['modify', 'modify', false], ['modify_strict', 'modify', true],
];

/**
 * The flows of an add-flows file: '#' starts a comment, blank lines are
 * skipped, and (as in OVS) a line may start with add, modify, modify_strict,
 * delete or delete_strict, or any prefix of one; without one it is an add.
 */
export function parseFlowFile(text: string): FileFlow[] {
  const out: FileFlow[] = [];
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash < 0 ? raw : raw.slice(0, hash)).replace(/\r$/, '');
    if (!line.trim()) return;
    const lead = line.length - line.trimStart().length;
    const token = /^[^, \t\r\n]*/.exec(line.slice(lead))![0];
    const cmd = token ? LINE_COMMANDS.find(([kw]) => kw.startsWith(token)) : undefined;
    // Keep the line's length so error positions still point into it.
    const text = cmd ? ' '.repeat(lead + token.length) + line.slice(lead + token.length) : line;
    out.push({ line: i + 1, op: cmd?.[1] ?? 'add', strict: cmd?.[2] ?? false, text });
  });
  return out;
}

export function readFlowFile(file: string): string {
  return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
}

/** Parses every flow of a file, naming the file and line on error. */
export function parseFileFlows(file: string, flows: FileFlow[], portNames?: Map<string, number>): { flow: FileFlow; spec: FlowModSpec }[] {
  return flows.map((flow) => {
    try {
      return { flow, spec: parseFlowMod(flow.text, flow.op, { portNames }) };
    } catch (e) {
      throw new SyntaxError(`${file}:${flow.line}: ${(e as Error).message}`);
    }
  });
}

/* ---- --sort / --rsort ----------------------------------------------------------- */

export interface SortCriterion { field?: MfField; order: 'asc' | 'desc' }

/** `--sort[=FIELD]`: priority when FIELD is absent or "priority". */
export function sortCriterion(order: 'asc' | 'desc', field?: string): SortCriterion {
  if (field === undefined || field.toLowerCase() === 'priority') return { order };
  const f = mfByName(field);
  if (!f) throw new Error(`${field}: unknown field name`);
  return { field: f, order };
}

/** ovs-ofctl's compare_flows: flows missing a field sort last in either order; ties fall to the next criterion. */
export function sortFlows(flows: FlowStats[], criteria: SortCriterion[]): FlowStats[] {
  const all = criteria.length ? [...criteria, { order: 'desc' as const }] : [];
  const cmp = (a: FlowStats, b: FlowStats): number => {
    for (const c of all) {
      let r: number;
      if (!c.field) r = Math.sign(a.priority - b.priority);
      else {
        const f = c.field;
        const has = (x: FlowStats): boolean => prereqOk(f.prereq, x.match.value) && mfGet(x.match.mask, f) !== 0n;
        const ha = has(a), hb = has(b);
        if (ha !== hb) return ha ? -1 : 1;
        const va = mfGet(a.match.value, f), vb = mfGet(b.match.value, f);
        r = va < vb ? -1 : va > vb ? 1 : 0;
      }
      if (r) return c.order === 'asc' ? r : -r;
    }
    return 0;
  };
  return [...flows].sort(cmp);
}

/* ---- packet-out ------------------------------------------------------------------ */

/** OVS eth_from_hex: hex digits (spaces allowed), at least an Ethernet header. */
export function ethFromHex(hex: string): Buffer {
  const s = hex.replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error('Trailing garbage in packet data');
  const b = Buffer.from(s, 'hex');
  if (b.length < 14) throw new Error('Packet data too short for Ethernet');
  return b;
}

type PacketOut = Omit<PacketOutMsg, 'version' | 'xid'>;

function inPortOf(s: string, portNames?: Map<string, number>): number {
  const p = parsePort(s, { portNames });
  if (p === undefined) throw new Error(`${s} is not a valid OpenFlow port`);
  return p;
}

/** `in_port=PORT packet=HEX actions=ACTIONS` (commas or spaces; actions last; in_port defaults to CONTROLLER as in OVS). */
export function parsePacketOut(s: string, portNames?: Map<string, number>): PacketOut {
  const a = s.indexOf('actions=');
  const head = a < 0 ? s : s.slice(0, a);
  let inPort: number = OFPP.CONTROLLER, data: Buffer | undefined;
  for (const kv of head.split(/[\s,]+/).filter(Boolean)) {
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq), value = eq < 0 ? '' : kv.slice(eq + 1);
    if (key === 'in_port') inPort = inPortOf(value, portNames);
    else if (key === 'packet') {
      try { data = ethFromHex(value); } catch (e) { throw new Error(`packet: ${(e as Error).message}`); }
    } else throw new Error(`${key}: unknown or unsupported packet-out field`);
  }
  if (!data) throw new Error('must specify packet');
  const actions = a < 0 ? [] : parseActions(s.slice(a + 'actions='.length), { portNames });
  return { type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort, actions, data };
}

/** The 3.1 positional form: IN_PORT ACTIONS PACKET... (one packet-out per packet). */
export function parsePacketOutArgs(inPort: string, actions: string, packets: string[], portNames?: Map<string, number>): PacketOut[] {
  const acts = parseActions(actions, { portNames });
  const port = inPortOf(inPort, portNames);
  return packets.map((p) => ({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: port, actions: acts, data: ethFromHex(p) }));
}
