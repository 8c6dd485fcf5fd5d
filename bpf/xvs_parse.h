/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow key extraction for the XDP and TC hooks: the BPF counterpart of OVS's
 * flow_extract() for the fields struct xvs_flow_key carries. Works on a
 * (data, data_end) window only, so both hooks share every line of it.
 *
 * Rules (as OVS): a header that does not fit leaves the key holding what was
 * parsed before it (a truncated IPv4 header gives eth_type 0x0800 and zero L3
 * fields; a truncated TCP header gives L3 and zero L4) and is reported as
 * truncated. Nothing past data_end is ever read.
 *
 * VLAN: one tag, like OVS with a single VLAN header (OVS <= 2.7, and the
 * kernel datapath before QinQ): an 802.1Q (0x8100) outer tag goes into
 * vlan_tci; an 802.1ad (0x88a8) outer tag is not a VLAN for the key, the frame
 * is keyed as eth_type 0x88a8 with nothing above L2 (the key has no TPID
 * field, so an S-tag must not look like a C-tag). An inner tag under an
 * 802.1Q tag shows up as eth_type 0x8100, again with nothing above L2.
 *
 * Not extracted (the key has no fields for them): MPLS labels, IGMP, and the
 * ND target/SLL/TLL of ICMPv6 neighbour discovery. An IPv6 extension header
 * chain longer than XVS_IPV6_MAX_EXT, or whose end lies past XVS_MAX_HDR_OFF,
 * ends the walk as an unknown header would (nw_proto = that header).
 */
#ifndef XVS_PARSE_H
#define XVS_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xvs_abi.h"

#define XVS_ETH_P_8021AD   0x88A8
#define XVS_DL_TYPE_NONE   0x05FF   /* OVS's FLOW_DL_TYPE_NONE: 802.2 frame without SNAP */
#define XVS_IPV6_MAX_EXT   6        /* extension headers walked before giving up */
#define XVS_MAX_HDR_OFF    1024     /* L4 header must start below this offset */

#define XVS_PARSE_OK       0
#define XVS_PARSE_TRUNC    1        /* a header ended early or was malformed */

/* Where the headers the set-field actions touch start; 0 = not parsed. */
struct xvs_layout {
	__u16 l3_off;
	__u16 l4_off;
	__u32 launder;   /* see xvs_launder() */
	__u32 flags;     /* XVS_LAY_F_* */
};

/* IPv6 routing header with segments left: the L4 pseudo-header holds its
 * final address, not the IPv6 destination (no L4 fix when that changes). */
#define XVS_LAY_F_RH  0x1

struct xvs_vlan_hdr {
	__be16 tci;
	__be16 next_type;
};

struct xvs_llc_snap {
	__u8   dsap, ssap, ctrl;
	__u8   oui[3];
	__be16 type;
};

struct xvs_arp_eth {               /* ARP for Ethernet/IPv4, 28 bytes */
	__be16 hrd, pro;
	__u8   hln, pln;
	__be16 op;
	__u8   sha[6];
	__u8   spa[4];
	__u8   tha[6];
	__u8   tpa[4];
};

/*
 * Round-trips a value through map memory. The verifier forgets what it knew
 * about it, so parse paths that only differ in header lengths merge into one
 * verifier state instead of multiplying (the IPv6 extension header walk would
 * otherwise be explored once per combination of header types).
 */
static __always_inline __u32 xvs_launder(struct xvs_layout *lay, __u32 v)
{
	*(volatile __u32 *)&lay->launder = v;
	return *(volatile __u32 *)&lay->launder;
}

static __always_inline void xvs_copy_mac(__u8 *dst, const __u8 *src)
{
	/* three 16-bit moves instead of six byte moves */
	((__u16 *)dst)[0] = ((const __u16 *)src)[0];
	((__u16 *)dst)[1] = ((const __u16 *)src)[1];
	((__u16 *)dst)[2] = ((const __u16 *)src)[2];
}

static __always_inline void xvs_key_zero(struct xvs_flow_key *key)
{
	__u64 *w = (__u64 *)key;

#pragma unroll
	for (int i = 0; i < XVS_KEY_WORDS; i++)
		w[i] = 0;
}

/*
 * A well-formed IPv4 header at data + off (OVS's ipv4_sanity_check plus the
 * version check): returns it and its length, or NULL. pkt_len is the whole
 * frame, which at TC can be longer than the linear data_end window.
 */
static __always_inline struct iphdr *
xvs_ipv4_hdr(void *data, void *data_end, __u32 off, __u32 pkt_len, __u32 *ihl_out)
{
	struct iphdr *ip = data + off;
	__u32 ihl, tot;

	if ((void *)(ip + 1) > data_end)
		return NULL;
	ihl = ip->ihl * 4;
	if (ip->version != 4 || ihl < sizeof(*ip))
		return NULL;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < ihl || off + tot > pkt_len)
		return NULL;
	*ihl_out = ihl;
	return ip;
}

