/*
 * OpenFlow actions and instructions to and from the flat OfpAction list of
 * src/ofproto/ofp-actions.ts.
 *
 * OpenFlow 1.3: the standard actions we execute (OUTPUT, GROUP, PUSH_VLAN,
 * POP_VLAN, SET_NW_TTL, DEC_NW_TTL, SET_FIELD) and OVS's Nicira extensions
 * (resubmit, note, controller, dec_ttl, reg_load, reg_load2), in OVS's
 * encodings so that what ovs-ofctl sends re-encodes byte for byte. The six
 * instructions become list items in the one order OpenFlow executes them:
 * meter, the apply-actions, clear_actions, write_actions(...),
 * write_metadata, goto_table.
 *
 * OpenFlow 1.0: its own action set (output, set_vlan_vid/pcp, strip_vlan,
 * set_dl_*, set_nw_*, set_tp_*) plus the same Nicira extensions; a
 * set_field with no 1.0 action becomes NXAST_REG_LOAD as OVS does.
 *
 * Decoding never throws anything but OfpError (BAD_ACTION/BAD_INSTRUCTION
 * with the spec's codes); encoding throws OfpError for a list the version
 * cannot express.
 */
import { OfpAction, PacketInReason } from '../ofproto/ofp-actions';
import { MfField, mfField, OFPP } from '../ofproto/meta-flow';
import { Match } from '../ofproto/match';
import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, VLAN_PRESENT } from '../dpif/flow-key';
import { OfpError, OFPET, OFPBAC_ALL as BAC, OFPBIC_ALL as BIC } from './errors';
import { OfReader, OfWriter, lenError, pad8 } from './buf';
import {
  OxmEntry, OXM_CLASS, oxmLookup, oxmForField, nxmForField, readOxmHeader, writeOxmHeader, wireToField, fieldOnes, fitsField,
  port16to32, port32to16, OFPVID_PRESENT,
} from './oxm';

/** OpenFlow 1.3 action types. */
export const OFPAT13 = {
  OUTPUT: 0, COPY_TTL_OUT: 11, COPY_TTL_IN: 12, SET_MPLS_TTL: 15, DEC_MPLS_TTL: 16, PUSH_VLAN: 17, POP_VLAN: 18,
  PUSH_MPLS: 19, POP_MPLS: 20, SET_QUEUE: 21, GROUP: 22, SET_NW_TTL: 23, DEC_NW_TTL: 24, SET_FIELD: 25, PUSH_PBB: 26,
  POP_PBB: 27, EXPERIMENTER: 0xffff,
} as const;

/** OpenFlow 1.0 action types. */
export const OFPAT10 = {
  OUTPUT: 0, SET_VLAN_VID: 1, SET_VLAN_PCP: 2, STRIP_VLAN: 3, SET_DL_SRC: 4, SET_DL_DST: 5, SET_NW_SRC: 6, SET_NW_DST: 7,
  SET_NW_TOS: 8, SET_TP_SRC: 9, SET_TP_DST: 10, ENQUEUE: 11, VENDOR: 0xffff,
} as const;

/** OpenFlow 1.3 instruction types. */
export const OFPIT = { GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5, METER: 6, EXPERIMENTER: 0xffff } as const;

/** Nicira vendor id and the NXAST subtypes we speak. */
export const NX_VENDOR_ID = 0x00002320;
export const NXAST = { RESUBMIT: 1, REG_LOAD: 7, NOTE: 8, RESUBMIT_TABLE: 14, DEC_TTL: 18, CONTROLLER: 20, REG_LOAD2: 33 } as const;

/** max_len meaning "send the whole packet, do not buffer". */
export const OFPCML_NO_BUFFER = 0xffff;

/** What an encoder may need to know about the rule the actions belong to. */
export interface ActionContext {
  /** The rule's match: picks tcp_src/udp_src/sctp_src for tp_src, and whether mod_vlan_vid must push a tag. */
  match?: Match;
}

const ba = (code: number, msg: string): OfpError => new OfpError(OFPET.BAD_ACTION, code, msg);
const bi = (code: number, msg: string): OfpError => new OfpError(OFPET.BAD_INSTRUCTION, code, msg);
const actLenErr = lenError(OFPET.BAD_ACTION, BAC.BAD_LEN);
const setLenErr = lenError(OFPET.BAD_ACTION, BAC.BAD_SET_LEN);
const instLenErr = lenError(OFPET.BAD_INSTRUCTION, BIC.BAD_LEN);

