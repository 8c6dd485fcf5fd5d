// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * xdp-vswitch fast path: one flow key extraction, EMC, megaflow tuple-space
 * search and action execution, compiled for two hooks that share every map:
 *
 *   xvs_xdp  SEC("xdp")  XDP on the port's device
 *   xvs_tc   SEC("tc")   cls_bpf direct-action at ingress (veth ports: XDP there
 *                        costs the peer TSO and loses CHECKSUM_PARTIAL)
 *
 * The hook-specific bits (ctx fields, verdicts, packet writes, redirects) are
 * behind `hook`, a compile-time constant in every inlined function, so each
 * program only carries its own side.
 *
 * Per packet: in_port from port_of_ifindex (unknown device: pass untouched),
 * key extraction into per-CPU scratch, EMC, then subtables in mask_order; a
 * hit runs the flow's actions, a miss sends a MISS upcall (key + packet) on
 * the perf ring and drops the packet: userspace installs the megaflow and
 * re-executes the packet itself.
 *
 * Meters (OVS's drop band): a token bucket per meter under bpf_spin_lock;
 * xvs_meter_run lets the daemon charge the same buckets for the packets it
 * executes itself (BPF_PROG_RUN), so both paths share one rate.
 *
 * Limits: XDP redirects a frame once, so the first OUTPUT (or a broadcast
 * FLOOD) ends the action list there; userspace only installs XDP flows that
 * fit. A USERSPACE action, and FLOOD wherever the kernel cannot do it, hands
 * the packet to userspace and ends the list.
 *
 * Verifier: all XVS_MAX_MASKS subtables are probed by one bounded loop (no
 * bpf_loop, no tail call; loads on 5.10). Values whose exact value would
 * split the verifier's states (header offsets, action counts, the consuming
 * OUTPUT) go through map memory, and each action is one BPF-to-BPF call.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xvs_abi.h"
#include "xvs_parse.h"
#include "xvs_csum.h"

/* Per-CPU working memory. The flow key lives here rather than on the stack:
 * it is the upcall header's key in place (no copy for perf output), and the
 * verifier does not track map contents, so every parse path reaches the
 * lookup in the same state instead of one state per header combination. */
#define XVS_PORT_CACHE 64

struct xvs_scratch {
	struct xvs_upcall up;          /* up.key: the packet's flow key */
	struct xvs_flow_key masked;    /* key & mask of the subtable being probed */
	struct xvs_layout lay;         /* header offsets for set-field actions */
	__s32 last_out;                /* TC: index of the consuming OUTPUT */
	__u32 port_cache[XVS_PORT_CACHE];   /* ifindex % XVS_PORT_CACHE -> port_no, see xvs_in_port() */
	__u64 clock_jiffies;           /* see xvs_used_now() */
	__u64 clock_ns;
};

/* ---- maps (names are the userspace contract) ------------------------------ */

/*
 * The exact-match cache, per CPU as OVS's is per PMD thread: direct-mapped,
 * indexed by a multiplicative hash of the key, the full key compared on a
 * probe. A kernel HASH/LRU_HASH would jhash all 80 key bytes and take the LRU
 * lock on insert; this costs ten multiplies and ten compares. Only this CPU
 * writes its copy, and the hooks do not nest (softirq), so an entry is never
 * read half-written by a packet. An empty (zeroed) entry never matches: a
 * packet's key has in_port >= 1.
 */
struct xvs_emc_entry {
	struct xvs_flow_key key;
	struct xvs_flow_ref ref;       /* gen + flow_id, checked against flows[] on a hit */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_EMC_ENTRIES);
	__type(key, __u32);
	__type(value, struct xvs_emc_entry);
} emc SEC(".maps");

_Static_assert((XVS_EMC_ENTRIES & (XVS_EMC_ENTRIES - 1)) == 0, "EMC index is a hash's top bits");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XVS_MAX_FLOWS);
	__type(key, struct xvs_flow_key);      /* masked key, tuple_id = mask id */
	__type(value, struct xvs_flow_ref);
} megaflows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_MAX_MASKS);
	__type(key, __u32);
	__type(value, struct xvs_mask);
} masks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct xvs_mask_order);
} mask_order SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_MAX_MASKS);
	__type(key, __u32);
	__type(value, __u64);
} mask_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct xvs_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct xvs_flow_stats);
} flow_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvs_dp_stats);
} dp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct xvs_port);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XVS_MAX_PORTS);
	__type(key, __u32);                    /* ifindex */
	__type(value, __u32);                  /* port_no */
} port_of_ifindex SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, XVS_MAX_PORTS);
	__type(key, __u32);                    /* port_no */
	__type(value, __u32);                  /* ifindex */
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} upcalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvs_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvs_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_MAX_METERS);
	__type(key, __u32);
	__type(value, struct xvs_meter);
} meters SEC(".maps");

/* ---- hook-specific accessors (hook is a constant after inlining) ---------- */

static __always_inline void *xvs_data(void *ctx, const int hook)
{
	if (hook == XVS_HOOK_XDP)
		return (void *)(long)((struct xdp_md *)ctx)->data;
	return (void *)(long)((struct __sk_buff *)ctx)->data;
}

static __always_inline void *xvs_data_end(void *ctx, const int hook)
{
	if (hook == XVS_HOOK_XDP)
		return (void *)(long)((struct xdp_md *)ctx)->data_end;
	return (void *)(long)((struct __sk_buff *)ctx)->data_end;
}

