import { describe, expect, it } from "vitest";
import { counters, kernelTestsUnavailable, RunningCapture, totals, VethLink } from "./capture-harness";
import { useCaptureLab } from "./capture-lab";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null)("interfaces that come and go, and a full flow map", () => {
  const lab = useCaptureLab();

  async function udpServer(link: VethLink) {
    return lab.traffic("kf-echosrv", ["udp-server", link.innerAddr], link.netns).next("ready");
  }

  it("attaches to a matching interface that appears while running, counts it, and lets go when it vanishes", async () => {
    const link = new VethLink();
    const capture = RunningCapture.begin([link.outer]);
    await capture.waitForLog("no interface matches");
    lab.keep(link.create({ gsoMaxSegs: 1 }));
    await capture.waitForLog(`attached to ${link.outer} `);

    const ready = await udpServer(link);
    const before = counters(link.outer);
    const client = lab.traffic("kf-lateudp", ["udp-client", link.innerAddr, String(ready.port), "5", "250"]);
    const done = await client.next("done");
    const mine = (r: { src_port: number; dst_port: number }) =>
      r.src_port === done.local_port || r.dst_port === done.local_port;
    // Two drains after the traffic, so every packet of it has been emitted.
    await new Promise((r) => setTimeout(r, 1_100));
    const after = counters(link.outer);
    expect(totals(capture.records, (r) => mine(r) && r.direction === "egress")).toEqual({
      packets: after.txPackets - before.txPackets,
      bytes: after.txBytes - before.txBytes - 14 * (after.txPackets - before.txPackets),
    });
    expect(totals(capture.records, mine)).toEqual({ packets: 10, bytes: 10 * (250 + 28) });

    link.destroy();
    await capture.waitForLog(`interface ${link.outer} is gone`);
    const summary = await capture.stop();
    expect(summary.interfaces).toEqual([link.outer]);
    expect(summary.attachMode).toBe("tcx");
  });

  it("accounts for traffic that found the flow map full instead of losing it", async () => {
    const link = lab.keep(new VethLink().create({ gsoMaxSegs: 1 }));
    const ready = await udpServer(link);
    const capture = await RunningCapture.start(link.outer, { mapEntries: 4 });
    const before = counters(link.outer);
    const client = lab.traffic("kf-spray", ["udp-spray", link.innerAddr, String(ready.port), "24", "100"]);
    await client.next("done");
    await new Promise((r) => setTimeout(r, 200));
    const summary = await capture.stop();
    const after = counters(link.outer);

    expect(summary.overflow.refused).toBeGreaterThan(0);
    expect(capture.logs.some((l) => l.startsWith("flow map full:"))).toBe(true);
    const packets = after.txPackets - before.txPackets + after.rxPackets - before.rxPackets;
    const bytes = after.txBytes - before.txBytes + after.rxBytes - before.rxBytes - 14 * packets;
    expect(packets).toBe(48);
    const counted = totals(capture.records, () => true);
    expect(counted.packets + summary.overflow.packets).toBe(packets);
    expect(counted.bytes + summary.overflow.bytes).toBe(bytes);
  });
});
