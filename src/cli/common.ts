/* Shared by the CLIs: global options, finding the daemon, printing errors as OVS tools do. */
import * as path from 'path';
import yargs, { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { resolveDirs, CONTROL_SOCKET } from '../lib/paths';
import { controlRequest } from '../daemon/control';

export interface GlobalArgs { rundir?: string; dbdir?: string; timeout: number }

export function cli(name: string, usage: string): Argv<GlobalArgs> {
  return yargs(hideBin(process.argv))
    .scriptName(name)
    .usage(usage)
    .option('rundir', { type: 'string', describe: 'daemon run directory (env XDP_VSWITCH_RUNDIR, default /run/xdp-vswitch)' })
    .option('dbdir', { type: 'string', describe: 'daemon database directory (env XDP_VSWITCH_DBDIR, default /var/lib/xdp-vswitch)' })
    .option('timeout', { type: 'number', default: 30, describe: 'seconds to wait for the daemon' })
    .parserConfiguration({ 'unknown-options-as-args': true, 'halt-at-non-option': true })
    .help()
    .strict(false) as unknown as Argv<GlobalArgs>;
}

/** Sends argv to the daemon; prints its output, or the error and exits 1. */
export async function run(name: string, g: GlobalArgs, argv: string[]): Promise<void> {
  const sock = path.join(resolveDirs(g).rundir, CONTROL_SOCKET);
  try {
    process.stdout.write(await controlRequest(sock, argv, g.timeout * 1000));
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

/** A CLI whose words go to the daemon as they are (prefixed, for vsctl). */
export function forwardingCli(name: string, usage: string, prefix: string[], missing: string): void {
  void (async () => {
    const args = await cli(name, usage).parse();
    const words = (args._ as (string | number)[]).map(String);
    if (!words.length) {
      process.stderr.write(`${name}: ${missing} (use --help for help)\n`);
      process.exit(1);
    }
    await run(name, args, [...prefix, ...words]);
  })();
}