/* Frame length: at XDP the (single-buffer) frame, at TC the whole skb. */
static __always_inline __u32 xvs_pkt_len(void *ctx, const int hook)
{
	if (hook == XVS_HOOK_XDP)
		return xvs_data_end(ctx, hook) - xvs_data(ctx, hook);
	return ((struct __sk_buff *)ctx)->len;
}

static __always_inline int xvs_pass(const int hook)
{
	return hook == XVS_HOOK_XDP ? XDP_PASS : TC_ACT_OK;
}

static __always_inline int xvs_drop(const int hook)
{
	return hook == XVS_HOOK_XDP ? XDP_DROP : TC_ACT_SHOT;
}

/*
 * Datapath port of the ingress device, or -1 if it is not one of ours.
 * port_of_ifindex is a HASH (ifindexes are sparse), a lookup that costs a
 * jhash; a per-CPU cache in front of it answers when ports[] still maps that
 * port to this ifindex (the array lookup is inlined), so it needs no
 * invalidation: userspace changes ports[] when a port goes or moves.
 */
static __always_inline int xvs_in_port(struct xvs_scratch *s, __u32 ifindex)
{
	__u32 *slot = &s->port_cache[ifindex % XVS_PORT_CACHE];
	__u32 port_no = *slot, *p;
	struct xvs_port *port = bpf_map_lookup_elem(&ports, &port_no);

	if (port && port->ifindex == ifindex)
		return port_no;
	p = bpf_map_lookup_elem(&port_of_ifindex, &ifindex);
	if (!p)
		return -1;
	*slot = *p;
	return *p;
}

/* ---- flow key extraction --------------------------------------------------- */

#define XVS_TC_PULL 256   /* bytes made linear at TC when headers straddle frags */

static __always_inline int xvs_extract(void *ctx, const int hook, __u32 in_port, struct xvs_scratch *s)
{
	struct xvs_flow_key *key = &s->up.key;
	int ret;

	if (hook == XVS_HOOK_XDP) {
		ret = xvs_flow_extract(xvs_data(ctx, hook), xvs_data_end(ctx, hook),
				       xvs_pkt_len(ctx, hook), 0, 0, key, &s->lay);
	} else {
		struct __sk_buff *skb = ctx;
		__be16 tpid = 0;
		__u16 tci = 0;
		__u32 linear;

		/* the kernel has usually moved the outer tag into skb metadata */
		if (skb->vlan_present) {
			tpid = skb->vlan_proto;
			tci = skb->vlan_tci;
		}
		ret = xvs_flow_extract(xvs_data(ctx, hook), xvs_data_end(ctx, hook),
				       skb->len, tpid, tci, key, &s->lay);
		/* Headers past the linear part are not truncation: pull them and
		 * parse again (once; only such skbs pay for it). */
		linear = xvs_data_end(ctx, hook) - xvs_data(ctx, hook);
		if (ret == XVS_PARSE_TRUNC && skb->len > linear && linear < XVS_TC_PULL &&
		    !bpf_skb_pull_data(skb, skb->len < XVS_TC_PULL ? skb->len : XVS_TC_PULL))
			ret = xvs_flow_extract(xvs_data(ctx, hook), xvs_data_end(ctx, hook),
					       skb->len, tpid, tci, key, &s->lay);
	}
	key->in_port = in_port;
	return ret;
}

/* ---- lookup: EMC, then megaflow tuple-space search ------------------------- */

/* The flow a ref names, if that slot still holds the same incarnation. */
static __always_inline struct xvs_flow *xvs_flow_get(__u32 flow_id, __u32 gen)
{
	struct xvs_flow *flow = bpf_map_lookup_elem(&flows, &flow_id);

	if (!flow || flow->gen != gen || !(flow->flags & XVS_FLOW_F_ALIVE))
		return NULL;
	return flow;
}

/*
 * EMC slot of a key: a sum of per-word products by distinct odd constants; a
 * change in input bit j changes product bits >= j, so the top bits depend on
 * every key bit. The words are independent (no multiply chain).
 */
static __always_inline __u32 xvs_emc_index(const struct xvs_flow_key *key)
{
	const __u64 *w = (const __u64 *)key;
	__u64 h = 0;

#pragma unroll
	for (int i = 0; i < XVS_KEY_WORDS; i++)
		h += w[i] * (0x9e3779b97f4a7c15ULL + 2 * 0x632be59bd9b4e019ULL * i);
	return h >> (64 - __builtin_ctz(XVS_EMC_ENTRIES));
}

static __always_inline int xvs_key_equal(const struct xvs_flow_key *a, const struct xvs_flow_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u64 diff = 0;

#pragma unroll
	for (int i = 0; i < XVS_KEY_WORDS; i++)
		diff |= x[i] ^ y[i];
	return !diff;
}

static __always_inline void xvs_emc_insert(struct xvs_emc_entry *e, const struct xvs_flow_key *key,
					   const struct xvs_flow_ref *ref, const struct xvs_config *cfg)
{
	__u32 inv = cfg->emc_insert_inv_prob;
	const __u64 *k = (const __u64 *)key;
	__u64 *d = (__u64 *)&e->key;

	/* OVS inserts with probability 1/N so that short flows do not thrash it */
	if (inv > 1 && bpf_get_prandom_u32() % inv)
		return;
#pragma unroll
	for (int i = 0; i < XVS_KEY_WORDS; i++)
		d[i] = k[i];
	e->ref = *ref;
}

