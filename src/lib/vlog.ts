/*
 * Leveled logging in OVS's vlog shape: `time|seq|module|LEVEL|message`.
 * Per-packet warnings go through rateLimited() so a flood of bad frames
 * cannot flood the log.
 */
export type Level = 'ERR' | 'WARN' | 'INFO' | 'DBG';
const ORDER: Record<Level, number> = { ERR: 0, WARN: 1, INFO: 2, DBG: 3 };

let threshold: Level = (process.env.XDP_VSWITCH_LOG as Level) in ORDER ? (process.env.XDP_VSWITCH_LOG as Level) : 'INFO';
let seq = 0;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(l: Level): void { threshold = l; }
export function setLogSink(f: (line: string) => void): void { sink = f; }

export class Vlog {
  private buckets = new Map<string, { tokens: number; last: number; dropped: number }>();
  constructor(readonly module: string) {}

  log(level: Level, msg: string): void {
    if (ORDER[level] > ORDER[threshold]) return;
    seq = (seq + 1) % 100000;
    sink(`${new Date().toISOString()}|${String(seq).padStart(5, '0')}|${this.module}|${level}|${msg}`);
  }
  err(msg: string): void { this.log('ERR', msg); }
  warn(msg: string): void { this.log('WARN', msg); }
  info(msg: string): void { this.log('INFO', msg); }
  dbg(msg: string): void { this.log('DBG', msg); }

  /** At most `perMinute` messages per `key` per minute; says how many it dropped. */
  rateLimited(level: Level, key: string, msg: string, perMinute = 5): void {
    const now = Date.now();
    let b = this.buckets.get(key);
    if (!b) { b = { tokens: perMinute, last: now, dropped: 0 }; this.buckets.set(key, b); }
    b.tokens = Math.min(perMinute, b.tokens + ((now - b.last) / 60000) * perMinute);
    b.last = now;
    if (b.tokens < 1) { b.dropped++; return; }
    b.tokens -= 1;
    const note = b.dropped ? ` (${b.dropped} similar messages suppressed)` : '';
    b.dropped = 0;
    this.log(level, msg + note);
  }
}
