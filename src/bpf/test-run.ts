/*
 * BPF_PROG_TEST_RUN (bpf_prog_test_run_opts): run a program on a given
 * packet without a device. Used by the tests and by the daemon's datapath
 * self-check.
 */
import { fn, koffi } from './native';
import { BpfError } from './errors';

/** flags for ProgTestRunOpts.flags */
export const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;

export interface ProgTestRunOpts {
  /** packet (for XDP/TC: a whole Ethernet frame, >= 14 bytes) */
  data: Buffer;
  /** optional context (struct xdp_md / struct __sk_buff) */
  ctxIn?: Buffer;
  /** run the program this many times (duration is the average); default 1 */
  repeat?: number;
  /** BPF_F_TEST_* flags */
  flags?: number;
  /** only with BPF_F_TEST_XDP_LIVE_FRAMES */
  batchSize?: number;
  /** room for the output packet; default data.length + 256 */
  dataSizeOut?: number;
}

export interface ProgTestRunResult {
  /** program return code (XDP_PASS = 2, TC_ACT_OK = 0, ...) */
  retval: number;
  /** average ns per run */
  duration: number;
  /** the packet after the program ran (empty with XDP_LIVE_FRAMES) */
  dataOut: Buffer;
}

/*
 * struct bpf_test_run_opts (bpf/bpf.h, libbpf 1.1):
 *   0 size_t sz;  8 const void *data_in;  16 void *data_out;
 *  24 __u32 data_size_in;  28 __u32 data_size_out;
 *  32 const void *ctx_in;  40 void *ctx_out;
 *  48 __u32 ctx_size_in;   52 __u32 ctx_size_out;
 *  56 __u32 retval;  60 int repeat;  64 __u32 duration;  68 __u32 flags;
 *  72 __u32 cpu;     76 __u32 batch_size;               -> 80 bytes
 * Pointer fields are filled with koffi.address() of Buffers kept alive
 * for the duration of the (synchronous) call.
 */
const OPTS_SIZE = 80;


function addr(b: Buffer | null): bigint {
  return b && b.length ? (koffi.address(b) as bigint) : 0n;
}

export function progTestRun(progFd: number, opts: ProgTestRunOpts): ProgTestRunResult {
  const live = ((opts.flags ?? 0) & BPF_F_TEST_XDP_LIVE_FRAMES) !== 0;
  const outSize = live ? 0 : (opts.dataSizeOut ?? opts.data.length + 256);
  const dataOut = Buffer.alloc(outSize);
  const o = Buffer.alloc(OPTS_SIZE);
  o.writeBigUInt64LE(BigInt(OPTS_SIZE), 0);
  o.writeBigUInt64LE(addr(opts.data), 8);
  o.writeBigUInt64LE(addr(dataOut), 16);
  o.writeUInt32LE(opts.data.length, 24);
  o.writeUInt32LE(outSize, 28);
  if (opts.ctxIn && opts.ctxIn.length) {
    o.writeBigUInt64LE(addr(opts.ctxIn), 32);
    o.writeUInt32LE(opts.ctxIn.length, 48);
  }
  o.writeInt32LE(opts.repeat ?? 1, 60);
  o.writeUInt32LE(opts.flags ?? 0, 68);
  o.writeUInt32LE(opts.batchSize ?? 0, 76);
  const r = fn.bpf_prog_test_run_opts(progFd, o) as number;
  // keep the Buffers reachable until after the call (their addresses are in `o`)
  void opts.data; void opts.ctxIn; void dataOut;
  if (r < 0) throw new BpfError('bpf_prog_test_run_opts', -r, `prog fd ${progFd}`);
  const outLen = o.readUInt32LE(28);
  return {
    retval: o.readUInt32LE(56),
    duration: o.readUInt32LE(64),
    dataOut: dataOut.subarray(0, Math.min(outLen, outSize)),
  };
}
