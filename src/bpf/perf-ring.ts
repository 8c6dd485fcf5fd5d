/*
 * PerfRing: consumer of a BPF_MAP_TYPE_PERF_EVENT_ARRAY (the upcall channel).
 *
 * Strategy (measured, see shared/research/bindings.md):
 *   - perf_buffer__new_raw with our own perf_event_attr so wakeup_events can
 *     be > 1 (libbpf's perf_buffer__new uses 1: one IRQ-work per sample, which
 *     caps the sender at ~100 k/s);
 *   - the per-CPU mmap rings are read directly from JS (perf_buffer__buffer →
 *     koffi.view, once per CPU), walking data_tail..data_head with a budget of
 *     records per event-loop turn; if the budget runs out the next turn is
 *     scheduled with setImmediate so a backlog never stalls the loop;
 *   - wake-ups: koffi.node.poll on perf_buffer__epoll_fd, plus a flush timer
 *     every flushMs so a lone record below wakeup_events is not stuck;
 *   - perf_buffer__poll/consume are never called, so the libbpf event
 *     callback (registered because perf_buffer__new_raw takes one) never runs.
 *
 * Memory ordering: data_head is read with Atomics.load and data_tail written
 * with Atomics.store (seq_cst) — on x86 a plain load and an xchg, which is
 * what the perf ABI needs there (the kernel publishes head with a release
 * store; x86 keeps our later record loads after the head load). On weakly
 * ordered CPUs V8 emits acquire/release-capable instructions for Atomics too,
 * but only x86-64 has been tested.
 */
import { EventEmitter } from 'events';
import { readFileSync } from 'fs';
import type { node as KoffiNode } from 'koffi';
import { fn, koffi, Ptr, PerfEventFn } from './native';
import { copyBytes } from './bytes';
import { beginCapture, checkPtr, check } from './errors';
import { BpfMap, BpfMapType, possibleCpus } from './map';
import { walkRing, RingRecordFn, PERF_RECORD_LOST, PERF_RECORD_SAMPLE, MMAP_DATA_HEAD_OFF } from './ring-walk';

export { walkRing, RingRecordFn, PERF_RECORD_LOST, PERF_RECORD_SAMPLE, MMAP_DATA_HEAD_OFF, MMAP_DATA_TAIL_OFF } from './ring-walk';

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10;
const PERF_SAMPLE_RAW = 1 << 10;
const PERF_ATTR_SIZE = 128; // PERF_ATTR_SIZE_VER7; all trailing fields zero
const LIBBPF_PERF_EVENT_CONT = -2;

export interface PerfRingOptions {
  /** data pages per CPU, power of 2 (default 64 = 256 KiB with 4 KiB pages) */
  pageCount?: number;
  /** wake the reader every N samples per CPU (default 16); the flush timer covers the rest */
  wakeupEvents?: number;
  /** records handed out per event-loop turn, across all CPUs (default 256) */
  budget?: number;
  /** flush timer period in ms (default 1; 0 disables the timer) */
  flushMs?: number;
  /**
   * true (default): each 'sample' gets its own copy of the payload.
   * false: the Buffer points into the ring (or a scratch buffer) and is only
   * valid during the listener call — copy what you keep.
   */
  copy?: boolean;
}

export interface PerfRingStats {
  samples: number;
  lost: number;
  turns: number;
}

interface CpuRing {
  cpu: number;
  meta: BigUint64Array; // [data_head, data_tail]
  data: Buffer;
  tail: number;
}

function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map((x) => parseInt(x, 10));
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/**
 * Events:
 *  - 'sample' (data: Buffer, cpu: number): the PERF_SAMPLE_RAW payload. Its
 *    length is the raw size the kernel reports, which includes padding (up to
 *    7 bytes of zeros, keeping records 8-byte aligned): the producer's own
 *    header must say the real length. A copy unless opts.copy === false.
 *  - 'lost' (count: number, cpu: number): PERF_RECORD_LOST (ring was full).
 *  - 'error' (err): a listener threw (only if an 'error' listener exists;
 *    otherwise the exception is rethrown asynchronously, like any uncaught
 *    listener error). The ring state stays consistent either way.
 */
export class PerfRing extends EventEmitter {
  readonly stats: PerfRingStats = { samples: 0, lost: 0, turns: 0 };
  readonly pageCount: number;
  readonly wakeupEvents: number;
  readonly budget: number;
  readonly flushMs: number;
  readonly copy: boolean;

