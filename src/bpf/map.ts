/*
 * BPF maps: raw Buffer access (BpfMap), codec-typed access (TypedMap) and the
 * per-CPU array helper (PerCpuArray).
 *
 * The element calls go straight to bpf_map_*_elem with the caller's Buffers
 * (koffi passes them in place), so a lookup is one koffi transition plus an
 * allocation of the result; lookupInto() avoids even that.
 */
import { fn } from './native';
import { BpfError, check } from './errors';
import { Codec } from './codec';

export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** enum bpf_map_type values this code cares about (linux/bpf.h). */
export const BpfMapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  CPUMAP: 16,
  XSKMAP: 17,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  DEVMAP_HASH: 25,
  RINGBUF: 27,
} as const;

const PERCPU_TYPES = new Set<number>([
  BpfMapType.PERCPU_HASH, BpfMapType.PERCPU_ARRAY, BpfMapType.LRU_PERCPU_HASH, BpfMapType.PERCPU_CGROUP_STORAGE,
]);

const ENOENT = 2;
const EINVAL = 22;
const EOPNOTSUPP = 95;
const ENOTSUPP = 524;          // kernel-internal, what 5.10 returns for batch ops a map type lacks
const BPF_MAP_TYPE_ARRAY = 2;
const BPF_MAP_TYPE_PERCPU_ARRAY = 6;

let nCpus = 0;
/** Number of possible CPUs (libbpf_num_possible_cpus): the per-CPU value count. */
export function possibleCpus(): number {
  if (nCpus === 0) nCpus = check(fn.libbpf_num_possible_cpus() as number, 'libbpf_num_possible_cpus');
  return nCpus;
}

