/*
 * Random OpenFlow pipelines for the cache oracle: overlapping masks (CIDR
 * prefixes, partial port masks, VLAN/fragment bits), several tables linked by
 * goto_table/resubmit with metadata/register state, groups, and the actions
 * that change what later lookups and the megaflow see (set_field, VLAN,
 * dec_ttl). Every rule goes through OfTables.add, so prerequisites are
 * always met; values come from small pools so that rules overlap each other
 * and random packets (oracle/packets.ts) hit them.
 */
import { Match } from '../../../src/ofproto/match';
import { ipv6 } from '../packets';
import { mfField, MfField, OFPP } from '../../../src/ofproto/meta-flow';
import { OfpAction, GroupType, Bucket, OFPG_ANY } from '../../../src/ofproto/ofp-actions';
import { FlowMod } from '../../../src/ofproto/tables';
import { XPort } from '../../../src/ofproto/xlate';
import { parseMac, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, VLAN_PRESENT } from '../../../src/dpif/flow-key';
import { ETH_TYPE_RARP } from '../../../src/ofproto/meta-flow';

/** Deterministic PRNG (mulberry32): the same seed gives the same pipeline and stream. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) { this.s = seed >>> 0; }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number { return n <= 1 ? 0 : this.u32() % n; }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  chance(p: number): boolean { return this.u32() / 4294967296 < p; }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
  bytes(n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = this.int(256); return b; }
  /** Weighted choice: [[weight, value], ...]. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    let r = this.int(items.reduce((s, [w]) => s + w, 0));
    for (const [w, v] of items) { if (r < w) return v; r -= w; }
    return items[items.length - 1][1];
  }
}

/* ---- value pools shared with the packet generator ------------------------ */

export const POOL = {
  /** Unicast hosts first; the packet generator also uses broadcast/multicast. */
  macs: ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04', '02:00:00:00:00:05',
    '0a:00:00:00:00:06'].map(parseMac),
  bcastMacs: ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:fb', '33:33:00:00:00:01'].map(parseMac),
  ipv4: [0x0a000001, 0x0a000002, 0x0a0001fe, 0x0a800001, 0xc0a80001, 0xc0a8ff02, 0x08080808, 0xe0000001],
  ipv6: ['fd00::1', 'fd00::2', 'fd00:0:0:1::1', 'fe80::1', '2001:db8::1', 'ff02::1'].map(ipv6),
  l4ports: [0, 9, 53, 80, 443, 1024, 0x1000, 0x1fff, 4789, 8080, 0x8000, 65535],
  vids: [0, 1, 10, 20, 4095],
  ttls: [0, 1, 2, 64, 255],
  /** eth_types a key or a rule can have (0x88b5: opaque, 0x88a8: S-tag, 0x05ff: 802.2 without SNAP). */
  ethTypes: [ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, ETH_TYPE_RARP, 0x88b5, 0x88a8, 0x05ff],
};

const bufToBig = (b: Buffer): bigint => BigInt('0x' + (b.toString('hex') || '0'));
const prefixMask = (bits: number, len: number): bigint => (len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len));

/* ---- ports and groups ---------------------------------------------------- */

/** 4-6 ports: plain, access (tag) and trunk ports; a few are down (fast failover watches them). */
export function randomPorts(rng: Rng): XPort[] {
  const n = rng.range(4, 6);
  return Array.from({ length: n }, (_, i) => {
    const p: XPort = { ofport: i + 1, name: `p${i + 1}`, live: i === 0 || rng.chance(0.8) };
    const mode = rng.weighted([[3, 'plain'], [2, 'access'], [2, 'trunk']] as const);
    if (mode === 'access') p.tag = rng.pick([10, 20]);
    if (mode === 'trunk') p.trunks = rng.chance(0.5) ? [10, 20] : [0, 10];
    return p;
  });
}

export interface GroupSpec { id: number; type: GroupType; buckets: Bucket[] }

