import {
  counters,
  kernelTestsUnavailable,
  NamedPrograms,
  TrafficProcess,
  trafficScript,
  VethLink,
} from "../../apps/agent/test/capture-harness";
import { ConsoleApi, startConnectedAgent } from "../flows-agent";
import { expect, test } from "../flows-seed";
import { signIn } from "./fixtures";

// Ethernet header of every frame: counted by the veth's counters, not in a record's L3 bytes (CONTRACTS §1).
const LINK_HEADER_BYTES = 14;
const DATAGRAMS = 40;
const PAYLOAD = 300;

const unavailable = kernelTestsUnavailable();

test.describe("a real agent's traffic in the explorer", () => {
  test.skip(unavailable !== null, `needs root and eBPF: ${unavailable}`);
  test.setTimeout(180_000);

  test("shows the packets and bytes the kernel counted on the captured veth", async ({
    page,
    flowsConsole,
  }) => {
    const link = new VethLink().create();
    const programs = new NamedPrograms();
    const processes: TrafficProcess[] = [];
    let agent: Awaited<ReturnType<typeof startConnectedAgent>> | undefined;
    try {
      const api = await ConsoleApi.signIn(flowsConsole.url);
      const { enrollmentSecret } = await api.planCapturing([link.outer]);
      agent = await startConnectedAgent(flowsConsole.url, enrollmentSecret, link.outer);

      // The link carries nothing but this exchange (IPv6 off, neighbours permanent), so the counters'
      // change across it is exactly what the agent must report.
      const before = counters(link.outer);
      const server = TrafficProcess.start([
        ...["ip", "netns", "exec", link.netns],
        ...[programs.path("kf-e2e-srv"), trafficScript, "udp-server", link.innerAddr],
      ]);
      processes.push(server);
      const ready = await server.next("ready");
      const client = TrafficProcess.start([
        ...[programs.path("kf-e2e-cli"), trafficScript, "udp-client", link.innerAddr, String(ready.port)],
        ...[String(DATAGRAMS), String(PAYLOAD)],
      ]);
      processes.push(client);
      await client.next("done");
      const after = counters(link.outer);
      const packets = after.rxPackets - before.rxPackets + (after.txPackets - before.txPackets);
      const frameBytes = after.rxBytes - before.rxBytes + (after.txBytes - before.txBytes);
      expect(packets).toBe(DATAGRAMS * 2);
      const bytes = frameBytes - LINK_HEADER_BYTES * packets;

      await signIn(page);
      // Both directions as this one device saw them: every record of its interface, both vantages.
      const params = new URLSearchParams({
        metric: "bits_per_s",
        group: "src_process_name,dst_process_name",
        last: "900",
        vantage: "all",
        live: "1",
      });
      params.append("filter", `device:eq:${agent.deviceName}`);
      params.append("filter", `interface:eq:${link.outer}`);
      await page.goto(`/flows?${params}`);
      // The agent drains every interval and ships; live mode picks the records up when they land.
      await expect(page.getByTestId("total-packets")).toHaveText(packets.toLocaleString("en-US"), {
        timeout: 60_000,
      });
      await expect(page.getByTestId("total-bytes")).toHaveText(bytes.toLocaleString("en-US"));
      const table = page.getByRole("table", { name: "Flow groups" });
      await expect(table.getByRole("button", { name: "Filter on kf-e2e-cli · kf-e2e-srv" })).toBeVisible();
      await expect(
        page.getByRole("figure", { name: "Flow chart" }).locator(".recharts-line").first(),
      ).toBeVisible();

      // The device's own page charts the same traffic over the last hour.
      await page.goto(`/devices/${agent.deviceId}`);
      const packetsChart = page.getByRole("figure", { name: `Packets/s of ${agent.deviceName}` });
      await expect(packetsChart.locator(".recharts-line")).toHaveCount(1);
      await expect(page.getByRole("figure", { name: `Bits/s of ${agent.deviceName}` })).toBeVisible();
    } finally {
      for (const process of processes) process.stop();
      await agent?.stop();
      link.destroy();
      programs.cleanup();
    }
  });
});
