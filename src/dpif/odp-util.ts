/*
 * Datapath flows and actions printed as `ovs-appctl dpctl/dump-flows` prints
 * them, so users' scripts and eyes carry over. Only matched fields are shown;
 * a partly matched field prints value/mask, as OVS does.
 */
import {
  FlowKey, KeyField, macToString, ipv4ToString, ipv6ToString, VLAN_PRESENT, FRAG_ANY, FRAG_LATER,
  ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, isArpType, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6,
} from './flow-key';
import { OdpAction } from './odp-netlink';

type Fmt = (k: FlowKey, m: FlowKey) => string | undefined;

/** OVS's %#x (format_u8x, format_ipv6_label): "0" for zero, else 0x-prefixed hex. */
const hexAlt = (v: number): string => (v ? `0x${v.toString(16)}` : '0');

const isExact = (m: FlowKey, f: KeyField): boolean => m.bytes(f).every((b) => b === 0xff);

function num(k: FlowKey, m: FlowKey, f: KeyField, hex = false): string | undefined {
  if (m.isZero(f)) return undefined;
  const v = k.field(f), mv = m.field(f);
  const s = (x: number): string => (hex ? hexAlt(x) : String(x));
  return isExact(m, f) ? s(v) : `${s(v)}/0x${mv.toString(16)}`;
}

function addr(k: FlowKey, m: FlowKey, f: KeyField, fmt: (b: Buffer) => string, len: number): string | undefined {
  const mv = m.bytes(f).subarray(0, len);
  if (mv.every((b) => b === 0)) return undefined;
  const v = fmt(k.bytes(f).subarray(0, len));
  return mv.every((b) => b === 0xff) ? v : `${v}/${fmt(mv)}`;
}

function group(name: string, parts: [string, string | undefined][]): string | undefined {
  const shown = parts.filter(([, v]) => v !== undefined).map(([n, v]) => `${n}=${v}`);
  return shown.length ? `${name}(${shown.join(',')})` : undefined;
}

function fragName(k: FlowKey, m: FlowKey): string | undefined {
  if (m.nwFrag === 0) return undefined;
  const f = k.nwFrag;
  return !(f & FRAG_ANY) ? 'no' : f & FRAG_LATER ? 'later' : 'first';
}

const mac = (k: FlowKey, m: FlowKey, f: KeyField): string | undefined => addr(k, m, f, macToString, 6);
const ip4 = (k: FlowKey, m: FlowKey, f: KeyField): string | undefined => addr(k, m, f, ipv4ToString, 4);
const ip6 = (k: FlowKey, m: FlowKey, f: KeyField): string | undefined => addr(k, m, f, ipv6ToString, 16);

const l3: Fmt = (k, m) => {
  if (k.ethType === ETH_TYPE_IP) {
    return group('ipv4', [['src', ip4(k, m, 'nw_src')], ['dst', ip4(k, m, 'nw_dst')], ['proto', num(k, m, 'nw_proto')],
      ['tos', num(k, m, 'nw_tos', true)], ['ttl', num(k, m, 'nw_ttl')], ['frag', fragName(k, m)]]);
  }
  if (k.ethType === ETH_TYPE_IPV6) {
    return group('ipv6', [['src', ip6(k, m, 'nw_src')], ['dst', ip6(k, m, 'nw_dst')], ['label', num(k, m, 'ipv6_label', true)],
      ['proto', num(k, m, 'nw_proto')], ['tclass', num(k, m, 'nw_tos', true)], ['hlimit', num(k, m, 'nw_ttl')], ['frag', fragName(k, m)]]);
  }
  if (isArpType(k.ethType)) {
    return group('arp', [['sip', ip4(k, m, 'nw_src')], ['tip', ip4(k, m, 'nw_dst')], ['op', num(k, m, 'nw_proto')],
      ['sha', mac(k, m, 'arp_sha')], ['tha', mac(k, m, 'arp_tha')]]);
  }
  return undefined;
};

const l4: Fmt = (k, m) => {
  const ip = k.ethType === ETH_TYPE_IP || k.ethType === ETH_TYPE_IPV6;
  if (!ip || (k.nwFrag & FRAG_LATER) || m.nwProto === 0) return undefined;
  const ports = (name: string): string | undefined => group(name, [['src', num(k, m, 'tp_src')], ['dst', num(k, m, 'tp_dst')]]);
  switch (k.nwProto) {
    case IPPROTO_TCP: {
      const p = ports('tcp');
      const fl = m.isZero('tcp_flags') ? undefined : `tcp_flags(${num(k, m, 'tcp_flags', true)})`;
      return [p, fl].filter(Boolean).join(',') || undefined;
    }
    case IPPROTO_UDP: return ports('udp');
    case IPPROTO_SCTP: return ports('sctp');
    case IPPROTO_ICMP: return group('icmp', [['type', num(k, m, 'tp_src')], ['code', num(k, m, 'tp_dst')]]);
    case IPPROTO_ICMPV6: return group('icmpv6', [['type', num(k, m, 'tp_src')], ['code', num(k, m, 'tp_dst')]]);
    default: return undefined;
  }
};