/** Group actions may not reference matched fields (no match: only prerequisite-free set_fields). */
function bucketActions(rng: Rng, ports: XPort[], lowerGroups: number[]): OfpAction[] {
  const out: OfpAction[] = [];
  const n = rng.range(0, 3);
  for (let i = 0; i < n; i++) {
    const a = rng.weighted<() => OfpAction>([
      [5, () => ({ type: 'output', port: rng.pick(ports).ofport })],
      [1, () => ({ type: 'output', port: OFPP.IN_PORT })],
      [1, () => ({ type: 'output', port: OFPP.NORMAL })],
      [2, () => ({ type: 'set_field', field: mfField('dl_dst'), value: bufToBig(rng.pick(POOL.macs)) })],
      [1, () => ({ type: 'dec_ttl' })],
      [1, () => ({ type: 'pop_vlan' })],
      [1, () => ({ type: 'push_vlan', ethertype: 0x8100 })],
      [1, () => ({ type: 'set_field', field: mfField('vlan_vid'), value: BigInt(VLAN_PRESENT | rng.pick(POOL.vids)) })],
      [lowerGroups.length ? 1 : 0, () => ({ type: 'group', groupId: rng.pick(lowerGroups) })],
    ])();
    out.push(a);
  }
  return out;
}

/** A group that may chain only to groups with lower ids (no loops). */
export function randomGroup(rng: Rng, id: number, ports: XPort[], existing: number[]): GroupSpec {
  const type = rng.pick([GroupType.ALL, GroupType.SELECT, GroupType.INDIRECT, GroupType.FF]);
  const lower = existing.filter((g) => g < id);
  const nb = type === GroupType.INDIRECT ? 1 : rng.range(1, 3);
  const buckets: Bucket[] = Array.from({ length: nb }, () => ({
    weight: type === GroupType.SELECT ? rng.pick([0, 1, 1, 2, 5]) : 0,
    watchPort: type === GroupType.FF ? rng.pick(ports).ofport : OFPP.ANY,
    watchGroup: OFPG_ANY,
    actions: bucketActions(rng, ports, lower),
    nPackets: 0n, nBytes: 0n,
  }));
  return { id, type, buckets };
}

/* ---- matches ------------------------------------------------------------- */

type L3 = 'any' | 'ip' | 'ipv6' | 'arp' | 'rarp' | 'other';
type L4 = 'any' | 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6' | 'other';

export interface MatchShape { l3: L3; l4: L4 }

function setIp(rng: Rng, m: Match, fld: MfField, v4: boolean): void {
  const bits = v4 ? 32 : 128;
  const base = v4 ? BigInt(rng.pick(POOL.ipv4)) : bufToBig(rng.pick(POOL.ipv6));
  const len = v4 ? rng.pick([1, 8, 9, 16, 24, 30, 31, 32, 32]) : rng.pick([1, 16, 48, 64, 120, 128, 128]);
  const mask = rng.chance(0.9) ? prefixMask(bits, len) : (v4 ? 0xff00ff00n : prefixMask(bits, 64) | 0xffn);   // a few non-CIDR masks
  m.set(fld, base & mask, mask);
}

function setPort(rng: Rng, m: Match, fld: MfField): void {
  const v = BigInt(rng.pick(POOL.l4ports));
  const mask = rng.weighted<bigint>([[6, 0xffffn], [3, 0xf000n], [2, 0xff00n], [1, 0xfff0n], [1, 0x8000n], [1, 0x00ffn], [1, 0x0f0fn]]);
  // 0x1000/0xf000 style: the pool value's top bits, or a fresh value under the mask
  m.set(fld, (rng.chance(0.7) ? v : BigInt(rng.int(65536))) & mask, mask);
}

