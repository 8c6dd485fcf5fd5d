/*
 * OVS flow syntax (ovs-ofctl add-flow / mod-flows / del-flows, and the packet
 * flows of ofproto/trace) into a Match, an action list and the flow_mod
 * parameters: OVS lib/ofp-flow.c parse_ofp_str__, lib/meta-flow.c mf_parse,
 * lib/ofp-actions.c ofpacts_parse and ofpacts_check.
 *
 * Where ovs-ofctl quietly drops or truncates what an OF1.3 switch would then
 * reject or misread (a field without its prerequisites, a value wider than its
 * field, nw_tos=5), this parser reports it. Every error is a SyntaxError that
 * names the offending token and its 1-based position in the input.
 */
import { Match } from './match';
import { MfField, mfByName, mfField, mfGet, mfSet, prereqOk, Prereq, FLOW_SIZE, OFPP, ETH_TYPE_RARP } from './meta-flow';
import { OfpAction, PacketInReason, OFPFF, OFPG_MAX, N_TABLES } from './ofp-actions';
import {
  parseMac, VLAN_PRESENT, FRAG_LATER, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP,
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMPV6,
} from '../dpif/flow-key';
import { NXM_NAMES, FRAG_NAMES, TCP_FLAG_NAMES, TCP_FLAGS_MASK } from './ofp-print';

export interface ParseOptions {
  /** Port names accepted wherever a port number is (in_port=, output:, out_port=, resubmit:). */
  portNames?: Map<string, number>;
}

export interface ActionParseOptions extends ParseOptions {
  /** The rule's match: enables OVS's consistency checks (set_field prerequisites, VLAN state, mod_tp_* target). */
  match?: Match;
  /** The rule's table: goto_table must go to a later one. */
  tableId?: number;
}

export interface FlowModSpec {
  tableId?: number;          // undefined: all tables (modify/delete); add defaults to 0
  priority: number;
  match: Match;
  actions: OfpAction[];
  cookie: bigint;
  cookieMask: bigint;        // nonzero: cookie/cookieMask select rules (modify/delete)
  /** cookie=V without a mask (add/modify): V is the rules' new cookie (OVS's modify_cookie). */
  modifyCookie: boolean;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;             // OFPFF_*
  importance: number;
  outPort?: number;
  outGroup?: number;
}

/* ---- errors and tokens ------------------------------------------------- */

type Kind = 'flow' | 'action';

/**
 * pos is a 0-based offset into the whole input; messages give it 1-based.
 * OVS's own messages lead with the bad text, which ours already quote.
 */
function fail(kind: Kind, pos: number, token: string, msg: string): never {
  const text = msg.startsWith(`${token}: `) ? msg.slice(token.length + 2) : msg;
  throw new SyntaxError(`bad ${kind} syntax at position ${pos + 1} ("${token}"): ${text}`);
}

/** A value that does not parse; the caller knows where it was and rethrows with the position. */
class ValueError extends Error {}
const bad = (msg: string): never => { throw new ValueError(msg); };

function at<T>(kind: Kind, pos: number, token: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ValueError) fail(kind, pos, token, e.message);
    throw e;
  }
}

interface Kv {
  key: string;
  value: string;
  keyAt: number;
  valueAt: number;
  hasValue: boolean;
  paren: boolean;           // key(value) rather than key=value / key:value
}

const SPACE_COMMA = ', \t\r\n';

/** End of a value: the first delimiter outside parentheses (OVS parse_value). */
function scanValue(s: string, i: number, delims: string): number {
  while (i < s.length && !delims.includes(s[i])) {
    if (s[i] === '(') {
      let level = 0;
      do {
        if (s[i] === '(') level++;
        else if (s[i] === ')') level--;
        i++;
      } while (i < s.length && level > 0);
    } else i++;
  }
  return i;
}

/** OVS ofputil_parse_key_value over the whole string, keeping where each piece starts. */
function keyValues(s: string, base: number, kind: Kind): Kv[] {
  const out: Kv[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && SPACE_COMMA.includes(s[i])) i++;
    if (i >= s.length) return out;
    const keyAt = i;
    while (i < s.length && !':=(, \t\r\n'.includes(s[i])) i++;
    const key = s.slice(keyAt, i), delim = s[i];
    if (delim === ':' || delim === '=' || delim === '(') {
      const valueAt = ++i;
      const end = scanValue(s, i, delim === '(' ? ')' : SPACE_COMMA);
      if (delim === '(' && end >= s.length) fail(kind, base + keyAt, s.slice(keyAt), 'missing ")"');
      out.push({ key, value: s.slice(valueAt, end), keyAt: base + keyAt, valueAt: base + valueAt, hasValue: true, paren: delim === '(' });
      i = end + 1;
    } else {
      out.push({ key, value: '', keyAt: base + keyAt, valueAt: base + i, hasValue: false, paren: false });
    }
  }
}

/* ---- numbers, addresses, ports ----------------------------------------- */

/** strtoull with base 0, as OVS parses field values: 0x hex, leading-0 octal, decimal. */
export function parseNumber(s: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return BigInt(s.toLowerCase());
  if (/^0[0-7]+$/.test(s)) return BigInt(`0o${s.slice(1)}`);
  if (/^(0|[1-9][0-9]*)$/.test(s)) return BigInt(s);
  return undefined;
}

const parseDecimal = (s: string): number | undefined => (/^[0-9]+$/.test(s) ? Number(s) : undefined);

function uint(s: string, max: bigint, what: string): bigint {
  const v = parseNumber(s);
  if (v === undefined || v > max) bad(`invalid ${what} "${s}"`);
  return v as bigint;
}

