// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for the libbpf binding (test/integration/bpf.test.ts).
 * Not part of the datapath.
 *
 *  fx_hash      HASH, 80-byte key (the size of struct xvs_flow_key) -> u64
 *  fx_counters  PERCPU_ARRAY u64: [0] fx_xdp runs, [1] fx_tc runs,
 *               [2] failed perf outputs
 *  fx_events    PERF_EVENT_ARRAY: fx_xdp emits struct fx_record followed by
 *               the first cap_len bytes of the packet
 *  fx_xdp       perf-outputs every packet; XDP_DROP when byte 14 == 0xdd,
 *               XDP_PASS otherwise
 *  fx_tc        counts and returns TC_ACT_OK
 *  fx_bad       rejected by the verifier on purpose (unchecked packet read);
 *               load the object with fx_bad's autoload off
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define FX_MAGIC 0x58564258u /* "XBVX" little-endian */
#define FX_CAP   128         /* packet bytes copied per record at most */

struct fx_key {
	__u8 b[80];
};

struct fx_record {
	__u32 magic;
	__u32 pkt_len;   /* length of the whole packet */
	__u32 cap_len;   /* packet bytes that follow this header */
	__u32 ifindex;   /* ingress ifindex */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct fx_key);
	__type(value, __u64);
} fx_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} fx_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} fx_events SEC(".maps");

static __always_inline void fx_count(__u32 idx)
{
	__u64 *cnt = bpf_map_lookup_elem(&fx_counters, &idx);

	if (cnt)
		(*cnt)++;
}

SEC("xdp")
int fx_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct fx_record rec = {};
	__u64 flags;

	fx_count(0);
	rec.magic = FX_MAGIC;
	rec.pkt_len = len;
	rec.cap_len = len < FX_CAP ? len : FX_CAP;
	rec.ifindex = ctx->ingress_ifindex;
	flags = BPF_F_CURRENT_CPU | ((__u64)rec.cap_len << 32);
	if (bpf_perf_event_output(ctx, &fx_events, flags, &rec, sizeof(rec)) < 0)
		fx_count(2);

	if (data + 15 <= data_end && ((__u8 *)data)[14] == 0xdd)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("tc")
int fx_tc(struct __sk_buff *skb)
{
	fx_count(1);
	return TC_ACT_OK;
}

SEC("xdp")
int fx_bad(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;

	/* no bounds check against data_end: the verifier must refuse this */
	return data[0] == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
