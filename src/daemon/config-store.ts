/*
 * The daemon's persistent configuration (bridges and their ports) in
 * DBDIR/conf.json, written atomically: temp file, fsync, rename, fsync of the
 * directory, so a crash mid-write leaves the old or the new file, never half.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PortHook } from '../dpif/dpif';

export interface PortRecord {
  ofport: number; hook: PortHook | 'auto'; tag?: number; trunks?: number[];
  /** Interface other_config. */
  otherConfig?: Record<string, string>;
}
export interface BridgeRecord {
  ports: Record<string, PortRecord>;
  /** set-controller targets (tcp:, ptcp:, unix:, punix:). */
  controllers?: string[];
  failMode?: 'standalone' | 'secure';
  /** Controller inactivity probe and reconnect backoff limit, ms (OVS Controller inactivity_probe / max_backoff). */
  inactivityProbeMs?: number;
  maxBackoffMs?: number;
  /** Bridge other_config (mac-aging-time, mac-table-size, ...). */
  otherConfig?: Record<string, string>;
}
export interface Config {
  uuid?: string;
  bridges: Record<string, BridgeRecord>;
  /** Open_vSwitch other_config (max-idle, flow-limit, ...). */
  otherConfig?: Record<string, string>;
}

export class ConfigStore {
  readonly file: string;
  constructor(dbdir: string) {
    fs.mkdirSync(dbdir, { recursive: true, mode: 0o750 });
    this.file = path.join(dbdir, 'conf.json');
  }

  load(): Config {
    // A temp file is all a crash mid-save leaves behind: the old conf.json is intact.
    for (const f of fs.readdirSync(path.dirname(this.file))) {
      if (f.startsWith(`${path.basename(this.file)}.tmp-`)) fs.rmSync(path.join(path.dirname(this.file), f), { force: true });
    }
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { bridges: {} };
      throw e;
    }
    let c: Config;
    try {
      c = JSON.parse(text) as Config;
    } catch (e) {
      throw new Error(`${this.file}: not valid JSON (${(e as Error).message}); fix or remove it`);
    }
    if (!c || typeof c !== 'object' || typeof c.bridges !== 'object') throw new Error(`${this.file}: not an xdp-vswitch configuration`);
    return c;
  }

  save(c: Config): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o640);
    try {
      fs.writeSync(fd, JSON.stringify(c, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    const dfd = fs.openSync(path.dirname(this.file), 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  }
}