const isInstructionType = (t: OfpAction['type']): boolean =>
  t === 'meter' || t === 'clear_actions' || t === 'write_actions' || t === 'write_metadata' || t === 'goto_table';

/* ======================================================================
 * Decoding
 * ==================================================================== */

function checkLen(type: string, len: number, want: number, atLeast = false): void {
  if (atLeast ? len < want : len !== want) throw ba(BAC.BAD_LEN, `${type} action length ${len}, expected ${atLeast ? 'at least ' : ''}${want}`);
}

function outputPort(port: number, maxLen: number): OfpAction {
  if (port === OFPP.CONTROLLER) return { type: 'controller', maxLen };
  if (port === OFPP.ANY || (port >= OFPP.MAX && port < OFPP.IN_PORT)) throw ba(BAC.BAD_OUT_PORT, `output to invalid port 0x${port.toString(16)}`);
  return maxLen ? { type: 'output', port, maxLen } : { type: 'output', port };
}

/** A set_field from a TLV. `allowMask`: REG_LOAD2 (OF1.3's SET_FIELD takes no mask). */
function decodeSetFieldTlv(r: OfReader, allowMask: boolean): OfpAction {
  const tlv = new OfReader(r.buf, r.off, r.end, setLenErr);
  const h = readOxmHeader(tlv);
  const e = oxmLookup(h.cls, h.field, h.experimenter);
  if (!e) throw ba(BAC.BAD_SET_TYPE, `set_field of unknown OXM class 0x${h.cls.toString(16)} field ${h.field}`);
  if (h.length !== e.bytes * (h.hasMask ? 2 : 1)) throw ba(BAC.BAD_SET_LEN, `set_field ${e.name} length ${h.length}`);
  if (h.hasMask && !allowMask) throw ba(BAC.BAD_SET_ARGUMENT, `OpenFlow 1.3 set_field ${e.name} cannot have a mask`);
  const wv = tlv.uint(e.bytes);
  const wm = h.hasMask ? tlv.uint(e.bytes) : undefined;
  r.off = tlv.off;
  const value = wireToField(e, wv);
  if (value === undefined) throw ba(BAC.BAD_SET_ARGUMENT, `set_field ${e.name} value 0x${wv.toString(16)} is out of range`);
  if (wm !== undefined && (e.port16 || !fitsField(e.fld, wm))) throw ba(BAC.BAD_SET_ARGUMENT, `set_field ${e.name} mask 0x${wm.toString(16)} is out of range`);
  // OpenFlow: a VLAN_VID set_field carries OFPVID_PRESENT (OVS rejects it otherwise too).
  if (e.fld.name === 'vlan_vid' && (!(value & BigInt(OFPVID_PRESENT)) || (wm !== undefined && !(wm & BigInt(OFPVID_PRESENT))))) {
    throw ba(BAC.BAD_SET_ARGUMENT, 'set_field vlan_vid without OFPVID_PRESENT');
  }
  return setFieldAction(e.fld, value, wm);
}

function setFieldAction(field: MfField, value: bigint, mask?: bigint): OfpAction {
  return mask === undefined || mask === fieldOnes(field) ? { type: 'set_field', field, value } : { type: 'set_field', field, value: value & mask, mask };
}

/** NXAST_REG_LOAD: ofs_nbits, an NXM/OXM header, a 64-bit value. */
function decodeRegLoad(r: OfReader): OfpAction {
  const ofsNbits = r.u16();
  const header = r.u32();
  const value = r.u64();
  const ofs = ofsNbits >> 6, nbits = (ofsNbits & 63) + 1;
  const cls = header >>> 16, field = (header >>> 9) & 0x7f, hasMask = (header & 0x100) !== 0, length = header & 0xff;
  const e = cls === OXM_CLASS.EXPERIMENTER ? undefined : oxmLookup(cls, field);
  if (!e || hasMask || length !== e.bytes) throw ba(BAC.BAD_ARGUMENT, `reg_load to unknown field header 0x${header.toString(16)}`);
  if (ofs + nbits > e.bytes * 8) throw ba(BAC.BAD_ARGUMENT, `reg_load ${e.name}[${ofs}..${ofs + nbits - 1}] is outside the field`);
  if (nbits < 64 && value >> BigInt(nbits)) throw ba(BAC.BAD_ARGUMENT, `reg_load value 0x${value.toString(16)} is wider than ${nbits} bits`);
  const mask = ((1n << BigInt(nbits)) - 1n) << BigInt(ofs);
  const v = value << BigInt(ofs);
  if (e.port16) {
    if (mask !== 0xffffn) throw ba(BAC.BAD_ARGUMENT, 'reg_load to part of NXM_OF_IN_PORT');
    return { type: 'set_field', field: e.fld, value: BigInt(port16to32(Number(v))) };
  }
  if (!fitsField(e.fld, mask)) throw ba(BAC.BAD_ARGUMENT, `reg_load ${e.name}[${ofs}..${ofs + nbits - 1}] writes bits the field does not have`);
  return setFieldAction(e.fld, v, mask);
}

