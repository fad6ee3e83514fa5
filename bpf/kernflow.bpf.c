// SPDX-License-Identifier: GPL-2.0
/* kernflow kernel side, one CO-RE object:
 *  - tc ingress/egress programs aggregate L3 bytes and wire packets per flow into kf_flows, which user
 *    space drains every interval (in-kernel aggregation: no per-packet events cross to user space);
 *  - BTF tracepoints record, per socket 5-tuple, the process that owns it (kf_sock_owners) and its
 *    retransmits, smoothed RTT and request/response latency (kf_sock_stats, drained like kf_flows). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kernflow.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_HOPOPTS 0
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS 60
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define EEXIST 17
/* tcx: let the next program (or the stack) decide; cls_bpf direct-action reads -1 as "unspecified". */
#define KF_TC_NEXT -1
#define KF_SRTT_SAMPLE_NS 100000000ULL

/* Sizes are placeholders: the loader sets them with bpf_map__set_max_entries before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct kf_flow_key);
	__type(value, struct kf_flow_value);
} kf_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kf_overflow);
} kf_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct kf_iface);
} kf_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct kf_sock_key);
	__type(value, struct kf_sock_owner);
} kf_sock_owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct kf_sock_key);
	__type(value, struct kf_sock_stats);
} kf_sock_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct kf_sock_state);
} kf_sock_states SEC(".maps");

static __always_inline void kf_map_ipv4(__u8 *addr, __be32 ip)
{
	addr[10] = 0xff;
	addr[11] = 0xff;
	__builtin_memcpy(addr + 12, &ip, 4);
}

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

/* Fills key from the socket; returns 0 for TCP/UDP over IPv4/IPv6, -1 otherwise. Unconnected UDP
 * sockets have no remote end yet: the remote part stays zero and user space matches on the local end. */
static __always_inline int kf_sock_key_of(const struct sock *sk, struct kf_sock_key *key)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 protocol = BPF_CORE_READ(sk, sk_protocol);

	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return -1;
	if (family == AF_INET) {
		kf_map_ipv4(key->local_addr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
		__be32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		if (daddr)
			kf_map_ipv4(key->remote_addr, daddr);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&key->local_addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&key->remote_addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		return -1;
	}
	key->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	key->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	key->protocol = protocol;
	return 0;
}

static __always_inline void kf_current_owner(struct kf_sock_owner *owner)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	owner->pid = (__u32)pid_tgid;
	owner->tgid = (__u32)(pid_tgid >> 32);
	owner->cgroup_id = bpf_get_current_cgroup_id();
	owner->seen_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(owner->comm, sizeof(owner->comm));
}

/* Process context only: the current task is the socket's user. */
static __always_inline void kf_note_owner(struct kf_sock_key *key)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct kf_sock_owner *known = bpf_map_lookup_elem(&kf_sock_owners, key);

	if (known && known->tgid == tgid) {
		known->seen_ns = bpf_ktime_get_ns();
		return;
	}
	struct kf_sock_owner owner = {};
	kf_current_owner(&owner);
	bpf_map_update_elem(&kf_sock_owners, key, &owner, BPF_ANY);
}

/* Softirq context (handshake completion, retransmit timers): the owner is the task that called
 * connect(), remembered by kf_inet_sock_set_state, filed now that the socket's 5-tuple is complete. */
static __always_inline void kf_note_connector(const struct sock *sk, struct kf_sock_key *key)
{
	__u64 id = (__u64)sk;
	struct kf_sock_state *st = bpf_map_lookup_elem(&kf_sock_states, &id);

	if (st && st->connector.tgid)
		bpf_map_update_elem(&kf_sock_owners, key, &st->connector, BPF_NOEXIST);
}

static __always_inline struct kf_sock_stats *kf_stats_of(struct kf_sock_key *key)
{
	struct kf_sock_stats *s = bpf_map_lookup_elem(&kf_sock_stats, key);

	if (s)
		return s;
	struct kf_sock_stats zero = {};
	bpf_map_update_elem(&kf_sock_stats, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&kf_sock_stats, key);
}

/* A socket whose first observed call is a send is the client of a request/response exchange, unless
 * connect() already said so; the response latency is measured only on the client side. */
