/*
 * Packets for the controller: the CONTROLLER action becomes a datapath
 * userspace action whose userdata carries what the PACKET_IN needs (OVS's
 * controller user_action_cookie); the ACTION upcall brings it back here.
 */
import { PacketInReason } from './ofp-actions';

export interface ControllerUserdata {
  reason: PacketInReason;
  tableId: number;
  cookie: bigint;
  maxLen: number;          // bytes of the packet to send (0xffff: all)
  controllerId: number;
  metadata: bigint;
}

export interface PacketIn extends ControllerUserdata {
  inPort: number;
  packet: Buffer;          // already cut to maxLen
  totalLen: number;
}

const USERDATA_CONTROLLER = 1;
const USERDATA_LEN = 24;

export function encodeControllerUserdata(u: ControllerUserdata): Buffer {
  const b = Buffer.alloc(USERDATA_LEN);
  b[0] = USERDATA_CONTROLLER;
  b[1] = u.reason;
  b[2] = u.tableId;
  b.writeUInt16BE(u.maxLen & 0xffff, 4);
  b.writeUInt16BE(u.controllerId & 0xffff, 6);
  b.writeBigUInt64BE(u.cookie, 8);
  b.writeBigUInt64BE(u.metadata, 16);
  return b;
}

/** Undefined when the userdata is not a controller action's. */
export function decodeControllerUserdata(b: Buffer | undefined): ControllerUserdata | undefined {
  if (!b || b.length < USERDATA_LEN || b[0] !== USERDATA_CONTROLLER) return undefined;
  return {
    reason: b[1], tableId: b[2], maxLen: b.readUInt16BE(4), controllerId: b.readUInt16BE(6),
    cookie: b.readBigUInt64BE(8), metadata: b.readBigUInt64BE(16),
  };
}
