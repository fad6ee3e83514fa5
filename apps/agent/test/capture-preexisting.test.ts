import { describe, expect, it } from "vitest";
import { kernelTestsUnavailable, RunningCapture } from "./capture-harness";
import { useCaptureLab } from "./capture-lab";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null)("sockets that predate the capture", () => {
  const lab = useCaptureLab({ link: {} });

  it("names a server that was listening before the capture started and never sends or receives", async () => {
    // In the agent's own namespace: /proc/net/tcp there is what the capture reads at start.
    const link = lab.link;
    const server = lab.traffic("kf-listener", ["tcp-listen-only", link.outerAddr]);
    const ready = await server.next("ready");
    const capture = await RunningCapture.start(link.outer);
    expect(capture.logs.some((l) => /^attributed [1-9]\d* socket\(s\) that predate/.test(l))).toBe(true);
    const client = lab.traffic(
      "kf-pusher",
      ["tcp-push", link.outerAddr, String(ready.port), "3000"],
      link.netns,
    );
    const done = await client.next("done");
    await new Promise((r) => setTimeout(r, 300));
    await capture.stop();

    const toServer = capture.records.filter((r) => r.protocol === 6 && r.src_port === done.local_port);
    expect(toServer.length).toBeGreaterThan(0);
    for (const r of toServer) {
      // The pushing client runs in a namespace of this host, so this host is the source end.
      expect(r).toMatchObject({ direction: "ingress", vantage: "src", dst_port: ready.port });
      expect(r.dst).toMatchObject({ pid: ready.pid, process_name: "kf-listener" });
      expect(r.src).toMatchObject({ pid: done.pid, process_name: "kf-pusher" });
    }
  });
});