const U16 = 0xffffn, U32 = 0xffffffffn, U64 = 0xffffffffffffffffn;

function u64(s: string): bigint {
  if (!s) bad('missing required numeric argument');
  const v = parseNumber(s);
  if (v === undefined || v > U64) bad(`invalid numeric format ${s}`);
  return v as bigint;
}

export function parseIpv4(s: string): Buffer | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? Buffer.from(b) : undefined;
}

/** RFC 4291 text form, including `::` and a dotted IPv4 tail. */
export function parseIpv6(s: string): Buffer | undefined {
  const groups = (part: string, last: boolean): number[] | undefined => {
    if (!part) return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i];
      if (last && i === items.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return undefined;
        out.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const dbl = s.indexOf('::');
  let words: number[];
  if (dbl < 0) {
    const all = groups(s, true);
    if (!all || all.length !== 8) return undefined;
    words = all;
  } else {
    if (s.indexOf('::', dbl + 1) >= 0) return undefined;
    const head = groups(s.slice(0, dbl), false), tail = groups(s.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    words = [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail];
  }
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(w, 2 * i));
  return b;
}

const bufToBig = (b: Buffer): bigint => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);

function prefixMask(bits: number, len: number): bigint {
  const total = BigInt(len * 8);
  return ((1n << BigInt(bits)) - 1n) << (total - BigInt(bits));
}

const RESERVED_PORTS: Readonly<Record<string, number>> = {
  IN_PORT: OFPP.IN_PORT, TABLE: OFPP.TABLE, NORMAL: OFPP.NORMAL, FLOOD: OFPP.FLOOD, ALL: OFPP.ALL,
  CONTROLLER: OFPP.CONTROLLER, LOCAL: OFPP.LOCAL, ANY: OFPP.ANY, NONE: OFPP.ANY,
};

/**
 * OVS ofputil_port_from_string: a decimal number, a reserved name (any case)
 * or a port name. OF1.0's 16-bit reserved numbers (65534 = LOCAL) map to the
 * OF1.1+ 32-bit ones; 65536..0xfffffeff is neither and is refused.
 */
export function parsePort(s: string, opts: ParseOptions = {}): number | undefined {
  const n = parseDecimal(s);
  if (n !== undefined) {
    if (n < 0xfff8) return n;
    if (n <= 0xffff) return 0xffff0000 + n;
    if (n < 0xffffff00) return undefined;
    if (n < 0xfffffff8) return n - 0xffff0000;
    return n <= 0xffffffff ? n : undefined;
  }
  const r = RESERVED_PORTS[s.toUpperCase()];
  if (r !== undefined) return r;
  const name = s.length > 1 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
  return opts.portNames?.get(name);
}

/* ---- field values -------------------------------------------------------- */

interface FieldValue { value: bigint; mask: bigint }

/** Every bit of the field, in value terms (nw_tos: 0xfc; mfAllOnes would say 0xff). */
const fullMask = (f: MfField): bigint => f.bits >> BigInt(f.shift);
const fits = (f: MfField, v: bigint): boolean => v >= 0n && (v & ~fullMask(f)) === 0n;

function parseAddr(s: string, len: number, parse: (x: string) => Buffer | undefined, what: string): FieldValue {
  const slash = s.indexOf('/');
  const a = slash < 0 ? s : s.slice(0, slash), m = slash < 0 ? undefined : s.slice(slash + 1);
  const addr = parse(a);
  if (!addr) bad(`${a}: invalid ${what} address`);
  let mask = prefixMask(len * 8, len);
  if (m !== undefined) {
    const bits = parseDecimal(m);
    if (bits !== undefined) {
      if (bits > len * 8) bad(`${s}: prefix length ${bits} is longer than ${len * 8} bits`);
      mask = prefixMask(bits, len);
    } else {
      const mb = parse(m);
      if (!mb) bad(`${m}: invalid ${what} mask`);
      mask = bufToBig(mb as Buffer);
    }
  }
  return { value: bufToBig(addr as Buffer), mask };
}

function tcpFlagBit(name: string): number {
  const i = TCP_FLAG_NAMES.indexOf(name);
  return i < 0 ? 0 : 1 << i;
}

/** OVS parse_flags for TCP flags: "syn|ack", "+syn-ack", or numbers "0x12" / "0x2/0x12". */
function parseTcpFlags(s: string): FieldValue {
  const unknown = (): never => bad(`${s}: unknown TCP flag(s)`);
  const num = /^([^/]+)\/([^/]+)$/.exec(s);
  if (num) {
    const v = parseNumber(num[1]), m = parseNumber(num[2]);
    if (v === undefined || m === undefined) return bad(`${s}: bad syntax for tcp_flags`);
    if (v > TCP_FLAGS_MASK || m > TCP_FLAGS_MASK) unknown();
    return { value: v, mask: m };
  }
  if (s[0] === '+' || s[0] === '-') {
    let v = 0, m = 0;
    const items = s.match(/[+-][^+-]*/g) ?? [];
    if (items.join('') !== s) unknown();
    for (const it of items) {
      const bit = tcpFlagBit(it.slice(1));
      if (!bit) unknown();
      if (m & bit) bad(`${s}: Each TCP flag can be specified only once`);
      m |= bit;
      if (it[0] === '+') v |= bit;
    }
    return { value: BigInt(v), mask: BigInt(m) };
  }
  let v = 0n;
  for (const part of s.split('|')) {
    const n = parseNumber(part);
    const bit = n ?? BigInt(tcpFlagBit(part));
    if ((n === undefined && !bit) || bit > TCP_FLAGS_MASK) unknown();
    v |= bit;
  }
  return { value: v, mask: BigInt(TCP_FLAGS_MASK) };
}

