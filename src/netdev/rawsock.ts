/*
 * PacketSocket: an AF_PACKET / SOCK_RAW socket used only to transmit whole
 * Ethernet frames on a given interface (the daemon's "execute this packet on
 * that port" path, and tests injecting arbitrary frames).
 *
 * Opened with protocol 0, so it is not bound to any ethertype and receives
 * nothing. Frames go out exactly as given: no padding to 60 bytes, no
 * checksum fixing, so runts of 14..59 bytes and frames with bogus headers
 * can be injected; frames shorter than the 14-byte Ethernet header are
 * refused by the kernel (EINVAL).
 */
import koffi from 'koffi';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOCKADDR_LL_SIZE = 20;

const libc = koffi.load('libc.so.6');
const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number,
  sendto: libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)') as
    (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number | bigint,
  close: libc.func('int close(int fd)') as (fd: number) => number,
  strerror: libc.func('const char *strerror(int errnum)') as (e: number) => string,
};

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(koffi.os.errno)) if (!errnoNames.has(num)) errnoNames.set(num, name);

export class PacketSocketError extends Error {
  constructor(readonly func: string, readonly errno: number, detail: string) {
    super(`${func}${detail ? ` [${detail}]` : ''} failed: ${errnoNames.get(errno) ?? `errno ${errno}`} (${c.strerror(errno)})`);
    this.name = 'PacketSocketError';
  }
}

export class PacketSocket {
  private fd: number;
  /*
   * struct sockaddr_ll { u16 sll_family; be16 sll_protocol; int sll_ifindex;
   *   u16 sll_hatype; u8 sll_pkttype; u8 sll_halen; u8 sll_addr[8]; }  -> 20 bytes
   * Reused for every send; only protocol and ifindex change.
   */
  private readonly sll = Buffer.alloc(SOCKADDR_LL_SIZE);

  constructor() {
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new PacketSocketError('socket(AF_PACKET, SOCK_RAW, 0)', koffi.errno(), '');
    this.fd = fd;
    this.sll.writeUInt16LE(AF_PACKET, 0);
  }

  /** Transmit `frame` (a complete Ethernet frame) on `ifindex`. Throws on error (ENXIO/ENODEV, ENETDOWN, EMSGSIZE, ...). */
  send(ifindex: number, frame: Buffer): void {
    if (this.fd < 0) throw new PacketSocketError('sendto', 9 /* EBADF */, 'socket is closed');
    // sll_protocol: the frame's own ethertype (network order as in the frame), 0 if too short
    const proto = frame.length >= 14 ? frame.readUInt16LE(12) : 0;
    this.sll.writeUInt16LE(proto, 2);
    this.sll.writeInt32LE(ifindex, 4);
    const r = Number(c.sendto(this.fd, frame, frame.length, 0, this.sll, SOCKADDR_LL_SIZE));
    if (r < 0) throw new PacketSocketError('sendto', koffi.errno(), `ifindex ${ifindex}, ${frame.length} bytes`);
  }

  close(): void {
    if (this.fd >= 0) {
      c.close(this.fd);
      this.fd = -1;
    }
  }
}
