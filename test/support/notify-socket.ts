/*
 * A stand-in for systemd's notification socket: a unix datagram socket
 * (which Node cannot open) served by a small python3 listener that prints
 * every datagram as one JSON string per line.
 */
import { spawn, ChildProcess } from 'child_process';

const PYTHON = '/usr/bin/python3';
const LISTENER = `
import json, socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + a[1:] if a.startswith('@') else a)
print('LISTENING', flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

export class NotifySocket {
  /** Every datagram received so far, in order. */
  readonly messages: string[] = [];
  private waiters: Array<() => void> = [];
  private stderr = '';

  private constructor(readonly address: string, private readonly proc: ChildProcess) {}

  /** Listens on `address`: a path, or "@name" for an abstract socket (as NOTIFY_SOCKET spells them). */
  static async open(address: string): Promise<NotifySocket> {
    const proc = spawn(PYTHON, ['-c', LISTENER, address], { stdio: ['ignore', 'pipe', 'pipe'] });
    const ns = new NotifySocket(address, proc);
    proc.stderr!.on('data', (d: Buffer) => { ns.stderr += d.toString(); });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      let listening = false;
      proc.on('error', reject);
      proc.on('exit', (code) => { if (!listening) reject(new Error(`notify listener exited ${code}: ${ns.stderr}`)); });
      proc.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line === 'LISTENING') { listening = true; resolve(); continue; }
          ns.messages.push(JSON.parse(line) as string);
          for (const w of ns.waiters.splice(0)) w();
        }
      });
    });
    return ns;
  }

  /**
   * Resolves with the first message at index >= `from` for which `pred` is
   * true (and its index); rejects after `timeoutMs` listing what came.
   */
  async waitFor(pred: (m: string) => boolean, timeoutMs: number, from = 0): Promise<{ message: string; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.messages.findIndex((m, i) => i >= from && pred(m));
      if (index >= 0) return { message: this.messages[index], index };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching notification within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(from))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  close(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

/** True when the datagram carries `field` (e.g. "READY=1") as one of its lines. */
export function hasField(message: string, field: string): boolean {
  return message.split('\n').includes(field);
}