/**
 * A field's value[/mask] in the field's syntax (OVS mf_parse). An empty value
 * or `*` matches anything (mask 0).
 */
function parseFieldValue(f: MfField, s: string, opts: ParseOptions): FieldValue {
  if (s === '' || s === '*') return { value: 0n, mask: 0n };
  const all = fullMask(f);
  let r: FieldValue;
  switch (f.format) {
    case 'mac': {
      const [a, m, ...rest] = s.split('/');
      const mac = (x: string): bigint => {
        try { return bufToBig(parseMac(x)); } catch { return bad(`${s}: invalid Ethernet address`); }
      };
      if (rest.length) bad(`${s}: invalid Ethernet address`);
      r = { value: mac(a), mask: m === undefined ? all : mac(m) };
      break;
    }
    case 'ipv4': r = parseAddr(s, 4, parseIpv4, 'IP'); break;
    case 'ipv6': r = parseAddr(s, 16, parseIpv6, 'IPv6'); break;
    case 'frag': {
      const h = FRAG_NAMES[s.toLowerCase()];
      if (!h) bad(`${s}: unknown fragment type (valid types are "no", "yes", "first", "later", "not_later")`);
      r = { value: BigInt(h.value), mask: BigInt(h.mask) };
      break;
    }
    case 'tcp_flags': r = parseTcpFlags(s); break;
    case 'port': {
      const p = parsePort(s, opts);
      if (p === undefined) bad(`${s}: invalid or unknown port for ${f.name}`);
      r = { value: BigInt(p as number), mask: all };
      break;
    }
    default: {
      const slash = s.indexOf('/');
      const vs = slash < 0 ? s : s.slice(0, slash);
      const v = parseNumber(vs);
      if (v === undefined) bad(`${s}: bad syntax for ${f.name} value`);
      let m = all;
      if (slash >= 0) {
        const mm = parseNumber(s.slice(slash + 1));
        if (mm === undefined) bad(`${s}: bad syntax for ${f.name} mask`);
        m = mm as bigint;
      }
      r = { value: v as bigint, mask: m };
    }
  }
  if (!fits(f, r.value) || !fits(f, r.mask)) {
    if (f.name === 'nw_tos') bad(`${s}: nw_tos must be a multiple of 4 from 0 to 252 (the low 2 bits are nw_ecn)`);
    bad(`${s}: value too large for ${f.nbits}-bit field ${f.name}`);
  }
  if (!f.maskable && r.mask !== 0n && r.mask !== all) bad(`${s}: invalid mask for field ${f.name}`);
  return r;
}

/* ---- matches -------------------------------------------------------------- */

const TCI = mfField('vlan_tci');
const DL_TYPE = mfField('dl_type');
const NW_PROTO = mfField('nw_proto');
const NW_FRAG = mfField('nw_frag');
const PRESENT = BigInt(VLAN_PRESENT);

const PROTOCOLS: Readonly<Record<string, [number, number]>> = {
  ip: [ETH_TYPE_IP, 0], ipv4: [ETH_TYPE_IP, 0], ip4: [ETH_TYPE_IP, 0], arp: [ETH_TYPE_ARP, 0], rarp: [ETH_TYPE_RARP, 0],
  icmp: [ETH_TYPE_IP, IPPROTO_ICMP], tcp: [ETH_TYPE_IP, IPPROTO_TCP], udp: [ETH_TYPE_IP, IPPROTO_UDP], sctp: [ETH_TYPE_IP, IPPROTO_SCTP],
  ipv6: [ETH_TYPE_IPV6, 0], ip6: [ETH_TYPE_IPV6, 0], icmp6: [ETH_TYPE_IPV6, IPPROTO_ICMPV6], tcp6: [ETH_TYPE_IPV6, IPPROTO_TCP],
  udp6: [ETH_TYPE_IPV6, IPPROTO_UDP], sctp6: [ETH_TYPE_IPV6, IPPROTO_SCTP],
};

/**
 * OVS's prerequisites, with the aliases it tolerates: nw_src/nw_dst/nw_proto
 * on ARP are arp_spa/arp_tpa/arp_op, and icmp_type/icmp_code serve ICMPv6 too
 * (ovs-ofctl prints icmp6 flows with them).
 */
function prereqMet(f: MfField, value: Buffer, mask?: Buffer): boolean {
  const ok = (p: Prereq): boolean => prereqOk(p, value, mask);
  switch (f.name) {
    case 'nw_src': case 'nw_dst': return ok('ipv4') || ok('arp');
    case 'nw_proto': return ok('ip') || ok('arp');
    case 'icmp_type': case 'icmp_code': case 'icmpv6_type': case 'icmpv6_code': return ok('icmp') || ok('icmpv6');
    default: return ok(f.prereq);
  }
}

/** Sets some vlan_tci bits, keeping the others (dl_vlan, dl_vlan_pcp imply "a tag is present"). */
function orTci(m: Match, value: bigint, mask: bigint): void {
  const cur = m.get(TCI);
  m.set(TCI, (cur.value & ~mask) | (value & mask), cur.mask | mask);
}

