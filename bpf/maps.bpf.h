/* Definitions and maps shared by the programs of kernflow.bpf.c (one object, several files to read). */
#ifndef KERNFLOW_MAPS_BPF_H
#define KERNFLOW_MAPS_BPF_H

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

#endif
