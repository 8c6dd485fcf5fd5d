/*
 * BpfError and the libbpf log capture.
 *
 * libbpf reports details (verifier logs, BTF problems, "map 'x': failed to
 * create: ...") through its print callback, not through return values. We
 * install one registered koffi callback for the whole process
 * (libbpf_set_print), format each message with libc vsnprintf, and keep the
 * messages since the last beginCapture(); a failing call then carries them in
 * BpfError.log. A verifier rejection therefore shows up as
 * "-- BEGIN PROG LOAD LOG -- ... -- END PROG LOAD LOG --" in err.log.
 */
import { isMainThread } from 'worker_threads';
import { fn, koffi, errnoName, strerror, lastErrno, LibbpfPrintFn } from './native';

export class BpfError extends Error {
  /** positive errno value (ENOENT = 2, ...) */
  readonly errno: number;
  /** libbpf's log lines captured while the failing call ran (verifier log, ...) */
  log?: string;
  /** the libbpf / syscall function that failed */
  readonly func: string;

  constructor(func: string, errno: number, detail?: string, log?: string) {
    const e = Math.abs(errno);
    super(`${func}${detail ? ` [${detail}]` : ''} failed: -${e} ${errnoName(e)} (${strerror(e)})` +
      (log ? `\n${lastLines(log, 8)}` : ''));
    this.name = 'BpfError';
    this.errno = e;
    this.func = func;
    if (log) this.log = log;
  }
}

function lastLines(s: string, n: number): string {
  const lines = s.trimEnd().split('\n');
  return (lines.length > n ? ['  ...'] : []).concat(lines.slice(-n).map((l) => `  ${l}`)).join('\n');
}

// ---------------------------------------------------------------------------
// libbpf print capture
// ---------------------------------------------------------------------------

export type LibbpfLogLevel = 'warn' | 'info' | 'debug';
export type LibbpfLogger = (level: LibbpfLogLevel, msg: string) => void;

const LEVELS: LibbpfLogLevel[] = ['warn', 'info', 'debug'];
const CAPTURE_MAX = 4 << 20; // keep at most ~4 MiB of log text (the tail)

let captured: string[] = [];
let capturedBytes = 0;
let userLogger: LibbpfLogger | null = defaultLogger();
let printCb: unknown = null;

const scratch = Buffer.alloc(16384);
const apCopy = Buffer.alloc(32); // x86-64 va_list is one 24-byte __va_list_tag
const IS_X64 = process.arch === 'x64';

function defaultLogger(): LibbpfLogger | null {
  // Silent by default (messages still land in BpfError.log); LIBBPF_DEBUG=1
  // prints everything libbpf says to stderr.
  const v = process.env.LIBBPF_DEBUG;
  if (!v || v === '0') return null;
  return (level, msg) => process.stderr.write(`libbpf[${level}]: ${msg}`);
}

function formatMessage(fmt: unknown, ap: unknown): string {
  // va_copy on x86-64 is a plain copy of the 24-byte tag: keep one so we can
  // format a second time into a bigger buffer when the first was too small.
  if (IS_X64) fn.memcpy(apCopy, ap, 24);
  const n = fn.vsnprintf(scratch, scratch.length, fmt, ap) as number;
  if (n < 0) return koffi.decode(fmt, 'char *') as string;
  if (n < scratch.length) return scratch.toString('utf8', 0, n);
  if (!IS_X64) return scratch.toString('utf8', 0, scratch.length - 1) + '...[truncated]\n';
  const big = Buffer.alloc(n + 1);
  fn.vsnprintf(big, big.length, fmt, apCopy);
  return big.toString('utf8', 0, n);
}

function onPrint(level: number, fmt: unknown, ap: unknown): number {
  try {
    let msg: string;
    try {
      msg = formatMessage(fmt, ap);
    } catch {
      msg = String(koffi.decode(fmt, 'char *'));
    }
    captured.push(msg);
    capturedBytes += msg.length;
    while (capturedBytes > CAPTURE_MAX && captured.length > 1) {
      capturedBytes -= captured.shift()!.length;
    }
    if (userLogger) userLogger(LEVELS[level] ?? 'debug', msg);
  } catch {
    /* never throw into C */
  }
  return 0;
}

/**
 * Install the process-wide libbpf print callback (idempotent). Only on the
 * main thread: libbpf has ONE global print hook, and a koffi callback that
 * belongs to a worker's isolate would be invoked from whichever thread calls
 * libbpf next. In worker threads the binding works but BpfError.log stays
 * empty (and libbpf messages from a worker go to the main thread's hook,
 * which koffi runs on the main thread: don't block the main thread waiting
 * for a worker that is inside libbpf object/attach calls).
 */
export function installLibbpfPrint(): void {
  if (printCb !== null || !isMainThread) return;
  printCb = koffi.register(onPrint, koffi.pointer(LibbpfPrintFn));
  fn.libbpf_set_print(printCb);
}

/** Route libbpf's messages to `logger` too (null: capture only). */
export function setLibbpfLogger(logger: LibbpfLogger | null): void {
  installLibbpfPrint();
  userLogger = logger;
}

/** Start a fresh capture window (call before a libbpf call that may log). */
export function beginCapture(): void {
  installLibbpfPrint();
  captured = [];
  capturedBytes = 0;
}

/** Text captured since beginCapture(), or undefined if libbpf said nothing. */
export function capturedLog(): string | undefined {
  return captured.length ? captured.join('') : undefined;
}

/**
 * Throw a BpfError if `ret` is a negative libbpf return. `ret` is the
 * function's return value (-errno in libbpf >= 1.0).
 */
export function check(ret: number, func: string, detail?: string, withLog = false): number {
  if (ret < 0) throw new BpfError(func, -ret, detail, withLog ? capturedLog() : undefined);
  return ret;
}

/** Throw for a NULL-returning libbpf call; errno is read from the C side. */
export function checkPtr<T>(p: T | null, func: string, detail?: string, withLog = false): T {
  if (p === null || p === undefined || p === 0n) {
    const e = lastErrno() || 22; /* EINVAL if libbpf forgot errno */
    throw new BpfError(func, e, detail, withLog ? capturedLog() : undefined);
  }
  return p;
}

installLibbpfPrint();