/** A Nicira extension action; `r` is past the vendor id. */
function decodeNx(r: OfReader, len: number): OfpAction {
  checkLen('Nicira', len, 16, true);
  const subtype = r.u16();
  switch (subtype) {
    case NXAST.RESUBMIT:
    case NXAST.RESUBMIT_TABLE: {
      checkLen('resubmit', len, 16);
      const inPort = port16to32(r.u16());
      const table = subtype === NXAST.RESUBMIT_TABLE ? r.u8() : 0xff;
      const a: OfpAction = { type: 'resubmit' };
      if (inPort !== OFPP.IN_PORT) a.port = inPort;
      if (table !== 0xff) a.table = table;
      return a;
    }
    case NXAST.NOTE:
      return { type: 'note', data: r.rest() };            // OVS keeps the padding as part of the note
    case NXAST.DEC_TTL:
      checkLen('dec_ttl', len, 16);
      return { type: 'dec_ttl' };
    case NXAST.CONTROLLER: {
      checkLen('controller', len, 16);
      const maxLen = r.u16(), controllerId = r.u16(), reason = r.u8();
      if (reason > PacketInReason.INVALID_TTL) throw ba(BAC.BAD_ARGUMENT, `controller reason ${reason}`);
      // Defaults are left out: {maxLen} alone is what OUTPUT:CONTROLLER decodes to (and OVS encodes it so).
      const a: OfpAction = { type: 'controller', maxLen };
      if (reason !== PacketInReason.ACTION) a.reason = reason;
      if (controllerId) a.controllerId = controllerId;
      return a;
    }
    case NXAST.REG_LOAD:
      checkLen('reg_load', len, 24);
      return decodeRegLoad(r);
    case NXAST.REG_LOAD2:
      return decodeSetFieldTlv(r, true);
    default:
      throw ba(BAC.BAD_EXP_TYPE, `unknown Nicira action subtype ${subtype}`);
  }
}

function decodeExperimenter(r: OfReader, len: number): OfpAction {
  const vendor = r.u32();
  if (vendor !== NX_VENDOR_ID) throw ba(BAC.BAD_EXPERIMENTER, `unknown action experimenter 0x${vendor.toString(16)}`);
  return decodeNx(r, len);
}

function decode13(type: number, len: number, r: OfReader): OfpAction {
  switch (type) {
    case OFPAT13.OUTPUT: {
      checkLen('output', len, 16);
      const port = r.u32(), maxLen = r.u16();
      return outputPort(port, maxLen);
    }
    case OFPAT13.GROUP: checkLen('group', len, 8); return { type: 'group', groupId: r.u32() };
    case OFPAT13.PUSH_VLAN: checkLen('push_vlan', len, 8); return { type: 'push_vlan', ethertype: r.u16() };
    case OFPAT13.POP_VLAN: checkLen('pop_vlan', len, 8); return { type: 'pop_vlan' };
    case OFPAT13.DEC_NW_TTL: checkLen('dec_nw_ttl', len, 8); return { type: 'dec_ttl' };
    case OFPAT13.SET_NW_TTL: checkLen('set_nw_ttl', len, 8); return { type: 'set_field', field: mfField('nw_ttl'), value: BigInt(r.u8()) };
    case OFPAT13.SET_FIELD: return decodeSetFieldTlv(r, false);
    case OFPAT13.EXPERIMENTER: return decodeExperimenter(r, len);
    default: throw ba(BAC.BAD_TYPE, `unsupported OpenFlow 1.3 action type ${type}`);
  }
}

