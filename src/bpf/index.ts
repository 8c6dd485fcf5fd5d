/*
 * libbpf-ts: typed binding over libbpf.so.1 (via koffi) for xdp-vswitch.
 *
 *   BpfObject.open(path) -> setMapMaxEntries / setPinPath -> load()
 *     -> map(name): BpfMap (lookup/update/delete/keys) -> TypedMap / PerCpuArray
 *     -> program(name): BpfProgram { name, fd, type }
 *   xdpAttach/xdpDetach/xdpQueryId, tcAttachIngress/tcDetachIngress/tcQueryIngress
 *   progTestRun, PerfRing (upcall channel), bpfObjPin/bpfObjGet
 *
 * Every libbpf failure throws BpfError { errno, func, log? }.
 */
export { BpfError, setLibbpfLogger } from './errors';
export type { LibbpfLogger, LibbpfLogLevel } from './errors';
export { Codec, u32Codec, u64Codec, bufferCodec, encodeToBuffer } from './codec';
export {
  BpfMap, TypedMap, PerCpuArray, possibleCpus, bpfObjPin, bpfObjGet, closeFd, bpfObjId, pinnedObjId, pinnedMapMaxEntries,
  BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK, BpfMapType,
} from './map';
export type { BpfMapInfo } from './map';
export { BpfObject, BpfProgram, BpfProgType } from './object';
export {
  xdpAttach, xdpDetach, xdpQueryId, XdpMode,
  tcAttach, tcDetach, tcQuery, tcHookDestroy, tcAttachIngress, tcDetachIngress, tcQueryIngress, TcDirection,
  XDP_FLAGS_UPDATE_IF_NOEXIST, XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE,
  BPF_TC_INGRESS, BPF_TC_EGRESS, BPF_TC_F_REPLACE, TC_HANDLE, TC_PRIORITY,
} from './attach';
export { progTestRun, ProgTestRunOpts, ProgTestRunResult, BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES } from './test-run';
export {
  PerfRing, PerfRingOptions, PerfRingStats, walkRing, RingRecordFn,
  PERF_RECORD_LOST, PERF_RECORD_SAMPLE, MMAP_DATA_HEAD_OFF, MMAP_DATA_TAIL_OFF,
} from './perf-ring';
