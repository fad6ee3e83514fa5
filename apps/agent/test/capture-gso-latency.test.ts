import { describe, expect, it } from "vitest";
import { counters, kernelTestsUnavailable, RunningCapture, totals, type VethLink } from "./capture-harness";
import { useCaptureLab } from "./capture-lab";

const unavailable = kernelTestsUnavailable();

/** TCP counters of /proc/net/snmp in a namespace. */
function tcpSnmp(link: VethLink): Record<string, number> {
  const lines = link
    .inNs("cat", "/proc/net/snmp")
    .split("\n")
    .filter((l) => l.startsWith("Tcp:"));
  const [names = "", values = ""] = lines;
  const keys = names.split(/\s+/).slice(1);
  const nums = values.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, nums[i] ?? Number.NaN]));
}

describe.skipIf(unavailable !== null)("capture of GSO traffic and request latency", () => {
  const lab = useCaptureLab({ link: {} }); // veth's default TSO: TCP hands the device multi-segment skbs

  it("counts a GSO skb as its wire segments, each with its own IP and TCP headers", async () => {
    const link = lab.link;
    const server = lab.traffic("kf-gsosrv", ["tcp-server", link.outerAddr, "1", "0", "1000000"]);
    const ready = await server.next("ready");
    const capture = await RunningCapture.start(link.outer);
    const snmpBefore = tcpSnmp(link);
    const before = counters(link.outer);
    const client = lab.traffic(
      "kf-gsocli",
      ["tcp-client", link.outerAddr, String(ready.port), "1", "1000000", "1"],
      link.netns,
    );
    const done = await client.next("done");
    await server.next("closed");
    await new Promise((r) => setTimeout(r, 200));
    await capture.stop();
    const after = counters(link.outer);
    const segmentsOut = (tcpSnmp(link).OutSegs ?? Number.NaN) - (snmpBefore.OutSegs ?? Number.NaN);

    const upload = totals(
      capture.records,
      (r) => r.direction === "ingress" && r.protocol === 6 && r.src_port === done.local_port,
    );
    // The client socket's own count of segments sent (retransmissions and pure ACKs included), and
    // of payload bytes sent; a retransmission is a wire packet too.
    expect(upload.packets).toBe(done.segs_out);
    // Its namespace's OutSegs counts the first transmissions only: equal unless something was resent.
    expect(upload.packets).toBeGreaterThanOrEqual(segmentsOut);
    // veth counts one packet per skb, so fewer than the wire segments proves GSO skbs were seen.
    expect(after.rxPackets - before.rxPackets).toBeLessThan(upload.packets);
    // Payload; 20-byte IP + 32-byte TCP header (timestamps) per segment; the SYN's options add 8.
    expect(done.bytes_sent).toBeGreaterThanOrEqual(1_000_000);
    expect(upload.bytes).toBe((done.bytes_sent as number) + 52 * upload.packets + 8);
  });

  it("measures request-to-response latency on the client side of a connection", async () => {
    const delayMs = 60;
    const link = lab.link;
    const server = lab.traffic(
      "kf-slowsrv",
      ["tcp-server", link.innerAddr, "200", String(delayMs), "100"],
      link.netns,
    );
    const ready = await server.next("ready");
    const capture = await RunningCapture.start(link.outer);
    const client = lab.traffic("kf-reqcli", [
      "tcp-client",
      link.innerAddr,
      String(ready.port),
      "5",
      "100",
      "200",
    ]);
    const done = await client.next("done");
    await server.next("closed");
    await new Promise((r) => setTimeout(r, 200));
    await capture.stop();

    const conversation = capture.records.filter(
      (r) => r.protocol === 6 && (r.src_port === done.local_port || r.dst_port === done.local_port),
    );
    const latencies = conversation.map((r) => r.app_latency_ms).filter((l): l is number => l !== null);
    expect(latencies.length).toBeGreaterThan(0);
    for (const l of latencies) {
      expect(l).toBeGreaterThanOrEqual(delayMs);
      expect(l).toBeLessThan(delayMs * 1.2);
    }
  });
});
