/*
 * OpenFlow 1.3 group buckets and meter bands, shared by GROUP_MOD/METER_MOD
 * and the GROUP_DESC/METER_CONFIG multipart replies; conversions to the
 * Group/Meter shapes of src/ofproto/ofp-actions.ts.
 */
import { OfpAction, GroupType, Bucket, Meter, MeterBand, OFPG_ANY } from '../ofproto/ofp-actions';
import { OFPP } from '../ofproto/meta-flow';
import { OfpError, OFPET, OFPGMFC, OFPMMFC } from '../ofproto/ofp-errors';
import { OfReader, OfWriter } from './buf';
import { decodeActions, encodeActions } from './actions';

/** A bucket as the wire carries it (Bucket without counters). */
export interface OfBucket {
  weight: number;
  watchPort: number;
  watchGroup: number;
  actions: OfpAction[];
}

export const OFPGC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const OFPMC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const OFPMF = { KBPS: 1, PKTPS: 2, BURST: 4, STATS: 8 } as const;
export const OFPMBT = { DROP: 1, DSCP_REMARK: 2, EXPERIMENTER: 0xffff } as const;
/** Meter ids with a meaning of their own. */
export const OFPM = { MAX: 0xffff0000, SLOWPATH: 0xfffffffd, CONTROLLER: 0xfffffffe, ALL: 0xffffffff } as const;

const badBucket = (msg: string): OfpError => new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_BUCKET, msg);
const badBand = (msg: string): OfpError => new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_BAND, msg);

export function encodeBuckets(w: OfWriter, buckets: readonly OfBucket[]): void {
  for (const b of buckets) {
    const start = w.off;
    w.u16(0).u16(b.weight).u32(b.watchPort).u32(b.watchGroup).zeros(4);
    encodeActions(w, b.actions, 4);
    w.patch16(start, w.off - start);
  }
}

export function decodeBuckets(r: OfReader): OfBucket[] {
  const out: OfBucket[] = [];
  while (!r.atEnd) {
    if (r.remaining < 16) throw badBucket(`${r.remaining} bytes cannot hold a bucket`);
    const len = r.peekU16();
    if (len < 16 || len % 8 !== 0 || len > r.remaining) throw badBucket(`bucket length ${len} (have ${r.remaining})`);
    const br = r.sub(len);
    br.skip(2);
    const weight = br.u16(), watchPort = br.u32(), watchGroup = br.u32();
    br.skip(4);
    out.push({ weight, watchPort, watchGroup, actions: decodeActions(br, 4) });
  }
  return out;
}

/** Bands of the one kind we execute (drop); others are METER_MOD_FAILED/BAD_BAND. */
export function encodeBands(w: OfWriter, bands: readonly MeterBand[]): void {
  for (const b of bands) {
    if (b.type !== 'drop') throw badBand(`meter band type ${String((b as { type: unknown }).type)}`);
    w.u16(OFPMBT.DROP).u16(16).u32(b.rate).u32(b.burst).zeros(4);
  }
}

export function decodeBands(r: OfReader): MeterBand[] {
  const out: MeterBand[] = [];
  while (!r.atEnd) {
    if (r.remaining < 16) throw badBand(`${r.remaining} bytes cannot hold a meter band`);
    const type = r.peekU16(), len = r.peekU16(2);
    if (len < 16 || len % 8 !== 0 || len > r.remaining) throw badBand(`meter band length ${len} (have ${r.remaining})`);
    const br = r.sub(len);
    br.skip(4);
    if (type !== OFPMBT.DROP) throw badBand(`meter band type ${type} is not supported (drop only)`);
    if (len !== 16) throw badBand(`drop band length ${len}`);
    out.push({ type: 'drop', rate: br.u32(), burst: br.u32() });
  }
  return out;
}

export function meterFlagsToBits(f: Meter['flags']): number {
  return (f.kbps ? OFPMF.KBPS : 0) | (f.pktps ? OFPMF.PKTPS : 0) | (f.burst ? OFPMF.BURST : 0) | (f.stats ? OFPMF.STATS : 0);
}

export function meterFlagsFromBits(b: number): Meter['flags'] {
  return { kbps: !!(b & OFPMF.KBPS), pktps: !!(b & OFPMF.PKTPS), burst: !!(b & OFPMF.BURST), stats: !!(b & OFPMF.STATS) };
}

/** A wire bucket as a table bucket (counters zero). */
export const toBucket = (b: OfBucket): Bucket => ({ ...b, nPackets: 0n, nBytes: 0n });

/** Defaults for a bucket of a group type: OVS fills weight 1 for select, watch ANY. */
export function bucketDefaults(type: GroupType, actions: OfpAction[]): OfBucket {
  return { weight: type === GroupType.SELECT ? 1 : 0, watchPort: OFPP.ANY, watchGroup: OFPG_ANY, actions };
}
