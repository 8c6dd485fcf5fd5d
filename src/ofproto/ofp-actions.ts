/*
 * OpenFlow actions and instructions (OVS lib/ofp-actions): one flat list per
 * rule, as OVS keeps it, with the OF1.3 instructions as list items in their
 * required order: meter, apply-actions (the plain actions), clear_actions,
 * write_actions(...), write_metadata, goto_table.
 */
import { MfField } from './meta-flow';
import { Match } from './match';

export type OfpAction =
  /** output:PORT; PORT may be a reserved OFPP_* (IN_PORT, TABLE, NORMAL, FLOOD, ALL, LOCAL). */
  | { type: 'output'; port: number; maxLen?: number }
  /** CONTROLLER[:max_len] (OVS's controller action; output:CONTROLLER parses to it). */
  | { type: 'controller'; maxLen: number; reason?: PacketInReason; controllerId?: number }
  /** set_field:V->F and the mod_* shorthands; mask for partial writes. */
  | { type: 'set_field'; field: MfField; value: bigint; mask?: bigint }
  | { type: 'push_vlan'; ethertype: number }
  | { type: 'pop_vlan' }
  /** mod_vlan_vid (OF1.0 set_vlan_vid): pushes a tag if there is none. */
  | { type: 'set_vlan_vid'; vid: number; push: boolean }
  | { type: 'set_vlan_pcp'; pcp: number; push: boolean }
  | { type: 'dec_ttl' }
  | { type: 'resubmit'; port?: number; table?: number }
  | { type: 'group'; groupId: number }
  | { type: 'note'; data: Buffer }
  /* instructions */
  | { type: 'meter'; meterId: number }
  | { type: 'clear_actions' }
  | { type: 'write_actions'; actions: OfpAction[] }
  | { type: 'write_metadata'; value: bigint; mask: bigint }
  | { type: 'goto_table'; table: number };

export type OfpActionType = OfpAction['type'];

export enum PacketInReason { NO_MATCH = 0, ACTION = 1, INVALID_TTL = 2 }

export const N_TABLES = 255;

export enum GroupType { ALL = 0, SELECT = 1, INDIRECT = 2, FF = 3 }

export interface Bucket {
  weight: number;           // select
  watchPort: number;        // fast failover: OFPP_ANY when unused
  watchGroup: number;       // fast failover: OFPG_ANY when unused
  actions: OfpAction[];
  nPackets: bigint;
  nBytes: bigint;
}

export const OFPG_ANY = 0xffffffff;
export const OFPG_ALL = 0xfffffffc;
export const OFPG_MAX = 0xffffff00;

export interface Group {
  id: number;
  type: GroupType;
  buckets: Bucket[];
  nPackets: bigint;
  nBytes: bigint;
  created: number;
}

export interface MeterBand { type: 'drop'; rate: number; burst: number }   // rate in kbps or pps per flags
export interface Meter {
  id: number;
  flags: { kbps: boolean; pktps: boolean; burst: boolean; stats: boolean };
  bands: MeterBand[];
  created: number;
}

/** OFPFF_* flow_mod flags. */
export const OFPFF = { SEND_FLOW_REM: 1, CHECK_OVERLAP: 2, RESET_COUNTS: 4, NO_PKT_COUNTS: 8, NO_BYT_COUNTS: 16 } as const;

export interface Rule {
  readonly id: number;          // insertion order: breaks priority ties deterministically
  tableId: number;
  priority: number;
  match: Match;
  actions: OfpAction[];         // empty: drop
  cookie: bigint;
  idleTimeout: number;          // seconds, 0 = none
  hardTimeout: number;
  flags: number;                // OFPFF_*
  importance: number;
  created: number;              // ms (Date.now)
  modified: number;
  usedAt: number;               // ms of the last packet (the revalidator pushes datapath stats here)
  nPackets: bigint;
  nBytes: bigint;
}


/** The actions of a list other than instructions (the apply-actions part). */
export function isInstruction(a: OfpAction): boolean {
  return a.type === 'meter' || a.type === 'clear_actions' || a.type === 'write_actions' || a.type === 'write_metadata' || a.type === 'goto_table';
}
