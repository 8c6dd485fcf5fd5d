// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * Attached by the daemon to the peer of a veth port: a veth only accepts
 * XDP-redirected frames when its peer runs an XDP program (kernels before
 * 5.13; later ones also take them with GRO on). It passes everything.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xvs_peer_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