  private pb: Ptr | null = null;
  private cb: unknown = null;
  private rings: CpuRing[] = [];
  private pollHandle: KoffiNode.PollHandle | null = null;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private startIdx = 0;
  private curCpu = 0;
  private consumed = 0;
  private inTurn = false;
  private stopping = false; // stop() called from a listener: release after the turn
  private readonly onRecord: RingRecordFn;

  constructor(readonly map: BpfMap, opts: PerfRingOptions = {}) {
    super();
    if (map.type !== BpfMapType.PERF_EVENT_ARRAY) {
      throw new TypeError(`PerfRing: map ${map.name} is type ${map.type}, not PERF_EVENT_ARRAY`);
    }
    this.pageCount = opts.pageCount ?? 64;
    this.wakeupEvents = opts.wakeupEvents ?? 16;
    this.budget = opts.budget ?? 256;
    this.flushMs = opts.flushMs ?? 1;
    this.copy = opts.copy ?? true;
    if (!isPow2(this.pageCount)) throw new RangeError(`PerfRing: pageCount ${this.pageCount} is not a power of 2`);
    if (!(this.wakeupEvents >= 1)) throw new RangeError('PerfRing: wakeupEvents must be >= 1');
    if (!(this.budget >= 1)) throw new RangeError('PerfRing: budget must be >= 1');
    if (!(this.flushMs >= 0)) throw new RangeError('PerfRing: flushMs must be >= 0');
    this.onRecord = (type, buf, off, len) => this.handleRecord(type, buf, off, len);
  }

  get running(): boolean {
    return this.pb !== null && !this.stopping;
  }

  /** Number of per-CPU rings (after start()). */
  get cpuCount(): number {
    return this.rings.length;
  }

