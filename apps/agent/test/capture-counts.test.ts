import { flowRecordSchema } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { counters, kernelTestsUnavailable, RunningCapture, totals, VethLink } from "./capture-harness";
import { useCaptureLab } from "./capture-lab";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null)("capture counts on a real kernel", () => {
  // gso_max_segs 1: veth counts one packet per skb, so this makes every skb one wire packet and the
  // interface counters a wire-exact reference.
  const lab = useCaptureLab({ link: { gsoMaxSegs: 1 } });

  it("counts TCP and UDP exactly as the interface counters and names both processes", async () => {
    const link = lab.link;
    const tcpServer = lab.traffic(
      "kf-tcpsrv",
      ["tcp-server", link.innerAddr, "3000", "0", "1000"],
      link.netns,
    );
    const udpServer = lab.traffic("kf-udpsrv", ["udp-server", link.innerAddr], link.netns);
    const tcpReady = await tcpServer.next("ready");
    const udpReady = await udpServer.next("ready");

    const capture = await RunningCapture.start(link.outer);
    const before = counters(link.outer);
    const tcpClient = lab.traffic("kf-tcpcli", [
      ...["tcp-client", link.innerAddr, String(tcpReady.port)],
      ...["20", "1000", "3000"],
    ]);
    const udpClient = lab.traffic("kf-udpcli", [
      "udp-client",
      link.innerAddr,
      String(udpReady.port),
      "7",
      "333",
    ]);
    const tcpDone = await tcpClient.next("done");
    const udpDone = await udpClient.next("done");
    await tcpServer.next("closed");
    await new Promise((r) => setTimeout(r, 300));
    const summary = await capture.stop();
    const after = counters(link.outer);

    for (const r of capture.records) expect(flowRecordSchema.safeParse(r).success).toBe(true);
    const txPackets = after.txPackets - before.txPackets;
    const rxPackets = after.rxPackets - before.rxPackets;
    expect(txPackets).toBeGreaterThan(40);
    // L3 bytes: the veth counters include the 14-byte Ethernet header of every packet.
    expect(totals(capture.records, (r) => r.direction === "egress")).toEqual({
      packets: txPackets,
      bytes: after.txBytes - before.txBytes - 14 * txPackets,
    });
    expect(totals(capture.records, (r) => r.direction === "ingress")).toEqual({
      packets: rxPackets,
      bytes: after.rxBytes - before.rxBytes - 14 * rxPackets,
    });
    expect(summary.overflow.refused).toBe(0);

    const tcpOut = capture.records.filter((r) => r.protocol === 6 && r.src_port === tcpDone.local_port);
    expect(tcpOut.length).toBeGreaterThan(0);
    for (const r of tcpOut) {
      expect(r).toMatchObject({ interface: link.outer, direction: "egress", vantage: "src" });
      expect(r).toMatchObject({
        src_addr: link.outerAddr,
        dst_addr: link.innerAddr,
        dst_port: tcpReady.port,
      });
      expect(r.src).toMatchObject({ pid: tcpDone.pid, process_name: "kf-tcpcli" });
      expect(r.dst).toMatchObject({ pid: tcpReady.pid, process_name: "kf-tcpsrv" });
    }
    const tcpBack = capture.records.filter((r) => r.protocol === 6 && r.dst_port === tcpDone.local_port);
    for (const r of tcpBack) {
      // The server runs in a namespace of this host: the host is the reply's source end too.
      expect(r).toMatchObject({ direction: "ingress", vantage: "src", src_addr: link.innerAddr });
      expect(r.src).toMatchObject({ pid: tcpReady.pid, process_name: "kf-tcpsrv" });
      expect(r.dst).toMatchObject({ pid: tcpDone.pid, process_name: "kf-tcpcli" });
    }
    // 20 requests of 1000 bytes and 20 responses of 3000 bytes, plus 20-byte IP headers per packet.
    const sent = totals(tcpOut, () => true);
    const payloadOut = sent.bytes - sent.packets * 20;
    expect(payloadOut).toBeGreaterThanOrEqual(20_000);

    const udpOut = capture.records.filter((r) => r.protocol === 17 && r.src_port === udpDone.local_port);
    expect(totals(udpOut, () => true)).toEqual({ packets: 7, bytes: 7 * (333 + 8 + 20) });
    for (const r of udpOut) {
      expect(r.src).toMatchObject({ pid: udpDone.pid, process_name: "kf-udpcli" });
      expect(r.dst).toMatchObject({ pid: udpReady.pid, process_name: "kf-udpsrv" });
    }
    const udpBack = capture.records.filter((r) => r.protocol === 17 && r.dst_port === udpDone.local_port);
    expect(totals(udpBack, () => true)).toEqual({ packets: 7, bytes: 7 * (333 + 8 + 20) });
    for (const r of udpBack) {
      expect(r.src).toMatchObject({ pid: udpReady.pid, process_name: "kf-udpsrv" });
      expect(r.dst).toMatchObject({ pid: udpDone.pid, process_name: "kf-udpcli" });
    }
  });

  it("counts TCP over IPv6 with 40-byte IPv6 headers and names both processes", async () => {
    const link6 = new VethLink().create({ ipv6: true });
    try {
      const server = lab.traffic(
        "kf-v6srv",
        ["tcp-server", link6.innerAddr6, "500", "0", "700"],
        link6.netns,
      );
      const ready = await server.next("ready");
      const capture = await RunningCapture.start(link6.outer);
      const client = lab.traffic("kf-v6cli", [
        "tcp-client",
        link6.innerAddr6,
        String(ready.port),
        "3",
        "700",
        "500",
      ]);
      const done = await client.next("done");
      await server.next("closed");
      await new Promise((r) => setTimeout(r, 200));
      await capture.stop();

      const upload = capture.records.filter((r) => r.protocol === 6 && r.src_port === done.local_port);
      expect(upload.length).toBeGreaterThan(0);
      for (const r of upload) {
        expect(r).toMatchObject({ src_addr: link6.outerAddr6, dst_addr: link6.innerAddr6, vantage: "src" });
        expect(r.src).toMatchObject({ pid: done.pid, process_name: "kf-v6cli" });
        expect(r.dst).toMatchObject({ pid: ready.pid, process_name: "kf-v6srv" });
      }
      // 3 requests of 700 bytes; 40-byte IPv6 + 32-byte TCP header per segment, SYN options 8 more.
      const sent = totals(upload, () => true);
      expect(sent.bytes).toBe(3 * 700 + 72 * sent.packets + 8);
      for (const r of capture.records) expect(flowRecordSchema.safeParse(r).success).toBe(true);
    } finally {
      link6.destroy();
    }
  });

  it("names the processes of an unconnected UDP exchange (sendto/recvfrom on both ends)", async () => {
    const link = lab.link;
    const server = lab.traffic("kf-dgramsrv", ["udp-server", link.innerAddr], link.netns);
    const ready = await server.next("ready");
    const capture = await RunningCapture.start(link.outer);
    const client = lab.traffic("kf-sendto", ["udp-sendto", link.innerAddr, String(ready.port), "4", "120"]);
    const done = await client.next("done");
    await new Promise((r) => setTimeout(r, 200));
    await capture.stop();
    const mine = capture.records.filter(
      (r) => r.protocol === 17 && (r.src_port === done.local_port || r.dst_port === done.local_port),
    );
    expect(totals(mine, () => true)).toEqual({ packets: 8, bytes: 8 * (120 + 28) });
    for (const r of mine) {
      const [clientEnd, serverEnd] = r.src_port === done.local_port ? [r.src, r.dst] : [r.dst, r.src];
      expect(clientEnd).toMatchObject({ pid: done.pid, process_name: "kf-sendto" });
      expect(serverEnd).toMatchObject({ pid: ready.pid, process_name: "kf-dgramsrv" });
    }
  });
});
