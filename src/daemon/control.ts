/*
 * The daemon's control socket (OVS's unixctl): newline-delimited JSON over
 * RUNDIR/xdp-vswitchd.ctl. Request {id, argv}; reply {id, ok, out | err}.
 * A bad request gets an error reply; it never takes the daemon down.
 */
import * as net from 'net';
import * as fs from 'fs';
import { Vlog } from '../lib/vlog';

const log = new Vlog('unixctl');
const MAX_REQUEST = 1 << 20;

export type Handler = (argv: string[]) => Promise<string> | string;

export class ControlServer {
  private server?: net.Server;

  constructor(private readonly path: string, private readonly handler: Handler) {}

  async listen(): Promise<void> {
    try { fs.unlinkSync(this.path); } catch { /* not there */ }
    this.server = net.createServer((c) => this.serve(c));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => resolve());
    });
    fs.chmodSync(this.path, 0o600);    // root-only, like OVS's unixctl sockets
  }

  private serve(c: net.Socket): void {
    let buf = '';
    c.setEncoding('utf8');
    c.on('error', () => c.destroy());
    c.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) { c.end(JSON.stringify({ id: null, ok: false, err: 'request too large' }) + '\n'); return; }
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void this.reply(c, line);
      }
    });
  }

  private async reply(c: net.Socket, line: string): Promise<void> {
    let id: unknown = null;
    let res: object;
    try {
      const req = JSON.parse(line) as { id?: unknown; argv?: unknown };
      id = req.id ?? null;
      if (!Array.isArray(req.argv) || req.argv.length === 0 || !req.argv.every((a) => typeof a === 'string')) {
        throw new Error('request needs "argv": a non-empty array of strings');
      }
      res = { id, ok: true, out: await this.handler(req.argv as string[]) };
    } catch (e) {
      res = { id, ok: false, err: (e as Error).message };
      log.dbg(`request failed: ${(e as Error).message}`);
    }
    if (!c.destroyed) c.write(JSON.stringify(res) + '\n');
  }

  async close(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((r) => this.server!.close(() => r()));
    try { fs.unlinkSync(this.path); } catch { /* gone */ }
  }
}

/** Client side, used by the CLIs. */
export async function controlRequest(path: string, argv: string[], timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(path);
    let buf = '';
    const t = setTimeout(() => { c.destroy(); reject(new Error(`${path}: no reply within ${timeoutMs} ms`)); }, timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(JSON.stringify({ id: 1, argv }) + '\n'));
    c.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(t);
      c.end();
      try {
        const r = JSON.parse(buf.slice(0, nl)) as { ok: boolean; out?: string; err?: string };
        if (r.ok) resolve(r.out ?? ''); else reject(new Error(r.err ?? 'error'));
      } catch (e) {
        reject(new Error(`bad reply from daemon: ${(e as Error).message}`));
      }
    });
    c.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'is xdp-vswitchd running?' : e.message;
      reject(new Error(`cannot connect to ${path}: ${why}`));
    });
  });
}