static __always_inline struct xvs_flow *
xvs_lookup(struct xvs_scratch *s, const struct xvs_config *cfg, struct xvs_dp_stats *st, __u32 *flow_id)
{
	struct xvs_flow_key *key = &s->up.key;
	struct xvs_mask_order *order;
	struct xvs_flow_ref *ref;
	struct xvs_emc_entry *e = NULL;
	struct xvs_flow *flow;
	__u32 sel;

	if (cfg->flags & XVS_CFG_F_EMC) {
		__u32 slot = xvs_emc_index(key);

		e = bpf_map_lookup_elem(&emc, &slot);
		if (e && xvs_key_equal(&e->key, key)) {
			__u32 id = e->ref.flow_id;

			flow = xvs_flow_get(id, e->ref.gen);
			if (flow) {
				st->emc_hit++;
				*flow_id = id;
				return flow;
			}
		}
	}

	sel = cfg->mask_order_sel & 1;
	order = bpf_map_lookup_elem(&mask_order, &sel);
	if (!order)
		return NULL;

	/* Subtables in the order userspace ranked them; megaflows are disjoint,
	 * so the first hit is the answer. */
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < XVS_MAX_MASKS; i++) {
		const __u64 *k = (const __u64 *)key, *m;
		__u64 *d = (__u64 *)&s->masked;
		struct xvs_mask *mask;
		__u32 mask_id, id;
		__u64 *hits;

		/* read afresh each time, like n_actions (see xvs_n_actions) */
		if (i >= *(volatile __u32 *)&order->n)
			break;
		mask_id = order->ids[i];
		mask = bpf_map_lookup_elem(&masks, &mask_id);
		if (!mask)
			continue;
		m = (const __u64 *)&mask->mask;
#pragma unroll
		for (int w = 0; w < XVS_KEY_WORDS; w++)
			d[w] = k[w] & m[w];
		s->masked.tuple_id = mask_id;

		ref = bpf_map_lookup_elem(&megaflows, &s->masked);
		if (!ref)
			continue;
		id = ref->flow_id;
		flow = xvs_flow_get(id, ref->gen);
		if (!flow)
			continue;   /* stale entry being replaced: keep looking */

		hits = bpf_map_lookup_elem(&mask_hits, &mask_id);
		if (hits)
			(*hits)++;
		st->mf_hit++;
		st->masks_probed += i + 1;
		if (e)
			xvs_emc_insert(e, key, ref, cfg);
		*flow_id = id;
		return flow;
	}
	return NULL;
}

/* CLOCK_MONOTONIC at tick resolution (plenty for `used:` in ms) costs a
 * fraction of bpf_ktime_get_ns() (~18 ns per hit measured here), but exists
 * only from 5.11: datapath-510.bpf.o is this file built with the fine clock. */
#ifdef XVS_FINE_CLOCK
#define xvs_now() bpf_ktime_get_ns()
#else
#define xvs_now() bpf_ktime_get_coarse_ns()
#endif

/*
 * The clock for `used`, read once per tick per CPU: bpf_jiffies64() is
 * inlined by the verifier (a load), while even the coarse clock is a helper
 * call (~13 ns per hit measured here). The coarse clock only moves at a tick,
 * so this is the same value, give or take the tick in which jiffies and the
 * timekeeper are updated.
 */
static __always_inline __u64 xvs_used_now(struct xvs_scratch *s)
{
	__u64 j = bpf_jiffies64();

	if (j != s->clock_jiffies) {
		s->clock_jiffies = j;
		s->clock_ns = xvs_now();
	}
	return s->clock_ns;
}

static __always_inline void xvs_flow_used(struct xvs_scratch *s, __u32 flow_id, __u32 len, __be16 tcp_flags)
{
	struct xvs_flow_stats *fs = bpf_map_lookup_elem(&flow_stats, &flow_id);

	if (!fs)
		return;
	fs->packets++;
	fs->bytes += len;
	fs->used_ns = xvs_used_now(s);
	fs->tcp_flags |= bpf_ntohs(tcp_flags);
}

/* ---- meters ------------------------------------------------------------------ */

#define XVS_METER_PKT_COST  1000000000ULL   /* pps: 1e9 units per packet */
#define XVS_METER_BIT_COST  1000000ULL      /* kbps: 1e6 units per bit */

/*
 * Charges a packet of len bytes to meter id; 1 when the band drops it. No
 * such meter: the packet passes, as in OVS (both datapaths). The lock makes
 * refill + charge + stats one step across CPUs; nothing inside calls a helper.
 */
__noinline int xvs_meter_charge(__u32 id, __u32 len)
{
	struct xvs_meter *m = bpf_map_lookup_elem(&meters, &id);
	__u64 now = xvs_now(), delta, cost;
	int drop = 0;

	if (!m)
		return 0;
	cost = (__u64)len * 8 * XVS_METER_BIT_COST;
	bpf_spin_lock(&m->lock);
	if (!(m->flags & XVS_METER_F_VALID)) {
		bpf_spin_unlock(&m->lock);
		return 0;
	}
	/* a clock read before another CPU's refill counts as no time */
	delta = now - m->last_ns;
	if ((__s64)delta > 0) {
		m->last_ns = now;
		if (delta >= m->max_delta_ns)
			m->bucket = m->bucket_max;
		else if ((m->bucket += delta * m->rate) > m->bucket_max)
			m->bucket = m->bucket_max;
	}
	if (!(m->flags & XVS_METER_F_KBPS))
		cost = XVS_METER_PKT_COST;
	m->packets++;
	m->bytes += len;
	if (m->bucket >= cost) {
		m->bucket -= cost;
	} else {
		m->dropped++;
		m->dropped_bytes += len;
		drop = 1;
	}
	bpf_spin_unlock(&m->lock);
	return drop;
}

