/*
 * BpfObject: one ELF object file (bpf_object__open_file + bpf_object__load),
 * its maps and programs.
 */
import { fn, Ptr } from './native';
import { BpfError, beginCapture, check, checkPtr } from './errors';
import { BpfMap } from './map';

/** enum bpf_prog_type values used by the project (linux/bpf.h). */
export const BpfProgType = {
  SOCKET_FILTER: 1,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  XDP: 6,
} as const;

export class BpfProgram {
  /** @internal */
  constructor(
    readonly name: string,
    readonly fd: number,
    /** enum bpf_prog_type (BpfProgType.XDP = 6, SCHED_CLS = 3, ...) */
    readonly type: number,
  ) {}

  /** libbpf's name for the program type ("xdp", "sched_cls", ...) */
  get typeName(): string {
    return (fn.libbpf_bpf_prog_type_str(this.type) as string | null) ?? `type ${this.type}`;
  }
}

const ENOENT = 2;
const EBADF = 9;

export class BpfObject {
  private obj: Ptr | null;
  private loaded = false;
  private readonly maps = new Map<string, BpfMap>();
  private readonly progs = new Map<string, BpfProgram>();

  private constructor(obj: Ptr, readonly path: string) {
    this.obj = obj;
  }

  /** bpf_object__open_file(path, NULL). Throws BpfError (with libbpf's log) on failure. */
  static open(path: string): BpfObject {
    beginCapture();
    const p = fn.bpf_object__open_file(path, null) as Ptr | null;
    return new BpfObject(checkPtr(p, 'bpf_object__open_file', path, true), path);
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  private handle(): Ptr {
    if (this.obj === null) throw new BpfError('BpfObject', EBADF, `${this.path}: object is closed`);
    return this.obj;
  }

  private rawMap(name: string): Ptr {
    const m = fn.bpf_object__find_map_by_name(this.handle(), name) as Ptr | null;
    if (m === null) throw new BpfError('bpf_object__find_map_by_name', ENOENT, `${this.path}: no map '${name}'`);
    return m;
  }

  /** Names of all maps in the object (including .bss/.data/.rodata internal maps). */
  mapNames(): string[] {
    const out: string[] = [];
    for (let m = fn.bpf_object__next_map(this.handle(), null) as Ptr | null; m !== null;
      m = fn.bpf_object__next_map(this.handle(), m) as Ptr | null) {
      out.push(fn.bpf_map__name(m) as string);
    }
    return out;
  }

  /** Names of all programs in the object. */
  programNames(): string[] {
    const out: string[] = [];
    for (let p = fn.bpf_object__next_program(this.handle(), null) as Ptr | null; p !== null;
      p = fn.bpf_object__next_program(this.handle(), p) as Ptr | null) {
      out.push(fn.bpf_program__name(p) as string);
    }
    return out;
  }

  /** bpf_map__set_max_entries; only before load(). */
  setMapMaxEntries(name: string, n: number): void {
    if (this.loaded) throw new BpfError('bpf_map__set_max_entries', 16 /* EBUSY */, `map '${name}': object already loaded`);
    check(fn.bpf_map__set_max_entries(this.rawMap(name), n) as number, 'bpf_map__set_max_entries', `map '${name}' = ${n}`);
  }

  /**
   * bpf_map__set_pin_path; only before load(). On load libbpf reuses the map
   * pinned at `path` if it is compatible, otherwise creates and pins it.
   */
  setPinPath(mapName: string, path: string): void {
    check(fn.bpf_map__set_pin_path(this.rawMap(mapName), path) as number, 'bpf_map__set_pin_path', `map '${mapName}' -> ${path}`);
  }

  /** bpf_program__set_autoload; only before load(). A program with autoload off is not loaded (program() then throws). */
  setAutoload(progName: string, autoload: boolean): void {
    const p = fn.bpf_object__find_program_by_name(this.handle(), progName) as Ptr | null;
    if (p === null) throw new BpfError('bpf_object__find_program_by_name', ENOENT, `${this.path}: no program '${progName}'`);
    check(fn.bpf_program__set_autoload(p, autoload) as number, 'bpf_program__set_autoload', `program '${progName}'`);
  }

  /** bpf_object__load: creates maps, loads programs. BpfError.log holds the verifier log on rejection. */
  load(): void {
    if (this.loaded) return;
    beginCapture();
    check(fn.bpf_object__load(this.handle()) as number, 'bpf_object__load', this.path, true);
    this.loaded = true;
  }

  /** A loaded map by name. */
  map(name: string): BpfMap {
    const cached = this.maps.get(name);
    if (cached) return cached;
    if (!this.loaded) throw new BpfError('BpfObject.map', EBADF, `map '${name}': object not loaded`);
    const m = this.rawMap(name);
    const fd = check(fn.bpf_map__fd(m) as number, 'bpf_map__fd', `map '${name}'`);
    const map = new BpfMap({
      fd,
      name,
      type: fn.bpf_map__type(m) as number,
      keySize: fn.bpf_map__key_size(m) as number,
      valueSize: fn.bpf_map__value_size(m) as number,
      maxEntries: fn.bpf_map__max_entries(m) as number,
    });
    this.maps.set(name, map);
    return map;
  }

  /** A loaded program by (function) name. */
  program(name: string): BpfProgram {
    const cached = this.progs.get(name);
    if (cached) return cached;
    if (!this.loaded) throw new BpfError('BpfObject.program', EBADF, `program '${name}': object not loaded`);
    const p = fn.bpf_object__find_program_by_name(this.handle(), name) as Ptr | null;
    if (p === null) throw new BpfError('bpf_object__find_program_by_name', ENOENT, `${this.path}: no program '${name}'`);
    const fd = check(fn.bpf_program__fd(p) as number, 'bpf_program__fd', `program '${name}'`);
    const prog = new BpfProgram(name, fd, fn.bpf_program__type(p) as number);
    this.progs.set(name, prog);
    return prog;
  }

  /**
   * bpf_object__close: closes every map and program fd of the object.
   * Attached XDP/TC programs stay attached (the kernel holds a reference);
   * detach them first if that is not wanted.
   */
  close(): void {
    if (this.obj === null) return;
    fn.bpf_object__close(this.obj);
    this.obj = null;
    this.maps.clear();
    this.progs.clear();
  }
}
