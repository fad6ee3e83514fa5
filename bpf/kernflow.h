/* Structs shared by the kernel programs (kernflow.bpf.c) and user space.
 * apps/agent/src/bpf/structs.ts mirrors every struct here; its test compares sizes and offsets with the
 * BTF of the compiled object, so change both together. Explicit padding keeps the layout identical on
 * both sides and makes hash keys free of uninitialised bytes. */
#ifndef KERNFLOW_H
#define KERNFLOW_H

#define KF_ADDR_LEN 16
#define KF_COMM_LEN 16

enum kf_direction {
	KF_DIR_INGRESS = 0,
	KF_DIR_EGRESS = 1,
};

/* One direction of one conversation on one interface. Addresses are IPv6 or IPv4-mapped IPv6
 * (::ffff:a.b.c.d); ports are in host byte order, 0 when the protocol has none. */
struct kf_flow_key {
	__u8 src_addr[KF_ADDR_LEN];
	__u8 dst_addr[KF_ADDR_LEN];
	__u16 src_port;
	__u16 dst_port;
	__u32 ifindex;
	__u8 protocol;
	__u8 direction;
	__u8 pad[2];
};

/* Counters of a flow since it was last drained. bytes are L3 bytes of every wire packet (GSO skbs
 * count each segment with its own headers), first/last are bpf_ktime_get_ns() (CLOCK_MONOTONIC). */
struct kf_flow_value {
	__u64 bytes;
	__u64 packets;
	__u64 first_ns;
	__u64 last_ns;
	__u16 tcp_flags;
	__u8 pad[6];
};

/* A socket's conversation seen from the socket: local and remote end. Same address form as flows. */
struct kf_sock_key {
	__u8 local_addr[KF_ADDR_LEN];
	__u8 remote_addr[KF_ADDR_LEN];
	__u16 local_port;
	__u16 remote_port;
	__u8 protocol;
	__u8 pad[3];
};

/* Who last used a socket: recorded only in process context (send, receive, connect). */
struct kf_sock_owner {
	__u32 pid; /* thread id */
	__u32 tgid; /* process id */
	__u64 cgroup_id; /* cgroup v2 id */
	__u64 seen_ns;
	char comm[KF_COMM_LEN];
};

/* Per-socket measurements since the last drain. */
struct kf_sock_stats {
	__u64 retransmits; /* segments retransmitted by this (local) end */
	__u64 latency_sum_ns; /* request sent -> first response byte received, client side only */
	__u64 latency_count;
	__u32 srtt_us; /* latest smoothed RTT, 0 when unknown */
	__u32 pad;
};

enum kf_sock_role {
	KF_ROLE_UNKNOWN = 0,
	KF_ROLE_CLIENT = 1,
	KF_ROLE_SERVER = 2,
};

/* Kernel-private state of a socket, keyed by the socket's address: application latency, and the
 * process that called connect(), kept until the socket has a local port to file it under. */
struct kf_sock_state {
	__u64 last_send_ns;
	__u8 role;
	__u8 awaiting_response;
	__u8 pad[6];
	struct kf_sock_owner connector;
	__u64 srtt_sampled_ns; /* tcp_probe fires per received segment; RTT is read at most every 100 ms */
};

/* Traffic not counted in the flow map because it was full (summed over CPUs by user space). */
struct kf_overflow {
	__u64 refused; /* packets whose flow had no room in kf_flows */
	__u64 packets;
	__u64 bytes;
};

/* Set by user space per attached interface: bytes of link header in front of the network header. */
struct kf_iface {
	__u32 link_header_len;
	__u32 pad;
};

#endif
