/*
 * From the OpenFlow tables' objects (src/ofproto) to message contents: a
 * Rule as flow stats or FLOW_REMOVED, a Group as GROUP_DESC / GROUP_MOD
 * buckets, a Meter as METER_CONFIG / METER_MOD, and back.
 */
import { Rule, Group, Meter, GroupType } from '../ofproto/ofp-actions';
import { RemovedReason } from '../ofproto/tables';
import { FlowStats, GroupDesc, MeterConfig } from './multipart';
import { FlowRemovedMsg, GroupModMsg, MeterModMsg } from './messages';
import { OfBucket, meterFlagsToBits, meterFlagsFromBits, toBucket } from './group-meter';

/** OpenFlow's duration_sec/nsec of something created at `since` (ms), seen at `now`. */
export function duration(since: number, now: number): { durationSec: number; durationNsec: number } {
  const ms = Math.max(0, now - since);
  return { durationSec: Math.floor(ms / 1000), durationNsec: (ms % 1000) * 1e6 };
}

/** A rule's flow stats entry at `now` (ms). */
export function flowStatsFromRule(r: Rule, now = Date.now()): FlowStats {
  return {
    tableId: r.tableId, ...duration(r.created, now), priority: r.priority, idleTimeout: r.idleTimeout, hardTimeout: r.hardTimeout,
    flags: r.flags, cookie: r.cookie, packetCount: r.nPackets, byteCount: r.nBytes, match: r.match, actions: r.actions,
  };
}

/** The FLOW_REMOVED for a rule the tables removed (their 'removed' event). */
export function flowRemovedFromRule(r: Rule, reason: RemovedReason, version: number, xid = 0, now = Date.now()): FlowRemovedMsg {
  return {
    type: 'flow_removed', version, xid, cookie: r.cookie, priority: r.priority, reason: reason as number, tableId: r.tableId,
    ...duration(r.created, now), idleTimeout: r.idleTimeout, hardTimeout: r.hardTimeout, packetCount: r.nPackets, byteCount: r.nBytes,
    match: r.match,
  };
}

export function groupDescFromGroup(g: Group): GroupDesc {
  return { type: g.type, groupId: g.id, buckets: g.buckets.map((b): OfBucket => ({ weight: b.weight, watchPort: b.watchPort, watchGroup: b.watchGroup, actions: b.actions })) };
}

/** A GROUP_MOD's group, for tables.addGroup(). */
export function groupFromGroupMod(m: GroupModMsg): Omit<Group, 'nPackets' | 'nBytes' | 'created'> {
  return { id: m.groupId, type: m.groupType as GroupType, buckets: m.buckets.map(toBucket) };
}

export function meterConfigFromMeter(m: Meter): MeterConfig {
  return { flags: meterFlagsToBits(m.flags), meterId: m.id, bands: m.bands };
}

/** A METER_MOD's meter, for tables.addMeter(). */
export function meterFromMeterMod(m: MeterModMsg): Omit<Meter, 'created'> {
  return { id: m.meterId, flags: meterFlagsFromBits(m.flags), bands: m.bands };
}