static __always_inline struct kf_sock_state *kf_state_of(const struct sock *sk, __u8 role_if_new)
{
	__u64 id = (__u64)sk;
	struct kf_sock_state *st = bpf_map_lookup_elem(&kf_sock_states, &id);

	if (st)
		return st;
	struct kf_sock_state fresh = { .role = role_if_new };
	bpf_map_update_elem(&kf_sock_states, &id, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&kf_sock_states, &id);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(kf_sock_send, struct sock *sk, int ret, int flags)
{
	struct kf_sock_key key = {};

	if (ret <= 0 || kf_sock_key_of(sk, &key))
		return 0;
	kf_note_owner(&key);
	struct kf_sock_state *st = kf_state_of(sk, KF_ROLE_CLIENT);
	if (st && st->role == KF_ROLE_CLIENT) {
		/* Every send moves the mark: latency runs from the request's last byte. */
		st->last_send_ns = bpf_ktime_get_ns();
		st->awaiting_response = 1;
	}
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(kf_sock_recv, struct sock *sk, int ret, int flags)
{
	struct kf_sock_key key = {};

	if (ret <= 0 || kf_sock_key_of(sk, &key))
		return 0;
	kf_note_owner(&key);
	struct kf_sock_state *st = kf_state_of(sk, KF_ROLE_SERVER);
	if (!st || st->role != KF_ROLE_CLIENT || !st->awaiting_response)
		return 0;
	st->awaiting_response = 0;
	__u64 latency = bpf_ktime_get_ns() - st->last_send_ns;
	struct kf_sock_stats *s = kf_stats_of(&key);
	if (s) {
		__sync_fetch_and_add(&s->latency_sum_ns, latency);
		__sync_fetch_and_add(&s->latency_count, 1);
	}
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(kf_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	__u64 id = (__u64)sk;
	struct kf_sock_key key = {};

	if (newstate == TCP_SYN_SENT) {
		/* connect(), in the caller's context, before the local port is chosen. */
		struct kf_sock_state client = { .role = KF_ROLE_CLIENT };
		kf_current_owner(&client.connector);
		bpf_map_update_elem(&kf_sock_states, &id, &client, BPF_ANY);
		/* Until the handshake completes, the SYNs are filed under local port 0 (unless bound). */
		if (!kf_sock_key_of(sk, &key))
			bpf_map_update_elem(&kf_sock_owners, &key, &client.connector, BPF_ANY);
	} else if (newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_SENT) {
		if (!kf_sock_key_of(sk, &key))
			kf_note_connector(sk, &key);
	} else if (newstate == TCP_LISTEN) {
		/* listen(), in the caller's context: accepted sockets are this process's until they are used. */
		if (!kf_sock_key_of(sk, &key))
			kf_note_owner(&key);
	} else if (newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&kf_sock_states, &id);
	}
	return 0;
}

static __always_inline void kf_count_retransmit(const struct sock *sk, const struct sk_buff *skb)
{
	struct kf_sock_key key = {};

	if (kf_sock_key_of(sk, &key))
		return;
	/* A retransmitted SYN: the connection has no other packets yet to learn its owner from. */
	kf_note_connector(sk, &key);
	/* One skb may hold several segments (tcp_skb_pcount). */
	unsigned char *head = BPF_CORE_READ(skb, head);
	unsigned int end = BPF_CORE_READ(skb, end);
	struct skb_shared_info *shinfo = (struct skb_shared_info *)(head + end);
	__u16 segs = BPF_CORE_READ(shinfo, gso_segs);
	struct kf_sock_stats *s = kf_stats_of(&key);
	if (s)
		__sync_fetch_and_add(&s->retransmits, segs > 1 ? segs : 1);
}

/* Kernels before the tracepoint gained its "err" argument only fire it for sent retransmits. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(kf_tcp_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	kf_count_retransmit(sk, skb);
	return 0;
}

/* Newer kernels fire it for every attempt, with err. Those that bail out before the kernel counts a
 * retransmit (skb still queued, no memory, no route, window shrunk) are skipped; a transmit that the
 * local qdisc dropped still counts, as it does in the kernel's RetransSegs and tcpi_total_retrans. */
#define EAGAIN 11
#define ENOMEM 12
#define EBUSY 16
#define EHOSTUNREACH 113
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(kf_tcp_retransmit_err, const struct sock *sk, const struct sk_buff *skb, int err)
{
	if (err != -EBUSY && err != -ENOMEM && err != -EHOSTUNREACH && err != -EAGAIN)
		kf_count_retransmit(sk, skb);
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(kf_tcp_probe, struct sock *sk, const struct sk_buff *skb)
{
	struct kf_sock_key key = {};
	__u64 id = (__u64)sk;
	struct kf_sock_state *st = bpf_map_lookup_elem(&kf_sock_states, &id);
	__u64 now = bpf_ktime_get_ns();

	/* Smoothed RTT moves slowly; reading it on every ACK would cost more than the flow counting. */
	if (st) {
		if (now - st->srtt_sampled_ns < KF_SRTT_SAMPLE_NS)
			return 0;
		st->srtt_sampled_ns = now;
	}
	if (kf_sock_key_of(sk, &key))
		return 0;
	__u32 srtt = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;
	if (!srtt)
		return 0;
	struct kf_sock_stats *s = kf_stats_of(&key);
	if (s)
		s->srtt_us = srtt;
	return 0;
}