function setMatchField(m: Match, f: MfField, s: string, opts: ParseOptions): void {
  if (f.name === 'dl_vlan' && parseNumber(s) === 0xffffn) {
    m.set(TCI, 0n, 0xffffn);                   // OF1.0's OFP_VLAN_NONE: no tag
    return;
  }
  const { value, mask } = parseFieldValue(f, s, opts);
  if (mask && f.name === 'dl_vlan') orTci(m, PRESENT | value, 0x1fffn);
  else if (mask && f.name === 'vlan_pcp') orTci(m, PRESENT | (value << 13n), 0xf000n);
  else m.set(f, value, mask);
}

/**
 * Without a tag, vlan_tci is 0 whole: OVS's OF1.3 encoding (vlan_vid) keeps
 * only the VID and present bits of such a match, and so does this.
 */
function normalizeVlan(m: Match): void {
  const { value, mask } = m.get(TCI);
  if (mask & PRESENT && !(value & PRESENT)) m.set(TCI, value, mask & 0x1fffn);
}

const FLAG_WORDS: Readonly<Record<string, number>> = {
  send_flow_rem: OFPFF.SEND_FLOW_REM, check_overlap: OFPFF.CHECK_OVERLAP, reset_counts: OFPFF.RESET_COUNTS,
  no_packet_counts: OFPFF.NO_PKT_COUNTS, no_byte_counts: OFPFF.NO_BYT_COUNTS,
};
/** Accepted and ignored, so dump-flows output can be fed back (as ovs-ofctl does). */
const IGNORED = new Set(['eth', 'duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age', 'no_readonly_table', 'allow_hidden_fields']);
const KEYWORDS = new Set(['table', 'priority', 'idle_timeout', 'hard_timeout', 'importance', 'cookie', 'out_port', 'out_group']);
/** Which command takes which keyword (OVS's F_* sets; priority is accepted for delete too, for --strict). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  add: ['priority', 'idle_timeout', 'hard_timeout', 'importance', 'flags'],
  modify: ['priority', 'idle_timeout', 'hard_timeout', 'flags'],
  delete: ['priority', 'out_port', 'out_group'],
};
const CMD_NAME = { add: 'add-flow', modify: 'mod-flows', delete: 'del-flows' } as const;

/**
 * A flow_mod in ovs-ofctl syntax: match fields and keywords separated by
 * commas or spaces, then (add/modify) `actions=` and the action list.
 */
export function parseFlowMod(s: string, cmd: 'add' | 'modify' | 'delete', opts: ParseOptions = {}): FlowModSpec {
  let matchStr = s, actStr: string | undefined, actAt = 0;
  if (cmd !== 'delete') {
    // As OVS: everything after the first "action...=" is the action list.
    const a = s.indexOf('action'), eq = a < 0 ? -1 : s.indexOf('=', a);
    if (eq < 0) fail('flow', s.length, s.trim(), 'must specify an action (actions=...)');
    matchStr = s.slice(0, a);
    actStr = s.slice(eq + 1);
    actAt = eq + 1;
  }
  const spec: FlowModSpec = {
    priority: 32768, match: new Match(), actions: [], cookie: 0n, cookieMask: 0n, modifyCookie: false,
    idleTimeout: 0, hardTimeout: 0, flags: 0, importance: 0,
  };
  const m = spec.match;
  const fields: { f: MfField; kv: Kv }[] = [];
  let table: number | undefined, tableKv: Kv | undefined;
  const allowed = (kv: Kv, what: string): void => {
    if (!ALLOWED[cmd].includes(what)) fail('flow', kv.keyAt, kv.key, `${kv.key} is not allowed in ${CMD_NAME[cmd]}`);
  };

  for (const kv of keyValues(matchStr, 0, 'flow')) {
    const { key, value } = kv;
    const proto = PROTOCOLS[key];
    if (proto) {
      m.set(DL_TYPE, BigInt(proto[0]));
      if (proto[1]) m.set(NW_PROTO, BigInt(proto[1]));
      continue;
    }
    if (IGNORED.has(key)) continue;
    if (FLAG_WORDS[key] !== undefined) {
      allowed(kv, 'flags');
      spec.flags |= FLAG_WORDS[key];
      continue;
    }
    const f = mfByName(key);
    if (f) {
      at('flow', kv.valueAt, value, () => setMatchField(m, f, value, opts));
      fields.push({ f, kv });
      continue;
    }
    if (cmd === 'delete' && /^actions?$/.test(key)) fail('flow', kv.keyAt, key, 'del-flows takes no actions');
    if (!KEYWORDS.has(key)) fail('flow', kv.keyAt, key, `unknown field ${key}`);
    if (!value) fail('flow', kv.keyAt, key, `field ${key} missing value`);
    at('flow', kv.valueAt, value, () => {
      switch (key) {
        case 'table': {
          const t = parseDecimal(value);
          if (t === undefined || t > 255) bad(`unknown table "${value}"`);
          table = t;
          tableKv = kv;
          break;
        }
        case 'priority': allowed(kv, key); spec.priority = Number(uint(value, U16, key)); break;
        case 'idle_timeout': allowed(kv, key); spec.idleTimeout = Number(uint(value, U16, key)); break;
        case 'hard_timeout': allowed(kv, key); spec.hardTimeout = Number(uint(value, U16, key)); break;
        case 'importance': allowed(kv, key); spec.importance = Number(uint(value, U16, key)); break;
        case 'cookie': {
          const slash = value.indexOf('/');
          if (slash >= 0) {
            if (cmd === 'add') bad('flow additions cannot use a cookie mask');
            spec.cookie = u64(value.slice(0, slash));
            spec.cookieMask = u64(value.slice(slash + 1));
            spec.cookie &= spec.cookieMask;
            spec.modifyCookie = false;
          } else {
            if (cmd === 'delete') bad('cannot set cookie (to select rules by cookie, give cookie=VALUE/MASK)');
            spec.cookie = u64(value);
            spec.cookieMask = 0n;
            spec.modifyCookie = true;
          }
          break;
        }
        case 'out_port': {
          allowed(kv, key);
          const p = parsePort(value, opts);
          if (p === undefined) bad(`${value} is not a valid OpenFlow port`);
          spec.outPort = p;
          break;
        }
        case 'out_group': {
          allowed(kv, key);
          const g = value.toLowerCase() === 'all' ? 0xfffffffc : value.toLowerCase() === 'any' ? 0xffffffff : parseDecimal(value);
          if (g === undefined || (g > OFPG_MAX && g < 0xfffffffc) || g > 0xffffffff) bad(`${value} is not a valid OpenFlow group`);
          spec.outGroup = g;
          break;
        }
      }
    });
  }

  normalizeVlan(m);
  for (const { f, kv } of fields) {
    if (mfGet(m.mask, f) !== 0n && !prereqMet(f, m.value, m.mask)) {
      fail('flow', kv.keyAt, kv.key, `prerequisites not met for setting ${kv.key}`);
    }
  }

  if (cmd === 'add') {
    if (table === 255 && tableKv) fail('flow', tableKv.valueAt, tableKv.value, 'a flow must be added to one table (0 to 254)');
    spec.tableId = table ?? 0;
  } else {
    spec.tableId = table === 255 ? undefined : table;
  }
  if (actStr !== undefined) {
    spec.actions = parseActionsAt(actStr, actAt, { ...opts, match: m, tableId: spec.tableId });
  }
  return spec;
}