/* ---- upcall ----------------------------------------------------------------- */

/*
 * At TC the kernel usually keeps the outer VLAN tag in skb metadata. Put it
 * back into the bytes so an upcall always carries the frame as it was on the
 * wire (the packet is consumed after the upcall, the skb is not reused).
 */
static __always_inline void xvs_tc_restore_vlan(struct __sk_buff *skb)
{
	struct {
		__u8   macs[2 * ETH_ALEN];
		__be16 tpid;
		__be16 tci;
	} hdr;

	if (!skb->vlan_present)
		return;
	if (bpf_skb_load_bytes(skb, 0, hdr.macs, sizeof(hdr.macs)))
		return;
	hdr.tpid = skb->vlan_proto;
	hdr.tci = bpf_htons(skb->vlan_tci);
	if (bpf_skb_change_head(skb, sizeof(struct xvs_vlan_hdr), 0))
		return;
	bpf_skb_store_bytes(skb, 0, &hdr, sizeof(hdr), 0);
}

/* Key + up to XVS_UPCALL_MAX_PKT packet bytes to the perf ring. */
static __always_inline void xvs_upcall(void *ctx, const int hook, struct xvs_scratch *s, __u8 cmd,
				       __u32 userdata, struct xvs_dp_stats *st)
{
	__u64 len, cap;

	if (hook == XVS_HOOK_TC)
		xvs_tc_restore_vlan(ctx);
	len = xvs_pkt_len(ctx, hook);
	cap = len < XVS_UPCALL_MAX_PKT ? len : XVS_UPCALL_MAX_PKT;

	s->up.cmd = cmd;
	s->up.hook = hook;
	s->up.pad = 0;
	s->up.pkt_len = len;
	s->up.cap_len = cap;
	s->up.userdata = userdata;
	/* the helper appends cap bytes of the packet itself (ctx-based output) */
	if (bpf_perf_event_output(ctx, &upcalls, BPF_F_CURRENT_CPU | (cap << 32), &s->up, sizeof(s->up)) < 0)
		st->lost++;
}

/* ---- set-field and VLAN actions ------------------------------------------- */

/* A VLAN push/pop moved everything after the MACs by delta bytes. */
static __always_inline void xvs_layout_shift(struct xvs_layout *lay, int delta)
{
	if (lay->l3_off)
		lay->l3_off += delta;
	if (lay->l4_off)
		lay->l4_off += delta;
}

/* The IPv4 header the key was extracted from, or NULL. */
static __always_inline struct iphdr *xvs_ipv4(void *ctx, const int hook, struct xvs_scratch *s, __u32 *l3)
{
	void *data = xvs_data(ctx, hook);
	struct iphdr *ip;

	*l3 = s->lay.l3_off;
	if (s->up.key.eth_type != bpf_htons(ETH_P_IP) || !*l3 || *l3 > XVS_MAX_HDR_OFF)
		return NULL;
	ip = data + *l3;
	if ((void *)(ip + 1) > xvs_data_end(ctx, hook))
		return NULL;
	return ip;
}

/* The IPv6 header the key was extracted from, or NULL. */
static __always_inline struct ipv6hdr *xvs_ipv6(void *ctx, const int hook, struct xvs_scratch *s, __u32 *l3)
{
	void *data = xvs_data(ctx, hook);
	struct ipv6hdr *ip6;

	*l3 = s->lay.l3_off;
	if (s->up.key.eth_type != bpf_htons(ETH_P_IPV6) || !*l3 || *l3 > XVS_MAX_HDR_OFF)
		return NULL;
	ip6 = data + *l3;
	if ((void *)(ip6 + 1) > xvs_data_end(ctx, hook))
		return NULL;
	return ip6;
}

/*
 * The TCP/UDP (and with icmp6, ICMPv6) header the key was extracted from, or
 * NULL; *csum_off is where its checksum sits.
 * The bounds check sits next to the pointer it guards so the compiler
 * cannot fold it into something the verifier does not follow.
 */
static __always_inline void *xvs_l4(void *ctx, const int hook, struct xvs_scratch *s,
				    __u32 *l4, __u32 *csum_off, const int icmp6)
{
	__u32 off = s->lay.l4_off;
	void *p;

	if (!off || off > XVS_MAX_HDR_OFF)
		return NULL;
	p = xvs_data(ctx, hook) + off;
	if (s->up.key.nw_proto == IPPROTO_TCP) {
		if (p + 20 > xvs_data_end(ctx, hook))
			return NULL;
		*csum_off = 16;
	} else if (s->up.key.nw_proto == IPPROTO_UDP) {
		if (p + 8 > xvs_data_end(ctx, hook))
			return NULL;
		*csum_off = 6;
	} else if (icmp6 && s->up.key.nw_proto == IPPROTO_ICMPV6) {
		if (p + 4 > xvs_data_end(ctx, hook))
			return NULL;
		*csum_off = 2;
	} else {
		return NULL;
	}
	*l4 = off;
	return p;
}

