// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * Baselines for the datapath benchmark (limits.md Table 2):
 *
 *   xvs_bench_redirect  Eth + IPv4 header check, DEVMAP redirect keyed by the
 *                       ingress ifindex: the floor of an XDP switch.
 *   xvs_bench_hash      the same plus one HASH lookup on the 5-tuple (value:
 *                       the bench_tx key to use), the floor of a switch with
 *                       one exact-match table.
 *
 * The IPv4 check is the datapath's own (xvs_ipv4_hdr). Malformed IPv4 is
 * dropped, anything else is redirected: these programs only measure.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xvs_parse.h"

struct xvs_bench_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8   proto;
	__u8   pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 65536);
	__type(key, __u32);     /* ingress ifindex */
	__type(value, __u32);   /* egress ifindex */
} bench_tx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xvs_bench_key);
	__type(value, __u32);   /* bench_tx key */
} bench_flows SEC(".maps");

/* The IPv4 header of an untagged Eth/IPv4 frame; *bad when it is malformed. */
static __always_inline struct iphdr *xvs_bench_ipv4(struct xdp_md *ctx, __u32 *ihl, int *bad)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;

	*bad = 0;
	if ((void *)(eth + 1) > data_end) {
		*bad = 1;
		return NULL;
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	ip = xvs_ipv4_hdr(data, data_end, ETH_HLEN, data_end - data, ihl);
	if (!ip)
		*bad = 1;
	return ip;
}

SEC("xdp")
int xvs_bench_redirect(struct xdp_md *ctx)
{
	__u32 ihl;
	int bad;

	xvs_bench_ipv4(ctx, &ihl, &bad);
	if (bad)
		return XDP_DROP;
	return bpf_redirect_map(&bench_tx, ctx->ingress_ifindex, XDP_DROP);
}

SEC("xdp")
int xvs_bench_hash(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct xvs_bench_key k = {};
	__u32 out = ctx->ingress_ifindex, ihl = 0, *v;
	struct iphdr *ip;
	int bad;

	ip = xvs_bench_ipv4(ctx, &ihl, &bad);
	if (bad)
		return XDP_DROP;
	if (ip) {
		k.saddr = ip->saddr;
		k.daddr = ip->daddr;
		k.proto = ip->protocol;
		if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
			__be16 *ports = (void *)ip + ihl;

			if ((void *)(ports + 2) > data_end)
				return XDP_DROP;
			k.sport = ports[0];
			k.dport = ports[1];
		}
		v = bpf_map_lookup_elem(&bench_flows, &k);
		if (v)
			out = *v;
	}
	return bpf_redirect_map(&bench_tx, out, XDP_DROP);
}

char LICENSE[] SEC("license") = "GPL";