/* ---- actions ----------------------------------------------------------------- */

/** OF1.1+ instructions in their required order; every plain action is apply_actions. */
const INSTRUCTIONS = ['meter', 'apply_actions', 'clear_actions', 'write_actions', 'write_metadata', 'goto_table'];
const APPLY = 1;
const rankOf = (key: string): number => {
  const i = INSTRUCTIONS.indexOf(key);
  return i < 0 ? APPLY : i;
};

const PACKET_IN_REASONS: Readonly<Record<string, PacketInReason>> = {
  no_match: PacketInReason.NO_MATCH, action: PacketInReason.ACTION, invalid_ttl: PacketInReason.INVALID_TTL,
};
const METER_MAX = 0xffff0000;
const MAX_TABLE = N_TABLES - 1;

/** NXM/OXM names for load:, and OVS field names, back to fields (first name wins: tcp_src over tp_src). */
const BY_NXM = new Map<string, MfField>();
for (const [name, nxm] of Object.entries(NXM_NAMES)) if (!BY_NXM.has(nxm)) BY_NXM.set(nxm, mfField(name));

interface ActCtx {
  opts: ActionParseOptions;
  vlan: { present: boolean };     // is a VLAN tag there at this point of the list (OVS ofpacts_check's flow)
}

/** The actions of a rule (everything after `actions=`), OF1.3 instructions included. */
export function parseActions(s: string, opts: ActionParseOptions = {}): OfpAction[] {
  return parseActionsAt(s, 0, opts);
}

function parseActionsAt(s: string, base: number, opts: ActionParseOptions): OfpAction[] {
  let present = false;
  if (opts.match) {
    const { value, mask } = opts.match.get(TCI);
    present = (value & mask & PRESENT) !== 0n;
  }
  return parseList(s, base, { opts, vlan: { present } }, false);
}

function parseList(s: string, base: number, ctx: ActCtx, nested: boolean): OfpAction[] {
  const out: OfpAction[] = [];
  const kvs = keyValues(s, base, 'action');
  let prev = -1;
  let drop: Kv | undefined;
  for (const kv of kvs) {
    const key = kv.key.toLowerCase();
    if (key === 'drop') { drop = kv; continue; }
    const rank = rankOf(key);
    if (nested && rank !== APPLY) fail('action', kv.keyAt, kv.key, `${key} instruction not allowed here`);
    if (prev >= 0 && (prev === APPLY ? rank < prev : rank <= prev)) {
      fail('action', kv.keyAt, kv.key, rank === prev
        ? `duplicate ${INSTRUCTIONS[rank]} instruction not allowed, for OpenFlow 1.1+ compatibility`
        : `invalid instruction ordering: ${INSTRUCTIONS[rank]} must appear before ${INSTRUCTIONS[prev]}, for OpenFlow 1.1+ compatibility`);
    }
    prev = rank;
    parseAction(kv, key, out, ctx);
  }
  if (drop && kvs.length > 1) fail('action', drop.keyAt, drop.key, '"drop" must not be accompanied by any other action or instruction');
  return out;
}