function decode10(type: number, len: number, r: OfReader): OfpAction {
  const sf = (name: string, v: bigint): OfpAction => ({ type: 'set_field', field: mfField(name), value: v });
  switch (type) {
    case OFPAT10.OUTPUT: {
      checkLen('output', len, 8);
      const port = port16to32(r.u16()), maxLen = r.u16();
      return outputPort(port, maxLen);
    }
    case OFPAT10.SET_VLAN_VID: {
      checkLen('set_vlan_vid', len, 8);
      const vid = r.u16();
      if (vid > 0xfff) throw ba(BAC.BAD_ARGUMENT, `set_vlan_vid ${vid}`);
      return { type: 'set_vlan_vid', vid, push: true };
    }
    case OFPAT10.SET_VLAN_PCP: {
      checkLen('set_vlan_pcp', len, 8);
      const pcp = r.u8();
      if (pcp > 7) throw ba(BAC.BAD_ARGUMENT, `set_vlan_pcp ${pcp}`);
      return { type: 'set_vlan_pcp', pcp, push: true };
    }
    case OFPAT10.STRIP_VLAN: checkLen('strip_vlan', len, 8); return { type: 'pop_vlan' };
    case OFPAT10.SET_DL_SRC: checkLen('set_dl_src', len, 16); return sf('dl_src', r.uint(6));
    case OFPAT10.SET_DL_DST: checkLen('set_dl_dst', len, 16); return sf('dl_dst', r.uint(6));
    case OFPAT10.SET_NW_SRC: checkLen('set_nw_src', len, 8); return sf('nw_src', BigInt(r.u32()));
    case OFPAT10.SET_NW_DST: checkLen('set_nw_dst', len, 8); return sf('nw_dst', BigInt(r.u32()));
    case OFPAT10.SET_NW_TOS: {
      checkLen('set_nw_tos', len, 8);
      const tos = r.u8();
      if (tos & 0x03) throw ba(BAC.BAD_ARGUMENT, `set_nw_tos 0x${tos.toString(16)} sets ECN bits`);
      return sf('nw_tos', BigInt(tos));
    }
    case OFPAT10.SET_TP_SRC: checkLen('set_tp_src', len, 8); return sf('tp_src', BigInt(r.u16()));
    case OFPAT10.SET_TP_DST: checkLen('set_tp_dst', len, 8); return sf('tp_dst', BigInt(r.u16()));
    case OFPAT10.VENDOR: return decodeExperimenter(r, len);
    default: throw ba(BAC.BAD_TYPE, `unsupported OpenFlow 1.0 action type ${type}`);
  }
}

/** Decodes an action list filling `r` (OpenFlow 1.3 when version >= 4, else 1.0). */
export function decodeActions(r: OfReader, version: number): OfpAction[] {
  const rr = new OfReader(r.buf, r.off, r.end, actLenErr);
  r.off = r.end;
  const out: OfpAction[] = [];
  while (!rr.atEnd) {
    if (rr.remaining < 4) throw ba(BAC.BAD_LEN, `${rr.remaining} stray bytes after the last action`);
    const type = rr.peekU16(0), len = rr.peekU16(2);
    if (len < 8 || len % 8 !== 0 || len > rr.remaining) throw ba(BAC.BAD_LEN, `action type ${type} length ${len} (have ${rr.remaining})`);
    const a = rr.sub(len);
    a.skip(4);
    out.push(version >= 4 ? decode13(type, len, a) : decode10(type, len, a));
  }
  return out;
}

/** Decodes an OpenFlow 1.3 instruction list filling `r` into the flat list. */
export function decodeInstructions(r: OfReader): OfpAction[] {
  const rr = new OfReader(r.buf, r.off, r.end, instLenErr);
  r.off = r.end;
  let meter: OfpAction | undefined, apply: OfpAction[] | undefined, clear: OfpAction | undefined;
  let write: OfpAction | undefined, metadata: OfpAction | undefined, goto: OfpAction | undefined;
  const seen = new Set<number>();
  while (!rr.atEnd) {
    if (rr.remaining < 4) throw bi(BIC.BAD_LEN, `${rr.remaining} stray bytes after the last instruction`);
    const type = rr.peekU16(0), len = rr.peekU16(2);
    if (len < 8 || len % 8 !== 0 || len > rr.remaining) throw bi(BIC.BAD_LEN, `instruction type ${type} length ${len} (have ${rr.remaining})`);
    const ir = rr.sub(len);
    ir.skip(4);
    if (type === OFPIT.EXPERIMENTER) throw bi(BIC.BAD_EXPERIMENTER, 'experimenter instructions are not supported');
    if (type < OFPIT.GOTO_TABLE || type > OFPIT.METER) throw bi(BIC.UNKNOWN_INST, `unknown instruction type ${type}`);
    if (seen.has(type)) throw bi(BIC.UNSUP_INST, `instruction type ${type} appears twice`);
    seen.add(type);
    const fixed = (want: number): void => { if (len !== want) throw bi(BIC.BAD_LEN, `instruction type ${type} length ${len}, expected ${want}`); };
    switch (type) {
      case OFPIT.GOTO_TABLE: fixed(8); goto = { type: 'goto_table', table: ir.u8() }; break;
      case OFPIT.WRITE_METADATA: {
        fixed(24);
        ir.skip(4);
        const value = ir.u64(), mask = ir.u64();
        metadata = { type: 'write_metadata', value: value & mask, mask };
        break;
      }
      case OFPIT.WRITE_ACTIONS: ir.skip(4); write = { type: 'write_actions', actions: decodeActions(ir, 4) }; break;
      case OFPIT.APPLY_ACTIONS: ir.skip(4); apply = decodeActions(ir, 4); break;
      case OFPIT.CLEAR_ACTIONS: fixed(8); clear = { type: 'clear_actions' }; break;
      case OFPIT.METER: fixed(8); meter = { type: 'meter', meterId: ir.u32() }; break;
    }
  }
  const out: OfpAction[] = [];
  if (meter) out.push(meter);
  if (apply) out.push(...apply);
  for (const x of [clear, write, metadata, goto]) if (x) out.push(x);
  return out;
}