export interface BpfMapInfo {
  fd: number;
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export class BpfMap {
  readonly fd: number;
  readonly name: string;
  /** enum bpf_map_type */
  readonly type: number;
  readonly keySize: number;
  /** size of one value as declared (per CPU for per-CPU maps) */
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly isPerCpu: boolean;
  /** bytes a lookup returns: valueSize, or nCPUs × round_up(valueSize, 8) for per-CPU maps */
  readonly valueBufSize: number;
  /** per-CPU stride (round_up(valueSize, 8)); equals valueSize for ordinary maps */
  readonly valueStride: number;
  private readonly ownsFd: boolean;
  private closed = false;

  /** @internal use BpfObject.map(), BpfMap.fromFd() or BpfMap.fromPinned() */
  constructor(info: BpfMapInfo, ownsFd = false) {
    this.fd = info.fd;
    this.name = info.name;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.isPerCpu = PERCPU_TYPES.has(info.type);
    this.valueStride = this.isPerCpu ? (info.valueSize + 7) & ~7 : info.valueSize;
    this.valueBufSize = this.isPerCpu ? this.valueStride * possibleCpus() : info.valueSize;
    this.ownsFd = ownsFd;
  }

  /**
   * Wrap a map fd (e.g. from bpf_obj_get or another process). Reads the map's
   * attributes with bpf_obj_get_info_by_fd. The BpfMap does NOT take
   * ownership of fd unless `own` is true (then close() closes it).
   */
  static fromFd(fd: number, own = false): BpfMap {
    const info = Buffer.alloc(88); // struct bpf_map_info
    const len = [info.length];
    check(fn.bpf_obj_get_info_by_fd(fd, info, len) as number, 'bpf_obj_get_info_by_fd', `fd ${fd}`);
    const nameEnd = info.indexOf(0, 24);
    return new BpfMap({
      fd,
      type: info.readUInt32LE(0),
      keySize: info.readUInt32LE(8),
      valueSize: info.readUInt32LE(12),
      maxEntries: info.readUInt32LE(16),
      name: info.toString('latin1', 24, nameEnd >= 24 && nameEnd < 40 ? nameEnd : 40),
    }, own);
  }

  /** Open a pinned map (bpf_obj_get); the returned BpfMap owns the fd. */
  static fromPinned(path: string): BpfMap {
    const fd = bpfObjGet(path);
    try {
      return BpfMap.fromFd(fd, true);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  private checkKey(key: Buffer): void {
    if (key.length < this.keySize) {
      throw new RangeError(`map ${this.name}: key of ${key.length} bytes, map key size is ${this.keySize}`);
    }
  }

  /**
   * Look `key` up. Returns a new Buffer (valueBufSize bytes: for per-CPU maps
   * nCPUs × round_up(valueSize, 8)) or null when the key is absent.
   */
  lookup(key: Buffer): Buffer | null {
    if (key.length < this.keySize) this.checkKey(key);
    const out = Buffer.allocUnsafe(this.valueBufSize);
    const r = fn.bpf_map_lookup_elem(this.fd, key, out) as number;
    if (r === 0) return out;
    if (r === -ENOENT) return null;
    throw new BpfError('bpf_map_lookup_elem', -r, `map ${this.name}`);
  }

  /** Allocation-free lookup into `out` (>= valueBufSize bytes). False when absent. */
  lookupInto(key: Buffer, out: Buffer): boolean {
    if (key.length < this.keySize) this.checkKey(key);
    if (out.length < this.valueBufSize) {
      throw new RangeError(`map ${this.name}: value buffer of ${out.length} bytes, need ${this.valueBufSize}`);
    }
    const r = fn.bpf_map_lookup_elem(this.fd, key, out) as number;
    if (r === 0) return true;
    if (r === -ENOENT) return false;
    throw new BpfError('bpf_map_lookup_elem', -r, `map ${this.name}`);
  }

  /** Insert/replace. `value` must hold valueBufSize bytes (all CPUs for per-CPU maps). */
  update(key: Buffer, value: Buffer, flags: number = BPF_ANY): void {
    if (key.length < this.keySize) this.checkKey(key);
    if (value.length < this.valueBufSize) {
      throw new RangeError(`map ${this.name}: value of ${value.length} bytes, need ${this.valueBufSize}`);
    }
    const r = fn.bpf_map_update_elem(this.fd, key, value, flags) as number;
    if (r !== 0) throw new BpfError('bpf_map_update_elem', -r, `map ${this.name}`);
  }

  /** Delete `key`; false if it was not there (ENOENT). */
  delete(key: Buffer): boolean {
    if (key.length < this.keySize) this.checkKey(key);
    const r = fn.bpf_map_delete_elem(this.fd, key) as number;
    if (r === 0) return true;
    if (r === -ENOENT) return false;
    throw new BpfError('bpf_map_delete_elem', -r, `map ${this.name}`);
  }

  /**
   * Writes entries 0..n-1 of the packed `keys`/`values` in order, in one
   * BPF_MAP_UPDATE_BATCH where the kernel has it (an update per entry
   * otherwise), stopping at the first entry that fails. Returns how many were
   * written and that entry's error: a caller can handle it and go on from
   * the next one, so one bad entry costs only itself.
   */
  updateMany(keys: Buffer, values: Buffer, n: number): { done: number; error?: BpfError } {
    const ks = this.keySize, vs = this.valueBufSize;
    if (keys.length < n * ks || values.length < n * vs) throw new RangeError(`map ${this.name}: batch buffers too small for ${n} entries`);
    if (n === 0) return { done: 0 };
    if (this.updateBatchSupported !== false) {
      const count = [n];
      const r = fn.bpf_map_update_batch(this.fd, keys, values, count, null) as number;
      if (r === 0) { this.updateBatchSupported = true; return { done: n }; }
      // A kernel without the batch op for this map type (5.10's per-CPU arrays) fails before
      // touching count, which libbpf then leaves at n: decide on the error alone.
      if (!(this.updateBatchSupported === undefined && (r === -ENOTSUPP || r === -EOPNOTSUPP || r === -EINVAL))) {
        this.updateBatchSupported = true;
        return { done: count[0] < n ? count[0] : 0, error: new BpfError('bpf_map_update_batch', -r, `map ${this.name}`) };
      }
      this.updateBatchSupported = false;
    }
    for (let i = 0; i < n; i++) {
      const r = fn.bpf_map_update_elem(this.fd, keys.subarray(i * ks, (i + 1) * ks), values.subarray(i * vs, (i + 1) * vs), BPF_ANY) as number;
      if (r !== 0) return { done: i, error: new BpfError('bpf_map_update_elem', -r, `map ${this.name}`) };
    }
    return { done: n };
  }

  /**
   * Deletes the packed `keys` 0..n-1: BPF_MAP_DELETE_BATCH where the kernel
   * has it. A missing key is not an error (skipped, as delete() returns
   * false); returns how many of the keys were there.
   */
  deleteMany(keys: Buffer, n: number): number {
    const ks = this.keySize;
    if (keys.length < n * ks) throw new RangeError(`map ${this.name}: batch buffer too small for ${n} keys`);
    let deleted = 0, i = 0;
    while (i < n) {
      if (this.deleteBatchSupported !== false) {
        const count = [n - i];
        const r = fn.bpf_map_delete_batch(this.fd, keys.subarray(i * ks), count, null) as number;
        if (r === 0) { this.deleteBatchSupported = true; return deleted + count[0]; }
        if (this.deleteBatchSupported === undefined && (r === -ENOTSUPP || r === -EOPNOTSUPP || r === -EINVAL)) {
          this.deleteBatchSupported = false;     // as in updateMany: count is not trustworthy here
          continue;
        }
        this.deleteBatchSupported = true;
        const done = count[0] < n - i ? count[0] : 0;
        deleted += done;
        i += done;
        if (r !== -ENOENT) throw new BpfError('bpf_map_delete_batch', -r, `map ${this.name}`);
        i++;                 // the missing key: skip it, go on with the rest
      } else {
        if (this.delete(keys.subarray(i * ks, (i + 1) * ks))) deleted++;
        i++;
      }
    }
    return deleted;
  }

  /** Whether the kernel does BPF_MAP_UPDATE_BATCH / DELETE_BATCH on this map (undefined until tried). */
  updateBatchSupported: boolean | undefined;
  deleteBatchSupported: boolean | undefined;

  /**
   * Iterate keys with bpf_map_get_next_key. Each yielded Buffer is a fresh
   * copy. Deleting the key just yielded is safe for hash maps (iteration
   * continues from it; the kernel restarts from the first key if it vanished,
   * so entries may repeat under concurrent deletion by others).
   */
  *keys(): Generator<Buffer> {
    let prev: Buffer | null = null;
    const next = Buffer.alloc(this.keySize);
    for (;;) {
      const r = fn.bpf_map_get_next_key(this.fd, prev, next) as number;
      if (r === -ENOENT) return;
      if (r !== 0) throw new BpfError('bpf_map_get_next_key', -r, `map ${this.name}`);
      const k = Buffer.allocUnsafe(this.keySize);
      k.set(next, 0);
      yield k;
      prev = k;
    }
  }

  /** Iterate [key, value] pairs (entries deleted between the two calls are skipped). */
  *entries(): Generator<[Buffer, Buffer]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) yield [k, v];
    }
  }