static __always_inline void xvs_set_eth(void *ctx, const int hook, __u32 off, const struct xvs_action *a)
{
	void *data = xvs_data(ctx, hook);

	if (data + ETH_HLEN > xvs_data_end(ctx, hook))
		return;
	if (hook == XVS_HOOK_XDP)
		xvs_copy_mac(data + off, a->data);
	else
		bpf_skb_store_bytes(ctx, off, a->data, ETH_ALEN, 0);
}

/* SET_IPV4_SRC/DST: IP checksum, and the TCP/UDP checksum over the pseudo-header. */
static __always_inline void xvs_set_ipv4_addr(void *ctx, const int hook, struct xvs_scratch *s,
					      __u32 field, const struct xvs_action *a)
{
	__be32 from, to = *(const __be32 *)a->data;
	int udp = s->up.key.nw_proto == IPPROTO_UDP;
	__u32 l3, l4 = 0, csum_off = 0;
	struct iphdr *ip = xvs_ipv4(ctx, hook, s, &l3);
	__sum16 *c;
	void *p;

	if (!ip)
		return;
	from = *(__be32 *)((void *)ip + field);

	if (hook == XVS_HOOK_XDP) {
		xvs_csum_replace4(&ip->check, from, to);
		*(__be32 *)((void *)ip + field) = to;
		p = xvs_l4(ctx, hook, s, &l4, &csum_off, 0);
		if (!p)
			return;
		c = p + csum_off;
		if (udp && !*c)
			return;   /* UDP checksum 0 = none, stays 0 */
		xvs_csum_replace4(c, from, to);
		if (udp && !*c)
			*c = XVS_CSUM_MANGLED_0;
	} else {
		/* helpers keep CHECKSUM_PARTIAL / CHECKSUM_COMPLETE skbs right */
		if (xvs_l4(ctx, hook, s, &l4, &csum_off, 0))
			bpf_l4_csum_replace(ctx, l4 + csum_off, from, to,
					    BPF_F_PSEUDO_HDR | sizeof(to) | (udp ? BPF_F_MARK_MANGLED_0 : 0));
		bpf_l3_csum_replace(ctx, l3 + offsetof(struct iphdr, check), from, to, sizeof(to));
		bpf_skb_store_bytes(ctx, l3 + field, &to, sizeof(to), 0);
	}
}

/* SET_IPV4_TOS/TTL: one byte of a checksummed 16-bit word. */
static __always_inline void xvs_set_ipv4_byte(void *ctx, const int hook, struct xvs_scratch *s,
					      __u32 field, const struct xvs_action *a)
{
	union {
		__be16 w;
		__u8   b[2];
	} old, new;
	__u32 l3;
	struct iphdr *ip = xvs_ipv4(ctx, hook, s, &l3);

	if (!ip)
		return;
	old.w = *(__be16 *)((void *)ip + (field & ~1));
	new.w = old.w;
	new.b[field & 1] = a->data[0];

	if (hook == XVS_HOOK_XDP) {
		xvs_csum_replace2(&ip->check, old.w, new.w);
		*(__be16 *)((void *)ip + (field & ~1)) = new.w;
	} else {
		bpf_l3_csum_replace(ctx, l3 + offsetof(struct iphdr, check), old.w, new.w, sizeof(new.w));
		bpf_skb_store_bytes(ctx, l3 + (field & ~1), &new.w, sizeof(new.w), 0);
	}
}

/* SET_TP_SRC/DST on TCP or UDP (IPv4 or IPv6): ports are not in the pseudo-header. */
static __always_inline void xvs_set_tp(void *ctx, const int hook, struct xvs_scratch *s,
				       __u32 field, const struct xvs_action *a)
{
	__be16 from, to = *(const __be16 *)a->data;
	int udp = s->up.key.nw_proto == IPPROTO_UDP;
	__u32 l4 = 0, csum_off = 0;
	void *p = xvs_l4(ctx, hook, s, &l4, &csum_off, 0);

	if (!p)
		return;
	from = *(__be16 *)(p + field);

	if (hook == XVS_HOOK_XDP) {
		__sum16 *c = p + csum_off;

		*(__be16 *)(p + field) = to;
		if (udp && !*c)
			return;
		xvs_csum_replace2(c, from, to);
		if (udp && !*c)
			*c = XVS_CSUM_MANGLED_0;
	} else {
		bpf_l4_csum_replace(ctx, l4 + csum_off, from, to,
				    sizeof(to) | (udp ? BPF_F_MARK_MANGLED_0 : 0));
		bpf_skb_store_bytes(ctx, l4 + field, &to, sizeof(to), 0);
	}
}

/*
 * SET_IPV6_ADDR: 8 bytes of an address (an action carries 8), the
 * TCP/UDP/ICMPv6 checksum fixed over the pseudo-header. Offsets, masks and
 * values come from the action, not from per-type constants: one verifier
 * path for every IPv6 field.
 */