/* ======================================================================
 * Encoding
 * ==================================================================== */

interface EncState { hasVlan: boolean; match?: Match }

function initialState(ctx: ActionContext): EncState {
  const m = ctx.match;
  let hasVlan = false;
  if (m) {
    const tci = m.get(mfField('vlan_tci'));
    hasVlan = (tci.mask & tci.value & BigInt(VLAN_PRESENT)) !== 0n;
  }
  return { hasVlan, match: m };
}

function nxHeader(w: OfWriter, subtype: number, len: number): void {
  w.u16(0xffff).u16(len).u32(NX_VENDOR_ID).u16(subtype);
}

function encodeResubmit(w: OfWriter, a: Extract<OfpAction, { type: 'resubmit' }>): void {
  const port = port32to16(a.port ?? OFPP.IN_PORT);
  if (port === undefined) throw ba(BAC.BAD_ARGUMENT, `resubmit port ${a.port} has no 16-bit number`);
  const table = a.table ?? 0xff;
  if (!Number.isInteger(table) || table < 0 || table > 0xff) throw ba(BAC.BAD_ARGUMENT, `resubmit table ${a.table}`);
  nxHeader(w, NXAST.RESUBMIT_TABLE, 16);
  w.u16(port).u8(table).zeros(3);
}

function encodeNote(w: OfWriter, data: Buffer): void {
  const len = pad8(10 + data.length);
  if (len > 0xfff8) throw ba(BAC.BAD_LEN, `note of ${data.length} bytes is too long`);
  const start = w.off;
  nxHeader(w, NXAST.NOTE, len);
  w.bytes(data).pad8(start);
}

function encodeController(w: OfWriter, a: Extract<OfpAction, { type: 'controller' }>, version: number): void {
  const reason = a.reason ?? PacketInReason.ACTION;
  const id = a.controllerId ?? 0;
  if (reason === PacketInReason.ACTION && id === 0) {
    if (version >= 4) w.u16(OFPAT13.OUTPUT).u16(16).u32(OFPP.CONTROLLER).u16(a.maxLen).zeros(6);
    else w.u16(OFPAT10.OUTPUT).u16(8).u16(0xfffd).u16(a.maxLen);
    return;
  }
  nxHeader(w, NXAST.CONTROLLER, 16);
  w.u16(a.maxLen).u16(id).u8(reason).u8(0);
}

/** Fields without a header of their own, as a field that has one (same bits, so same value and mask). */
function resolveField(fld: MfField, value: bigint, mask: bigint | undefined, st: EncState): { fld: MfField; value: bigint; mask?: bigint } {
  if (fld.name === 'tp_src' || fld.name === 'tp_dst') {
    const m = st.match;
    const proto = m && m.isExact(mfField('nw_proto')) ? Number(m.get(mfField('nw_proto')).value) : undefined;
    const p = proto === IPPROTO_TCP ? 'tcp' : proto === IPPROTO_UDP ? 'udp' : proto === IPPROTO_SCTP ? 'sctp' : undefined;
    if (!p) throw ba(BAC.BAD_SET_TYPE, `set_field ${fld.name} needs a match on tcp, udp or sctp to choose its OXM field`);
    return { fld: mfField(`${p}_${fld.name.slice(3)}`), value, mask };
  }
  if (fld.name === 'dl_vlan') {
    // dl_vlan is the VID bits of vlan_tci (shift 0): a partial write of NXM_OF_VLAN_TCI.
    return { fld: mfField('vlan_tci'), value, mask: mask ?? 0x0fffn };
  }
  return { fld, value, mask };
}