  /**
   * Whether the kernel does BPF_MAP_LOOKUP_BATCH on this map (undefined
   * until lookupAll tried; false e.g. for per-CPU arrays on 5.10).
   */
  batchSupported: boolean | undefined;

  /**
   * The first `limit` entries (default all) of an array map, in index order,
   * into `buf`, which callers reuse: a few BPF_MAP_LOOKUP_BATCH calls, or a
   * lookup per index where the kernel has no batch lookup for this map type.
   * Returns the number of entries read.
   */
  lookupAll(buf: { keys: Buffer; values: Buffer }, limit = this.maxEntries): number {
    if (this.type !== BPF_MAP_TYPE_ARRAY && this.type !== BPF_MAP_TYPE_PERCPU_ARRAY) {
      throw new TypeError(`map ${this.name}: lookupAll is for array maps`);
    }
    const want = Math.min(limit, this.maxEntries);
    if (buf.keys.length < want * this.keySize || buf.values.length < want * this.valueBufSize) {
      throw new RangeError(`map ${this.name}: batch buffers too small for ${want} entries`);
    }
    if (this.batchSupported !== false) {
      const n = this.lookupBatch(buf, want);
      if (n !== undefined) return n;
    }
    const key = Buffer.alloc(4);
    for (let i = 0; i < want; i++) {
      key.writeUInt32LE(i);
      buf.keys.writeUInt32LE(i, i * 4);
      this.lookupInto(key, buf.values.subarray(i * this.valueBufSize, (i + 1) * this.valueBufSize));
    }
    return want;
  }