static __always_inline void xvs_set_ipv6_addr(void *ctx, const int hook, struct xvs_scratch *s,
					      const struct xvs_action *a)
{
	int udp = s->up.key.nw_proto == IPPROTO_UDP;
	__u32 l3, l4 = 0, csum_off = 0, off = a->arg & 0x38;
	struct ipv6hdr *ip6 = xvs_ipv6(ctx, hook, s, &l3);
	const __be32 *to = (const __be32 *)a->data;
	__be32 from[2], *w;
	int fix_l4;

	if (!ip6 || off < offsetof(struct ipv6hdr, saddr) || off > offsetof(struct ipv6hdr, daddr) + 8)
		return;
	w = (void *)ip6 + off;
	if ((void *)(w + 2) > xvs_data_end(ctx, hook))   /* a variable offset drops the range */
		return;
	from[0] = w[0];
	from[1] = w[1];
	fix_l4 = !(off >= offsetof(struct ipv6hdr, daddr) && (s->lay.flags & XVS_LAY_F_RH));

	if (hook == XVS_HOOK_XDP) {
		__sum16 *c;
		void *p;

		w[0] = to[0];
		w[1] = to[1];
		p = fix_l4 ? xvs_l4(ctx, hook, s, &l4, &csum_off, 1) : NULL;
		if (!p)
			return;
		c = p + csum_off;
		if (udp && !*c)
			return;   /* UDP checksum 0 (invalid over IPv6, but leave it as it came) */
		xvs_csum_replace4(c, from[0], to[0]);
		xvs_csum_replace4(c, from[1], to[1]);
		if (udp && !*c)
			*c = XVS_CSUM_MANGLED_0;
	} else {
		if (fix_l4 && xvs_l4(ctx, hook, s, &l4, &csum_off, 1))
			bpf_l4_csum_replace(ctx, l4 + csum_off, 0, bpf_csum_diff(from, 8, (__be32 *)to, 8, 0),
					    BPF_F_PSEUDO_HDR | (udp ? BPF_F_MARK_MANGLED_0 : 0));
		/* RECOMPUTE_CSUM: a CHECKSUM_COMPLETE skb's csum covers these bytes and
		 * the helper above took the pseudo-header change out of it (IPv4 has
		 * the header checksum to balance that; IPv6 does not) */
		bpf_skb_store_bytes(ctx, l3 + off, to, 8, BPF_F_RECOMPUTE_CSUM);
	}
}

/* SET_IPV6_MASKED: traffic class, flow label or hop limit (no checksum covers them). */
static __always_inline void xvs_set_ipv6_masked(void *ctx, const int hook, struct xvs_scratch *s,
						const struct xvs_action *a)
{
	__u32 l3, off = a->arg & 4;
	struct ipv6hdr *ip6 = xvs_ipv6(ctx, hook, s, &l3);
	const __be32 *v = (const __be32 *)a->data;
	__be32 *p, w;

	if (!ip6)
		return;
	p = (void *)ip6 + off;
	if ((void *)(p + 1) > xvs_data_end(ctx, hook))
		return;
	w = (*p & ~v[1]) | (v[0] & v[1]);
	if (hook == XVS_HOOK_XDP)
		*p = w;
	else
		bpf_skb_store_bytes(ctx, l3 + off, &w, sizeof(w), BPF_F_RECOMPUTE_CSUM);
}

static __always_inline void xvs_push_vlan(void *ctx, const int hook, struct xvs_scratch *s,
					  const struct xvs_action *a)
{
	__u16 tci = a->arg & ~XVS_VLAN_PRESENT;

	if (hook == XVS_HOOK_XDP) {
		__u16 *d;

		if (xvs_data(ctx, hook) + ETH_HLEN > xvs_data_end(ctx, hook))
			return;
		if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct xvs_vlan_hdr)))
			return;
		d = xvs_data(ctx, hook);
		if ((void *)(d + 9) > xvs_data_end(ctx, hook))
			return;
		/* MACs 4 bytes to the front, then the tag before the old type */
#pragma unroll
		for (int i = 0; i < 6; i++)
			d[i] = d[i + 2];
		d[6] = a->tpid;
		d[7] = bpf_htons(tci);
		xvs_layout_shift(&s->lay, sizeof(struct xvs_vlan_hdr));
	} else {
		struct __sk_buff *skb = ctx;
		__u32 len = skb->len;

		/* pushes an accelerated tag; an existing one moves into the bytes */
		bpf_skb_vlan_push(skb, a->tpid, tci);
		xvs_layout_shift(&s->lay, (int)(skb->len - len));
	}
}

static __always_inline void xvs_pop_vlan(void *ctx, const int hook, struct xvs_scratch *s)
{
	if (hook == XVS_HOOK_XDP) {
		__u16 *d = xvs_data(ctx, hook);

		if ((void *)(d + 9) > xvs_data_end(ctx, hook))
			return;
		if (d[6] != bpf_htons(ETH_P_8021Q) && d[6] != bpf_htons(XVS_ETH_P_8021AD))
			return;
		/* MACs 4 bytes back over the tag (backwards: the ranges overlap) */
#pragma unroll
		for (int i = 5; i >= 0; i--)
			d[i + 2] = d[i];
		if (bpf_xdp_adjust_head(ctx, sizeof(struct xvs_vlan_hdr)))
			return;
		xvs_layout_shift(&s->lay, -(int)sizeof(struct xvs_vlan_hdr));
	} else {
		struct __sk_buff *skb = ctx;
		__u32 len = skb->len;

		/* clears the accelerated tag, or pops one from the bytes */
		bpf_skb_vlan_pop(skb);
		xvs_layout_shift(&s->lay, (int)(skb->len - len));
	}
}

/* ---- action execution ------------------------------------------------------ */

