/*
 * OpenFlow 1.3 error types and codes (ofp_error_type and its code enums):
 * a flow/group/meter mod that cannot be applied throws OfpError, which the
 * OpenFlow agent sends as OFPT_ERROR and the CLIs print.
 */
export enum OFPET { HELLO_FAILED = 0, BAD_REQUEST = 1, BAD_ACTION = 2, BAD_INSTRUCTION = 3, BAD_MATCH = 4, FLOW_MOD_FAILED = 5, GROUP_MOD_FAILED = 6, PORT_MOD_FAILED = 7, TABLE_MOD_FAILED = 8, QUEUE_OP_FAILED = 9, SWITCH_CONFIG_FAILED = 10, ROLE_REQUEST_FAILED = 11, METER_MOD_FAILED = 12, TABLE_FEATURES_FAILED = 13 }
export const OFPBAC = { BAD_TYPE: 0, BAD_LEN: 1, BAD_OUT_PORT: 4, BAD_ARGUMENT: 5, TOO_MANY: 7, BAD_OUT_GROUP: 9, MATCH_INCONSISTENT: 10, UNSUPPORTED_ORDER: 11, BAD_SET_TYPE: 13, BAD_SET_ARGUMENT: 15 } as const;
export const OFPBIC = { UNKNOWN_INST: 0, UNSUP_INST: 1, BAD_TABLE_ID: 2, UNSUP_METADATA: 3, UNSUP_METADATA_MASK: 4 } as const;
export const OFPBMC = { BAD_TYPE: 0, BAD_LEN: 1, BAD_FIELD: 6, BAD_VALUE: 7, BAD_MASK: 8, BAD_PREREQ: 9, DUP_FIELD: 10 } as const;
export const OFPFMFC = { UNKNOWN: 0, TABLE_FULL: 1, BAD_TABLE_ID: 2, OVERLAP: 3, EPERM: 4, BAD_TIMEOUT: 5, BAD_COMMAND: 6, BAD_FLAGS: 7 } as const;
export const OFPGMFC = { GROUP_EXISTS: 0, INVALID_GROUP: 1, OUT_OF_GROUPS: 3, CHAINING_UNSUPPORTED: 5, WATCH_UNSUPPORTED: 6, LOOP: 7, UNKNOWN_GROUP: 8, CHAINED_GROUP: 9, BAD_TYPE: 10, BAD_COMMAND: 11, BAD_BUCKET: 12, BAD_WATCH: 13 } as const;
export const OFPMMFC = { UNKNOWN: 0, METER_EXISTS: 1, INVALID_METER: 2, UNKNOWN_METER: 3, BAD_COMMAND: 4, BAD_FLAGS: 5, BAD_RATE: 6, BAD_BURST: 7, BAD_BAND: 8, OUT_OF_METERS: 10 } as const;

export class OfpError extends Error {
  constructor(readonly type: OFPET, readonly code: number, message: string) {
    super(message);
    this.name = 'OfpError';
  }
}
