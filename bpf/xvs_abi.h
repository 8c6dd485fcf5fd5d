/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xdp-vswitch datapath ABI: the one definition of every structure that crosses
 * the user/kernel line (flow key, megaflow and EMC entries, actions, stats,
 * upcall records). src/dpif/xvs-abi.ts mirrors it; test/unit/abi.test.ts
 * compiles this header and checks every offset and size against the codec.
 *
 * All multi-byte protocol fields are kept in network byte order, exactly as
 * they sit in the packet; datapath-internal numbers (ports, ids, counters)
 * are host order.
 */
#ifndef XVS_ABI_H
#define XVS_ABI_H

#include <linux/types.h>
#include <linux/bpf.h>      /* struct bpf_spin_lock */

#define XVS_MAX_MASKS     64      /* subtables probed by the fast path */
#define XVS_MAX_ACTIONS   16      /* actions per megaflow */
#define XVS_MAX_FLOWS     65536   /* megaflow slots as compiled (flows[], flow_stats[], megaflow hash);
                                   * the daemon resizes these maps at load (other_config:flow-limit) */
#define XVS_EMC_ENTRIES   8192    /* exact-match cache slots per CPU (direct-mapped, power of 2) */
#define XVS_MAX_PORTS     1024    /* datapath port numbers 0..1023 */
#define XVS_UPCALL_MAX_PKT 9216   /* bytes of packet copied to userspace at most */
#define XVS_MAX_METERS    1024    /* datapath meter ids 0..1023 */

/* nw_frag (as OVS's FLOW_NW_FRAG_*) */
#define XVS_FRAG_ANY      0x01    /* set for any IP fragment */
#define XVS_FRAG_LATER    0x02    /* set for fragments with offset != 0 */

/* vlan_tci: OVS keeps bit 0x1000 (the CFI/DEI position) as "tag present" */
#define XVS_VLAN_PRESENT  0x1000

/*
 * The flow key (80 bytes, 10 x u64 so masking is ten 64-bit ANDs).
 * Layout follows OVS's struct flow for the fields the datapath extracts:
 * ARP opcode lives in nw_proto and ARP SPA/TPA in the first 4 bytes of
 * nw_src/nw_dst; ICMP type/code live in tp_src/tp_dst (network order, value
 * in the low byte) as OVS's flow does.
 */
struct xvs_flow_key {
	__u32  in_port;        /*  0: datapath port number */
	__u8   eth_src[6];     /*  4 */
	__u8   eth_dst[6];     /* 10 */
	__be16 eth_type;       /* 16: inner type when a VLAN tag is present */
	__be16 vlan_tci;       /* 18: XVS_VLAN_PRESENT | PCP | VID, or 0 */
	__u8   nw_proto;       /* 20: IP protocol / IPv6 next header / ARP op (low byte) */
	__u8   nw_tos;         /* 21: DSCP + ECN / IPv6 traffic class */
	__u8   nw_ttl;         /* 22: TTL / hop limit */
	__u8   nw_frag;        /* 23: XVS_FRAG_* */
	__be32 ipv6_label;     /* 24: low 20 bits */
	__u8   nw_src[16];     /* 28: IPv4 (first 4 bytes) / IPv6 / ARP SPA */
	__u8   nw_dst[16];     /* 44: IPv4 (first 4 bytes) / IPv6 / ARP TPA */
	__u8   arp_sha[6];     /* 60 */
	__u8   arp_tha[6];     /* 66 */
	__be16 tp_src;         /* 72: L4 source port / ICMP type */
	__be16 tp_dst;         /* 74: L4 destination port / ICMP code */
	__be16 tcp_flags;      /* 76: low 12 bits of the TCP flags word */
	__u16  tuple_id;       /* 78: 0 in packet keys; mask id in megaflow hash keys */
};

#define XVS_KEY_WORDS (sizeof(struct xvs_flow_key) / 8)

/* A subtable: the mask applied before probing the megaflow hash. */
struct xvs_mask {
	struct xvs_flow_key mask;   /* tuple_id of the mask is always 0 */
};

/*
 * Probe order of the subtables. Two copies: userspace writes the inactive one,
 * then flips mask_order_sel so the program never sees a torn list.
 */
