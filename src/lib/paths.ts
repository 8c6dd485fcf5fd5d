/* Locations: the package root (for bpf/*.o) and the run/db directories. */
import * as fs from 'fs';
import * as path from 'path';

export function packageRoot(): string {
  let d = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'bpf'))) return d;
    const up = path.dirname(d);
    if (up === d) throw new Error(`cannot find the xdp-vswitch package root above ${__dirname}`);
    d = up;
  }
}

export function bpfObjectPath(name: string): string {
  const p = path.join(packageRoot(), 'bpf', name);
  if (!fs.existsSync(p)) throw new Error(`BPF object ${p} is missing: run "npm run build" first`);
  return p;
}

export interface Dirs { rundir: string; dbdir: string; bpffs: string }

/**
 * --rundir/--dbdir/--bpffs-dir, else XDP_VSWITCH_RUNDIR/_DBDIR/_BPFFS, else
 * the system defaults. `bpffs` holds the pinned programs and maps that keep
 * the fast path forwarding while the daemon restarts.
 */
export function resolveDirs(args: { rundir?: string; dbdir?: string; bpffsDir?: string }): Dirs {
  return {
    rundir: path.resolve(args.rundir ?? process.env.XDP_VSWITCH_RUNDIR ?? '/run/xdp-vswitch'),
    dbdir: path.resolve(args.dbdir ?? process.env.XDP_VSWITCH_DBDIR ?? '/var/lib/xdp-vswitch'),
    bpffs: path.resolve(args.bpffsDir ?? process.env.XDP_VSWITCH_BPFFS ?? '/sys/fs/bpf/xdp-vswitch'),
  };
}

export const CONTROL_SOCKET = 'xdp-vswitchd.ctl';
export const PIDFILE = 'xdp-vswitchd.pid';
