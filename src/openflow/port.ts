/*
 * ofp_port: a port's description in FEATURES_REPLY (1.0), PORT_DESC (1.3)
 * and PORT_STATUS. 64 bytes in OpenFlow 1.3, 48 in 1.0 (16-bit port number,
 * no speeds). OfPort uses 1.3 numbering throughout: 32-bit port numbers and
 * the 1.3 OFPPF_* feature bits; the 1.0 codec converts both ways.
 */
import { OfReader, OfWriter } from './buf';
import { port16to32, port32to16 } from './oxm';
import { OfpError, OFPET, OFPBRC } from './errors';

export const OFP13_PORT_LEN = 64;
export const OFP10_PORT_LEN = 48;
export const OFP_MAX_PORT_NAME_LEN = 16;

/** OFPPC_* (same bits in 1.0 for these; 1.0 adds NO_STP 2, NO_RECV_STP 8, NO_FLOOD 16). */
export const OFPPC = { PORT_DOWN: 1, NO_RECV: 4, NO_FWD: 32, NO_PACKET_IN: 64 } as const;
/** OFPPS_* (1.3). 1.0 has LINK_DOWN and STP state bits (0x300). */
export const OFPPS = { LINK_DOWN: 1, BLOCKED: 2, LIVE: 4 } as const;
/** OFPPF_* (1.3 numbering). */
export const OFPPF = {
  '10MB_HD': 1 << 0, '10MB_FD': 1 << 1, '100MB_HD': 1 << 2, '100MB_FD': 1 << 3, '1GB_HD': 1 << 4, '1GB_FD': 1 << 5,
  '10GB_FD': 1 << 6, '40GB_FD': 1 << 7, '100GB_FD': 1 << 8, '1TB_FD': 1 << 9, OTHER: 1 << 10,
  COPPER: 1 << 11, FIBER: 1 << 12, AUTONEG: 1 << 13, PAUSE: 1 << 14, PAUSE_ASYM: 1 << 15,
} as const;

export interface OfPort {
  portNo: number;
  hwAddr: Buffer;          // 6 bytes
  name: string;            // at most 15 bytes on the wire (Latin-1: one char per byte)
  config: number;          // OFPPC_*
  state: number;           // OFPPS_*
  curr: number;            // OFPPF_* (1.3 bits)
  advertised: number;
  supported: number;
  peer: number;
  currSpeed: number;       // kbps (1.3 only; 0 from a 1.0 peer)
  maxSpeed: number;
}

/** 1.3 OFPPF -> 1.0 OFPPF: speeds up to 10G are the same bits; COPPER.. move from bit 11 to bit 7; 40G+ and OTHER are lost. */
export const features13to10 = (f: number): number => (f & 0x7f) | (((f >>> 11) & 0x1f) << 7);
export const features10to13 = (f: number): number => (f & 0x7f) | (((f >>> 7) & 0x1f) << 11);

function checkMac(b: Buffer): void {
  if (b.length !== 6) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `hardware address of ${b.length} bytes`);
}

export function encodePort(w: OfWriter, p: OfPort, version: number): void {
  checkMac(p.hwAddr);
  if (version >= 4) {
    w.u32(p.portNo).zeros(4).bytes(p.hwAddr).zeros(2).str(p.name, OFP_MAX_PORT_NAME_LEN);
    w.u32(p.config).u32(p.state).u32(p.curr).u32(p.advertised).u32(p.supported).u32(p.peer).u32(p.currSpeed).u32(p.maxSpeed);
    return;
  }
  const port = port32to16(p.portNo);
  if (port === undefined) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `port ${p.portNo} has no OpenFlow 1.0 number`);
  w.u16(port).bytes(p.hwAddr).str(p.name, OFP_MAX_PORT_NAME_LEN);
  w.u32(p.config).u32(p.state & 0x301);
  w.u32(features13to10(p.curr)).u32(features13to10(p.advertised)).u32(features13to10(p.supported)).u32(features13to10(p.peer));
}

export function decodePort(r: OfReader, version: number): OfPort {
  if (version >= 4) {
    r.need(OFP13_PORT_LEN, 'ofp_port');
    const portNo = r.u32();
    r.skip(4);
    const hwAddr = r.bytes(6);
    r.skip(2);
    const name = r.str(OFP_MAX_PORT_NAME_LEN);
    return {
      portNo, hwAddr, name, config: r.u32(), state: r.u32(), curr: r.u32(), advertised: r.u32(), supported: r.u32(), peer: r.u32(),
      currSpeed: r.u32(), maxSpeed: r.u32(),
    };
  }
  r.need(OFP10_PORT_LEN, 'ofp10_phy_port');
  const portNo = port16to32(r.u16());
  const hwAddr = r.bytes(6);
  const name = r.str(OFP_MAX_PORT_NAME_LEN);
  const config = r.u32(), state = r.u32() & 0x301;     // LINK_DOWN and the STP state: all 1.0 defines
  const [curr, advertised, supported, peer] = [r.u32(), r.u32(), r.u32(), r.u32()].map(features10to13);
  return { portNo, hwAddr, name, config, state, curr, advertised, supported, peer, currSpeed: 0, maxSpeed: 0 };
}

export const portLen = (version: number): number => (version >= 4 ? OFP13_PORT_LEN : OFP10_PORT_LEN);
