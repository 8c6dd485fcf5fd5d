#!/usr/bin/env node
/* xdp-appctl: send a command to the running xdp-vswitchd, as ovs-appctl does. */
import { forwardingCli } from './common';

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

forwardingCli('xdp-appctl', USAGE, [], 'at least one non-option argument is required');
