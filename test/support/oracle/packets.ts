/*
 * Random datapath flow keys for the oracle, always in the shape the BPF
 * parser (bpf/xvs_parse.h) produces: fields of absent headers are zero,
 * later fragments carry no L4 (and IPv6 ones report nw_proto 44), ICMP
 * type/code sit in the low byte of tp_src/tp_dst, ARP keeps its op in
 * nw_proto, tcp_flags only for TCP, tuple_id 0. keyToFrame() builds the
 * frame from which the parser extracts exactly that key.
 */
import { FlowKey, VLAN_PRESENT, FRAG_ANY, FRAG_LATER, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6 } from '../../../src/dpif/flow-key';
import { ETH_TYPE_RARP } from '../../../src/ofproto/meta-flow';
import { Rule } from '../../../src/ofproto/ofp-actions';
import { XPort } from '../../../src/ofproto/xlate';
import { fixChecksums } from '../packets';
import { Rng, POOL } from './random-tables';

const IPV6_FRAGMENT = 44;
const isArp = (et: number): boolean => et === ETH_TYPE_ARP || et === ETH_TYPE_RARP;

/** The home port of a MAC: most packets from a host arrive there (few MAC moves, as in a real network). */
function homePort(mac: Buffer, ports: XPort[]): number {
  return ports[(mac[5] + mac[4]) % ports.length].ofport;
}

/**
 * Forces `k` into a shape the parser can produce. Only zeroes fields that
 * cannot exist for the key's headers, so bits a rule or megaflow pinned on
 * present fields are kept.
 */
export function canonicalize(k: FlowKey, ports: XPort[]): FlowKey {
  const b = k.buf;
  b.writeUInt16LE(0, 78);                                   // tuple_id
  if (!ports.some((p) => p.ofport === k.inPort)) k.inPort = ports[k.inPort % ports.length].ofport;
  if (!(k.vlanTci & VLAN_PRESENT)) b.writeUInt16BE(0, 18);
  let et = k.ethType;
  if (et < 0x0600 && et !== 0x05ff) { et = 0x05ff; b.writeUInt16BE(et, 16); }   // 802.3 length: FLOW_DL_TYPE_NONE
  if (isArp(et)) {
    b.fill(0, 21, 28); b.fill(0, 32, 44); b.fill(0, 48, 60); b.fill(0, 72, 80);
  } else if (et === ETH_TYPE_IP || et === ETH_TYPE_IPV6) {
    const v6 = et === ETH_TYPE_IPV6;
    b.fill(0, 60, 72);
    if (!v6) { b.fill(0, 24, 28); b.fill(0, 32, 44); b.fill(0, 48, 60); }
    else b.writeUInt32BE(b.readUInt32BE(24) & 0xfffff, 24);
    let frag = b[23] & 3;
    if (frag & FRAG_LATER) frag = FRAG_ANY | FRAG_LATER;
    b[23] = frag;
    if (v6) {
      // Extension headers are walked: nw_proto is never one of them, except 44 for later fragments.
      if (frag & FRAG_LATER) b[20] = IPV6_FRAGMENT;
      else if ([0, 43, 44, 51, 60].includes(b[20])) b[20] = IPPROTO_UDP;
    }
    const proto = b[20];
    const icmp = v6 ? proto === IPPROTO_ICMPV6 : proto === IPPROTO_ICMP;
    if (frag & FRAG_LATER || ![IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP].includes(proto) && !icmp) b.fill(0, 72, 80);
    else if (icmp) { b[72] = 0; b[74] = 0; b.fill(0, 76, 80); }
    else if (proto !== IPPROTO_TCP) b.fill(0, 76, 80);
    else b.writeUInt16BE(b.readUInt16BE(76) & 0x0fff, 76);
  } else {
    b.fill(0, 20, 80);
  }
  return k;
}

