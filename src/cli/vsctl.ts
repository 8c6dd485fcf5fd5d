#!/usr/bin/env node
/* xdp-vsctl: configure bridges and ports of xdp-vswitchd, as ovs-vsctl does. */
import { forwardingCli } from './common';

const USAGE = `$0 [options] COMMAND [ARG...]

Bridge commands:
  add-br BRIDGE               create a new bridge (a learning switch: priority=0,actions=NORMAL)
  del-br BRIDGE               delete BRIDGE and all of its ports
  list-br                     print the names of all the bridges
  br-exists BRIDGE            exit 2 if BRIDGE does not exist
Port commands:
  add-port BRIDGE PORT [-- set Interface PORT ofport_request=N options:dp-hook=auto|tc|xdp|xdp-generic]
                              add network device PORT to BRIDGE
  del-port [BRIDGE] PORT      delete PORT from BRIDGE
  list-ports BRIDGE           print the names of all the ports on BRIDGE
  port-to-br PORT             print the name of the bridge that contains PORT
Controller commands:
  set-controller BRIDGE TARGET...  OpenFlow: ptcp:PORT[:IP], punix:PATH (listen), tcp:IP[:PORT], unix:PATH (connect)
  get-controller BRIDGE       print the controllers of BRIDGE
  del-controller BRIDGE       remove every controller of BRIDGE
  set Controller BRIDGE inactivity_probe=MS max_backoff=MS
  set-fail-mode BRIDGE standalone|secure   (get-fail-mode, del-fail-mode)
Status:
  show                        print overview of the configuration
Options --may-exist (add-br, add-port) and --if-exists (del-br, del-port) are accepted.`;

forwardingCli('xdp-vsctl', USAGE, ['vsctl'], 'missing command name');