function parseAction(kv: Kv, key: string, out: OfpAction[], ctx: ActCtx): void {
  const { opts } = ctx;
  const v = kv.value;
  const vAt = kv.hasValue ? kv.valueAt : kv.keyAt;
  const err = (msg: string, token: string = v || kv.key, pos: number = vAt): never => fail('action', pos, token, msg);
  const num = <T>(fn: () => T): T => at('action', vAt, v || kv.key, fn);
  const match = opts.match;

  const output = (port: number, token: string): void => {
    if (port === OFPP.CONTROLLER) out.push({ type: 'controller', maxLen: 0xffff });
    else if (port === OFPP.ANY || (port >= 0xff00 && port < OFPP.IN_PORT)) err(`output to port ${token} is invalid (OFPBAC_BAD_OUT_PORT)`, token);
    else out.push({ type: 'output', port });
  };
  /** OVS ofpacts_check's rule: a set_field needs its field's prerequisites in the match (a VLAN tag for vlan fields). */
  const setField = (f: MfField, value: bigint, mask: bigint | undefined, label: string): void => {
    if (!f.writable) err(`${label}: field ${f.name} cannot be written`);
    if (match) {
      const vlanField = f.name === 'vlan_vid' || f.name === 'vlan_pcp';
      // Unlike a match, an action gets no aliases: ip_src on an ARP flow is refused, as in OVS.
      if (vlanField ? !ctx.vlan.present : !prereqOk(f.prereq, match.value, match.mask)) {
        err(`${label} lacks correct prerequisites (actions are invalid with specified match)`);
      }
    }
    const full = mask === undefined || mask === fullMask(f);
    out.push(full ? { type: 'set_field', field: f, value } : { type: 'set_field', field: f, value: value & (mask as bigint), mask });
  };
  const needIp = (label: string): void => {
    if (match && !prereqOk('ip', match.value, match.mask)) err(`${label} lacks correct prerequisites (needs an ip or ipv6 match)`);
  };
  /** mod_tp_* and set_field tp_*: OVS writes the L4 field of the match's protocol. */
  const l4Field = (which: 'src' | 'dst', label: string): MfField => {
    if (!match) return mfField(`tp_${which}`);
    const frag = match.get(NW_FRAG);
    const proto = prereqOk('tcp', match.value, match.mask) ? 'tcp' : prereqOk('udp', match.value, match.mask) ? 'udp'
      : prereqOk('sctp', match.value, match.mask) ? 'sctp' : undefined;
    if (!proto || frag.mask & frag.value & BigInt(FRAG_LATER)) err(`${label} lacks correct prerequisites (needs a tcp, udp or sctp match)`);
    return mfField(`${proto}_${which}`);
  };

  switch (key) {
    case 'output': {
      const p = parsePort(v, opts);
      if (p === undefined) err(`${v}: output to unknown port`);
      output(p as number, v);
      return;
    }
    case 'controller': out.push(parseController(kv)); return;
    case 'mod_dl_src': case 'mod_dl_dst': {
      let mac: Buffer;
      try { mac = parseMac(v); } catch { return err(`invalid mac address ${v}`); }
      setField(mfField(key === 'mod_dl_src' ? 'dl_src' : 'dl_dst'), bufToBig(mac), undefined, key);
      return;
    }
    case 'mod_nw_src': case 'mod_nw_dst': {
      const ip = parseIpv4(v);
      if (!ip) err(`${v}: could not convert to IP address`);
      setField(mfField(key === 'mod_nw_src' ? 'nw_src' : 'nw_dst'), bufToBig(ip as Buffer), undefined, key);
      return;
    }
    case 'mod_nw_tos': {
      const n = parseNumber(v);
      if (n === undefined || n > 255n || n & 3n) err(`${v}: not a valid TOS`);
      needIp(key);
      setField(mfField('ip_dscp'), (n as bigint) >> 2n, undefined, key);
      return;
    }
    case 'mod_nw_ecn': {
      const n = parseNumber(v);
      if (n === undefined || n > 3n) err(`${v}: not a valid ECN`);
      needIp(key);
      setField(mfField('nw_ecn'), n as bigint, undefined, key);
      return;
    }
    case 'mod_nw_ttl': {
      const n = num(() => uint(v, 255n, 'TTL'));
      needIp(key);
      setField(mfField('nw_ttl'), n, undefined, key);
      return;
    }
    case 'dec_ttl':
      if (v.trim()) err('dec_ttl with controller ids is not supported');
      needIp(key);
      out.push({ type: 'dec_ttl' });
      return;
    case 'mod_tp_src': case 'mod_tp_dst': {
      const which = key === 'mod_tp_src' ? 'src' : 'dst';
      const n = num(() => uint(v, U16, which === 'src' ? 'source port' : 'destination port'));
      setField(l4Field(which, key), n, undefined, key);
      return;
    }
    case 'set_field': {
      const arrow = v.indexOf('->');
      if (arrow < 0) err(`${v}: missing \`->'`);
      const valStr = v.slice(0, arrow), name = v.slice(arrow + 2), nameAt = vAt + arrow + 2;
      let f = mfByName(name);
      if (!f) return err(`${name} is not a valid OXM field name`, name, nameAt);
      if (f.name === 'tp_src' || f.name === 'tp_dst') f = l4Field(f.name === 'tp_src' ? 'src' : 'dst', `set_field ${name}`);
      const fv = at('action', vAt, valStr, () => parseFieldValue(f as MfField, valStr, opts));
      if (!fv.mask) err(`${valStr}: set_field needs a value`, valStr);
      if (f.name === 'dl_vlan') { f = mfField('vlan_vid'); fv.value |= PRESENT; }   // dl_vlan is vlan_vid without the present bit
      if (f.name === 'vlan_vid' && !(fv.value & PRESENT)) err(`${valStr}: invalid value for set_field vlan_vid (the 0x1000 present bit must be set)`, valStr);
      setField(f, fv.value, fv.mask, `set_field ${name}`);
      if (f.name === 'vlan_vid' || f.name === 'vlan_pcp') ctx.vlan.present = true;
      return;
    }
    case 'load': {
      const arrow = v.indexOf('->');
      if (arrow < 0) err(`${v}: missing \`->'`);
      const valStr = v.slice(0, arrow), dst = v.slice(arrow + 2), dstAt = vAt + arrow + 2;
      const d = /^([A-Za-z0-9_]+)\[(?:(\d+)(?:\.\.(\d+))?)?\]$/.exec(dst);
      const f = d ? BY_NXM.get(d[1]) ?? mfByName(d[1]) : undefined;
      if (!d || !f) return err(`${dst}: unknown field or bad subfield syntax (FIELD[], FIELD[BIT] or FIELD[START..END])`, dst, dstAt);
      const lo = d[2] === undefined ? 0 : Number(d[2]), hi = d[2] === undefined ? f.nbits - 1 : d[3] === undefined ? lo : Number(d[3]);
      if (hi < lo || hi >= f.nbits) err(`${dst}: bits ${lo}..${hi} are outside the ${f.nbits}-bit field`, dst, dstAt);
      const width = BigInt(hi - lo + 1);
      const value = parseNumber(valStr);
      if (value === undefined) return err(`${valStr}: bad value`, valStr);
      if (value >> width) err(`${valStr}: value does not fit into ${width} bits`, valStr);
      setField(f, value << BigInt(lo), ((1n << width) - 1n) << BigInt(lo), `load ${dst}`);
      return;
    }
    case 'push_vlan': {
      const n = parseNumber(v);
      if (n !== 0x8100n && n !== 0x88a8n) err(`${v}: not a valid VLAN ethertype`);
      out.push({ type: 'push_vlan', ethertype: Number(n) });
      ctx.vlan.present = true;
      return;
    }
    case 'pop_vlan': case 'strip_vlan':
      if (match && !ctx.vlan.present) err(`${key} lacks correct prerequisites (the match has no VLAN tag)`, kv.key, kv.keyAt);
      out.push({ type: 'pop_vlan' });
      ctx.vlan.present = false;
      return;
    case 'mod_vlan_vid': case 'set_vlan_vid': case 'mod_vlan_pcp': case 'set_vlan_pcp': {
      const pcp = key.endsWith('pcp');
      const n = parseNumber(v);
      if (n === undefined || n > (pcp ? 7n : 4095n)) err(`${v}: not a valid VLAN ${pcp ? 'PCP' : 'VID'}`);
      // mod_* push a tag when there is none; set_* (OF1.1 style) need one.
      const push = key.startsWith('mod_');
      if (!push && match && !ctx.vlan.present) err(`${key} lacks correct prerequisites (the match has no VLAN tag)`, kv.key, kv.keyAt);
      out.push(pcp ? { type: 'set_vlan_pcp', pcp: Number(n), push } : { type: 'set_vlan_vid', vid: Number(n), push });
      ctx.vlan.present = true;
      return;
    }
    case 'resubmit': out.push(parseResubmit(kv, opts)); return;
    case 'group': {
      const g = parseNumber(v);
      if (g === undefined || g > U32) err(`invalid numeric format ${v}`);
      if ((g as bigint) > BigInt(OFPG_MAX)) err(`${v}: not a valid group id (0 to ${OFPG_MAX})`);
      out.push({ type: 'group', groupId: Number(g) });
      return;
    }
    case 'meter': {
      const n = parseNumber(v);
      if (n === undefined || n > U32) err(`invalid numeric format ${v}`);
      if (!n || (n as bigint) > BigInt(METER_MAX)) err(`${v}: not a valid meter id (1 to ${METER_MAX})`);
      out.push({ type: 'meter', meterId: Number(n) });
      return;
    }
    case 'note': {
      const pieces = v.split('.');
      if (!pieces.every((p) => /^([0-9a-fA-F]{2})*$/.test(p))) err("bad hex digit in `note' argument");
      out.push({ type: 'note', data: Buffer.from(pieces.join(''), 'hex') });
      return;
    }
    case 'goto_table': {
      const t = parseDecimal(v);
      if (t === undefined || t > MAX_TABLE) err(`${v}: not a valid table (0 to ${MAX_TABLE})`);
      if (opts.tableId !== undefined && (t as number) <= opts.tableId) {
        err(`goto_table must go to a later table than this flow's table ${opts.tableId} (OFPBIC_BAD_TABLE_ID)`);
      }
      out.push({ type: 'goto_table', table: t as number });
      return;
    }
    case 'write_metadata': {
      const slash = v.indexOf('/');
      const value = num(() => u64(slash < 0 ? v : v.slice(0, slash)));
      const mask = slash < 0 ? U64 : num(() => u64(v.slice(slash + 1)));
      out.push({ type: 'write_metadata', value: value & mask, mask });
      return;
    }
    case 'clear_actions': out.push({ type: 'clear_actions' }); return;
    case 'write_actions': {
      // The action set is applied after this table's apply actions: check against that state.
      const inner = parseList(v, vAt, { opts, vlan: { ...ctx.vlan } }, true);
      if (inner.length) out.push({ type: 'write_actions', actions: inner });   // OVS drops an empty one
      return;
    }
    case 'apply_actions': err('apply_actions is the default instruction', kv.key, kv.keyAt); return;
    default: {
      // A bare port: "2", "LOCAL", "NORMAL", a port name.
      const p = parsePort(kv.key, opts);
      if (p === undefined) err(`unknown action ${kv.key}`, kv.key, kv.keyAt);
      output(p as number, kv.key);
    }
  }
}