/** A random key, uniform over the shapes the switch sees (VLANs, fragments, ARP, IPv6, TTL 0/1, multicast...). */
export function randomKey(rng: Rng, ports: XPort[]): FlowKey {
  const k = new FlowKey();
  const src = rng.chance(0.97) ? rng.pick(POOL.macs) : Buffer.from([0x02, 0, 0, 0, 1, rng.int(32)]);   // a few strangers (bounded MAC table)
  const dst = rng.weighted<() => Buffer>([[8, () => rng.pick(POOL.macs)], [2, () => rng.pick(POOL.bcastMacs)], [1, () => rng.bytes(6)]])();
  k.setField('eth_src', src).setField('eth_dst', dst);
  k.inPort = rng.chance(0.85) ? homePort(src, ports) : rng.pick(ports).ofport;
  if (rng.chance(0.3)) k.setField('vlan_tci', VLAN_PRESENT | (rng.int(8) << 13) | rng.pick(POOL.vids));
  const et = rng.weighted([[10, ETH_TYPE_IP], [4, ETH_TYPE_IPV6], [2, ETH_TYPE_ARP], [1, ETH_TYPE_RARP], [1, 0x88b5], [1, 0x88a8], [1, 0x05ff]] as const);
  k.setField('eth_type', et);
  if (et === ETH_TYPE_IP || et === ETH_TYPE_IPV6) {
    const v6 = et === ETH_TYPE_IPV6;
    const proto = rng.weighted([[4, IPPROTO_TCP], [4, IPPROTO_UDP], [1, IPPROTO_SCTP], [2, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP], [1, 47], [1, v6 ? IPPROTO_ICMP : IPPROTO_ICMPV6]] as const);
    k.setField('nw_proto', proto);
    k.setField('nw_tos', rng.chance(0.7) ? 0 : rng.int(256));
    k.setField('nw_ttl', rng.chance(0.7) ? 64 : rng.pick(POOL.ttls));
    k.setField('nw_frag', rng.weighted([[8, 0], [1, FRAG_ANY], [1, FRAG_ANY | FRAG_LATER]] as const));
    if (v6) {
      k.setField('nw_src', randomIp6(rng)).setField('nw_dst', randomIp6(rng));
      if (rng.chance(0.2)) k.setField('ipv6_label', rng.int(0x100000));
    } else {
      k.buf.writeUInt32BE(randomIp4(rng), 28); k.buf.writeUInt32BE(randomIp4(rng), 44);
    }
    const icmp = proto === (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    k.setField('tp_src', icmp ? rng.pick([0, 3, 8, 128, 135]) : randomL4Port(rng));
    k.setField('tp_dst', icmp ? rng.int(3) : randomL4Port(rng));
    k.setField('tcp_flags', rng.pick([0x002, 0x010, 0x012, 0x011, 0x004, rng.int(0x1000)]));
  } else if (isArp(et)) {
    k.setField('nw_proto', rng.weighted([[5, 1], [4, 2], [1, rng.int(256)]] as const));
    k.buf.writeUInt32BE(randomIp4(rng), 28); k.buf.writeUInt32BE(randomIp4(rng), 44);
    k.setField('arp_sha', rng.chance(0.8) ? src : rng.pick(POOL.macs));
    k.setField('arp_tha', rng.chance(0.7) ? Buffer.alloc(6) : rng.pick(POOL.macs));
  }
  return canonicalize(k, ports);
}

function randomIp4(rng: Rng): number {
  const base = rng.pick(POOL.ipv4);
  return rng.weighted([[5, base], [3, (base ^ rng.int(256)) >>> 0], [1, (base ^ (rng.int(65536) << 8)) >>> 0], [1, rng.u32()]] as const);
}

function randomIp6(rng: Rng): Buffer {
  const b = Buffer.from(rng.pick(POOL.ipv6));
  if (rng.chance(0.4)) b[15] ^= rng.int(256);
  if (rng.chance(0.2)) b[rng.int(16)] ^= 1 << rng.int(8);
  return b;
}

function randomL4Port(rng: Rng): number {
  return rng.weighted([[5, rng.pick(POOL.l4ports)], [2, rng.pick(POOL.l4ports) ^ rng.int(16)], [3, rng.int(65536)]] as const);
}

/**
 * A key biased to hit `rule`: a random key of the rule's shape with the
 * rule's matched bits written in (then made valid again, which may undo a
 * few of them, e.g. L4 bits of a rule that also asks for later fragments).
 */
export function keyForRule(rng: Rng, rule: Rule, ports: XPort[]): FlowKey {
  const mv = rule.match.value, mm = rule.match.mask;
  let k = randomKey(rng, ports);
  for (let tries = 0; tries < 8; tries++) {
    // Draw until the shape (eth_type, proto, vlan presence) agrees with the rule's, then overlay.
    const etOk = mm.readUInt16BE(16) === 0 || mv.readUInt16BE(16) === k.ethType;
    const protoOk = mm[20] === 0 || mv[20] === k.nwProto;
    if (etOk && protoOk) break;
    k = randomKey(rng, ports);
    if (!etOk) k.setField('eth_type', mv.readUInt16BE(16));
    if (mm[20]) k.setField('nw_proto', mv[20]);
    k = canonicalize(refill(rng, k, ports), ports);
  }
  if ((mm.readUInt16BE(18) & 0x0fff) && (mv.readUInt16BE(18) & 0x0fff)) k.buf.writeUInt16BE(k.vlanTci | VLAN_PRESENT, 18);
  for (let i = 0; i < 78; i++) k.buf[i] = (k.buf[i] & ~mm[i]) | mv[i];
  return canonicalize(k, ports);
}

/** Fills fields that a forced eth_type/proto change left empty. */
function refill(rng: Rng, k: FlowKey, ports: XPort[]): FlowKey {
  const r = randomKey(rng, ports);
  for (let i = 20; i < 80; i++) if (k.buf[i] === 0) k.buf[i] = r.buf[i];
  if (k.buf[23] & FRAG_LATER && rng.chance(0.8)) k.buf[23] = 0;   // keep L4 most of the time
  return k;
}

/** A nearby key: a previous one with 1-3 fields re-drawn (lands in existing megaflows' wildcards). */
export function perturbKey(rng: Rng, prev: FlowKey, ports: XPort[]): FlowKey {
  const k = prev.clone();
  const r = randomKey(rng, ports);
  const fields: [number, number][] = [[72, 2], [74, 2], [76, 2], [22, 1], [21, 1], [28, 4], [44, 4], [31, 1], [47, 1], [4, 6], [10, 6], [0, 4], [18, 2], [23, 1], [24, 4], [60, 12]];
  for (let n = rng.range(1, 3); n > 0; n--) {
    const [off, len] = rng.pick(fields);
    r.buf.copy(k.buf, off, off, off + len);
  }
  return canonicalize(k, ports);
}

/* ---- frames ---------------------------------------------------------------- */

/** The Ethernet frame whose parse is `k` (in_port aside: that is the ingress device). */
export function keyToFrame(k: FlowKey): Buffer {
  const b = k.buf;
  const parts: Buffer[] = [Buffer.from(b.subarray(10, 16)), Buffer.from(b.subarray(4, 10))];
  const u16 = (v: number): Buffer => { const x = Buffer.alloc(2); x.writeUInt16BE(v); return x; };
  if (k.vlanTci & VLAN_PRESENT) parts.push(u16(0x8100), u16(k.vlanTci & ~VLAN_PRESENT & 0xffff));
  const et = k.ethType;
  if (et === 0x05ff) {
    parts.push(u16(46), Buffer.alloc(46, 0x42));           // 802.3 length, not LLC/SNAP
    return Buffer.concat(parts);
  }
  parts.push(u16(et));
  if (isArp(et)) {
    const a = Buffer.alloc(28);
    a.writeUInt16BE(1, 0); a.writeUInt16BE(0x0800, 2); a[4] = 6; a[5] = 4; a.writeUInt16BE(k.nwProto, 6);
    b.copy(a, 8, 60, 66); b.copy(a, 14, 28, 32); b.copy(a, 18, 66, 72); b.copy(a, 24, 44, 48);
    parts.push(a);
    return pad(Buffer.concat(parts));
  }
  if (et !== ETH_TYPE_IP && et !== ETH_TYPE_IPV6) { parts.push(Buffer.alloc(46, 0x43)); return Buffer.concat(parts); }
  const v6 = et === ETH_TYPE_IPV6;
  const frag = k.nwFrag, later = (frag & FRAG_LATER) !== 0;
  const proto = k.nwProto;
  const l4 = later ? Buffer.alloc(16, 0x44) : l4Header(k, v6);
  if (!v6) {
    const ip = Buffer.alloc(20);
    ip[0] = 0x45; ip[1] = k.nwTos; ip.writeUInt16BE(20 + l4.length, 2);
    ip.writeUInt16BE(frag ? (later ? 0x2000 | 25 : 0x2000) : 0x4000, 6);   // later: offset 200 bytes; else MF or DF
    ip[8] = k.nwTtl; ip[9] = proto;
    b.copy(ip, 12, 28, 32); b.copy(ip, 16, 44, 48);
    parts.push(ip, l4);
  } else {
    const ip = Buffer.alloc(40);
    ip.writeUInt32BE(((6 << 28) | (k.nwTos << 20) | k.ipv6Label) >>> 0, 0);
    b.copy(ip, 8, 28, 44); b.copy(ip, 24, 44, 60);
    ip[7] = k.nwTtl;
    let ext = Buffer.alloc(0);
    if (frag) {
      // Fragment header: the real next header; offset 25*8 for a later fragment, M flag only for the first.
      ext = Buffer.alloc(8);
      ext[0] = later ? IPPROTO_UDP : proto;
      ext.writeUInt16BE(later ? (25 << 3) | 1 : 1, 2);
      ext.writeUInt32BE(0x12345678, 4);
      ip[6] = IPV6_FRAGMENT;
    } else ip[6] = proto;
    ip.writeUInt16BE(ext.length + l4.length, 4);
    parts.push(ip, ext, l4);
  }
  return fixChecksums(pad(Buffer.concat(parts)));
}

function l4Header(k: FlowKey, v6: boolean): Buffer {
  const p = k.nwProto;
  if (p === IPPROTO_TCP) {
    const t = Buffer.alloc(20);
    t.writeUInt16BE(k.tpSrc, 0); t.writeUInt16BE(k.tpDst, 2);
    t.writeUInt16BE((5 << 12) | k.tcpFlags, 12); t.writeUInt16BE(1024, 14);
    return t;
  }
  if (p === IPPROTO_UDP || p === IPPROTO_SCTP) {
    const u = Buffer.alloc(p === IPPROTO_UDP ? 8 : 12);
    u.writeUInt16BE(k.tpSrc, 0); u.writeUInt16BE(k.tpDst, 2);
    if (p === IPPROTO_UDP) u.writeUInt16BE(8, 4);
    return u;
  }
  if (p === (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
    const c = Buffer.alloc(8);
    c[0] = k.tpSrc; c[1] = k.tpDst;
    return c;
  }
  return Buffer.alloc(8, 0x45);                              // some other protocol's bytes
}

/** Ethernet minimum (the parser never reads the padding: IP lengths bound it). */
function pad(f: Buffer): Buffer {
  return f.length >= 60 ? f : Buffer.concat([f, Buffer.alloc(60 - f.length)]);
}
