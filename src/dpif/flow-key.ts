/*
 * The datapath flow key: the same 80 bytes as struct xvs_flow_key in
 * bpf/xvs_abi.h (test/unit/abi.test.ts checks every offset against the C
 * header). Userspace keeps keys and masks in this raw form too, so masking,
 * hashing and comparing are byte operations and nothing is converted twice.
 */

export const KEY_SIZE = 80;

/** Field layout of struct xvs_flow_key. `host` fields are host byte order. */
export const KEY_FIELDS = {
  in_port: { off: 0, len: 4, host: true },
  eth_src: { off: 4, len: 6 },
  eth_dst: { off: 10, len: 6 },
  eth_type: { off: 16, len: 2 },
  vlan_tci: { off: 18, len: 2 },
  nw_proto: { off: 20, len: 1 },
  nw_tos: { off: 21, len: 1 },
  nw_ttl: { off: 22, len: 1 },
  nw_frag: { off: 23, len: 1 },
  ipv6_label: { off: 24, len: 4 },
  nw_src: { off: 28, len: 16 },
  nw_dst: { off: 44, len: 16 },
  arp_sha: { off: 60, len: 6 },
  arp_tha: { off: 66, len: 6 },
  tp_src: { off: 72, len: 2 },
  tp_dst: { off: 74, len: 2 },
  tcp_flags: { off: 76, len: 2 },
  tuple_id: { off: 78, len: 2, host: true },
} as const;

export type KeyField = keyof typeof KEY_FIELDS;

export const FRAG_ANY = 0x01;
export const FRAG_LATER = 0x02;
export const VLAN_PRESENT = 0x1000;

export const ETH_TYPE_IP = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_RARP = 0x8035;
/** ARP and RARP share the key's ARP fields (OVS keys both with OVS_KEY_ATTR_ARP). */
export const isArpType = (t: number): boolean => t === ETH_TYPE_ARP || t === ETH_TYPE_RARP;
export const ETH_TYPE_IPV6 = 0x86dd;
export const ETH_TYPE_VLAN = 0x8100;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

/**
 * A flow key or a mask (a mask is a key whose set bits are the matched bits).
 * Multi-byte numeric getters return values in host terms; the bytes stay in
 * the datapath's layout (network order except in_port/tuple_id).
 */
export class FlowKey {
  readonly buf: Buffer;

  constructor(buf?: Buffer) {
    if (buf && buf.length < KEY_SIZE) throw new RangeError(`flow key needs ${KEY_SIZE} bytes, got ${buf.length}`);
    // Own memory, not a slice of Node's shared 8 KiB pool: a key kept for a megaflow
    // would otherwise keep a whole pool slab alive (~2 KB per megaflow measured).
    this.buf = Buffer.alloc(KEY_SIZE);
    if (buf) buf.copy(this.buf, 0, 0, KEY_SIZE);
  }

  static exactMask(): FlowKey {
    const m = new FlowKey(Buffer.alloc(KEY_SIZE, 0xff));
    m.setField('tuple_id', 0);
    return m;
  }

  clone(): FlowKey {
    return new FlowKey(this.buf);
  }

  get inPort(): number { return this.buf.readUInt32LE(0); }
  set inPort(v: number) { this.buf.writeUInt32LE(v >>> 0, 0); }
  get ethType(): number { return this.buf.readUInt16BE(16); }
  get vlanTci(): number { return this.buf.readUInt16BE(18); }
  get nwProto(): number { return this.buf[20]; }
  get nwTos(): number { return this.buf[21]; }
  get nwTtl(): number { return this.buf[22]; }
  get nwFrag(): number { return this.buf[23]; }
  get ipv6Label(): number { return this.buf.readUInt32BE(24); }
  get tpSrc(): number { return this.buf.readUInt16BE(72); }
  get tpDst(): number { return this.buf.readUInt16BE(74); }
  get tcpFlags(): number { return this.buf.readUInt16BE(76); }
  get ethSrc(): Buffer { return this.bytes('eth_src'); }
  get ethDst(): Buffer { return this.bytes('eth_dst'); }
  get isIpv4(): boolean { return this.ethType === ETH_TYPE_IP; }
  get isIpv6(): boolean { return this.ethType === ETH_TYPE_IPV6; }

