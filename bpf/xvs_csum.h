/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incremental Internet checksum updates (RFC 1624) for the XDP hook, which
 * has no csum_replace helpers. Values stay in network order: one's
 * complement sums do not care about byte order as long as all terms agree.
 */
#ifndef XVS_CSUM_H
#define XVS_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define XVS_CSUM_MANGLED_0 0xffff   /* UDP: a computed 0 is sent as 0xffff */

static __always_inline __u16 xvs_csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)c;
}

/* HC' = ~(~HC + ~m + m') */
static __always_inline void xvs_csum_replace2(__sum16 *sum, __be16 from, __be16 to)
{
	__u32 c = (__u16)~*sum + (__u16)~from + (__u16)to;

	*sum = (__u16)~xvs_csum_fold(c);
}

static __always_inline void xvs_csum_replace4(__sum16 *sum, __be32 from, __be32 to)
{
	__u32 c = (__u16)~*sum;

	c += (__u16)~(from >> 16) + (__u16)~(from & 0xffff);
	c += (to >> 16) + (to & 0xffff);
	*sum = (__u16)~xvs_csum_fold(c);
}

#endif /* XVS_CSUM_H */
