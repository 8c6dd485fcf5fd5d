/*
 * Sends raw frames out of an interface (run inside a test namespace with
 * `ip netns exec`): inject.js IFNAME HEX [HEX...]. Used for malformed frames.
 */
import * as fs from 'fs';
import { PacketSocket } from '../../src/netdev/rawsock';

const [ifname, ...frames] = process.argv.slice(2);
const ifindex = Number(fs.readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
const s = new PacketSocket();
for (const hex of frames) s.send(ifindex, Buffer.from(hex, 'hex'));
s.close();
