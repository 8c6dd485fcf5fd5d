/* Builds test frames with correct checksums (and, on request, broken ones). */
import { parseMac } from '../../src/dpif/flow-key';
import { ipv4HeaderChecksum, l4Checksum, locate } from '../../src/dpif/odp-execute';

export interface FrameSpec {
  src?: string; dst?: string;
  vlan?: { vid: number; pcp?: number };
  l3?: 'ipv4' | 'ipv6' | 'arp' | 'raw';
  ethType?: number;               // for 'raw'
  ipSrc?: string; ipDst?: string; // dotted IPv4 or IPv6 (full form ok)
  proto?: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'sctp' | number;
  sport?: number; dport?: number;
  tcpFlags?: number;
  icmpType?: number; icmpCode?: number;
  ttl?: number; tos?: number;
  fragOffset?: number; moreFragments?: boolean;
  arpOp?: number;
  payload?: Buffer | number;      // bytes, or a length of 0x41 bytes
}

export function ipv4(s: string): Buffer { return Buffer.from(s.split('.').map(Number)); }

export function ipv6(s: string): Buffer {
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132 };

export function frame(s: FrameSpec = {}): Buffer {
  const eth = Buffer.concat([parseMac(s.dst ?? '02:00:00:00:00:02'), parseMac(s.src ?? '02:00:00:00:00:01')]);
  const vlan = s.vlan ? Buffer.from([0x81, 0x00, ((s.vlan.pcp ?? 0) << 5) | (s.vlan.vid >> 8), s.vlan.vid & 0xff]) : Buffer.alloc(0);
  const payload = typeof s.payload === 'number' ? Buffer.alloc(s.payload, 0x41) : s.payload ?? Buffer.alloc(0);
  const l3 = s.l3 ?? 'ipv4';
  const type = (t: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(t); return b; };
  if (l3 === 'raw') return Buffer.concat([eth, vlan, type(s.ethType ?? 0x88b5), payload]);
  if (l3 === 'arp') {
    const a = Buffer.alloc(28);
    a.writeUInt16BE(1, 0); a.writeUInt16BE(0x0800, 2); a[4] = 6; a[5] = 4; a.writeUInt16BE(s.arpOp ?? 1, 6);
    parseMac(s.src ?? '02:00:00:00:00:01').copy(a, 8); ipv4(s.ipSrc ?? '10.0.0.1').copy(a, 14);
    ipv4(s.ipDst ?? '10.0.0.2').copy(a, 24);
    return Buffer.concat([eth, vlan, type(0x0806), a]);
  }
  const proto = typeof s.proto === 'number' ? s.proto : PROTO[s.proto ?? 'udp'];
  let l4: Buffer;
  if (proto === 6) {
    l4 = Buffer.alloc(20); l4.writeUInt16BE(s.sport ?? 1024, 0); l4.writeUInt16BE(s.dport ?? 80, 2);
    l4[12] = 5 << 4; l4.writeUInt16BE(((5 << 12) | (s.tcpFlags ?? 0x02)) & 0xffff, 12); l4.writeUInt16BE(65535, 14);
  } else if (proto === 17 || proto === 132) {
    l4 = Buffer.alloc(8); l4.writeUInt16BE(s.sport ?? 1024, 0); l4.writeUInt16BE(s.dport ?? 9, 2);
    if (proto === 17) l4.writeUInt16BE(8 + payload.length, 4);
  } else if (proto === 1 || proto === 58) {
    l4 = Buffer.alloc(8); l4[0] = s.icmpType ?? (proto === 1 ? 8 : 128); l4[1] = s.icmpCode ?? 0;
  } else l4 = Buffer.alloc(0);
  const body = Buffer.concat([l4, payload]);
  let ip: Buffer;
  if (l3 === 'ipv4') {
    ip = Buffer.alloc(20);
    ip[0] = 0x45; ip[1] = s.tos ?? 0; ip.writeUInt16BE(20 + body.length, 2);
    ip.writeUInt16BE(((s.moreFragments ? 0x2000 : 0) | ((s.fragOffset ?? 0) & 0x1fff)) & 0xffff, 6);
    ip[8] = s.ttl ?? 64; ip[9] = proto;
    ipv4(s.ipSrc ?? '10.0.0.1').copy(ip, 12); ipv4(s.ipDst ?? '10.0.0.2').copy(ip, 16);
  } else {
    ip = Buffer.alloc(40);
    ip.writeUInt32BE(((6 << 28) | ((s.tos ?? 0) << 20)) >>> 0, 0); ip.writeUInt16BE(body.length, 4);
    ip[6] = proto; ip[7] = s.ttl ?? 64;
    ipv6(s.ipSrc ?? 'fd00::1').copy(ip, 8); ipv6(s.ipDst ?? 'fd00::2').copy(ip, 24);
  }
  const f = Buffer.concat([eth, vlan, type(l3 === 'ipv4' ? 0x0800 : 0x86dd), ip, body]);
  fixChecksums(f);
  return f;
}

/** Recomputes IPv4 header, TCP, UDP and ICMP checksums of a frame in place. */
export function fixChecksums(f: Buffer): Buffer {
  const p = locate(f);
  if (!p) return f;
  if (p.ethType === 0x0800 && f.length >= p.l3 + 20) f.writeUInt16BE(ipv4HeaderChecksum(f, p.l3), p.l3 + 10);
  if (p.l4 !== undefined && (p.proto === 6 || p.proto === 17) && p.l4Len! >= (p.proto === 6 ? 18 : 8)) {
    f.writeUInt16BE(l4Checksum(f, p), p.l4 + (p.proto === 6 ? 16 : 6));
  }
  if (p.l4 !== undefined && p.proto === 1 && p.l4Len! >= 4) {
    f.writeUInt16BE(0, p.l4 + 2);
    let s = 0;
    for (let i = p.l4; i + 1 < p.l4 + p.l4Len!; i += 2) s += f.readUInt16BE(i);
    if (p.l4Len! % 2) s += f[p.l4 + p.l4Len! - 1] << 8;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    f.writeUInt16BE(~s & 0xffff, p.l4 + 2);
  }
  return f;
}
