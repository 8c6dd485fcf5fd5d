/*
 * OpenFlow error codes the wire codec needs beyond src/ofproto/ofp-errors.ts
 * (which holds the ones the OpenFlow tables raise). Every value here is
 * OpenFlow 1.3 numbering (ofp_error_type and its code enums); OpenFlow 1.0
 * numbers differ and are converted only when an ERROR message is encoded for
 * a 1.0 peer (errorTo10 / errorFrom10).
 */
import { OfpError, OFPET } from '../ofproto/ofp-errors';

export { OfpError, OFPET };
export { OFPFMFC, OFPGMFC, OFPMMFC } from '../ofproto/ofp-errors';

/** OFPET_HELLO_FAILED codes. */
export const OFPHFC = { INCOMPATIBLE: 0, EPERM: 1 } as const;

/** OFPET_BAD_REQUEST codes. */
export const OFPBRC = {
  BAD_VERSION: 0, BAD_TYPE: 1, BAD_MULTIPART: 2, BAD_EXPERIMENTER: 3, BAD_EXP_TYPE: 4, EPERM: 5, BAD_LEN: 6,
  BUFFER_EMPTY: 7, BUFFER_UNKNOWN: 8, BAD_TABLE_ID: 9, IS_SLAVE: 10, BAD_PORT: 11, BAD_PACKET: 12, MULTIPART_BUFFER_OVERFLOW: 13,
} as const;

/** OFPET_BAD_ACTION codes (all of them; ofp-errors.ts has the subset the tables use). */
export const OFPBAC_ALL = {
  BAD_TYPE: 0, BAD_LEN: 1, BAD_EXPERIMENTER: 2, BAD_EXP_TYPE: 3, BAD_OUT_PORT: 4, BAD_ARGUMENT: 5, EPERM: 6, TOO_MANY: 7,
  BAD_QUEUE: 8, BAD_OUT_GROUP: 9, MATCH_INCONSISTENT: 10, UNSUPPORTED_ORDER: 11, BAD_TAG: 12, BAD_SET_TYPE: 13, BAD_SET_LEN: 14,
  BAD_SET_ARGUMENT: 15,
} as const;

/** OFPET_BAD_INSTRUCTION codes. */
export const OFPBIC_ALL = {
  UNKNOWN_INST: 0, UNSUP_INST: 1, BAD_TABLE_ID: 2, UNSUP_METADATA: 3, UNSUP_METADATA_MASK: 4, BAD_EXPERIMENTER: 5,
  BAD_EXP_TYPE: 6, BAD_LEN: 7, EPERM: 8,
} as const;

/** OFPET_BAD_MATCH codes. */
export const OFPBMC_ALL = {
  BAD_TYPE: 0, BAD_LEN: 1, BAD_TAG: 2, BAD_DL_ADDR_MASK: 3, BAD_NW_ADDR_MASK: 4, BAD_WILDCARDS: 5, BAD_FIELD: 6,
  BAD_VALUE: 7, BAD_MASK: 8, BAD_PREREQ: 9, DUP_FIELD: 10, EPERM: 11,
} as const;

/** OFPET_SWITCH_CONFIG_FAILED, ROLE_REQUEST_FAILED, TABLE_MOD_FAILED, PORT_MOD_FAILED codes. */
export const OFPSCFC = { BAD_FLAGS: 0, BAD_LEN: 1, EPERM: 2 } as const;
export const OFPRRFC = { STALE: 0, UNSUP: 1, BAD_ROLE: 2 } as const;
export const OFPTMFC = { BAD_TABLE: 0, BAD_CONFIG: 1, EPERM: 2 } as const;
export const OFPPMFC = { BAD_PORT: 0, BAD_HW_ADDR: 1, BAD_CONFIG: 2, BAD_ADVERTISE: 3, EPERM: 4 } as const;

/** OFPET_EXPERIMENTER: the error carries exp_type and an experimenter id instead of a code. */
export const OFPET_EXPERIMENTER = 0xffff;

/** Shorthands: the codec raises these all over. */
export const badRequest = (code: number, msg: string): OfpError => new OfpError(OFPET.BAD_REQUEST, code, msg);
export const badLen = (msg: string): OfpError => new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, msg);
export const badAction = (code: number, msg: string): OfpError => new OfpError(OFPET.BAD_ACTION, code, msg);
export const badInstruction = (code: number, msg: string): OfpError => new OfpError(OFPET.BAD_INSTRUCTION, code, msg);
export const badMatch = (code: number, msg: string): OfpError => new OfpError(OFPET.BAD_MATCH, code, msg);