  /** The batch reads; undefined when the kernel has none for this map type (ENOTSUPP/EOPNOTSUPP). */
  private lookupBatch(buf: { keys: Buffer; values: Buffer }, want: number): number | undefined {
    let total = 0;
    let inBatch: Buffer | null = null;
    const outBatch = Buffer.alloc(Math.max(this.keySize, 8));
    for (;;) {
      const count = [want - total];
      if (count[0] === 0) return total;
      const r = fn.bpf_map_lookup_batch(this.fd, inBatch, outBatch, buf.keys.subarray(total * this.keySize),
        buf.values.subarray(total * this.valueBufSize), count, null) as number;
      if (total === 0 && (r === -ENOTSUPP || r === -EOPNOTSUPP)) { this.batchSupported = false; return undefined; }
      if (r !== 0 && r !== -ENOENT) throw new BpfError('bpf_map_lookup_batch', -r, `map ${this.name}`);
      this.batchSupported = true;
      total += count[0];
      if (r === -ENOENT) return total;
      inBatch = Buffer.from(outBatch);
    }
  }

  /** Pin this map at `path` in bpffs. */
  pin(path: string): void {
    bpfObjPin(this.fd, path);
  }

  /** Close the fd if this BpfMap owns it (fromFd(fd, true) / fromPinned). */
  close(): void {
    if (this.ownsFd && !this.closed) closeFd(this.fd);
    this.closed = true;
  }
}

/** Codec-typed view of a map. Reuses one key and one value buffer per instance. */
export class TypedMap<K, V> {
  private readonly kbuf: Buffer;
  private readonly vbuf: Buffer;

  constructor(readonly map: BpfMap, readonly keyCodec: Codec<K>, readonly valueCodec: Codec<V>) {
    if (keyCodec.size !== map.keySize) {
      throw new RangeError(`TypedMap(${map.name}): key codec is ${keyCodec.size} bytes, map key is ${map.keySize}`);
    }
    // per-CPU maps: the codec covers all CPUs (nCPUs × round_up(valueSize, 8)); see PerCpuArray
    if (valueCodec.size !== map.valueBufSize) {
      throw new RangeError(`TypedMap(${map.name}): value codec is ${valueCodec.size} bytes, need ${map.valueBufSize}`);
    }
    this.kbuf = Buffer.alloc(map.keySize);
    this.vbuf = Buffer.alloc(map.valueBufSize);
  }

  /** Value for `k`, or undefined if absent. */
  get(k: K): V | undefined {
    this.keyCodec.encode(k, this.kbuf, 0);
    if (!this.map.lookupInto(this.kbuf, this.vbuf)) return undefined;
    return this.valueCodec.decode(this.vbuf, 0);
  }

  has(k: K): boolean {
    this.keyCodec.encode(k, this.kbuf, 0);
    return this.map.lookupInto(this.kbuf, this.vbuf);
  }

  set(k: K, v: V, flags: number = BPF_ANY): void {
    this.keyCodec.encode(k, this.kbuf, 0);
    this.valueCodec.encode(v, this.vbuf, 0);
    this.map.update(this.kbuf, this.vbuf, flags);
  }

  /** false if absent */
  delete(k: K): boolean {
    this.keyCodec.encode(k, this.kbuf, 0);
    return this.map.delete(this.kbuf);
  }

  *keys(): Generator<K> {
    for (const kb of this.map.keys()) yield this.keyCodec.decode(kb, 0);
  }