  bytes(f: KeyField): Buffer {
    const { off, len } = KEY_FIELDS[f];
    return this.buf.subarray(off, off + len);
  }

  /** Numeric value of a field of at most 4 bytes. */
  field(f: KeyField): number {
    const d = KEY_FIELDS[f];
    if (d.len === 1) return this.buf[d.off];
    if (d.len === 2) return 'host' in d ? this.buf.readUInt16LE(d.off) : this.buf.readUInt16BE(d.off);
    if (d.len === 4) return 'host' in d ? this.buf.readUInt32LE(d.off) : this.buf.readUInt32BE(d.off);
    throw new TypeError(`field ${f} is ${d.len} bytes: use bytes()`);
  }

  setField(f: KeyField, v: number | Buffer): this {
    const d = KEY_FIELDS[f];
    if (Buffer.isBuffer(v)) {
      if (v.length !== d.len) throw new RangeError(`${f} takes ${d.len} bytes, got ${v.length}`);
      v.copy(this.buf, d.off);
    } else if (d.len === 1) this.buf[d.off] = v & 0xff;
    else if (d.len === 2) 'host' in d ? this.buf.writeUInt16LE(v & 0xffff, d.off) : this.buf.writeUInt16BE(v & 0xffff, d.off);
    else if (d.len === 4) 'host' in d ? this.buf.writeUInt32LE(v >>> 0, d.off) : this.buf.writeUInt32BE(v >>> 0, d.off);
    else if (v === 0 || v === -1) this.buf.fill(v === 0 ? 0 : 0xff, d.off, d.off + d.len);
    else throw new TypeError(`field ${f} is ${d.len} bytes: pass a Buffer`);
    return this;
  }

  /** Sets every bit of the field (un-wildcards it, when this is a mask). */
  exact(f: KeyField): this {
    const { off, len } = KEY_FIELDS[f];
    this.buf.fill(0xff, off, off + len);
    return this;
  }

  /** ORs bits into a field (for masks: un-wildcard only these bits). */
  orField(f: KeyField, bits: Buffer): this {
    const { off, len } = KEY_FIELDS[f];
    for (let i = 0; i < len; i++) this.buf[off + i] |= bits[i];
    return this;
  }

  isZero(f: KeyField): boolean {
    const { off, len } = KEY_FIELDS[f];
    for (let i = off; i < off + len; i++) if (this.buf[i] !== 0) return false;
    return true;
  }

  /** this & mask, as the fast path computes it before probing a subtable. */
  and(mask: FlowKey): FlowKey {
    const out = Buffer.alloc(KEY_SIZE);          // not pooled: see the constructor
    for (let i = 0; i < KEY_SIZE; i += 4) out.writeUInt32LE((this.buf.readUInt32LE(i) & mask.buf.readUInt32LE(i)) >>> 0, i);
    return new FlowKey(out);
  }

  /** this |= other (union of wildcards). */
  or(other: FlowKey): this {
    for (let i = 0; i < KEY_SIZE; i++) this.buf[i] |= other.buf[i];
    return this;
  }

  equals(other: FlowKey): boolean {
    return this.buf.equals(other.buf);
  }

  /** Stable identity for maps keyed by key/mask. */
  hex(): string {
    return this.buf.toString('hex');
  }
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** aa:bb:cc:dd:ee:ff (on the upcall and revalidator paths: a table, no per-byte strings). */
export function macToString(b: Buffer): string {
  return `${HEX2[b[0]]}:${HEX2[b[1]]}:${HEX2[b[2]]}:${HEX2[b[3]]}:${HEX2[b[4]]}:${HEX2[b[5]]}`;
}

export function parseMac(s: string): Buffer {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new SyntaxError(`bad MAC address "${s}"`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function ipv4ToString(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

export function ipv6ToString(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as RFC 5952.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function isBroadcastOrMulticast(mac: Buffer): boolean {
  return (mac[0] & 1) === 1;
}