function parseController(kv: Kv): OfpAction {
  const v = kv.value;
  let maxLen = 0xffff, reason = PacketInReason.ACTION, id = 0;
  const err = (msg: string, token: string, pos: number): never => fail('action', pos, token, msg);
  if (/^[0-9]+$/.test(v)) {
    maxLen = Number(at('action', kv.valueAt, v, () => uint(v, U16, 'max_len')));
  } else if (v) {
    for (const p of keyValues(v, kv.valueAt, 'action')) {
      if (p.key === 'reason') {
        const r = PACKET_IN_REASONS[p.value];
        if (r === undefined) err(`unknown reason "${p.value}"`, p.value, p.valueAt);
        reason = r;
      } else if (p.key === 'max_len') {
        maxLen = Number(at('action', p.valueAt, p.value, () => uint(p.value, U16, 'max_len')));
      } else if (p.key === 'id') {
        id = Number(at('action', p.valueAt, p.value, () => uint(p.value, U16, 'id')));
      } else if (p.key === 'userdata' || p.key === 'pause' || p.key === 'meter_id') {
        err(`controller ${p.key} is not supported`, p.key, p.keyAt);
      } else {
        err(`unknown key "${p.key}" parsing controller action`, p.key, p.keyAt);
      }
    }
  }
  const a: Extract<OfpAction, { type: 'controller' }> = { type: 'controller', maxLen };
  if (reason !== PacketInReason.ACTION) a.reason = reason;
  if (id) a.controllerId = id;
  return a;
}