#define XVS_ACT_NEXT (-2)   /* the action is done, go on with the next one */

static __always_inline int xvs_xdp_redirected(long ret, struct xvs_dp_stats *st)
{
	if (ret == XDP_REDIRECT)
		return XDP_REDIRECT;
	st->tx_errors++;   /* no such port in tx_ports (or no broadcast support) */
	return XDP_DROP;
}

/* OUTPUT to port: last = the OUTPUT that consumes the packet (TC; XDP's is always the last). */
static __always_inline int xvs_output(void *ctx, const int hook, __u32 port, int last, struct xvs_dp_stats *st)
{
	struct xvs_port *p;

	if (hook == XVS_HOOK_XDP)
		return xvs_xdp_redirected(bpf_redirect_map(&tx_ports, port, 0), st);
	p = bpf_map_lookup_elem(&ports, &port);
	if (!p || !p->ifindex) {
		st->tx_errors++;
		return last ? TC_ACT_SHOT : XVS_ACT_NEXT;
	}
	if (last)
		return bpf_redirect(p->ifindex, 0);
	if (bpf_clone_redirect(ctx, p->ifindex, 0))
		st->tx_errors++;
	return XVS_ACT_NEXT;
}

/*
 * n_actions, read afresh at every use: a count the verifier has narrowed
 * differently on different paths (each loop exit pins it down) would make it
 * walk the action loop once per narrowing.
 */
static __always_inline __u32 xvs_n_actions(const struct xvs_flow *flow)
{
	return *(volatile const __u16 *)&flow->n_actions;
}

/*
 * TC: index of the OUTPUT that may consume the skb (bpf_redirect); the
 * others send clones. A USERSPACE or FLOOD action (an upcall, which ends the
 * list at TC) consumes it instead, so every OUTPUT before it clones.
 */
static __always_inline int xvs_tc_last_output(const struct xvs_flow *flow)
{
	int last = -1;

	for (__u32 i = 0; i < XVS_MAX_ACTIONS; i++) {
		__u8 t;

		if (i >= xvs_n_actions(flow))
			break;
		t = flow->actions[i].type;
		if (t == XVS_ACT_OUTPUT)
			last = i;
		else if (t == XVS_ACT_USERSPACE || t == XVS_ACT_FLOOD)
			return -1;
	}
	return last;
}

/* Runs action i of the flow: XVS_ACT_NEXT, or the verdict that ends the list. */
static __always_inline int xvs_action(void *ctx, const int hook, struct xvs_scratch *s,
				      const struct xvs_action *a, __u32 i, struct xvs_dp_stats *st)
{
	switch (a->type) {
	case XVS_ACT_OUTPUT:
		return xvs_output(ctx, hook, a->arg, (int)i == s->last_out, st);
	case XVS_ACT_FLOOD:
		if (hook == XVS_HOOK_XDP) {
			__u32 zero = 0;
			struct xvs_config *cfg = bpf_map_lookup_elem(&config, &zero);

			if (cfg && (cfg->flags & XVS_CFG_F_BROADCAST))
				return xvs_xdp_redirected(bpf_redirect_map(&tx_ports, 0,
							  BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS), st);
		}
		/* no broadcast here: userspace floods (userdata = the action's arg) */
		st->slow_path++;
		xvs_upcall(ctx, hook, s, XVS_UPCALL_ACTION, a->arg, st);
		return xvs_drop(hook);
	case XVS_ACT_USERSPACE:
		st->slow_path++;
		xvs_upcall(ctx, hook, s, XVS_UPCALL_ACTION, a->arg, st);
		return xvs_drop(hook);
	case XVS_ACT_SET_ETH_SRC:
		xvs_set_eth(ctx, hook, offsetof(struct ethhdr, h_source), a);
		break;
	case XVS_ACT_SET_ETH_DST:
		xvs_set_eth(ctx, hook, offsetof(struct ethhdr, h_dest), a);
		break;
	case XVS_ACT_SET_IPV4_SRC:
		xvs_set_ipv4_addr(ctx, hook, s, offsetof(struct iphdr, saddr), a);
		break;
	case XVS_ACT_SET_IPV4_DST:
		xvs_set_ipv4_addr(ctx, hook, s, offsetof(struct iphdr, daddr), a);
		break;
	case XVS_ACT_SET_IPV4_TOS:
		xvs_set_ipv4_byte(ctx, hook, s, offsetof(struct iphdr, tos), a);
		break;
	case XVS_ACT_SET_IPV4_TTL:
		xvs_set_ipv4_byte(ctx, hook, s, offsetof(struct iphdr, ttl), a);
		break;
	case XVS_ACT_SET_TP_SRC:
		xvs_set_tp(ctx, hook, s, 0, a);
		break;
	case XVS_ACT_SET_TP_DST:
		xvs_set_tp(ctx, hook, s, 2, a);
		break;
	case XVS_ACT_PUSH_VLAN:
		xvs_push_vlan(ctx, hook, s, a);
		break;
	case XVS_ACT_POP_VLAN:
		xvs_pop_vlan(ctx, hook, s);
		break;
	case XVS_ACT_METER:
		if (xvs_meter_charge(a->arg, xvs_pkt_len(ctx, hook)))
			return xvs_drop(hook);
		break;
	case XVS_ACT_SET_IPV6_ADDR:
		xvs_set_ipv6_addr(ctx, hook, s, a);
		break;
	case XVS_ACT_SET_IPV6_MASKED:
		xvs_set_ipv6_masked(ctx, hook, s, a);
		break;
	default:
		break;   /* unknown action: ignored */
	}
	return XVS_ACT_NEXT;
}

