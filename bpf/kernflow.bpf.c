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

/* Split by responsibility, compiled as one object so that all programs share the maps. */
#include "maps.bpf.h"
#include "flows.bpf.h"
#include "sockets.bpf.h"
