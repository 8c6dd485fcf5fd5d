#!/usr/bin/env node
/* xdp-appctl: send a command to the running xdp-vswitchd, as ovs-appctl does. */
import { cli, run } from './common';

const USAGE = `$0 [options] COMMAND [ARG...]

Common commands (list-commands prints them all):
  dpctl/show [DP]             datapath statistics and ports
  dpctl/dump-flows [DP] [-m]  datapath flows (megaflows), OVS format
  dpctl/del-flows [DP]        delete all datapath flows
  fdb/show BRIDGE             learned MAC addresses
  fdb/flush [BRIDGE]          forget learned MAC addresses
  upcall/show                 upcall handler statistics
  version                     daemon version
  exit                        stop the daemon`;

void (async () => {
  const args = await cli('xdp-appctl', USAGE).parse();
  const words = (args._ as (string | number)[]).map(String);
  if (!words.length) {
    process.stderr.write('xdp-appctl: at least one non-option argument is required (use --help for help)\n');
    process.exit(1);
  }
  await run('xdp-appctl', args, words);
})();
