/*
 * sd_notify(3) for xdp-vswitchd under systemd (Type=notify): READY=1 once the
 * control socket is up, RELOADING=1 / READY=1 around a SIGHUP reload,
 * STOPPING=1 on the way out, STATUS= lines for `systemctl status`, and
 * WATCHDOG=1 pings when the unit has WatchdogSec=.
 *
 * Node has no unix datagram sockets, so the message goes out through koffi:
 * libsystemd.so.0's sd_notify() when the library is there, else a plain
 * libc socket(AF_UNIX, SOCK_DGRAM)/sendto() (a container started with
 * podman --sdnotify has NOTIFY_SOCKET but often no libsystemd).
 *
 * Without NOTIFY_SOCKET every call is a no-op that loads nothing. Nothing
 * here throws: a daemon that cannot tell systemd it is ready logs why and
 * keeps running (systemd then fails the start after TimeoutStartSec=).
 */
import koffi from 'koffi';
import { Vlog } from '../lib/vlog';

const log = new Vlog('sd_notify');

export type Backend = 'libsystemd' | 'libc';
/** >0 sent, 0 no NOTIFY_SOCKET, <0 -errno (sd_notify's convention). */
type Send = (state: string) => number;

const senders: Partial<Record<Backend, Send | null>> = {}; // null: could not be loaded
let forced: Backend | undefined;

/** Tests: use only this backend (undefined: libsystemd, falling back to libc). */
export function setBackend(b: Backend | undefined): void { forced = b; }

function load(b: Backend): Send | null {
  if (senders[b] !== undefined) return senders[b]!;
  try {
    senders[b] = b === 'libsystemd' ? libsystemdSender() : libcSender();
  } catch (e) {
    log.dbg(`${b} sd_notify unavailable: ${(e as Error).message}`);
    senders[b] = null;
  }
  return senders[b]!;
}

function libsystemdSender(): Send {
  const lib = koffi.load('libsystemd.so.0');
  const sdNotify = lib.func('int sd_notify(int unset_environment, const char *state)') as (u: number, s: string) => number;
  // libsystemd reads NOTIFY_SOCKET with getenv(); Node's process.env writes go to the C environment too.
  return (state) => sdNotify(0, state);
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_MAX = 108;

function libcSender(): Send {
  const libc = koffi.load('libc.so.6');
  const socket = libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number;
  const sendto = libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)') as
    (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number) => number | bigint;
  const close = libc.func('int close(int fd)') as (fd: number) => number;
  return (state) => {
    const target = process.env.NOTIFY_SOCKET;
    if (!target) return 0;
    // "@name" is an abstract socket (leading NUL, no terminating NUL); otherwise an absolute path.
    const abstract = target.startsWith('@');
    if (!abstract && !target.startsWith('/')) return -97; // -EAFNOSUPPORT (e.g. "vsock:..." needs libsystemd)
    const name = Buffer.from(abstract ? target.slice(1) : target);
    if (name.length + 1 > SUN_PATH_MAX) return -36; // -ENAMETOOLONG
    const addr = Buffer.alloc(2 + SUN_PATH_MAX);
    addr.writeUInt16LE(AF_UNIX, 0);
    name.copy(addr, abstract ? 3 : 2);
    const alen = 2 + name.length + 1;
    const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -koffi.errno();
    try {
      const msg = Buffer.from(state);
      const n = Number(sendto(fd, msg, msg.length, MSG_NOSIGNAL, addr, alen));
      return n < 0 ? -koffi.errno() : 1;
    } finally {
      close(fd);
    }
  };
}

/**
 * Sends `state` ("READY=1\nSTATUS=...") to the service manager. Returns true
 * if it was sent, false when there is no NOTIFY_SOCKET or it failed (logged).
 */
export function sdNotify(state: string): boolean {
  if (!process.env.NOTIFY_SOCKET) return false;
  const order: Backend[] = forced ? [forced] : ['libsystemd', 'libc'];
  const why: string[] = [];
  for (const b of order) {
    const send = load(b);
    if (!send) { why.push(`${b}: not available`); continue; }
    try {
      const r = send(state);
      if (r > 0) return true;
      why.push(`${b}: ${r === 0 ? 'NOTIFY_SOCKET not seen' : `errno ${-r}`}`);
    } catch (e) {
      why.push(`${b}: ${(e as Error).message}`);
    }
  }
  log.rateLimited('WARN', 'send', `cannot notify ${process.env.NOTIFY_SOCKET} (${state.split('\n')[0]}): ${why.join('; ')}`);
  return false;
}

/** STATUS= text is one line. */
const status = (s: string): string => `STATUS=${s.replace(/\n/g, ' ')}`;
/** CLOCK_MONOTONIC in microseconds (libuv's hrtime is CLOCK_MONOTONIC), as systemd >= 253 wants with RELOADING=1. */
const monotonicUsec = (): string => `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`;

/*
 * The daemon's phases as systemd should see them. Notifications out of
 * order are not sent: no READY=1 after STOPPING=1 (a reload finishing while
 * the daemon stops), no RELOADING=1 before the first READY=1 (a SIGHUP
 * during start-up), and overlapping reloads make one RELOADING=1 ... READY=1.
 */
let phase: 'starting' | 'ready' | 'stopping' = 'starting';
let reloads = 0;

/** Start-up is complete. */
export function notifyReady(text: string): boolean {
  if (phase !== 'starting') return false;
  phase = 'ready';
  return sdNotify(`READY=1\n${status(text)}`);
}
/** A reload begins; pair with notifyReloaded() (whether it worked or not). */
export function notifyReloading(text: string): boolean {
  if (phase !== 'ready' || reloads++ > 0) return false;
  return sdNotify(`RELOADING=1\n${status(text)}\n${monotonicUsec()}`);
}
/** A reload is over: READY=1 again once the last overlapping one ends. */
export function notifyReloaded(text: string): boolean {
  if (reloads === 0 || --reloads > 0 || phase !== 'ready') return false;
  return sdNotify(`READY=1\n${status(text)}`);
}
export function notifyStopping(text: string): boolean {
  if (phase === 'stopping') return false;
  phase = 'stopping';
  return sdNotify(`STOPPING=1\n${status(text)}`);
}
export function notifyStatus(text: string): boolean { return sdNotify(status(text)); }
/** Tests: back to the state of a fresh process. */
export function resetPhase(): void { phase = 'starting'; reloads = 0; }

let watchdog: NodeJS.Timeout | undefined;

/**
 * With WatchdogSec= systemd passes WATCHDOG_USEC (and WATCHDOG_PID, which
 * must be us) and kills the service if WATCHDOG=1 does not come at least
 * that often. The pings come from a timer on the event loop, at half the
 * period, so a wedged event loop (everything in the daemon runs on it)
 * stops them. Returns the ping interval in ms, or 0 when there is no
 * watchdog.
 */
export function startWatchdog(env: NodeJS.ProcessEnv = process.env): number {
  stopWatchdog();
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.NOTIFY_SOCKET || !Number.isFinite(usec) || usec <= 0) return 0;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return 0;
  const ms = Math.max(1, Math.floor(usec / 2000));
  watchdog = setInterval(() => sdNotify('WATCHDOG=1'), ms);
  watchdog.unref();
  sdNotify('WATCHDOG=1');
  log.dbg(`systemd watchdog: pinging every ${ms} ms`);
  return ms;
}

export function stopWatchdog(): void {
  if (watchdog) clearInterval(watchdog);
  watchdog = undefined;
}