/** `in_port(2),eth(src=..,dst=..),eth_type(0x0800),ipv4(frag=no)` */
export function formatFlowMatch(k: FlowKey, m: FlowKey, portName?: (p: number) => string | undefined): string {
  const parts: (string | undefined)[] = [];
  parts.push(`in_port(${portName?.(k.inPort) ?? k.inPort})`);
  parts.push(group('eth', [['src', mac(k, m, 'eth_src')], ['dst', mac(k, m, 'eth_dst')]]));
  const tail: (string | undefined)[] = [];
  if (m.ethType) tail.push(`eth_type(0x${k.ethType.toString(16).padStart(4, '0')})`);
  tail.push(l3(k, m), l4(k, m));
  if ((k.vlanTci & VLAN_PRESENT) && (m.vlanTci & VLAN_PRESENT)) {
    const tci = k.vlanTci, mt = m.vlanTci;
    const vid = (mt & 0xfff) ? `vid=${tci & 0xfff}${(mt & 0xfff) === 0xfff ? '' : `/0x${(mt & 0xfff).toString(16)}`}` : undefined;
    const pcp = (mt & 0xe000) ? `pcp=${tci >> 13}` : undefined;
    parts.push('eth_type(0x8100)', `vlan(${[vid, pcp].filter(Boolean).join(',')})`,
      `encap(${tail.filter(Boolean).join(',')})`);
  } else {
    parts.push(...tail);   // "untagged" is implied by eth_type without vlan(), as in OVS
  }
  return parts.filter(Boolean).join(',');
}

export function formatTcpFlags(f: number): string {
  if (!f) return 'none';
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x08) s += 'P';
  if (f & 0x04) s += 'R';
  if (f & 0x20) s += 'U';
  if (f & 0x10) s += '.';
  if (f & 0x40) s += 'E';
  if (f & 0x80) s += 'C';
  if (f & 0x100) s += 'N';
  return s;
}

/** set(proto(field=value)) as OVS prints a one-field set_masked action. */
function formatSet(a: Extract<OdpAction, { type: 'set' }>): string {
  const [proto, fld] = a.field.split('_');
  const v = a.value;
  let val: string;
  if (proto === 'eth') val = macToString(v);
  else if (proto === 'ipv4') val = fld === 'src' || fld === 'dst' ? ipv4ToString(v) : fld === 'tos' ? hexAlt(v[0]) : String(v[0]);
  else if (proto === 'ipv6') {
    val = fld === 'src' || fld === 'dst' ? ipv6ToString(v) : fld === 'label' ? hexAlt(v.readUInt32BE(0)) : fld === 'tclass' ? hexAlt(v[0]) : String(v[0]);
  } else val = String(v.readUInt16BE(0));
  return `set(${proto}(${fld}=${val}))`;
}

export function formatActions(actions: OdpAction[], portName?: (p: number) => string | undefined): string {
  if (actions.length === 0) return 'drop';
  return actions.map((a) => {
    switch (a.type) {
      case 'output': return portName?.(a.port) ?? String(a.port);
      case 'userspace': return `userspace(pid=${a.pid}${a.userdata ? `,userdata(${a.userdata.toString('hex')})` : ''})`;
      case 'set': return formatSet(a);
      case 'push_vlan': return `push_vlan(${a.tpid !== 0x8100 ? `tpid=0x${a.tpid.toString(16)},` : ''}vid=${a.tci & 0xfff},pcp=${a.tci >> 13})`;
      case 'pop_vlan': return 'pop_vlan';
      case 'meter': return `meter(${a.id})`;
    }
  }).join(',');
}

export interface DumpedFlow {
  key: FlowKey;
  mask: FlowKey;
  actions: OdpAction[];
  packets: bigint;
  bytes: bigint;
  usedMsAgo?: number;   // undefined = never used
  tcpFlags: number;
  ufid?: string;
}

/** One line of `dpctl/dump-flows`. */
export function formatDumpedFlow(f: DumpedFlow, portName?: (p: number) => string | undefined, verbose = false): string {
  const used = f.usedMsAgo === undefined ? 'never' : `${(f.usedMsAgo / 1000).toFixed(3)}s`;
  const flags = f.tcpFlags ? `flags:${formatTcpFlags(f.tcpFlags)}, ` : '';
  const ufid = verbose && f.ufid ? `ufid:${f.ufid}, ` : '';
  return `${ufid}${formatFlowMatch(f.key, f.mask, portName)}, packets:${f.packets}, bytes:${f.bytes}, used:${used}, ${flags}actions:${formatActions(f.actions, portName)}`;
}
