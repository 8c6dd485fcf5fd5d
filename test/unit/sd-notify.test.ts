/*
 * sd-notify: what xdp-vswitchd tells systemd, over a real unix datagram
 * socket (a python3 listener standing in for systemd). No root needed.
 */
import { strict as assert } from 'assert';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  sdNotify, setBackend, notifyReady, notifyReloading, notifyReloaded, notifyStopping, resetPhase, startWatchdog, stopWatchdog,
} from '../../src/daemon/sd-notify';
import { setLogSink, setLogStyle } from '../../src/lib/vlog';
import { NotifySocket, hasField } from '../support/notify-socket';

describe('sd-notify', function () {
  this.timeout(20000);
  let dir: string;
  const saved = { NOTIFY_SOCKET: process.env.NOTIFY_SOCKET, WATCHDOG_USEC: process.env.WATCHDOG_USEC, WATCHDOG_PID: process.env.WATCHDOG_PID };
  const sockets: NotifySocket[] = [];
  const listen = async (address: string): Promise<NotifySocket> => {
    const s = await NotifySocket.open(address);
    sockets.push(s);
    process.env.NOTIFY_SOCKET = address;
    return s;
  };

  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xvs-sdnotify-')); });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
    setBackend(undefined);
    resetPhase();
    stopWatchdog();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is a no-op without NOTIFY_SOCKET', () => {
    delete process.env.NOTIFY_SOCKET;
    for (const b of [undefined, 'libsystemd', 'libc'] as const) {
      setBackend(b);
      assert.equal(sdNotify('READY=1'), false);
    }
    assert.equal(notifyReady('up'), false);
    assert.equal(startWatchdog({ WATCHDOG_USEC: '1000000' }), 0, 'no watchdog pings without a socket');
  });

  for (const backend of ['libsystemd', 'libc'] as const) {
    it(`sends through ${backend} to a socket path`, async () => {
      setBackend(backend);
      const s = await listen(path.join(dir, `${backend}.sock`));
      assert.equal(sdNotify('READY=1\nSTATUS=hello'), true);
      const { message } = await s.waitFor((m) => hasField(m, 'READY=1'), 5000);
      assert.equal(message, 'READY=1\nSTATUS=hello');
    });

    it(`sends through ${backend} to an abstract socket (@name)`, async () => {
      setBackend(backend);
      const s = await listen(`@xvs-sdnotify-${randomBytes(6).toString('hex')}`);
      assert.equal(sdNotify('STATUS=abstract'), true);
      await s.waitFor((m) => m === 'STATUS=abstract', 5000);
    });
  }

  it('does not throw when nobody listens; warns, rate limited', () => {
    const lines: string[] = [];
    setLogStyle('vlog');
    setLogSink((l) => lines.push(l));
    try {
      process.env.NOTIFY_SOCKET = path.join(dir, 'nobody.sock');
      for (let i = 0; i < 20; i++) assert.equal(sdNotify('READY=1'), false);
    } finally {
      setLogSink((l) => process.stderr.write(l + '\n'));
      setLogStyle(undefined);
    }
    assert.ok(lines.length >= 1 && lines.length <= 5, `rate limited warnings, got ${lines.length}`);
    assert.match(lines[0], /\|sd_notify\|WARN\|cannot notify .*nobody\.sock \(READY=1\)/);
  });

  it('READY=1, RELOADING=1 ... READY=1 and STOPPING=1 in the order systemd expects', async () => {
    const s = await listen(path.join(dir, 'phases.sock'));
    assert.equal(notifyReloading('too early'), false, 'no RELOADING=1 before READY=1');
    assert.equal(notifyReloaded('too early'), false);
    assert.equal(notifyReady('running'), true);
    assert.equal(notifyReady('again'), false, 'READY=1 once for start-up');
    assert.equal(notifyReloading('reloading'), true);
    assert.equal(notifyReloading('overlapping'), false, 'one RELOADING=1 for overlapping reloads');
    assert.equal(notifyReloaded('first done'), false);
    assert.equal(notifyReloaded('reloaded'), true);
    assert.equal(notifyReloading('reloading 2'), true);
    assert.equal(notifyStopping('stopping'), true);
    assert.equal(notifyReloaded('late'), false, 'no READY=1 after STOPPING=1');
    assert.equal(notifyStopping('twice'), false);
    await s.waitFor((m) => hasField(m, 'STOPPING=1'), 5000);
    const got = s.messages.map((m) => m.split('\n').filter((l) => !l.startsWith('MONOTONIC_USEC=')).join('|'));
    assert.deepEqual(got, [
      'READY=1|STATUS=running',
      'RELOADING=1|STATUS=reloading',
      'READY=1|STATUS=reloaded',
      'RELOADING=1|STATUS=reloading 2',
      'STOPPING=1|STATUS=stopping',
    ]);
    const mono = /MONOTONIC_USEC=(\d+)/.exec(s.messages[1]);
    assert.ok(mono, 'RELOADING=1 carries MONOTONIC_USEC (systemd >= 253 wants it)');
    const now = Number(process.hrtime.bigint() / 1000n);
    assert.ok(Number(mono[1]) <= now && Number(mono[1]) > now - 60e6, 'MONOTONIC_USEC is CLOCK_MONOTONIC in µs');
  });

  it('STATUS= stays one line', async () => {
    const s = await listen(path.join(dir, 'status.sock'));
    notifyReady('two\nlines');
    const { message } = await s.waitFor((m) => hasField(m, 'READY=1'), 5000);
    assert.equal(message, 'READY=1\nSTATUS=two lines');
  });

  it('pings WATCHDOG=1 at half of WATCHDOG_USEC, only when WATCHDOG_PID is this process', async () => {
    const s = await listen(path.join(dir, 'watchdog.sock'));
    assert.equal(startWatchdog({ NOTIFY_SOCKET: process.env.NOTIFY_SOCKET, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid + 1) }), 0);
    assert.equal(startWatchdog({ NOTIFY_SOCKET: process.env.NOTIFY_SOCKET, WATCHDOG_USEC: 'x' }), 0);
    assert.equal(startWatchdog({ NOTIFY_SOCKET: process.env.NOTIFY_SOCKET, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) }), 100);
    const first = await s.waitFor((m) => m === 'WATCHDOG=1', 2000);
    await s.waitFor((m) => m === 'WATCHDOG=1', 2000, first.index + 1);
    await s.waitFor((m) => m === 'WATCHDOG=1', 2000, first.index + 2);
    stopWatchdog();
    const n = s.messages.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.messages.length, n, 'no pings after stopWatchdog()');
  });
});
