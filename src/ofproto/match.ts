/*
 * An OpenFlow match (OVS lib/match): value and mask over the 120-byte
 * OpenFlow flow. The value is kept masked, so two matches are equal exactly
 * when their buffers are.
 */
import { FLOW_SIZE, MfField, mfGet, mfSet, mfExact, mfAllOnes, FIELDS, prereqOk } from './meta-flow';

export class Match {
  readonly value: Buffer;
  readonly mask: Buffer;

  constructor(value?: Buffer, mask?: Buffer) {
    this.value = value ? Buffer.from(value) : Buffer.alloc(FLOW_SIZE);
    this.mask = mask ? Buffer.from(mask) : Buffer.alloc(FLOW_SIZE);
    if (this.value.length !== FLOW_SIZE || this.mask.length !== FLOW_SIZE) throw new RangeError(`match buffers are ${FLOW_SIZE} bytes`);
    for (let i = 0; i < FLOW_SIZE; i++) this.value[i] &= this.mask[i];
  }

  /** The catch-all match. */
  static any(): Match { return new Match(); }

  /** A match on every bit of `flow` (the match of an exact flow). */
  static exact(flow: Buffer): Match { return new Match(flow, Buffer.alloc(FLOW_SIZE, 0xff)); }

  clone(): Match { return new Match(this.value, this.mask); }

  /** Matches `fld` against `value` under `mask` (all of the field if absent). */
  set(fld: MfField, value: bigint, mask: bigint = mfAllOnes(fld)): this {
    mfSet(this.mask, fld, mask);
    mfSet(this.value, fld, value & mask);
    return this;
  }

  /** Stops matching `fld`. */
  clear(fld: MfField): this {
    mfSet(this.mask, fld, 0n);
    mfSet(this.value, fld, 0n);
    return this;
  }

  get(fld: MfField): { value: bigint; mask: bigint } {
    return { value: mfGet(this.value, fld), mask: mfGet(this.mask, fld) };
  }

  /** Is any bit of `fld` matched? */
  has(fld: MfField): boolean { return mfGet(this.mask, fld) !== 0n; }

  isExact(fld: MfField): boolean { return mfGet(this.mask, fld) === mfAllOnes(fld); }

  /** Does `flow` (a full flow buffer) satisfy this match? */
  matches(flow: Buffer): boolean {
    for (let i = 0; i < FLOW_SIZE; i += 4) {
      if (((flow.readUInt32LE(i) & this.mask.readUInt32LE(i)) >>> 0) !== this.value.readUInt32LE(i)) return false;
    }
    return true;
  }

  equals(o: Match): boolean { return this.mask.equals(o.mask) && this.value.equals(o.value); }

  /**
   * Is every flow this match accepts also accepted by `o`? (o is looser or
   * equal: OpenFlow's non-strict modify/delete select rules this way.)
   */
  isSubsetOf(o: Match): boolean {
    for (let i = 0; i < FLOW_SIZE; i++) {
      if ((o.mask[i] & ~this.mask[i]) !== 0) return false;          // o matches a bit we don't
      if ((this.value[i] & o.mask[i]) !== o.value[i]) return false;
    }
    return true;
  }

  /** Could some flow satisfy both? */
  overlaps(o: Match): boolean {
    for (let i = 0; i < FLOW_SIZE; i++) {
      const both = this.mask[i] & o.mask[i];
      if ((this.value[i] & both) !== (o.value[i] & both)) return false;
    }
    return true;
  }

  /** Fields matched whose prerequisites the match does not pin (OFPBMC_BAD_PREREQ). */
  missingPrereqs(): MfField[] {
    // Fields share bits (nw_proto/arp_op, tp_dst/tcp_dst/udp_dst...): matched
    // bits are fine when some field covering them has its prerequisites.
    const covered = Buffer.alloc(FLOW_SIZE);
    for (const fld of FIELDS) {
      if (this.has(fld) && prereqOk(fld.prereq, this.value, this.mask)) mfSet(covered, fld, mfAllOnes(fld));
    }
    const missing: MfField[] = [];
    for (const fld of FIELDS) {
      const bits = mfGet(this.mask, fld);
      if (bits && (bits & ~mfGet(covered, fld)) !== 0n && !missing.some((x) => x.off === fld.off)) missing.push(fld);
    }
    return missing;
  }

  key(): string { return this.value.toString('latin1') + this.mask.toString('latin1'); }
}

/** Mask a flow with the given words; the classifier and the tests share it. */
export function maskFlow(flow: Buffer, mask: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FLOW_SIZE);
  for (let i = 0; i < FLOW_SIZE; i += 4) out.writeUInt32LE((flow.readUInt32LE(i) & mask.readUInt32LE(i)) >>> 0, i);
  return out;
}

/** Expose mfExact to users of Match-level wildcards. */
export { mfExact };
