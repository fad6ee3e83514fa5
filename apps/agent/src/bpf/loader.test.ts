import { describe, expect, it } from "vitest";
import { chooseTracingPrograms } from "./loader";

describe("tracing program choice", () => {
  it("loads the err variant of the retransmit program when the tracepoint has three arguments", () => {
    const choice = chooseTracingPrograms({ tracepointArgs: (tp) => (tp === "tcp_retransmit_skb" ? 3 : 2) });
    expect(choice.load).toContain("kf_tcp_retransmit_err");
    expect(choice.load).not.toContain("kf_tcp_retransmit");
    expect(choice.load).toContain("kf_sock_send");
  });

  it("loads the two-argument retransmit program on older kernels", () => {
    const choice = chooseTracingPrograms({ tracepointArgs: () => 2 });
    expect(choice.load).toContain("kf_tcp_retransmit");
    expect(choice.load).not.toContain("kf_tcp_retransmit_err");
  });

  it("leaves out programs whose tracepoint the kernel lacks, saying which", () => {
    const choice = chooseTracingPrograms({
      tracepointArgs: (tp) => (tp === "sock_send_length" || tp === "sock_recv_length" ? undefined : 3),
    });
    expect(choice.load).not.toContain("kf_sock_send");
    expect(choice.skip).toContainEqual({
      program: "kf_sock_recv",
      reason: "kernel has no BTF tracepoint sock_recv_length",
    });
  });
});
