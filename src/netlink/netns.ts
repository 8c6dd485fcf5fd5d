/*
 * Network namespace helpers. A netlink socket lives in the netns of the thread
 * that created it, so to change a device in another netns we briefly move the
 * JS thread there (setns(2) via koffi), create the socket, and move back. This
 * is synchronous, so no other JS runs in between; setns(CLONE_NEWNET) affects
 * only the calling thread, so libuv's worker threads are untouched.
 */
import * as fs from 'fs';
import { NetlinkError } from './codec';

const CLONE_NEWNET = 0x40000000;

// koffi is loaded on first use only: everything else here works without FFI.
let libc: { setns: (fd: number, nstype: number) => number; errno: () => number } | undefined;
function setns(fd: number, nstype: number): void {
  if (!libc) {
    const koffi = require('koffi') as typeof import('koffi'); // eslint-disable-line @typescript-eslint/no-require-imports
    libc = { setns: koffi.load('libc.so.6').func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number, errno: () => koffi.errno() };
  }
  if (libc.setns(fd, nstype) !== 0) throw new NetlinkError('setns', libc.errno());
}

/** Run fn with the current thread in the netns behind netnsFd, then switch back. */
export function withNetns<T>(netnsFd: number, fn: () => T): T {
  // thread-self, not self: setns moved this thread only.
  const home = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    setns(netnsFd, CLONE_NEWNET);
    try {
      return fn();
    } finally {
      // Cannot really fail (we were just there, as the same user); if it did,
      // every later socket of this thread would be created in the wrong netns.
      setns(home, CLONE_NEWNET);
    }
  } finally {
    fs.closeSync(home);
  }
}

/**
 * Every netns we can open by path, one path each: named ones first
 * (/run/netns, as made by `ip netns add`), then those of running processes.
 * A netns kept alive only by an open fd or an unusual bind mount is not found.
 */
export function netnsCandidates(): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (path: string, id: string | undefined) => {
    if (!id || seen.has(id)) return;
    seen.add(id);
    out.push(path);
  };
  for (const dir of ['/run/netns', '/var/run/netns']) {
    let names: string[] = [];
    try { names = fs.readdirSync(dir); } catch { /* no named netns */ }
    for (const n of names) {
      const path = `${dir}/${n}`;
      try { add(path, `net:[${fs.statSync(path).ino}]`); } catch { /* stale */ }
    }
  }
  let pids: string[] = [];
  try { pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)); } catch { /* no /proc */ }
  for (const pid of pids) {
    const path = `/proc/${pid}/ns/net`;
    try { add(path, fs.readlinkSync(path)); } catch { /* exited, or not ours to see */ }
  }
  return out;
}