/* need bytes of L4 header at p (offset l4) inside both the IP payload and the window */
static __always_inline int xvs_l4_fits(void *p, __u32 l4, __u32 need, __u32 l3_end, void *data_end)
{
	return l4 + need <= l3_end && p + need <= data_end;
}

/*
 * L4 (TCP, UDP, SCTP, ICMP, ICMPv6) at l4 .. l3_end. Minimum lengths are
 * OVS's: 20, 8, 12, 8, 8. Each protocol checks its own constant length (a
 * shared variable one would not survive the compiler for the verifier).
 */
static __always_inline int
xvs_parse_l4(void *data, void *data_end, __u32 l4, __u32 l3_end, __u8 proto,
	     int ipv6, struct xvs_flow_key *key, struct xvs_layout *lay)
{
	void *p;

	if (l4 > XVS_MAX_HDR_OFF)
		return XVS_PARSE_TRUNC;
	p = data + l4;

	if (proto == IPPROTO_TCP) {
		if (!xvs_l4_fits(p, l4, 20, l3_end, data_end))
			return XVS_PARSE_TRUNC;
		key->tp_src = ((__be16 *)p)[0];
		key->tp_dst = ((__be16 *)p)[1];
		/* data offset + flags word, flags only */
		key->tcp_flags = ((__be16 *)p)[6] & bpf_htons(0x0fff);
	} else if (proto == IPPROTO_UDP || proto == IPPROTO_SCTP) {
		if (!xvs_l4_fits(p, l4, proto == IPPROTO_UDP ? 8 : 12, l3_end, data_end))
			return XVS_PARSE_TRUNC;
		key->tp_src = ((__be16 *)p)[0];
		key->tp_dst = ((__be16 *)p)[1];
	} else if (ipv6 ? proto == IPPROTO_ICMPV6 : proto == IPPROTO_ICMP) {
		if (!xvs_l4_fits(p, l4, 8, l3_end, data_end))
			return XVS_PARSE_TRUNC;
		/* type/code in network order, the value in the low byte */
		key->tp_src = bpf_htons(((__u8 *)p)[0]);
		key->tp_dst = bpf_htons(((__u8 *)p)[1]);
	} else {
		return XVS_PARSE_OK;   /* no L4 fields for this protocol */
	}
	lay->l4_off = l4;
	return XVS_PARSE_OK;
}

static __always_inline int xvs_ipv6_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH || nh == IPPROTO_FRAGMENT;
}

static __always_inline int
xvs_parse_ipv6(void *data, void *data_end, __u32 off, __u32 pkt_len,
	       struct xvs_flow_key *key, struct xvs_layout *lay)
{
	struct ipv6hdr *ip6 = data + off;
	__u32 l4, end, flow_word;
	__u8 nh, frag = 0;

	if ((void *)(ip6 + 1) > data_end)
		return XVS_PARSE_TRUNC;
	l4 = off + sizeof(*ip6);
	end = l4 + bpf_ntohs(ip6->payload_len);   /* never parse the L2 padding */
	if (end > pkt_len)
		return XVS_PARSE_TRUNC;

	__builtin_memcpy(key->nw_src, &ip6->saddr, 16);
	__builtin_memcpy(key->nw_dst, &ip6->daddr, 16);
	lay->l3_off = off;
	nh = ip6->nexthdr;
	flow_word = *(__be32 *)ip6;

	/*
	 * Extension headers as OVS's parse_ipv6_ext_hdrs__. An unknown header
	 * or the walk limit ends it: nw_proto is then that header's number.
	 */
	for (int i = 0; i < XVS_IPV6_MAX_EXT; i++) {
		__u8 *h;

		if (!xvs_ipv6_ext(nh))
			break;
		l4 = xvs_launder(lay, l4);
		if (l4 > XVS_MAX_HDR_OFF)
			break;   /* chain too deep: stop as at an unknown header */
		h = data + l4;
		if (l4 + 8 > end || (void *)(h + 8) > data_end) {
			/* OVS keeps only the addresses when the chain is cut short */
			return XVS_PARSE_TRUNC;
		}
		if (nh == IPPROTO_FRAGMENT) {
			__be16 offlg = *(__be16 *)(h + 2);

			nh = h[0];
			l4 += 8;
			if (offlg) {
				frag = XVS_FRAG_ANY;
				if (offlg & bpf_htons(0xfff8)) {
					/* later fragment: no L4 header here */
					frag |= XVS_FRAG_LATER;
					nh = IPPROTO_FRAGMENT;
					break;
				}
			}
		} else if (nh == IPPROTO_AH) {
			nh = h[0];
			l4 += (h[1] + 2) * 4;
		} else {
			/* routing header with segments left, branch-free (no new verifier paths) */
			lay->flags |= (((__u32)(nh ^ IPPROTO_ROUTING) - 1) >> 31 & (0u - h[3]) >> 31) * XVS_LAY_F_RH;
			nh = h[0];
			l4 += (h[1] + 1) * 8;
		}
	}