  start(): void {
    if (this.stopping) throw new Error('PerfRing: start() while a stop() from a listener is pending');
    if (this.pb !== null) return;
    const attr = Buffer.alloc(PERF_ATTR_SIZE);
    attr.writeUInt32LE(PERF_TYPE_SOFTWARE, 0); // type
    attr.writeUInt32LE(PERF_ATTR_SIZE, 4); // size
    attr.writeBigUInt64LE(BigInt(PERF_COUNT_SW_BPF_OUTPUT), 8); // config
    attr.writeBigUInt64LE(1n, 16); // sample_period
    attr.writeBigUInt64LE(BigInt(PERF_SAMPLE_RAW), 24); // sample_type
    attr.writeBigUInt64LE(0n, 40); // flag bits: watermark (bit 14) = 0 -> wakeup_events counts samples
    attr.writeUInt32LE(this.wakeupEvents, 48); // wakeup_events

    this.cb = koffi.register(() => LIBBPF_PERF_EVENT_CONT, koffi.pointer(PerfEventFn));
    try {
      beginCapture();
      const pb = fn.perf_buffer__new_raw(this.map.fd, this.pageCount, attr, this.cb, null, null) as Ptr | null;
      this.pb = checkPtr(pb, 'perf_buffer__new_raw', `map ${this.map.name}, ${this.pageCount} pages`, true);
      this.mapRings();
      const epfd = check(fn.perf_buffer__epoll_fd(this.pb) as number, 'perf_buffer__epoll_fd');
      // koffi calls back with (status, events); readiness is all we need.
      this.pollHandle = koffi.node.poll(epfd, { readable: true }, () => this.turn());
    } catch (e) {
      this.release();
      throw e;
    }
    if (this.flushMs > 0) {
      this.timer = setInterval(() => this.turn(), this.flushMs);
      this.timer.unref(); // the poll handle keeps the loop alive while started
    }
    // perf_poll() clears the ring's "readable" flag when checked, and libuv
    // checks the fd once when it first registers it (next loop iteration): a
    // wake-up from samples produced before that is consumed there and never
    // reported. One turn right after registration picks those samples up;
    // later wake-ups are reported normally.
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.turn();
    });
  }

  private mapRings(): void {
    const n = Number(fn.perf_buffer__buffer_cnt(this.pb));
    const pageSize = fn.getpagesize() as number;
    // libbpf opens one ring per online CPU among the first
    // min(possible CPUs, map max_entries) CPUs, in CPU order.
    let cpus: number[] = [];
    try {
      const limit = Math.min(possibleCpus(), this.map.maxEntries || Infinity);
      cpus = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8')).filter((c) => c < limit);
    } catch {
      /* fall through */
    }
    if (cpus.length !== n) cpus = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < n; i++) {
      const base: unknown[] = [null];
      const size: (number | bigint)[] = [0];
      check(fn.perf_buffer__buffer(this.pb, i, base, size) as number, 'perf_buffer__buffer', `ring ${i}`);
      const dataSize = Number(size[0]);
      const ab = koffi.view(base[0], pageSize + dataSize);
      const ring: CpuRing = {
        cpu: cpus[i],
        meta: new BigUint64Array(ab, MMAP_DATA_HEAD_OFF, 2) /* data_head, data_tail (MMAP_DATA_TAIL_OFF) */,
        data: Buffer.from(ab, pageSize, dataSize),
        tail: 0,
      };
      ring.tail = Number(Atomics.load(ring.meta, 1));
      this.rings.push(ring);
    }
  }

  /**
   * One consumer turn: hand out up to `budget` records across the CPU rings
   * (round-robin start so one busy CPU cannot starve another). Schedules the
   * next turn with setImmediate when records are left. Returns the number of
   * records handed out. Called by the poll handle and the flush timer; may be
   * called directly (e.g. by tests).
   */
  turn(): number {
    if (this.pb === null || this.inTurn) return 0;
    this.inTurn = true;
    this.stats.turns++;
    let left = this.budget;
    let more = false;
    let total = 0;
    const rings = this.rings;
    const n = rings.length;
    try {
      for (let k = 0; k < n && !this.stopping; k++) {
        const r = rings[(this.startIdx + k) % n];
        const head = Number(Atomics.load(r.meta, 0));
        if (head === r.tail) continue;
        if (left === 0) {
          more = true;
          break;
        }
        this.curCpu = r.cpu;
        this.consumed = 0;
        const tail = walkRing(r.data, head, r.tail, left, this.onRecord);
        r.tail = tail;
        Atomics.store(r.meta, 1, BigInt(tail));
        left -= this.consumed;
        total += this.consumed;
        if (tail !== head) more = true;
      }
    } finally {
      this.inTurn = false;
    }
    if (this.stopping) {
      this.release(); // stop() was called by a listener during this turn
      return total;
    }
    this.startIdx = n ? (this.startIdx + 1) % n : 0;
    // A consumer may batch its work per turn (udpif installs a turn's flows together).
    if (total > 0) this.emit('turn-end', total);
    if (more && this.immediate === null && this.pb !== null) {
      this.immediate = setImmediate(() => {
        this.immediate = null;
        this.turn();
      });
    }
    return total;
  }

  private handleRecord(type: number, buf: Buffer, off: number, len: number): void {
    this.consumed++;
    if (this.stopping) return;
    try {
      if (type === PERF_RECORD_SAMPLE) {
        if (len < 4) return;
        const sz = Math.min(buf.readUInt32LE(off), len - 4);
        let data: Buffer;
        if (this.copy) {
          data = Buffer.allocUnsafe(sz);
          copyBytes(buf, off + 4, off + 4 + sz, data, 0);
        } else {
          data = buf.subarray(off + 4, off + 4 + sz);
        }
        this.stats.samples++;
        this.emit('sample', data, this.curCpu);
      } else if (type === PERF_RECORD_LOST) {
        // struct { u64 id; u64 lost; }
        if (len < 16) return;
        const lost = Number(buf.readBigUInt64LE(off + 8));
        this.stats.lost += lost;
        this.emit('lost', lost, this.curCpu);
      }
      // other record types (THROTTLE, ...) are ignored
    } catch (e) {
      if (this.listenerCount('error') > 0) this.emit('error', e);
      else process.nextTick(() => { throw e; });
    }
  }

  /**
   * Stop consuming: closes the poll handle, clears timers, frees the perf
   * buffer (the kernel side goes away with it), unregisters the callback.
   * Safe to call from a 'sample' listener: no further events are emitted and
   * the ring memory is released when the current turn ends.
   */
  stop(): void {
    if (this.pollHandle) {
      this.pollHandle.stop();
      this.pollHandle.close();
      this.pollHandle = null;
    }
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    if (this.inTurn) this.stopping = true;
    else this.release();
  }

  private release(): void {
    this.stopping = false;
    this.rings = []; // drop the views before the memory is unmapped
    if (this.pb !== null) {
      fn.perf_buffer__free(this.pb);
      this.pb = null;
    }
    if (this.cb !== null) {
      koffi.unregister(this.cb as bigint);
      this.cb = null;
    }
  }
}