/** resubmit:PORT, resubmit(PORT,TABLE), resubmit(,TABLE): IN_PORT and table 255 mean "the current one". */
function parseResubmit(kv: Kv, opts: ParseOptions): OfpAction {
  const v = kv.value;
  const err = (msg: string, token = v || kv.key, pos = kv.hasValue ? kv.valueAt : kv.keyAt): never => fail('action', pos, token, msg);
  let port: number = OFPP.IN_PORT, table = 255;
  if (!kv.paren) {
    if (v) {
      const p = parsePort(v, opts);
      if (p === undefined) err(`${v}: resubmit to unknown port`);
      port = p as number;
    }
  } else {
    // Each argument with where it starts, for the error position.
    const parts: { text: string; pos: number }[] = [];
    for (let i = 0; i <= v.length; ) {
      const end = v.indexOf(',', i) < 0 ? v.length : v.indexOf(',', i);
      const raw = v.slice(i, end);
      parts.push({ text: raw.trim(), pos: kv.valueAt + i + (raw.length - raw.trimStart().length) });
      i = end + 1;
    }
    if (parts.length > 2) err(parts[2].text === 'ct' ? 'resubmit with ct is not supported' : 'too many resubmit arguments', parts[2].text, parts[2].pos);
    if (parts[0].text) {
      const p = parsePort(parts[0].text, opts);
      if (p === undefined) err(`${parts[0].text}: resubmit to unknown port`, parts[0].text, parts[0].pos);
      port = p as number;
    }
    if (parts[1]?.text) {
      const t = parseDecimal(parts[1].text);
      if (t === undefined || t > 255) err(`invalid table "${parts[1].text}"`, parts[1].text, parts[1].pos);
      table = t as number;
    }
  }
  if (port === OFPP.IN_PORT && table === 255) err('at least one "in_port" or "table" must be specified on resubmit');
  const a: Extract<OfpAction, { type: 'resubmit' }> = { type: 'resubmit' };
  if (port !== OFPP.IN_PORT) a.port = port;
  if (table !== 255) a.table = table;
  return a;
}

/* ---- trace flows --------------------------------------------------------------- */

/**
 * A packet's flow for ofproto/trace ("in_port=1,udp,nw_src=...,udp_dst=9"):
 * a full 120-byte flow, zero where not given. As OVS parse_ofp_exact_flow,
 * fields come in an order that meets their prerequisites, each at most once,
 * without masks; tp_src/tp_dst are TCP's (use udp_src/udp_dst for UDP).
 */
export function parseFlow(s: string, opts: ParseOptions = {}): Buffer {
  const flow = Buffer.alloc(FLOW_SIZE);
  for (const kv of keyValues(s, 0, 'flow')) {
    const { key, value } = kv;
    const proto = PROTOCOLS[key];
    if (proto) {
      if (mfGet(flow, DL_TYPE)) fail('flow', kv.keyAt, key, 'Ethernet type set multiple times');
      mfSet(flow, DL_TYPE, BigInt(proto[0]));
      if (proto[1]) {
        if (mfGet(flow, NW_PROTO)) fail('flow', kv.keyAt, key, 'network protocol set multiple times');
        mfSet(flow, NW_PROTO, BigInt(proto[1]));
      }
      continue;
    }
    if (key === 'eth') continue;
    const f = mfByName(key);
    if (!f) fail('flow', kv.keyAt, key, `unknown field ${key}`);
    const tcpOnly = f.name === 'tp_src' || f.name === 'tp_dst';
    if (tcpOnly ? !prereqOk('tcp', flow) : !prereqMet(f, flow)) fail('flow', kv.keyAt, key, `prerequisites not met for setting ${key}`);
    if (mfGet(flow, f) !== 0n) fail('flow', kv.keyAt, key, `field ${key} set multiple times`);
    at('flow', kv.valueAt, value, () => {
      const tci = mfGet(flow, TCI);
      if (f.name === 'dl_vlan' && parseNumber(value) === 0xffffn) { mfSet(flow, TCI, 0n); return; }
      const { value: v, mask } = parseFieldValue(f, value, opts);
      if (mask !== fullMask(f)) bad(`${value}: wildcards not allowed here`);
      if (f.name === 'dl_vlan') mfSet(flow, TCI, (tci & 0xe000n) | PRESENT | v);
      else if (f.name === 'vlan_pcp') mfSet(flow, TCI, (tci & 0x0fffn) | PRESENT | (v << 13n));
      else mfSet(flow, f, v);
    });
  }
  return flow;
}