/*
 * One action per BPF-to-BPF call: whatever an action leaves in registers and
 * on its stack is gone when it returns, so the verifier sees the action loop
 * in one state per iteration instead of one per combination of actions.
 */
static __noinline int xvs_action_xdp(struct xdp_md *ctx, struct xvs_scratch *s,
				     const struct xvs_action *a, __u32 i, struct xvs_dp_stats *st)
{
	return xvs_action(ctx, XVS_HOOK_XDP, s, a, i, st);
}

static __noinline int xvs_action_tc(struct __sk_buff *skb, struct xvs_scratch *s,
				    const struct xvs_action *a, __u32 i, struct xvs_dp_stats *st)
{
	return xvs_action(skb, XVS_HOOK_TC, s, a, i, st);
}

static __always_inline int xvs_execute(void *ctx, const int hook, struct xvs_scratch *s,
				       const struct xvs_flow *flow, struct xvs_dp_stats *st)
{
	/* The common flow, a single OUTPUT: no action call, no scan for the
	 * consuming OUTPUT. */
	if (xvs_n_actions(flow) == 1 && flow->actions[0].type == XVS_ACT_OUTPUT)
		return xvs_output(ctx, hook, flow->actions[0].arg, 1, st);

	/* Kept in map memory: as a known constant it would make the verifier
	 * walk the action loop once per possible value. */
	s->last_out = hook == XVS_HOOK_TC ? xvs_tc_last_output(flow) : -1;

	for (__u32 i = 0; i < XVS_MAX_ACTIONS; i++) {
		int ret;

		if (i >= xvs_n_actions(flow))
			break;
		if (hook == XVS_HOOK_XDP)
			ret = xvs_action_xdp(ctx, s, &flow->actions[i], i, st);
		else
			ret = xvs_action_tc(ctx, s, &flow->actions[i], i, st);
		if (ret != XVS_ACT_NEXT)
			return ret;
	}
	return xvs_drop(hook);   /* no (consuming) output: drop */
}

/* ---- the datapath ------------------------------------------------------------ */

static __always_inline int xvs_datapath(void *ctx, const int hook)
{
	__u32 zero = 0, ifindex, flow_id = 0;
	struct xvs_scratch *s;
	struct xvs_config *cfg;
	struct xvs_dp_stats *st;
	struct xvs_flow *flow;
	int port;

	if (hook == XVS_HOOK_XDP)
		ifindex = ((struct xdp_md *)ctx)->ingress_ifindex;
	else
		ifindex = ((struct __sk_buff *)ctx)->ifindex;

	s = bpf_map_lookup_elem(&scratch, &zero);
	cfg = bpf_map_lookup_elem(&config, &zero);
	st = bpf_map_lookup_elem(&dp_stats, &zero);
	if (!s || !cfg || !st)
		return xvs_pass(hook);
	port = xvs_in_port(s, ifindex);
	if (port < 0)
		return xvs_pass(hook);   /* not one of ours */

	if (xvs_extract(ctx, hook, port, s) != XVS_PARSE_OK)
		st->parse_truncated++;

	flow = xvs_lookup(s, cfg, st, &flow_id);
	if (!flow) {
		st->missed++;
		xvs_upcall(ctx, hook, s, XVS_UPCALL_MISS, 0, st);
		return xvs_drop(hook);   /* userspace re-executes it */
	}
	xvs_flow_used(s, flow_id, xvs_pkt_len(ctx, hook), s->up.key.tcp_flags);
	return xvs_execute(ctx, hook, s, flow, st);
}

SEC("xdp")
int xvs_xdp(struct xdp_md *ctx)
{
	return xvs_datapath(ctx, XVS_HOOK_XDP);
}

SEC("tc")
int xvs_tc(struct __sk_buff *skb)
{
	return xvs_datapath(skb, XVS_HOOK_TC);
}

/*
 * Never attached: the daemon runs it with BPF_PROG_RUN on a struct
 * xvs_meter_req "packet" to charge a meter for a packet it executes itself,
 * or to read a meter's stats consistently (under its lock).
 */
SEC("xdp")
int xvs_meter_run(struct xdp_md *ctx)
{
	struct xvs_meter_req *r = (void *)(long)ctx->data;
	__u64 packets, bytes, dropped, dropped_bytes;
	struct xvs_meter *m;
	__u32 id, valid;

	if ((void *)(r + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	id = r->id;
	if (r->op == XVS_METER_OP_EXEC) {
		r->verdict = xvs_meter_charge(id, r->len);
		return XDP_PASS;
	}
	m = bpf_map_lookup_elem(&meters, &id);
	if (r->op != XVS_METER_OP_READ || !m)
		return XDP_ABORTED;
	bpf_spin_lock(&m->lock);
	valid = m->flags & XVS_METER_F_VALID;
	packets = m->packets;
	bytes = m->bytes;
	dropped = m->dropped;
	dropped_bytes = m->dropped_bytes;
	bpf_spin_unlock(&m->lock);
	r->verdict = valid;
	r->packets = packets;
	r->bytes = bytes;
	r->dropped = dropped;
	r->dropped_bytes = dropped_bytes;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
