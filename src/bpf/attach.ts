/*
 * Attaching programs to interfaces: XDP (bpf_xdp_attach/detach/query_id,
 * netlink-based, so the attachment outlives the process) and TC clsact
 * (bpf_tc_hook_create + bpf_tc_attach, direct-action cls_bpf filter).
 */
import { fn } from './native';
import { beginCapture, check } from './errors';

export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_FLAGS_HW_MODE = 1 << 3;

export type XdpMode = 'native' | 'generic';

function xdpFlags(mode: XdpMode): number {
  if (mode === 'native') return XDP_FLAGS_DRV_MODE;
  if (mode === 'generic') return XDP_FLAGS_SKB_MODE;
  throw new TypeError(`bad XDP mode '${String(mode)}' (want 'native' or 'generic')`);
}

/**
 * Attach (or replace) the XDP program on `ifindex`. No UPDATE_IF_NOEXIST:
 * replacing whatever program is there in the same mode is intended. The
 * kernel refuses (EEXIST) to mix modes: detach the other mode first.
 */
export function xdpAttach(ifindex: number, progFd: number, mode: XdpMode): void {
  beginCapture();
  check(fn.bpf_xdp_attach(ifindex, progFd, xdpFlags(mode), null) as number,
    'bpf_xdp_attach', `ifindex ${ifindex}, prog fd ${progFd}, ${mode}`, true);
}

/** Remove the XDP program of `mode` from `ifindex` (no-op when none is attached). */
export function xdpDetach(ifindex: number, mode: XdpMode): void {
  beginCapture();
  check(fn.bpf_xdp_detach(ifindex, xdpFlags(mode), null) as number,
    'bpf_xdp_detach', `ifindex ${ifindex}, ${mode}`, true);
}

/** Id of the XDP program attached in `mode` on `ifindex`, 0 if none. */
export function xdpQueryId(ifindex: number, mode: XdpMode): number {
  const id = [0];
  check(fn.bpf_xdp_query_id(ifindex, xdpFlags(mode), id) as number, 'bpf_xdp_query_id', `ifindex ${ifindex}, ${mode}`);
  return id[0];
}

// ---------------------------------------------------------------------------
// TC
// ---------------------------------------------------------------------------

export const BPF_TC_INGRESS = 1 << 0;
export const BPF_TC_EGRESS = 1 << 1;
export const BPF_TC_F_REPLACE = 1 << 0;

/** handle and priority of the one filter the switch owns per hook */
export const TC_HANDLE = 1;
export const TC_PRIORITY = 1;

const EEXIST = 17;
const ENOENT = 2;

/*
 * struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; size_t :0; }  -> 24 bytes
 * struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags; __u32 prog_id; __u32 handle;
 *                      __u32 priority; size_t :0; }                                       -> 32 bytes
 */
const TC_HOOK_SIZE = 24;
const TC_OPTS_SIZE = 32;

function tcHook(ifindex: number, attachPoint: number): Buffer {
  const b = Buffer.alloc(TC_HOOK_SIZE);
  b.writeBigUInt64LE(BigInt(TC_HOOK_SIZE), 0);
  b.writeInt32LE(ifindex, 8);
  b.writeUInt32LE(attachPoint, 12);
  return b;
}

function tcOpts(progFd: number, flags: number, handle = TC_HANDLE, priority = TC_PRIORITY): Buffer {
  const b = Buffer.alloc(TC_OPTS_SIZE);
  b.writeBigUInt64LE(BigInt(TC_OPTS_SIZE), 0);
  b.writeInt32LE(progFd, 8);
  b.writeUInt32LE(flags, 12);
  b.writeUInt32LE(0, 16); // prog_id must be 0 on input
  b.writeUInt32LE(handle, 20);
  b.writeUInt32LE(priority, 24);
  return b;
}

export type TcDirection = 'ingress' | 'egress';

function tcPoint(dir: TcDirection): number {
  if (dir === 'ingress') return BPF_TC_INGRESS;
  if (dir === 'egress') return BPF_TC_EGRESS;
  throw new TypeError(`bad TC direction '${String(dir)}'`);
}

/**
 * Attach `progFd` (a SCHED_CLS program, direct-action) at the `dir` hook of
 * `ifindex` with handle 1 / priority 1, creating the clsact qdisc if needed
 * and replacing an existing filter at that handle/priority.
 */
export function tcAttach(ifindex: number, progFd: number, dir: TcDirection): void {
  const hook = tcHook(ifindex, tcPoint(dir));
  beginCapture();
  const r = fn.bpf_tc_hook_create(hook) as number;
  if (r < 0 && r !== -EEXIST) check(r, 'bpf_tc_hook_create', `ifindex ${ifindex} ${dir}`, true);
  check(fn.bpf_tc_attach(hook, tcOpts(progFd, BPF_TC_F_REPLACE)) as number,
    'bpf_tc_attach', `ifindex ${ifindex} ${dir}, prog fd ${progFd}`, true);
}

/**
 * Remove our filter (handle 1 / priority 1) from the `dir` hook. Absent
 * filter or absent clsact qdisc is not an error. The clsact qdisc itself is
 * left in place (other filters may live on it; it costs nothing when empty);
 * tcHookDestroy() removes it.
 */
export function tcDetach(ifindex: number, dir: TcDirection): void {
  const hook = tcHook(ifindex, tcPoint(dir));
  if (tcQuery(ifindex, dir) === 0) return;
  beginCapture();
  const r = fn.bpf_tc_detach(hook, tcOpts(0, 0)) as number;
  if (r < 0 && r !== -ENOENT) check(r, 'bpf_tc_detach', `ifindex ${ifindex} ${dir}`, true);
}

/** Program id of our filter (handle 1 / priority 1) on the `dir` hook, 0 if none. */
export function tcQuery(ifindex: number, dir: TcDirection): number {
  const hook = tcHook(ifindex, tcPoint(dir));
  const opts = tcOpts(0, 0);
  beginCapture();
  const r = fn.bpf_tc_query(hook, opts) as number;
  // ENOENT: no such filter; EINVAL: no clsact qdisc on the device at all.
  if (r === -ENOENT || r === -22) return 0;
  check(r, 'bpf_tc_query', `ifindex ${ifindex} ${dir}`, true);
  return opts.readUInt32LE(16);
}

/** Delete the clsact qdisc of `ifindex` with every ingress and egress filter on it. */
export function tcHookDestroy(ifindex: number): void {
  beginCapture();
  const r = fn.bpf_tc_hook_destroy(tcHook(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS)) as number;
  if (r < 0 && r !== -ENOENT && r !== -22) check(r, 'bpf_tc_hook_destroy', `ifindex ${ifindex}`, true);
}

export function tcAttachIngress(ifindex: number, progFd: number): void {
  tcAttach(ifindex, progFd, 'ingress');
}

export function tcDetachIngress(ifindex: number): void {
  tcDetach(ifindex, 'ingress');
}

export function tcQueryIngress(ifindex: number): number {
  return tcQuery(ifindex, 'ingress');
}

