/*
 * Raw koffi declarations for libbpf.so.1 and the few libc calls the binding
 * needs. Nothing here is exported from src/bpf/index.ts: the typed API lives
 * in object.ts, map.ts, attach.ts, test-run.ts and perf-ring.ts.
 *
 * Conventions (libbpf >= 1.0, "strict mode" is the only mode):
 *   - int-returning calls return 0 / a positive value on success and -errno
 *     on failure (errno is set too);
 *   - pointer-returning calls return NULL and set errno on failure (read it
 *     with koffi.errno() right after the call).
 *
 * Buffers passed for `void *` parameters are handed to C in place (no copy),
 * so the hot-path map calls cost one koffi transition each.
 */
import koffi from 'koffi';
import type { LibraryHandle } from 'koffi';

export type Ptr = unknown; // koffi pointer value (BigInt or External); opaque to us
type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

const LIBBPF_PATHS = [
  process.env.XVS_LIBBPF ?? '',
  'libbpf.so.1',
  '/usr/lib/x86_64-linux-gnu/libbpf.so.1',
  '/usr/lib64/libbpf.so.1',
  '/usr/lib/libbpf.so.1',
].filter((p) => p !== '');

function loadLibbpf(): LibraryHandle {
  let last: unknown;
  for (const p of LIBBPF_PATHS) {
    try {
      return koffi.load(p);
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`cannot load libbpf.so.1 (tried ${LIBBPF_PATHS.join(', ')}): ${String(last)}`);
}

export const libbpf = loadLibbpf();
export const libc = koffi.load('libc.so.6');

// Opaque libbpf handles.
koffi.pointer('bpf_object_p', koffi.opaque('bpf_object'));
koffi.pointer('bpf_map_p', koffi.opaque('bpf_map'));
koffi.pointer('bpf_program_p', koffi.opaque('bpf_program'));
koffi.pointer('perf_buffer_p', koffi.opaque('perf_buffer'));

// int (*libbpf_print_fn_t)(enum libbpf_print_level, const char *fmt, va_list ap)
// fmt and ap are taken as raw pointers so they can be handed back to vsnprintf.
export const LibbpfPrintFn = koffi.proto('int xvs_libbpf_print_fn(int level, void *fmt, void *ap)');
// enum bpf_perf_event_ret (*perf_buffer_event_fn)(void *ctx, int cpu, struct perf_event_header *event)
export const PerfEventFn = koffi.proto('int xvs_perf_event_fn(void *ctx, int cpu, void *event)');

function f(lib: LibraryHandle, decl: string): Fn {
  return lib.func(decl) as Fn;
}

export const fn = {
  // --- global ---
  libbpf_set_print: f(libbpf, 'void *libbpf_set_print(xvs_libbpf_print_fn *fn)'),
  libbpf_num_possible_cpus: f(libbpf, 'int libbpf_num_possible_cpus(void)'),
  libbpf_bpf_prog_type_str: f(libbpf, 'const char *libbpf_bpf_prog_type_str(int t)'),
  libbpf_bpf_map_type_str: f(libbpf, 'const char *libbpf_bpf_map_type_str(int t)'),

  // --- objects ---
  bpf_object__open_file: f(libbpf, 'bpf_object_p bpf_object__open_file(const char *path, void *opts)'),
  bpf_object__load: f(libbpf, 'int bpf_object__load(bpf_object_p obj)'),
  bpf_object__close: f(libbpf, 'void bpf_object__close(bpf_object_p obj)'),
  bpf_object__find_map_by_name: f(libbpf, 'bpf_map_p bpf_object__find_map_by_name(bpf_object_p obj, const char *name)'),
  bpf_object__find_program_by_name: f(libbpf, 'bpf_program_p bpf_object__find_program_by_name(bpf_object_p obj, const char *name)'),
  bpf_object__next_map: f(libbpf, 'bpf_map_p bpf_object__next_map(bpf_object_p obj, bpf_map_p map)'),
  bpf_object__next_program: f(libbpf, 'bpf_program_p bpf_object__next_program(bpf_object_p obj, bpf_program_p prog)'),

  // --- bpf_map (object-level) ---
  bpf_map__name: f(libbpf, 'const char *bpf_map__name(bpf_map_p map)'),
  bpf_map__fd: f(libbpf, 'int bpf_map__fd(bpf_map_p map)'),
  bpf_map__type: f(libbpf, 'int bpf_map__type(bpf_map_p map)'),
  bpf_map__key_size: f(libbpf, 'uint32_t bpf_map__key_size(bpf_map_p map)'),
  bpf_map__value_size: f(libbpf, 'uint32_t bpf_map__value_size(bpf_map_p map)'),
  bpf_map__max_entries: f(libbpf, 'uint32_t bpf_map__max_entries(bpf_map_p map)'),
  bpf_map__set_max_entries: f(libbpf, 'int bpf_map__set_max_entries(bpf_map_p map, uint32_t n)'),
  bpf_map__set_pin_path: f(libbpf, 'int bpf_map__set_pin_path(bpf_map_p map, const char *path)'),

  // --- bpf_program ---
  bpf_program__name: f(libbpf, 'const char *bpf_program__name(bpf_program_p prog)'),
  bpf_program__fd: f(libbpf, 'int bpf_program__fd(bpf_program_p prog)'),
  bpf_program__type: f(libbpf, 'int bpf_program__type(bpf_program_p prog)'),
  bpf_program__set_autoload: f(libbpf, 'int bpf_program__set_autoload(bpf_program_p prog, bool autoload)'),

  // --- raw syscall wrappers (bpf.h) ---
  bpf_map_lookup_elem: f(libbpf, 'int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
  bpf_map_update_elem: f(libbpf, 'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
  bpf_map_delete_elem: f(libbpf, 'int bpf_map_delete_elem(int fd, const void *key)'),
  bpf_map_get_next_key: f(libbpf, 'int bpf_map_get_next_key(int fd, const void *key, void *next_key)'),
  bpf_map_lookup_batch: f(libbpf, 'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)'),
  bpf_map_update_batch: f(libbpf, 'int bpf_map_update_batch(int fd, const void *keys, const void *values, _Inout_ uint32_t *count, void *opts)'),
  bpf_map_delete_batch: f(libbpf, 'int bpf_map_delete_batch(int fd, const void *keys, _Inout_ uint32_t *count, void *opts)'),
  bpf_obj_pin: f(libbpf, 'int bpf_obj_pin(int fd, const char *path)'),
  bpf_obj_get: f(libbpf, 'int bpf_obj_get(const char *path)'),
  bpf_obj_get_info_by_fd: f(libbpf, 'int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *info_len)'),
  bpf_prog_test_run_opts: f(libbpf, 'int bpf_prog_test_run_opts(int prog_fd, void *opts)'),

  // --- XDP / TC ---
  bpf_xdp_attach: f(libbpf, 'int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, void *opts)'),
  bpf_xdp_detach: f(libbpf, 'int bpf_xdp_detach(int ifindex, uint32_t flags, void *opts)'),
  bpf_xdp_query_id: f(libbpf, 'int bpf_xdp_query_id(int ifindex, int flags, _Out_ uint32_t *prog_id)'),
  bpf_tc_hook_create: f(libbpf, 'int bpf_tc_hook_create(void *hook)'),
  bpf_tc_hook_destroy: f(libbpf, 'int bpf_tc_hook_destroy(void *hook)'),
  bpf_tc_attach: f(libbpf, 'int bpf_tc_attach(void *hook, void *opts)'),
  bpf_tc_detach: f(libbpf, 'int bpf_tc_detach(void *hook, void *opts)'),
  bpf_tc_query: f(libbpf, 'int bpf_tc_query(void *hook, void *opts)'),

  // --- perf buffer ---
  perf_buffer__new_raw: f(libbpf,
    'perf_buffer_p perf_buffer__new_raw(int map_fd, size_t page_cnt, void *attr, xvs_perf_event_fn *event_cb, void *ctx, void *opts)'),
  perf_buffer__free: f(libbpf, 'void perf_buffer__free(perf_buffer_p pb)'),
  perf_buffer__epoll_fd: f(libbpf, 'int perf_buffer__epoll_fd(perf_buffer_p pb)'),
  perf_buffer__buffer_cnt: f(libbpf, 'size_t perf_buffer__buffer_cnt(perf_buffer_p pb)'),
  perf_buffer__buffer: f(libbpf, 'int perf_buffer__buffer(perf_buffer_p pb, int idx, _Out_ void **buf, _Out_ size_t *size)'),

  // --- libc ---
  strerror: f(libc, 'const char *strerror(int errnum)'),
  vsnprintf: f(libc, 'int vsnprintf(void *buf, size_t n, void *fmt, void *ap)'),
  memcpy: f(libc, 'void *memcpy(void *dst, void *src, size_t n)'),
  epoll_wait: f(libc, 'int epoll_wait(int epfd, void *events, int maxevents, int timeout)'),
  getpagesize: f(libc, 'int getpagesize(void)'),
  close: f(libc, 'int close(int fd)'),
};

/** errno number -> symbolic name ("ENOENT"), built from koffi's table. */
const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(koffi.os.errno)) {
  if (!errnoNames.has(num)) errnoNames.set(num, name);
}

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export function strerror(errno: number): string {
  const s = fn.strerror(errno) as string | null;
  return s ?? `errno ${errno}`;
}

export function lastErrno(): number {
  return koffi.errno();
}

export { koffi };