/** Is `mask` one run of ones? Returns [offset, nbits]. */
function bitRun(mask: bigint): [number, number] | undefined {
  if (mask <= 0n) return undefined;
  let ofs = 0;
  while (!((mask >> BigInt(ofs)) & 1n)) ofs++;
  const run = mask >> BigInt(ofs);
  if ((run & (run + 1n)) !== 0n) return undefined;
  return [ofs, run.toString(2).length];
}

function encodeRegLoad2(w: OfWriter, e: OxmEntry, value: bigint, mask: bigint | undefined): void {
  const start = w.off;
  w.u16(0xffff).u16(0).u32(NX_VENDOR_ID).u16(NXAST.REG_LOAD2);
  writeOxmHeader(w, e, mask !== undefined);
  w.uint(value, e.bytes);
  if (mask !== undefined) w.uint(mask, e.bytes);
  w.pad8(start);
  w.patch16(start + 2, w.off - start);
}

/** set_field as NXAST_REG_LOAD (one contiguous run of at most 64 bits) or NXAST_REG_LOAD2. */
function encodeNxLoad(w: OfWriter, fld: MfField, value: bigint, mask: bigint): void {
  const nxm = nxmForField(fld);
  const run = bitRun(mask);
  if (nxm && run && run[1] <= 64) {
    const [ofs, nbits] = run;
    w.u16(0xffff).u16(24).u32(NX_VENDOR_ID).u16(NXAST.REG_LOAD);
    w.u16((ofs << 6) | (nbits - 1)).u32(((nxm.cls << 16) | (nxm.field << 9) | nxm.bytes) >>> 0).u64((value & mask) >> BigInt(ofs));
    return;
  }
  const e = oxmForField(fld);
  if (!e) throw ba(BAC.BAD_SET_TYPE, `field ${fld.name} has no OXM/NXM header`);
  const full = mask === fieldOnes(fld);
  encodeRegLoad2(w, e, value & mask, full ? undefined : mask);
}

function checkSetValue(fld: MfField, value: bigint, mask?: bigint): void {
  if (!fitsField(fld, value)) throw ba(BAC.BAD_SET_ARGUMENT, `set_field ${fld.name} value 0x${value.toString(16)} does not fit`);
  if (mask !== undefined && !fitsField(fld, mask)) throw ba(BAC.BAD_SET_ARGUMENT, `set_field ${fld.name} mask 0x${mask.toString(16)} does not fit`);
}

function encodeSetField13(w: OfWriter, a: Extract<OfpAction, { type: 'set_field' }>, st: EncState): void {
  checkSetValue(a.field, a.value, a.mask);
  const { fld, value, mask } = resolveField(a.field, a.value, a.mask, st);
  if (mask === undefined || mask === fieldOnes(fld)) {
    const e = oxmForField(fld);
    if (!e) throw ba(BAC.BAD_SET_TYPE, `field ${fld.name} has no OXM/NXM header`);
    if (fld.name === 'vlan_vid' && !(value & BigInt(OFPVID_PRESENT))) throw ba(BAC.BAD_SET_ARGUMENT, 'set_field vlan_vid needs OFPVID_PRESENT (0x1000)');
    const start = w.off;
    w.u16(OFPAT13.SET_FIELD).u16(0);
    writeOxmHeader(w, e, false);
    w.uint(value, e.bytes);
    w.pad8(start);
    w.patch16(start + 2, w.off - start);
    return;
  }
  encodeNxLoad(w, fld, value, mask);
}