  *entries(): Generator<[K, V]> {
    const vb = Buffer.alloc(this.map.valueBufSize);
    for (const kb of this.map.keys()) {
      if (this.map.lookupInto(kb, vb)) yield [this.keyCodec.decode(kb, 0), this.valueCodec.decode(vb, 0)];
    }
  }
}

/**
 * BPF_MAP_TYPE_PERCPU_ARRAY (or PERCPU_HASH keyed by u32) helper: get(i)
 * returns one decoded value per possible CPU. Summing is the caller's job.
 */
export class PerCpuArray<V> {
  readonly nCpus: number;
  private readonly kbuf = Buffer.alloc(4);
  private readonly vbuf: Buffer;

  constructor(readonly map: BpfMap, readonly codec: Codec<V>) {
    if (!map.isPerCpu) throw new TypeError(`PerCpuArray: map ${map.name} (type ${map.type}) is not per-CPU`);
    if (map.keySize !== 4) throw new TypeError(`PerCpuArray: map ${map.name} key size ${map.keySize}, want 4`);
    if (codec.size > map.valueSize) {
      throw new RangeError(`PerCpuArray(${map.name}): codec is ${codec.size} bytes, value is ${map.valueSize}`);
    }
    this.nCpus = possibleCpus();
    this.vbuf = Buffer.alloc(map.valueBufSize);
  }

  /** Values of slot `i`, one per possible CPU; null if absent (only for hash maps). */
  get(i: number): V[] | null {
    this.kbuf.writeUInt32LE(i >>> 0, 0);
    if (!this.map.lookupInto(this.kbuf, this.vbuf)) return null;
    const out = new Array<V>(this.nCpus);
    const stride = this.map.valueStride;
    for (let c = 0; c < this.nCpus; c++) out[c] = this.codec.decode(this.vbuf, c * stride);
    return out;
  }

  /** Set slot `i`: one value per CPU, or one value copied to every CPU. */
  set(i: number, values: V | V[], flags: number = BPF_ANY): void {
    this.kbuf.writeUInt32LE(i >>> 0, 0);
    const stride = this.map.valueStride;
    this.vbuf.fill(0);
    for (let c = 0; c < this.nCpus; c++) {
      const v = Array.isArray(values) ? values[c] : values;
      if (v !== undefined) this.codec.encode(v, this.vbuf, c * stride);
    }
    this.map.update(this.kbuf, this.vbuf, flags);
  }
}

// --- pinning and fds ---------------------------------------------------------

export function closeFd(fd: number): void {
  if (fd >= 0) fn.close(fd);
}

/** bpf_obj_pin(fd, path) */
export function bpfObjPin(fd: number, path: string): void {
  check(fn.bpf_obj_pin(fd, path) as number, 'bpf_obj_pin', path);
}

/** bpf_obj_get(path): a new fd the caller owns. */
export function bpfObjGet(path: string): number {
  return check(fn.bpf_obj_get(path) as number, 'bpf_obj_get', path);
}

/** The kernel id of the program or map behind `fd` (struct bpf_prog_info/bpf_map_info: id at offset 4). */
export function bpfObjId(fd: number): number {
  const info = Buffer.alloc(16);
  check(fn.bpf_obj_get_info_by_fd(fd, info, [info.length]) as number, 'bpf_obj_get_info_by_fd', `fd ${fd}`);
  return info.readUInt32LE(4);
}

/** max_entries of the map pinned at `path` (struct bpf_map_info: max_entries at offset 16), or 0 if none is. */
export function pinnedMapMaxEntries(path: string): number {
  let fd: number;
  try { fd = bpfObjGet(path); } catch { return 0; }
  try {
    const info = Buffer.alloc(24);
    check(fn.bpf_obj_get_info_by_fd(fd, info, [info.length]) as number, 'bpf_obj_get_info_by_fd', path);
    return info.readUInt32LE(16);
  } finally { closeFd(fd); }
}

/** The id of the object pinned at `path`, or 0 if nothing is pinned there. */
export function pinnedObjId(path: string): number {
  let fd: number;
  try { fd = bpfObjGet(path); } catch { return 0; }
  try { return bpfObjId(fd); } finally { closeFd(fd); }
}
