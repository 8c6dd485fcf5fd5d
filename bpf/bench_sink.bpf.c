// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's "tc drop" receiver (research/limits.md): a cls_bpf
 * direct-action program at the receiving veth's ingress that drops every
 * packet, so the count is of frames that reached an skb in the receiver
 * namespace without paying for its IP stack.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int xvs_bench_sink(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