function encodeSetField10(w: OfWriter, a: Extract<OfpAction, { type: 'set_field' }>, st: EncState): void {
  checkSetValue(a.field, a.value, a.mask);
  const full = a.mask === undefined || a.mask === fieldOnes(a.field);
  const v = a.value;
  if (full) {
    switch (a.field.name) {
      case 'dl_src': case 'dl_dst':
        w.u16(a.field.name === 'dl_src' ? OFPAT10.SET_DL_SRC : OFPAT10.SET_DL_DST).u16(16).uint(v, 6).zeros(6); return;
      case 'nw_src': case 'nw_dst':
        w.u16(a.field.name === 'nw_src' ? OFPAT10.SET_NW_SRC : OFPAT10.SET_NW_DST).u16(8).u32(Number(v)); return;
      case 'nw_tos': w.u16(OFPAT10.SET_NW_TOS).u16(8).u8(Number(v)).zeros(3); return;
      case 'ip_dscp': w.u16(OFPAT10.SET_NW_TOS).u16(8).u8(Number(v) << 2).zeros(3); return;
      case 'tp_src': case 'tcp_src': case 'udp_src': w.u16(OFPAT10.SET_TP_SRC).u16(8).u16(Number(v)).zeros(2); return;
      case 'tp_dst': case 'tcp_dst': case 'udp_dst': w.u16(OFPAT10.SET_TP_DST).u16(8).u16(Number(v)).zeros(2); return;
      case 'vlan_vid':
        if (v & BigInt(OFPVID_PRESENT)) { w.u16(OFPAT10.SET_VLAN_VID).u16(8).u16(Number(v & 0xfffn)).zeros(2); st.hasVlan = true; }
        else { w.u16(OFPAT10.STRIP_VLAN).u16(8).zeros(4); st.hasVlan = false; }
        return;
      case 'vlan_pcp': w.u16(OFPAT10.SET_VLAN_PCP).u16(8).u8(Number(v)).zeros(3); st.hasVlan = true; return;
      default: break;
    }
  }
  const { fld, value, mask } = resolveField(a.field, a.value, a.mask, st);
  encodeNxLoad(w, fld, value, mask ?? fieldOnes(fld));
}

function encodeOne(w: OfWriter, a: OfpAction, version: number, st: EncState): void {
  const v13 = version >= 4;
  switch (a.type) {
    case 'output': {
      if (v13) { w.u16(OFPAT13.OUTPUT).u16(16).u32(a.port).u16(a.maxLen ?? 0).zeros(6); return; }
      const p = port32to16(a.port);
      if (p === undefined) throw ba(BAC.BAD_OUT_PORT, `port ${a.port} has no OpenFlow 1.0 number`);
      w.u16(OFPAT10.OUTPUT).u16(8).u16(p).u16(a.maxLen ?? 0);
      return;
    }
    case 'controller': encodeController(w, a, version); return;
    case 'set_field': (v13 ? encodeSetField13 : encodeSetField10)(w, a, st); return;
    case 'push_vlan':
      if (v13) w.u16(OFPAT13.PUSH_VLAN).u16(8).u16(a.ethertype).zeros(2);
      // OpenFlow 1.0 has no push: its set_vlan_vid/pcp push when there is no tag (as OVS encodes it).
      else if (a.ethertype !== 0x8100) throw ba(BAC.BAD_ARGUMENT, `OpenFlow 1.0 cannot push a 0x${a.ethertype.toString(16)} tag`);
      st.hasVlan = true;
      return;
    case 'pop_vlan':
      w.u16(v13 ? OFPAT13.POP_VLAN : OFPAT10.STRIP_VLAN).u16(8).zeros(4);
      st.hasVlan = false;
      return;
    case 'set_vlan_vid':
    case 'set_vlan_pcp': {
      if (!v13) {
        if (a.type === 'set_vlan_vid') w.u16(OFPAT10.SET_VLAN_VID).u16(8).u16(a.vid & 0xfff).zeros(2);
        else w.u16(OFPAT10.SET_VLAN_PCP).u16(8).u8(a.pcp & 7).zeros(3);
        st.hasVlan = true;
        return;
      }
      // OVS: push_vlan first if the action may push and the packet has no tag yet, then set_field.
      if (a.push && !st.hasVlan) w.u16(OFPAT13.PUSH_VLAN).u16(8).u16(0x8100).zeros(2);
      st.hasVlan = true;
      if (a.type === 'set_vlan_vid') {
        encodeSetField13(w, { type: 'set_field', field: mfField('vlan_vid'), value: BigInt((a.vid & 0xfff) | OFPVID_PRESENT) }, st);
      } else {
        encodeSetField13(w, { type: 'set_field', field: mfField('vlan_pcp'), value: BigInt(a.pcp & 7) }, st);
      }
      return;
    }
    case 'dec_ttl':
      if (v13) w.u16(OFPAT13.DEC_NW_TTL).u16(8).zeros(4);
      else { nxHeader(w, NXAST.DEC_TTL, 16); w.zeros(6); }
      return;
    case 'resubmit': encodeResubmit(w, a); return;
    case 'note': encodeNote(w, a.data); return;
    case 'group':
      if (!v13) throw ba(BAC.BAD_TYPE, 'OpenFlow 1.0 has no group action');
      w.u16(OFPAT13.GROUP).u16(8).u32(a.groupId);
      return;
    default:
      throw bi(v13 ? BIC.UNKNOWN_INST : BIC.UNSUP_INST, `${a.type} is an instruction, not an action${v13 ? '' : ' (OpenFlow 1.0 has no instructions)'}`);
  }
}