struct xvs_mask_order {
	__u32 n;                      /* number of valid entries */
	__u32 pad;
	__u16 ids[XVS_MAX_MASKS];     /* mask ids (index in masks[]) */
};

/* Value of the EMC and of the megaflow hash: which flows[] slot, which incarnation. */
struct xvs_flow_ref {
	__u32 flow_id;
	__u32 gen;
};

/* Action types. Drop = a flow with n_actions == 0. */
enum xvs_action_type {
	XVS_ACT_OUTPUT = 1,        /* port: datapath port number */
	XVS_ACT_USERSPACE = 2,     /* send to the daemon (slow path); arg = userdata */
	XVS_ACT_FLOOD = 3,         /* every port of the datapath but the ingress (DEVMAP broadcast);
	                            * where the hook cannot (TC, XDP without XVS_CFG_F_BROADCAST)
	                            * it is an XVS_UPCALL_ACTION upcall with userdata = arg */
	XVS_ACT_SET_ETH_SRC = 4,   /* data[0..5] */
	XVS_ACT_SET_ETH_DST = 5,   /* data[0..5] */
	XVS_ACT_SET_IPV4_SRC = 6,  /* data[0..3], fixes IP + L4 checksums */
	XVS_ACT_SET_IPV4_DST = 7,  /* data[0..3], fixes IP + L4 checksums */
	XVS_ACT_SET_IPV4_TOS = 8,  /* data[0] */
	XVS_ACT_SET_IPV4_TTL = 9,  /* data[0] */
	XVS_ACT_SET_TP_SRC = 10,   /* data[0..1], TCP/UDP per key nw_proto, fixes L4 checksum */
	XVS_ACT_SET_TP_DST = 11,   /* data[0..1] */
	XVS_ACT_PUSH_VLAN = 12,    /* tpid field (network order) + tci in arg (host order, without 0x1000) */
	XVS_ACT_POP_VLAN = 13,
	XVS_ACT_METER = 14,        /* arg = meter id; the band's drop ends the list (drop) */
	XVS_ACT_SET_IPV6_ADDR = 15,   /* data[0..7] -> IPv6 header bytes arg..arg+7 (8, 16: source;
	                               * 24, 32: destination; an address takes two), fixes the
	                               * TCP/UDP/ICMPv6 checksum (not for a destination behind a
	                               * routing header with segments left, as OVS) */
	XVS_ACT_SET_IPV6_MASKED = 16, /* IPv6 header 32-bit word at byte arg (0 or 4):
	                               * (word & ~data[4..7]) | data[0..3], both network order
	                               * (traffic class, flow label, hop limit) */
};

struct xvs_action {            /* 16 bytes */
	__u8   type;               /* enum xvs_action_type */
	__u8   pad;
	__be16 tpid;               /* PUSH_VLAN */
	__u32  arg;                /* OUTPUT: port; PUSH_VLAN: tci (host order); USERSPACE: userdata;
	                            * METER: meter id; SET_IPV6_*: byte offset in the IPv6 header */
	__u8   data[8];            /* SET_*: new value, network order */
};

/* flags of struct xvs_flow */
#define XVS_FLOW_F_ALIVE      0x1

struct xvs_flow {              /* value of flows[flow_id] */
	__u32 gen;                 /* bumped by userspace when the slot is freed or reused */
	__u16 flags;               /* XVS_FLOW_F_* */
	__u16 n_actions;
	struct xvs_action actions[XVS_MAX_ACTIONS];
};

struct xvs_flow_stats {        /* per-CPU value of flow_stats[flow_id] */
	__u64 packets;
	__u64 bytes;
	__u64 used_ns;             /* CLOCK_MONOTONIC of the last hit, tick resolution (read once per tick per CPU) */
	__u16 tcp_flags;           /* OR of TCP flags seen */
	__u16 pad[3];
};

/* Datapath counters: per-CPU array, one element. */
struct xvs_dp_stats {
	__u64 emc_hit;
	__u64 mf_hit;              /* megaflow hits (EMC misses that hit a subtable) */
	__u64 missed;              /* upcalls attempted */
	__u64 lost;                /* upcalls that could not be queued (perf ring full) */
	__u64 masks_probed;        /* subtables probed for the megaflow hits: hit-per-pkt = this / mf_hit */
	__u64 tx_errors;           /* redirects that failed */
	__u64 slow_path;           /* packets sent to userspace by a USERSPACE action */
	__u64 parse_truncated;     /* frames whose headers ended early (keyed on what was parsed) */
};

