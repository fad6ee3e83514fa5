import { describe, expect, it } from "vitest";
import { counters, ImpairedLink, kernelTestsUnavailable, RunningCapture, totals } from "./capture-harness";
import { useCaptureLab } from "./capture-lab";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null)("capture on a link with delay and loss", () => {
  const lab = useCaptureLab();

  async function converse(link: ImpairedLink, requests: number, request: number) {
    const server = lab.traffic(
      "kf-impsrv",
      ["tcp-server", link.innerAddr, "100", "0", String(request)],
      link.netns,
    );
    const ready = await server.next("ready");
    const capture = await RunningCapture.start(link.outer);
    const before = counters(link.outer);
    const client = lab.traffic("kf-impcli", [
      ...["tcp-client", link.innerAddr, String(ready.port)],
      ...[String(requests), String(request), "100"],
    ]);
    const done = await client.next("done", 60_000);
    const closed = await server.next("closed", 30_000);
    await new Promise((r) => setTimeout(r, 300));
    await capture.stop();
    const after = counters(link.outer);
    return { capture, done, closed, before, after };
  }

  it("reports the smoothed RTT of a connection within 20% of the link's round trip", async () => {
    const oneWayMs = 25;
    const link = lab.keep(await new ImpairedLink().create({ delayMs: oneWayMs, lossPercent: 0 }));
    const { capture, done, before, after } = await converse(link, 12, 100);
    // A TUN device has no link header: its counters are L3 bytes, as records are.
    expect(totals(capture.records, (r) => r.direction === "egress")).toEqual({
      packets: after.txPackets - before.txPackets,
      bytes: after.txBytes - before.txBytes,
    });
    expect(totals(capture.records, (r) => r.direction === "ingress")).toEqual({
      packets: after.rxPackets - before.rxPackets,
      bytes: after.rxBytes - before.rxBytes,
    });
    const records = capture.records.filter(
      (r) => r.protocol === 6 && (r.src_port === done.local_port || r.dst_port === done.local_port),
    );
    const last = records.filter((r) => r.rtt_us !== null).at(-1);
    expect(last?.rtt_us).toBeDefined();
    const rtt = last?.rtt_us ?? 0;
    expect(rtt).toBeGreaterThanOrEqual(2 * oneWayMs * 1000 * 0.8);
    expect(rtt).toBeLessThanOrEqual(2 * oneWayMs * 1000 * 1.2);
    // And it agrees with the kernel's own tcp_info of the client socket.
    expect(Math.abs(rtt - (done.rtt_us as number))).toBeLessThanOrEqual(0.2 * (done.rtt_us as number));
    expect(records.every((r) => r.interface === link.outer)).toBe(true);
  });

  it("counts every retransmitted segment on the sending direction, as the sender's tcp_info does", async () => {
    const link = lab.keep(await new ImpairedLink().create({ delayMs: 2, lossPercent: 8 }));
    const { capture, done, closed } = await converse(link, 1, 400_000);
    const upload = capture.records.filter((r) => r.protocol === 6 && r.src_port === done.local_port);
    const download = capture.records.filter((r) => r.protocol === 6 && r.dst_port === done.local_port);
    const retransmitted = upload.reduce((n, r) => n + r.retransmits, 0);
    const sent = totals(upload, () => true).packets;
    const context = JSON.stringify({ done, closed, retransmitted, sent, logs: capture.logs });
    expect(done.total_retrans, context).toBeGreaterThan(0);
    expect(retransmitted, context).toBe(done.total_retrans);
    // The receiver's own retransmits (of its reply and FIN; ACK-only segments are never retransmitted).
    expect(
      download.reduce((n, r) => n + r.retransmits, 0),
      context,
    ).toBe(closed.total_retrans);
    // Every segment the client sent passed the egress hook before the link dropped any. After its
    // socket closed, its TIME_WAIT twin answers each retransmitted FIN of the server with one ACK.
    expect(sent, context).toBeGreaterThanOrEqual(done.segs_out as number);
    expect(sent, context).toBeLessThanOrEqual((done.segs_out as number) + (closed.total_retrans as number));
    for (const r of upload) expect(r.src.process_name).toBe("kf-impcli");
  });
});
