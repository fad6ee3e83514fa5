/**
 * Names of the programs and maps in bpf/kernflow.bpf.c. Shared by the agent's loader and the console's
 * bytecode validator, so an uploaded object is checked against exactly what the agent will look up.
 */
export const programNames = {
  tcIngress: "kf_tc_ingress",
  tcEgress: "kf_tc_egress",
  sockSend: "kf_sock_send",
  sockRecv: "kf_sock_recv",
  inetSockSetState: "kf_inet_sock_set_state",
  tcpRetransmit: "kf_tcp_retransmit",
  tcpRetransmitErr: "kf_tcp_retransmit_err",
  tcpRetransmitSynack: "kf_tcp_retransmit_synack",
  tcpProbe: "kf_tcp_probe",
} as const;

export const mapNames = {
  flows: "kf_flows",
  overflow: "kf_overflow",
  ifaces: "kf_ifaces",
  sockOwners: "kf_sock_owners",
  sockStats: "kf_sock_stats",
  sockStates: "kf_sock_states",
} as const;

/** Kernel tracepoint each tracing program needs (a `btf_trace_<name>` typedef in vmlinux BTF). */
export const tracepointOf = {
  [programNames.sockSend]: "sock_send_length",
  [programNames.sockRecv]: "sock_recv_length",
  [programNames.inetSockSetState]: "inet_sock_set_state",
  [programNames.tcpRetransmit]: "tcp_retransmit_skb",
  [programNames.tcpRetransmitErr]: "tcp_retransmit_skb",
  [programNames.tcpRetransmitSynack]: "tcp_retransmit_synack",
  [programNames.tcpProbe]: "tcp_probe",
} as const;

export type TracingProgramName = keyof typeof tracepointOf;
