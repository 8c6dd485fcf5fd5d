#!/usr/bin/env node
/*
 * xdp-vswitchd: the switch daemon. Loads the stored configuration, serves
 * the control socket for xdp-vsctl / xdp-appctl, and runs until SIGTERM or
 * `xdp-appctl exit`. As OVS leaves its kernel flows, stopping leaves the
 * fast path attached and forwarding (programs and maps pinned in bpffs);
 * the next start adopts it. `--cleanup` / `exit --cleanup` remove it.
 * SIGHUP re-reads the configuration store.
 */
import * as fs from 'fs';
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { resolveDirs, CONTROL_SOCKET, PIDFILE } from '../lib/paths';
import { Vlog, setLogLevel, Level } from '../lib/vlog';
import { ConfigStore } from './config-store';
import { ControlServer } from './control';
import { Vswitchd, VERSION } from './vswitchd';
import { notifyReady, notifyReloading, notifyReloaded, notifyStopping, startWatchdog } from './sd-notify';
import { kernelVersion } from '../netlink';

const log = new Vlog('vswitchd');

function preflight(): void {
  if (process.getuid && process.getuid() !== 0) {
    throw new Error('xdp-vswitchd needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON): run it as root or under the systemd unit');
  }
  const k = kernelVersion();
  if (k.major < 5 || (k.major === 5 && k.minor < 10)) {
    throw new Error(`kernel ${k.release} is too old: xdp-vswitch needs Linux 5.10 or later (BTF, bounded loops, bpf_redirect_peer)`);
  }
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('xdp-vswitchd')
    .usage('$0 [options]\n\nThe xdp-vswitch daemon: OpenFlow switch with an XDP/TC eBPF fast path.')
    .option('rundir', { type: 'string', describe: 'sockets and pidfile (default /run/xdp-vswitch, env XDP_VSWITCH_RUNDIR)' })
    .option('dbdir', { type: 'string', describe: 'configuration store (default /var/lib/xdp-vswitch, env XDP_VSWITCH_DBDIR)' })
    .option('bpffs-dir', { type: 'string', describe: 'pinned fast path (default /sys/fs/bpf/xdp-vswitch, env XDP_VSWITCH_BPFFS)' })
    .option('cleanup', { type: 'boolean', default: false, describe: 'on exit, detach the fast path and unpin it (default: leave it forwarding)' })
    .option('log-level', { type: 'string', choices: ['ERR', 'WARN', 'INFO', 'DBG'], default: 'INFO' })
    .version(VERSION)
    .strict()
    .parse();
  setLogLevel(argv['log-level'] as Level);
  preflight();
  const dirs = resolveDirs({ rundir: argv.rundir, dbdir: argv.dbdir, bpffsDir: argv['bpffs-dir'] });
  fs.mkdirSync(dirs.rundir, { recursive: true, mode: 0o755 });
  const pidfile = path.join(dirs.rundir, PIDFILE);
  checkNotRunning(pidfile);
  fs.writeFileSync(pidfile, `${process.pid}\n`);

  const vswitchd = new Vswitchd(new ConfigStore(dirs.dbdir), dirs.rundir, { bpffs: dirs.bpffs });
  const control = new ControlServer(path.join(dirs.rundir, CONTROL_SOCKET), (a) => vswitchd.handle(a));
  let stopping = false;
  const stop = async (why: string, cleanup: boolean): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info(`${why}: stopping${cleanup ? ', removing the fast path' : ', pinned fast paths keep forwarding'}`);
    notifyStopping(cleanup ? 'stopping, removing the fast path' : 'stopping, the fast path keeps forwarding');
    await control.close().catch(() => undefined);
    await vswitchd.stop({ cleanup });
    try { fs.unlinkSync(pidfile); } catch { /* gone */ }
    process.exit(0);
  };
  vswitchd.onExit = (cleanup) => void stop('exit requested', cleanup || argv.cleanup);
  process.on('SIGTERM', () => void stop('SIGTERM', argv.cleanup));
  process.on('SIGINT', () => void stop('SIGINT', argv.cleanup));
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading the configuration store');
    notifyReloading('reloading the configuration store');
    vswitchd.reload().then(() => notifyReloaded('running, configuration reloaded'), (e: Error) => {
      log.err(`reload failed, running configuration kept: ${e.message}`);
      notifyReloaded(`running, reload failed (configuration kept): ${e.message}`);
    });
  });
  // The daemon must survive anything a client or the network sends; log what escapes.
  process.on('uncaughtException', (e) => log.rateLimited('ERR', 'uncaught', `uncaught exception: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => log.rateLimited('ERR', 'unhandled', `unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));

  await vswitchd.start();
  await control.listen();
  log.info(`xdp-vswitchd ${VERSION} ready (rundir ${dirs.rundir}, dbdir ${dirs.dbdir}, pid ${process.pid})`);
  notifyReady(`running (xdp-vswitchd ${VERSION})`);
  startWatchdog();
}

function checkNotRunning(pidfile: string): void {
  let pid: number;
  try { pid = Number(fs.readFileSync(pidfile, 'utf8').trim()); } catch { return; }
  if (!pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return;  // stale pidfile
  }
  throw new Error(`xdp-vswitchd is already running as pid ${pid} (${pidfile})`);
}

main().catch((e: Error) => {
  process.stderr.write(`xdp-vswitchd: ${e.message}\n`);
  process.exit(1);
});