/* ---- OpenFlow 1.0 numbering ------------------------------------------ */

/** OF1.0 ofp_error_type. */
export enum OFPET10 { HELLO_FAILED = 0, BAD_REQUEST = 1, BAD_ACTION = 2, FLOW_MOD_FAILED = 3, PORT_MOD_FAILED = 4, QUEUE_OP_FAILED = 5 }
/** OF1.0 ofp_flow_mod_failed_code. */
export const OFPFMFC10 = { ALL_TABLES_FULL: 0, OVERLAP: 1, EPERM: 2, BAD_EMERG_TIMEOUT: 3, BAD_COMMAND: 4, UNSUPPORTED: 5 } as const;

/**
 * An OF1.3 (type, code) as OpenFlow 1.0 can say it. 1.0 has no match,
 * instruction, group or meter errors: those become the nearest 1.0 error
 * (as OVS does for the common cases; the rest fall back to
 * FLOW_MOD_FAILED/UNSUPPORTED or BAD_REQUEST/EPERM).
 */
export function errorTo10(type: number, code: number): { type: number; code: number } {
  switch (type) {
    case OFPET.HELLO_FAILED: return { type: OFPET10.HELLO_FAILED, code };
    case OFPET.BAD_REQUEST:
      // 1.0 codes 0..8 are the same names (BAD_STAT for BAD_MULTIPART, BAD_VENDOR for BAD_EXPERIMENTER).
      return code <= OFPBRC.BUFFER_UNKNOWN ? { type: OFPET10.BAD_REQUEST, code } : { type: OFPET10.BAD_REQUEST, code: OFPBRC.EPERM };
    case OFPET.BAD_ACTION:
      return code <= OFPBAC_ALL.BAD_QUEUE ? { type: OFPET10.BAD_ACTION, code }
        : code === OFPBAC_ALL.BAD_OUT_GROUP ? { type: OFPET10.BAD_ACTION, code: OFPBAC_ALL.BAD_OUT_PORT }
          : { type: OFPET10.BAD_ACTION, code: OFPBAC_ALL.BAD_ARGUMENT };
    case OFPET.BAD_INSTRUCTION: return { type: OFPET10.BAD_ACTION, code: OFPBAC_ALL.BAD_TYPE };
    case OFPET.FLOW_MOD_FAILED: {
      const m: Record<number, number> = { 0: OFPFMFC10.UNSUPPORTED, 1: OFPFMFC10.ALL_TABLES_FULL, 3: OFPFMFC10.OVERLAP, 4: OFPFMFC10.EPERM, 6: OFPFMFC10.BAD_COMMAND };
      return { type: OFPET10.FLOW_MOD_FAILED, code: m[code] ?? OFPFMFC10.UNSUPPORTED };
    }
    case OFPET.PORT_MOD_FAILED: return { type: OFPET10.PORT_MOD_FAILED, code: Math.min(code, 1) };
    case OFPET.QUEUE_OP_FAILED: return { type: OFPET10.QUEUE_OP_FAILED, code };
    default: return { type: OFPET10.FLOW_MOD_FAILED, code: OFPFMFC10.UNSUPPORTED };
  }
}

/** An OF1.0 (type, code) in OF1.3 numbering (for printing and for OfpError). */
export function errorFrom10(type: number, code: number): { type: number; code: number } {
  switch (type) {
    case OFPET10.HELLO_FAILED: return { type: OFPET.HELLO_FAILED, code };
    case OFPET10.BAD_REQUEST: return { type: OFPET.BAD_REQUEST, code };
    case OFPET10.BAD_ACTION: return { type: OFPET.BAD_ACTION, code };
    case OFPET10.FLOW_MOD_FAILED: {
      const m: Record<number, number> = { 0: 1, 1: 3, 2: 4, 3: 5, 4: 6, 5: 0 };
      return { type: OFPET.FLOW_MOD_FAILED, code: m[code] ?? 0 };
    }
    case OFPET10.PORT_MOD_FAILED: return { type: OFPET.PORT_MOD_FAILED, code };
    case OFPET10.QUEUE_OP_FAILED: return { type: OFPET.QUEUE_OP_FAILED, code };
    default: return { type, code };
  }
}