	key->ipv6_label = flow_word & bpf_htonl(0x000fffff);
	key->nw_tos = bpf_ntohl(flow_word) >> 20;
	key->nw_ttl = ip6->hop_limit;
	key->nw_proto = nh;
	key->nw_frag = frag;
	if (frag & XVS_FRAG_LATER)
		return XVS_PARSE_OK;
	l4 = xvs_launder(lay, l4);
	return xvs_parse_l4(data, data_end, l4, end, nh, 1, key, lay);
}

/*
 * Fills key (all but in_port) and lay from the frame in [data, data_end).
 * pkt_len: length of the whole frame. skb_tpid/skb_tci: a VLAN tag the kernel
 * already moved into skb metadata (TC), tpid 0 if none.
 */
static __always_inline int
xvs_flow_extract(void *data, void *data_end, __u32 pkt_len, __be16 skb_tpid, __u16 skb_tci,
		 struct xvs_flow_key *key, struct xvs_layout *lay)
{
	struct ethhdr *eth = data;
	__u32 off = ETH_HLEN;
	__be16 type;

	xvs_key_zero(key);
	lay->l3_off = 0;
	lay->l4_off = 0;
	lay->flags = 0;

	if ((void *)(eth + 1) > data_end)
		return XVS_PARSE_TRUNC;
	xvs_copy_mac(key->eth_src, eth->h_source);
	xvs_copy_mac(key->eth_dst, eth->h_dest);
	type = eth->h_proto;

	if (skb_tpid) {
		if (skb_tpid != bpf_htons(ETH_P_8021Q)) {
			key->eth_type = skb_tpid;   /* S-tag: opaque, as on the wire */
			return XVS_PARSE_OK;
		}
		key->vlan_tci = bpf_htons(skb_tci | XVS_VLAN_PRESENT);
	} else if (type == bpf_htons(ETH_P_8021Q)) {
		struct xvs_vlan_hdr *vh = data + off;

		if ((void *)(vh + 1) > data_end) {
			key->eth_type = type;   /* OVS: the TPID becomes the type */
			return XVS_PARSE_TRUNC;
		}
		key->vlan_tci = vh->tci | bpf_htons(XVS_VLAN_PRESENT);
		type = vh->next_type;
		off += sizeof(*vh);
	}

	/* 802.3 length field: LLC/SNAP or "no type" (OVS's parse_ethertype) */
	if (bpf_ntohs(type) < ETH_P_802_3_MIN) {
		struct xvs_llc_snap *llc = data + off;

		type = bpf_htons(XVS_DL_TYPE_NONE);
		if ((void *)(llc + 1) <= data_end && llc->dsap == 0xaa && llc->ssap == 0xaa &&
		    llc->ctrl == 0x03 && !llc->oui[0] && !llc->oui[1] && !llc->oui[2] &&
		    bpf_ntohs(llc->type) >= ETH_P_802_3_MIN) {
			type = llc->type;
			off += sizeof(*llc);
		}
	}
	key->eth_type = type;

	if (type == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip;
		__u32 ihl = 0;

		ip = xvs_ipv4_hdr(data, data_end, off, pkt_len, &ihl);
		if (!ip)
			return XVS_PARSE_TRUNC;
		*(__be32 *)key->nw_src = ip->saddr;
		*(__be32 *)key->nw_dst = ip->daddr;
		key->nw_proto = ip->protocol;
		key->nw_tos = ip->tos;
		key->nw_ttl = ip->ttl;
		lay->l3_off = off;
		if (ip->frag_off & bpf_htons(0x3fff)) {   /* MF or an offset */
			key->nw_frag = XVS_FRAG_ANY;
			if (ip->frag_off & bpf_htons(0x1fff)) {
				key->nw_frag |= XVS_FRAG_LATER;
				return XVS_PARSE_OK;
			}
		}
		return xvs_parse_l4(data, data_end, off + ihl, off + bpf_ntohs(ip->tot_len),
				    ip->protocol, 0, key, lay);
	}

	if (type == bpf_htons(ETH_P_IPV6))
		return xvs_parse_ipv6(data, data_end, off, pkt_len, key, lay);

	if (type == bpf_htons(ETH_P_ARP) || type == bpf_htons(ETH_P_RARP)) {
		struct xvs_arp_eth *arp = data + off;

		if ((void *)(arp + 1) > data_end)
			return XVS_PARSE_TRUNC;
		/* only Ethernet/IPv4 ARP has fields in the key (OVS) */
		if (arp->hrd != bpf_htons(1) || arp->pro != bpf_htons(ETH_P_IP) ||
		    arp->hln != ETH_ALEN || arp->pln != 4)
			return XVS_PARSE_OK;
		__builtin_memcpy(key->nw_src, arp->spa, 4);
		__builtin_memcpy(key->nw_dst, arp->tpa, 4);
		if (bpf_ntohs(arp->op) <= 0xff)   /* OVS matches the low 8 bits only */
			key->nw_proto = bpf_ntohs(arp->op);
		xvs_copy_mac(key->arp_sha, arp->sha);
		xvs_copy_mac(key->arp_tha, arp->tha);
	}
	return XVS_PARSE_OK;
}

#endif /* XVS_PARSE_H */
