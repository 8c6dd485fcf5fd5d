/*
 * Leveled logging in OVS's vlog shape: `time|seq|module|LEVEL|message`.
 *
 * Under systemd (stderr connected to the journal, as JOURNAL_STREAM says)
 * each line starts with its sd-daemon(3) priority instead of a timestamp
 * (`<4>00012|dpif_xdp|WARN|message`): journald stamps the entry itself and
 * files it at that priority, so `journalctl -u xdp-vswitchd -p warning`
 * works. Continuation lines of a multi-line message (stack traces) carry the
 * same priority.
 *
 * Per-packet warnings go through rateLimited() so a flood of bad frames
 * cannot flood the log.
 */
import * as fs from 'fs';

export type Level = 'ERR' | 'WARN' | 'INFO' | 'DBG';
const ORDER: Record<Level, number> = { ERR: 0, WARN: 1, INFO: 2, DBG: 3 };
/** sd-daemon(3) / syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
const PRIORITY: Record<Level, number> = { ERR: 3, WARN: 4, INFO: 6, DBG: 7 };

export type LogStyle = 'vlog' | 'journal';

let threshold: Level = (process.env.XDP_VSWITCH_LOG as Level) in ORDER ? (process.env.XDP_VSWITCH_LOG as Level) : 'INFO';
let seq = 0;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');
let style: LogStyle | undefined; // decided on first use

export function setLogLevel(l: Level): void { threshold = l; }
export function setLogSink(f: (line: string) => void): void { sink = f; }
/** Forces a line style; `undefined` goes back to detecting it from JOURNAL_STREAM. */
export function setLogStyle(s: LogStyle | undefined): void { style = s; }
export function logStyle(): LogStyle { return (style ??= stderrIsJournal() ? 'journal' : 'vlog'); }

/**
 * True when file descriptor `fd` (stderr) is the stream systemd connected to
 * the journal. JOURNAL_STREAM ("DEV:INODE") is inherited by children whose
 * stderr may have been redirected, so, as sd-daemon(3) recommends, the
 * device and inode are compared with the descriptor's own.
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env, fd = 2): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]) && st.ino === BigInt(m[2]);
  } catch {
    return false;
  }
}

/** One log record as text (possibly several lines, without the final newline). */
export function formatLine(s: LogStyle, module: string, level: Level, n: number, msg: string, now = new Date()): string {
  const head = `${String(n).padStart(5, '0')}|${module}|${level}|`;
  if (s === 'vlog') return `${now.toISOString()}|${head}${msg}`;
  const pri = `<${PRIORITY[level]}>`;
  // journald makes one entry per line: each needs its priority.
  return pri + head + msg.replace(/\n/g, `\n${pri}  `);
}

export class Vlog {
  private buckets = new Map<string, { tokens: number; last: number; dropped: number }>();
  constructor(readonly module: string) {}

  enabled(level: Level): boolean { return ORDER[level] <= ORDER[threshold]; }

  log(level: Level, msg: string): void {
    if (!this.enabled(level)) return;
    seq = (seq + 1) % 100000;
    sink(formatLine(logStyle(), this.module, level, seq, msg));
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
