/*
 * MapBatch: entries staged for one BpfMap, written with BPF_MAP_UPDATE_BATCH
 * (one syscall for a whole upcall turn instead of one per flow). Buffers are
 * reused and grow as needed.
 */
import { BpfMap } from './map';
import { BpfError } from './errors';

export class MapBatch {
  private keys = Buffer.alloc(0);
  private values = Buffer.alloc(0);
  n = 0;

  constructor(private readonly map: BpfMap) {}

  /** Stages an entry; no `value` stages zeros (a fresh per-CPU counter). */
  add(key: Buffer, value?: Buffer): void {
    const ks = this.map.keySize, vs = this.map.valueBufSize;
    if ((this.n + 1) * ks > this.keys.length) this.grow(Math.max(16, this.n * 2));
    key.copy(this.keys, this.n * ks, 0, ks);
    const v = this.values.subarray(this.n * vs, (this.n + 1) * vs);
    if (value) { if (value.length < vs) throw new RangeError(`map ${this.map.name}: value of ${value.length} bytes, need ${vs}`); value.copy(v, 0, 0, vs); } else v.fill(0);
    this.n++;
  }

  /** Writes the staged entries in order; `onError` gets each one that fails, the rest are still written. Clears. */
  write(onError: (i: number, e: BpfError) => void): void {
    const ks = this.map.keySize, vs = this.map.valueBufSize;
    let i = 0;
    while (i < this.n) {
      const r = this.map.updateMany(this.keys.subarray(i * ks), this.values.subarray(i * vs), this.n - i);
      i += r.done;
      if (r.error) onError(i++, r.error);
    }
    this.n = 0;
  }

  private grow(entries: number): void {
    const k = Buffer.alloc(entries * this.map.keySize), v = Buffer.alloc(entries * this.map.valueBufSize);
    this.keys.copy(k); this.values.copy(v);
    this.keys = k; this.values = v;
  }
}
