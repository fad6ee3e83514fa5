/* BTF tracepoints: socket owners, retransmits, smoothed RTT and request/response latency. */
#ifndef KERNFLOW_SOCKETS_BPF_H
#define KERNFLOW_SOCKETS_BPF_H

#include "maps.bpf.h"

/* Fills key from the socket; returns 0 for TCP/UDP over IPv4/IPv6, -1 otherwise. Unconnected UDP
 * sockets have no remote end yet: the remote part stays zero and user space matches on the local end. */
static __always_inline int kf_common_key_of(const struct sock_common *skc, __u16 protocol, struct kf_sock_key *key)
{
	__u16 family = BPF_CORE_READ(skc, skc_family);

	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return -1;
	if (family == AF_INET) {
		kf_map_ipv4(key->local_addr, BPF_CORE_READ(skc, skc_rcv_saddr));
		__be32 daddr = BPF_CORE_READ(skc, skc_daddr);
		if (daddr)
			kf_map_ipv4(key->remote_addr, daddr);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&key->local_addr, skc, skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&key->remote_addr, skc, skc_v6_daddr.in6_u.u6_addr8);
	} else {
		return -1;
	}
	key->local_port = BPF_CORE_READ(skc, skc_num);
	key->remote_port = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	key->protocol = protocol;
	return 0;
}

static __always_inline int kf_sock_key_of(const struct sock *sk, struct kf_sock_key *key)
{
	return kf_common_key_of(&sk->__sk_common, BPF_CORE_READ(sk, sk_protocol), key);
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

/* A retransmitted SYN-ACK belongs to a connection not accepted yet: its request socket carries the
 * 5-tuple. The kernel adds these to the accepted socket's tcpi_total_retrans. */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(kf_tcp_retransmit_synack, const struct sock *listener, const struct request_sock *req)
{
	struct kf_sock_key key = {};

	if (kf_common_key_of(&req->__req_common, IPPROTO_TCP, &key))
		return 0;
	struct kf_sock_stats *s = kf_stats_of(&key);
	if (s)
		__sync_fetch_and_add(&s->retransmits, 1);
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

#endif