/** A random match in `tableId`; later tables also match pipeline state (metadata, registers). */
export function randomMatch(rng: Rng, tableId: number, ports: XPort[]): { match: Match; shape: MatchShape } {
  const m = new Match();
  const l3 = rng.weighted<L3>([[4, 'any'], [6, 'ip'], [3, 'ipv6'], [2, 'arp'], [1, 'rarp'], [1, 'other']]);
  let l4: L4 = 'any';
  if (rng.chance(0.3)) m.set(mfField('in_port'), BigInt(rng.chance(0.95) ? rng.pick(ports).ofport : 77));
  if (rng.chance(0.15)) m.set(mfField('dl_src'), bufToBig(rng.pick(POOL.macs)));
  if (rng.chance(0.15)) {
    const r = rng.int(3);
    if (r === 0) m.set(mfField('dl_dst'), bufToBig(rng.pick([...POOL.macs, ...POOL.bcastMacs])));
    else if (r === 1) m.set(mfField('dl_dst'), BigInt(rng.int(2)) << 40n, 0x010000000000n);   // multicast bit
    else m.set(mfField('dl_dst'), bufToBig(rng.pick(POOL.macs)) & 0xffffff000000n, 0xffffff000000n);   // OUI
  }
  if (rng.chance(0.2)) {
    const r = rng.int(4);
    if (r === 0) m.set(mfField('vlan_tci'), 0n, BigInt(VLAN_PRESENT));                     // untagged only
    else if (r === 1) m.set(mfField('vlan_tci'), BigInt(VLAN_PRESENT), BigInt(VLAN_PRESENT)); // any tag
    else if (r === 2) m.set(mfField('dl_vlan'), BigInt(rng.pick(POOL.vids)));              // VID bits only
    else m.set(mfField('vlan_vid'), BigInt(VLAN_PRESENT | rng.pick(POOL.vids)));           // OF1.3: tag with this VID
  }
  if (rng.chance(0.05)) m.set(mfField('vlan_pcp'), BigInt(rng.int(8)));
  const dlType = { any: undefined, ip: ETH_TYPE_IP, ipv6: ETH_TYPE_IPV6, arp: ETH_TYPE_ARP, rarp: ETH_TYPE_RARP, other: rng.pick([0x88b5, 0x88a8, 0x05ff]) }[l3];
  if (dlType !== undefined) m.set(mfField('dl_type'), BigInt(dlType));
  if (l3 === 'ip' || l3 === 'ipv6') {
    const v4 = l3 === 'ip';
    l4 = rng.weighted<L4>([[3, 'any'], [4, 'tcp'], [4, 'udp'], [1, 'sctp'], [2, v4 ? 'icmp' : 'icmpv6'], [1, 'other']]);
    const proto = { any: undefined, tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58, other: 47 }[l4];
    if (proto !== undefined) m.set(mfField('nw_proto'), BigInt(proto));
    if (rng.chance(0.5)) setIp(rng, m, mfField(v4 ? 'nw_src' : 'ipv6_src'), v4);
    if (rng.chance(0.4)) setIp(rng, m, mfField(v4 ? 'nw_dst' : 'ipv6_dst'), v4);
    if (rng.chance(0.15)) {
      // no / first / later / yes / not_later
      const [v, mk] = rng.pick([[0n, 1n], [1n, 3n], [3n, 3n], [1n, 1n], [0n, 2n]] as const);
      m.set(mfField('nw_frag'), v, mk);
    }
    if (rng.chance(0.1)) m.set(mfField('nw_ttl'), BigInt(rng.pick(POOL.ttls)));
    if (rng.chance(0.05)) m.set(mfField('ip_dscp'), BigInt(rng.pick([0, 10, 46])));
    if (rng.chance(0.03)) m.set(mfField('nw_ecn'), BigInt(rng.int(4)));
    if (!v4 && rng.chance(0.05)) m.set(mfField('ipv6_label'), BigInt(rng.int(4)), 0xfffffn);
    if (l4 === 'tcp' || l4 === 'udp' || l4 === 'sctp') {
      if (rng.chance(0.7)) setPort(rng, m, mfField('tp_dst'));
      if (rng.chance(0.3)) setPort(rng, m, mfField('tp_src'));
      if (l4 === 'tcp' && rng.chance(0.1)) m.set(mfField('tcp_flags'), BigInt(rng.pick([0x002, 0x010, 0x012])), BigInt(rng.pick([0x002, 0x012, 0xfff])));
    }
    if (l4 === 'icmp' || l4 === 'icmpv6') {
      if (rng.chance(0.6)) m.set(mfField(`${l4}_type`), BigInt(rng.pick(l4 === 'icmp' ? [0, 3, 8] : [128, 129, 135])));
      if (rng.chance(0.3)) m.set(mfField(`${l4}_code`), BigInt(rng.int(2)));
    }
  }
  if (l3 === 'arp' || l3 === 'rarp') {
    if (rng.chance(0.5)) setIp(rng, m, mfField('arp_spa'), true);
    if (rng.chance(0.4)) setIp(rng, m, mfField('arp_tpa'), true);
    if (rng.chance(0.3)) m.set(mfField('arp_op'), BigInt(rng.range(1, 2)));
    if (rng.chance(0.1)) m.set(mfField('arp_sha'), bufToBig(rng.pick(POOL.macs)));
  }
  if (tableId > 0) {
    if (rng.chance(0.3)) { const mk = rng.pick([0xffn, 0xf0n, 0xffffffffffffffffn]); m.set(mfField('metadata'), BigInt(rng.int(4)) & mk, mk); }
    if (rng.chance(0.3)) m.set(mfField('reg0'), BigInt(rng.int(3)));
  }
  return { match: m, shape: { l3, l4 } };
}

