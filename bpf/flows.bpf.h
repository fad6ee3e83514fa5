/* tc programs: per-flow L3 bytes and wire packets into kf_flows. */
#ifndef KERNFLOW_FLOWS_BPF_H
#define KERNFLOW_FLOWS_BPF_H

#include "maps.bpf.h"

static __always_inline void kf_count_overflow(__u64 packets, __u64 bytes)
{
	__u32 zero = 0;
	struct kf_overflow *o = bpf_map_lookup_elem(&kf_overflow, &zero);

	if (o) {
		o->refused += 1;
		o->packets += packets;
		o->bytes += bytes;
	}
}

static __always_inline void kf_flow_add(struct kf_flow_key *key, __u64 packets, __u64 bytes, __u16 flags)
{
	__u64 now = bpf_ktime_get_ns();
	struct kf_flow_value *v = bpf_map_lookup_elem(&kf_flows, key);

	if (!v) {
		struct kf_flow_value fresh = {
			.bytes = bytes, .packets = packets, .first_ns = now, .last_ns = now, .tcp_flags = flags,
		};
		long err = bpf_map_update_elem(&kf_flows, key, &fresh, BPF_NOEXIST);

		if (!err)
			return;
		/* Another CPU created it between our lookup and insert: add to our own slot instead. */
		if (err == -EEXIST)
			v = bpf_map_lookup_elem(&kf_flows, key);
		if (!v) {
			kf_count_overflow(packets, bytes);
			return;
		}
	}
	/* Per-CPU slots: no other CPU writes this one, so plain adds are exact. */
	if (!v->first_ns)
		v->first_ns = now;
	v->bytes += bytes;
	v->packets += packets;
	v->last_ns = now;
	v->tcp_flags |= flags;
}

static __always_inline int kf_tc_count(struct __sk_buff *skb, __u8 direction)
{
	struct kf_flow_key key = {};
	__u32 ifindex = skb->ifindex;
	struct kf_iface *iface = bpf_map_lookup_elem(&kf_ifaces, &ifindex);
	__u32 off = iface ? iface->link_header_len : ETH_HLEN;
	__u16 proto;
	__u32 l4_off, hdr_len;
	__u8 l4_proto;
	__u16 flags = 0;
	int l4_ports = 1;

	if (off >= ETH_HLEN) {
		__be16 eth_proto;

		if (bpf_skb_load_bytes(skb, off - 2, &eth_proto, 2))
			return KF_TC_NEXT;
		proto = bpf_ntohs(eth_proto);
		/* Up to two VLAN tags carried in the packet (offloaded tags are not in skb data). */
		for (int i = 0; i < 2; i++) {
			if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
				break;
			off += 4;
			if (bpf_skb_load_bytes(skb, off - 2, &eth_proto, 2))
				return KF_TC_NEXT;
			proto = bpf_ntohs(eth_proto);
		}
	} else {
		proto = bpf_ntohs(skb->protocol);
	}

	if (proto == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
			return KF_TC_NEXT;
		hdr_len = (ip.ihl & 0xf) * 4;
		if (hdr_len < sizeof(ip))
			return KF_TC_NEXT;
		kf_map_ipv4(key.src_addr, ip.saddr);
		kf_map_ipv4(key.dst_addr, ip.daddr);
		l4_proto = ip.protocol;
		/* Later fragments carry no transport header. */
		if (bpf_ntohs(ip.frag_off) & 0x1fff)
			l4_ports = 0;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return KF_TC_NEXT;
		hdr_len = sizeof(ip6);
		__builtin_memcpy(key.src_addr, &ip6.saddr, KF_ADDR_LEN);
		__builtin_memcpy(key.dst_addr, &ip6.daddr, KF_ADDR_LEN);
		l4_proto = ip6.nexthdr;
		/* Extension headers (MLD's hop-by-hop, routing, destination options, fragment) stand
		 * between the IPv6 header and the transport; they are part of every segment's headers. */
		for (int i = 0; i < 4; i++) {
			__u8 ext[4];

			if (l4_proto == IPPROTO_HOPOPTS || l4_proto == IPPROTO_ROUTING || l4_proto == IPPROTO_DSTOPTS) {
				if (bpf_skb_load_bytes(skb, off + hdr_len, ext, 2))
					return KF_TC_NEXT;
				l4_proto = ext[0];
				hdr_len += (ext[1] + 1) * 8;
			} else if (l4_proto == IPPROTO_FRAGMENT) {
				if (bpf_skb_load_bytes(skb, off + hdr_len, ext, 4))
					return KF_TC_NEXT;
				l4_proto = ext[0];
				hdr_len += 8;
				if (((ext[2] << 8) | ext[3]) & 0xfff8)
					l4_ports = 0;
			} else {
				break;
			}
		}
	} else {
		/* Not IP (ARP, LLDP, ...): flow records describe IP conversations only. */
		return KF_TC_NEXT;
	}
	l4_off = off + hdr_len;
	key.protocol = l4_proto;
	key.direction = direction;
	key.ifindex = ifindex;

	if (l4_ports && (l4_proto == IPPROTO_TCP || l4_proto == IPPROTO_UDP)) {
		__u8 l4[14] = {};
		__u32 need = l4_proto == IPPROTO_TCP ? 14 : 4;

		if (need == 14 ? bpf_skb_load_bytes(skb, l4_off, l4, 14) : bpf_skb_load_bytes(skb, l4_off, l4, 4))
			return KF_TC_NEXT;
		key.src_port = (l4[0] << 8) | l4[1];
		key.dst_port = (l4[2] << 8) | l4[3];
		if (l4_proto == IPPROTO_TCP) {
			flags = ((l4[12] & 1) << 8) | l4[13];
			hdr_len += (l4[12] >> 4) * 4;
		} else {
			hdr_len += 8;
		}
	}

	/* A GSO skb leaves the host as gso_segs packets, each with its own copy of the headers. */
	__u64 len = skb->len > off ? skb->len - off : 0;
	__u64 segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	__u64 bytes = len + (segs - 1) * hdr_len;

	kf_flow_add(&key, segs, bytes, flags);
	return KF_TC_NEXT;
}

SEC("tc")
int kf_tc_ingress(struct __sk_buff *skb)
{
	return kf_tc_count(skb, KF_DIR_INGRESS);
}

SEC("tc")
int kf_tc_egress(struct __sk_buff *skb)
{
	return kf_tc_count(skb, KF_DIR_EGRESS);
}

#endif