/** Writes `actions` (no instructions) as an action list of `version`. */
export function encodeActions(w: OfWriter, actions: readonly OfpAction[], version: number, ctx: ActionContext = {}): void {
  const st = initialState(ctx);
  for (const a of actions) encodeOne(w, a, version, st);
}

const PHASE: Record<string, number> = { meter: 0, clear_actions: 2, write_actions: 3, write_metadata: 4, goto_table: 5 };

/**
 * Writes the flat list as OpenFlow 1.3 instructions. The list must be in
 * execution order (meter, actions, clear_actions, write_actions,
 * write_metadata, goto_table; each instruction at most once):
 * anything else is OfpError(BAD_INSTRUCTION, UNSUP_INST) or, for an action
 * after an instruction, (BAD_ACTION, UNSUPPORTED_ORDER).
 */
export function encodeInstructions(w: OfWriter, list: readonly OfpAction[], ctx: ActionContext = {}): void {
  let phase = -1;
  const apply: OfpAction[] = [];
  const seen = new Set<string>();
  for (const a of list) {
    const p = isInstructionType(a.type) ? PHASE[a.type] : 1;
    if (p === 1) {
      if (phase > 1) throw ba(BAC.UNSUPPORTED_ORDER, `action ${a.type} after an instruction`);
    } else {
      if (seen.has(a.type)) throw bi(BIC.UNSUP_INST, `instruction ${a.type} appears twice`);
      if (p < phase) throw bi(BIC.UNSUP_INST, `instruction ${a.type} out of order`);
      seen.add(a.type);
    }
    phase = Math.max(phase, p);
  }
  for (const a of list) if (!isInstructionType(a.type)) apply.push(a);
  const meter = list.find((a) => a.type === 'meter');
  if (meter && meter.type === 'meter') w.u16(OFPIT.METER).u16(8).u32(meter.meterId);
  if (apply.length) {
    const start = w.off;
    w.u16(OFPIT.APPLY_ACTIONS).u16(0).zeros(4);
    encodeActions(w, apply, 4, ctx);
    w.patch16(start + 2, w.off - start);
  }
  for (const a of list) {
    switch (a.type) {
      case 'clear_actions': w.u16(OFPIT.CLEAR_ACTIONS).u16(8).zeros(4); break;
      case 'write_actions': {
        for (const x of a.actions) if (isInstructionType(x.type)) throw bi(BIC.UNSUP_INST, `${x.type} inside write_actions`);
        const start = w.off;
        w.u16(OFPIT.WRITE_ACTIONS).u16(0).zeros(4);
        encodeActions(w, a.actions, 4, ctx);
        w.patch16(start + 2, w.off - start);
        break;
      }
      case 'write_metadata': w.u16(OFPIT.WRITE_METADATA).u16(24).zeros(4).u64(a.value & a.mask).u64(a.mask); break;
      case 'goto_table': w.u16(OFPIT.GOTO_TABLE).u16(8).u8(a.table).zeros(3); break;
      default: break;
    }
  }
}

/** Writes a rule's flat list for `version`: instructions in 1.3, plain actions in 1.0. */
export function encodeRuleActions(w: OfWriter, list: readonly OfpAction[], version: number, ctx: ActionContext = {}): void {
  if (version >= 4) encodeInstructions(w, list, ctx);
  else encodeActions(w, list, version, ctx);
}

/** Convenience: an action list as bytes. */
export function actionsToBuffer(actions: readonly OfpAction[], version: number, ctx: ActionContext = {}): Buffer {
  const w = new OfWriter(64);
  encodeActions(w, actions, version, ctx);
  return w.done();
}

/** Convenience: bytes as an action list. */
export function actionsFromBuffer(buf: Buffer, version: number): OfpAction[] {
  return decodeActions(new OfReader(buf, 0, buf.length, actLenErr), version);
}

/** Convenience: a flat list as OpenFlow 1.3 instruction bytes. */
export function instructionsToBuffer(list: readonly OfpAction[], ctx: ActionContext = {}): Buffer {
  const w = new OfWriter(64);
  encodeInstructions(w, list, ctx);
  return w.done();
}

export function instructionsFromBuffer(buf: Buffer): OfpAction[] {
  return decodeInstructions(new OfReader(buf, 0, buf.length, instLenErr));
}