/* Upcall record: what the program writes to the perf event array, followed by
 * min(pkt_len, XVS_UPCALL_MAX_PKT) packet bytes (perf output appends them).
 * The bytes are the whole frame (as received for a MISS, after the actions
 * before it for an ACTION upcall): at TC a VLAN tag the kernel had moved into
 * skb metadata is put back in front of the type (and counted in pkt_len); at
 * XDP pkt_len is the (single-buffer) frame. The datapath drops the packet
 * after an upcall. */
enum xvs_upcall_cmd {
	XVS_UPCALL_MISS = 1,       /* OVS_PACKET_CMD_MISS */
	XVS_UPCALL_ACTION = 2,     /* OVS_PACKET_CMD_ACTION: a USERSPACE action */
};

/* hook the packet was seen at */
#define XVS_HOOK_XDP 1
#define XVS_HOOK_TC  2

struct xvs_upcall {            /* 96 bytes */
	__u8  cmd;                 /* enum xvs_upcall_cmd */
	__u8  hook;                /* XVS_HOOK_* */
	__u16 pad;
	__u32 pkt_len;             /* full length of the frame */
	__u32 cap_len;             /* bytes of packet that follow */
	__u32 userdata;            /* USERSPACE action arg */
	struct xvs_flow_key key;   /* as extracted (tuple_id 0) */
};

/* Per-port configuration, ports[port_no] (array). */
struct xvs_port {
	__u32 ifindex;             /* 0 = no such port */
	__u32 flags;               /* XVS_PORT_F_* */
};
#define XVS_PORT_F_TC   0x1    /* this port runs the TC program (veth) */

/* Global config, config[0] (array). */
struct xvs_config {
	__u32 mask_order_sel;      /* 0 or 1: which mask_order copy is live */
	__u32 flags;               /* XVS_CFG_F_* */
	__u32 emc_insert_inv_prob; /* insert into the EMC with probability 1/N (0 or 1 = always) */
	__u32 pad;
};
#define XVS_CFG_F_BROADCAST 0x1    /* kernel has DEVMAP broadcast (5.13+) */
#define XVS_CFG_F_EMC       0x2    /* exact-match cache enabled */

/*
 * Datapath meter, meters[id] (array): OVS's single drop band. A token bucket
 * in units where the rate is units per ns: kbps -> 1e-6 bit, pps -> 1e-9
 * packet, so a packet costs len * 8e6 or 1e9 and a full bucket holds
 * burst * 1e9 (burst in kbit or packets). Userspace writes the whole value
 * with BPF_F_LOCK (bucket full, last_ns 0: the first packet refills it).
 */
#define XVS_METER_F_VALID 0x1      /* 0 = no such meter: packets pass (OVS) */
#define XVS_METER_F_KBPS  0x2      /* rate in kbit/s, else packets/s */

struct xvs_meter {                 /* 80 bytes */
	struct bpf_spin_lock lock;
	__u32 flags;                   /* XVS_METER_F_* */
	__u64 rate;                    /* kbps or pps */
	__u64 bucket_max;              /* burst * 1e9 */
	__u64 max_delta_ns;            /* ns that fill an empty bucket: longer gaps clamp (no overflow) */
	__u64 bucket;
	__u64 last_ns;                 /* clock of the last refill (xvs_now) */
	__u64 packets;                 /* every packet metered */
	__u64 bytes;
	__u64 dropped;                 /* packets the band dropped */
	__u64 dropped_bytes;
};

/* The "packet" userspace hands to xvs_meter_run with BPF_PROG_RUN: the slow
 * path charges a meter (and reads its stats) under the same lock. */
#define XVS_METER_OP_EXEC 1        /* charge len; verdict 1 = dropped */
#define XVS_METER_OP_READ 2        /* stats out; verdict 1 = meter exists */

struct xvs_meter_req {             /* 48 bytes, in and out */
	__u32 op;
	__u32 id;
	__u32 len;
	__u32 verdict;
	__u64 packets;
	__u64 bytes;
	__u64 dropped;
	__u64 dropped_bytes;
};

#endif /* XVS_ABI_H */