/** The shape an existing match pins (for actions that must respect its prerequisites). */
export function shapeOf(m: Match): MatchShape {
  const et = m.mask.readUInt16BE(16) ? m.value.readUInt16BE(16) : -1;
  const l3: L3 = et === ETH_TYPE_IP ? 'ip' : et === ETH_TYPE_IPV6 ? 'ipv6' : et === ETH_TYPE_ARP ? 'arp' : et === ETH_TYPE_RARP ? 'rarp' : et < 0 ? 'any' : 'other';
  const proto = m.mask[20] && (l3 === 'ip' || l3 === 'ipv6') ? m.value[20] : -1;
  const l4: L4 = ({ 6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp', 58: 'icmpv6' } as Record<number, L4>)[proto] ?? (proto < 0 ? 'any' : 'other');
  return { l3, l4 };
}

/* ---- actions ------------------------------------------------------------- */

export interface ActionEnv { tableId: number; nTables: number; ports: XPort[]; groups: number[] }

/** Actions a rule with `shape` may use (set_field needs the field's prerequisites in the match). */
function oneAction(rng: Rng, env: ActionEnv, shape: MatchShape, terminalOk: boolean): OfpAction {
  const later = env.tableId + 1 < env.nTables;
  const ip = shape.l3 === 'ip' || shape.l3 === 'ipv6';
  const l4 = shape.l4 === 'tcp' || shape.l4 === 'udp' || shape.l4 === 'sctp';
  const sf = (name: string, value: bigint): OfpAction => ({ type: 'set_field', field: mfField(name), value });
  return rng.weighted<() => OfpAction>([
    [8, () => ({ type: 'output', port: rng.chance(0.93) ? rng.pick(env.ports).ofport : rng.pick([OFPP.IN_PORT, 99]) })],
    [terminalOk ? 4 : 0, () => ({ type: 'output', port: OFPP.NORMAL })],
    [terminalOk ? 1 : 0, () => ({ type: 'output', port: rng.pick([OFPP.FLOOD, OFPP.ALL]) })],
    [1, () => ({ type: 'controller', maxLen: 128 })],
    [2, () => sf(rng.pick(['dl_src', 'dl_dst']), bufToBig(rng.pick(POOL.macs)))],
    [shape.l3 === 'ip' ? 2 : 0, () => sf(rng.pick(['nw_src', 'nw_dst']), BigInt(rng.pick(POOL.ipv4)))],
    [l4 ? 2 : 0, () => sf(rng.pick(['tp_dst', 'tp_src']), BigInt(rng.pick(POOL.l4ports)))],
    [ip ? 1 : 0, () => sf(rng.pick(['ip_dscp', 'nw_ecn']), BigInt(rng.int(4)))],
    [ip ? 1 : 0, () => sf('nw_ttl', BigInt(rng.pick(POOL.ttls)))],
    [3, () => ({ type: 'dec_ttl' })],
    [1, () => ({ type: 'push_vlan', ethertype: 0x8100 })],
    [2, () => ({ type: 'pop_vlan' })],
    [1, () => sf('vlan_vid', BigInt(VLAN_PRESENT | rng.pick(POOL.vids)))],
    [1, () => ({ type: 'set_vlan_vid', vid: rng.pick(POOL.vids), push: rng.chance(0.5) })],
    [later ? 2 : 0, () => sf('reg0', BigInt(rng.int(3)))],
    [later ? 2 : 0, () => ({ type: 'resubmit', table: rng.range(env.tableId + 1, env.nTables - 1) })],
    [1, () => ({ type: 'resubmit', port: rng.pick(env.ports).ofport, table: later ? rng.range(env.tableId + 1, env.nTables - 1) : env.tableId + 1 })],
    [env.groups.length ? 3 : 0, () => ({ type: 'group', groupId: rng.pick(env.groups) })],
  ])();
}

/** A rule's list: apply-actions, then optional clear/write_actions, write_metadata, goto_table (OF1.3 order). */
export function randomActions(rng: Rng, env: ActionEnv, shape: MatchShape): OfpAction[] {
  if (rng.chance(0.1)) return [];                                   // drop
  const later = env.tableId + 1 < env.nTables;
  const goto = later && rng.chance(0.45);
  const n = rng.weighted([[2, 0], [5, 1], [3, 2], [1, 3]] as const);
  const out: OfpAction[] = [];
  for (let i = 0; i < (goto ? Math.max(0, n - 1) : Math.max(1, n)); i++) out.push(oneAction(rng, env, shape, !goto));
  if (rng.chance(0.08)) out.push({ type: 'clear_actions' });
  if (rng.chance(0.15)) {
    const w: OfpAction[] = [];
    if (rng.chance(0.4)) w.push({ type: 'set_field', field: mfField('dl_dst'), value: bufToBig(rng.pick(POOL.macs)) });
    if (rng.chance(0.3)) w.push({ type: 'dec_ttl' });
    w.push(env.groups.length && rng.chance(0.3) ? { type: 'group', groupId: rng.pick(env.groups) } : { type: 'output', port: rng.pick(env.ports).ofport });
    out.push({ type: 'write_actions', actions: w });
  }
  if (goto) {
    if (rng.chance(0.4)) { const mk = rng.pick([0xffn, 0x0fn]); out.push({ type: 'write_metadata', value: BigInt(rng.int(4)) & mk, mask: mk }); }
    out.push({ type: 'goto_table', table: rng.range(env.tableId + 1, env.nTables - 1) });
  }
  return out;
}

export function randomFlowMod(rng: Rng, env: Omit<ActionEnv, 'tableId'>, tableId = rng.int(env.nTables)): FlowMod {
  const { match, shape } = randomMatch(rng, tableId, env.ports);
  // Few distinct priorities, so equal priorities (ties by insertion order) and shadowing both happen.
  const priority = rng.weighted([[3, 0], [2, 10], [4, 100], [3, 200], [2, 32768], [1, 65535], [2, rng.int(300)]] as const);
  return { tableId, priority, match, actions: randomActions(rng, { ...env, tableId }, shape) };
}

export interface PipelineSpec {
  nTables: number;
  ports: XPort[];
  groups: GroupSpec[];
  flows: FlowMod[];
}

/** 1-4 tables, up to 4 groups, 10-70 rules; table 0 often ends in a NORMAL catch-all, as a bridge's does. */
export function randomPipeline(rng: Rng): PipelineSpec {
  const nTables = rng.range(1, 4);
  const ports = randomPorts(rng);
  const groups: GroupSpec[] = [];
  const nGroups = rng.range(0, 4);
  for (let id = 1; id <= nGroups; id++) groups.push(randomGroup(rng, id, ports, groups.map((g) => g.id)));
  const env = { nTables, ports, groups: groups.map((g) => g.id) };
  const flows: FlowMod[] = [];
  if (rng.chance(0.7)) flows.push({ tableId: 0, priority: 0, match: new Match(), actions: [{ type: 'output', port: OFPP.NORMAL }] });
  const n = rng.range(10, 70);
  for (let i = 0; i < n; i++) flows.push(randomFlowMod(rng, env, i < nTables * 3 ? i % nTables : undefined));
  return { nTables, ports, groups, flows };
}
