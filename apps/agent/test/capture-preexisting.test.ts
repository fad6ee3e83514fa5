import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  kernelTestsUnavailable,
  NamedPrograms,
  RunningCapture,
  TrafficProcess,
  trafficScript,
  VethLink,
} from "./capture-harness";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null)("sockets that predate the capture", () => {
  let link: VethLink;
  let programs: NamedPrograms;
  const procs: TrafficProcess[] = [];

  beforeAll(() => {
    link = new VethLink().create();
    programs = new NamedPrograms();
  });
  afterAll(() => {
    for (const p of procs) p.stop();
    link?.destroy();
    programs?.cleanup();
  });

  it("names a server that was listening before the capture started and never sends or receives", async () => {
    // In the agent's own namespace: /proc/net/tcp there is what the capture reads at start.
    const server = TrafficProcess.start([
      ...[programs.path("kf-listener"), trafficScript, "tcp-listen-only", link.outerAddr],
    ]);
    procs.push(server);
    const ready = await server.next("ready");
    const capture = await RunningCapture.start(link.outer);
    expect(capture.logs.some((l) => /^attributed [1-9]\d* socket\(s\) that predate/.test(l))).toBe(true);
    const client = TrafficProcess.start([
      ...["ip", "netns", "exec", link.netns, programs.path("kf-pusher"), trafficScript, "tcp-push"],
      ...[link.outerAddr, String(ready.port), "3000"],
    ]);
    procs.push(client);
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
