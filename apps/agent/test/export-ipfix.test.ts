/**
 * `capture --export ipfix://…` end to end: the real agent bin captures real traffic on a veth in a network
 * namespace and exports to collectors on that namespace's loopback. Two independent decoders read what it
 * sent: tshark (Wireshark's cflow dissector, from a packet capture of the exporter's datagrams) and
 * nfcapd/nfdump. Both must decode exactly the records the agent printed.
 */
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { FlowRecord } from "@kernflow/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { kernelTestsUnavailable } from "./capture-harness";
import { startCaptureProcess } from "./support/capture-process";
import { type Netns, NetnsLab } from "./support/netns";

const PEN = 32473; // RFC 5612's documentation PEN: shows that ?pen= reaches the template.

const kernelSkip = (() => {
  try {
    return kernelTestsUnavailable();
  } catch (error) {
    return error as Error;
  }
})();
const decodersMissing = ["/usr/bin/tshark", "/usr/bin/nfcapd", "/usr/bin/nfdump"].filter(
  (p) => !existsSync(p),
);
if (decodersMissing.length > 0 && process.env.CI === "true") {
  throw new Error(`IPFIX decoders missing (scripts/setup.sh installs them): ${decodersMissing.join(", ")}`);
}

function exec(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Starts a child in `ns` and waits until its stderr says it is ready. */
async function startAndWait(
  ns: Netns,
  argv: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; log: () => string }> {
  const child = ns.spawn(argv);
  let log = "";
  child.stdout?.on("data", (d) => {
    log += String(d);
  });
  child.stderr?.on("data", (d) => {
    log += String(d);
  });
  const started = Date.now();
  while (!ready.test(log)) {
    if (child.exitCode !== null || Date.now() - started > 30_000) {
      throw new Error(`${argv[0]} did not start (exit ${child.exitCode}): ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, log: () => log };
}

function stopAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill(signal);
  return exited;
}

/** The fields both decoders must reproduce exactly, as one comparable line per flow. */
function key(f: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: number;
  packets: number;
  bytes: number;
}): string {
  return `${f.src} ${f.sport} > ${f.dst} ${f.dport} p${f.proto} ${f.packets}pk ${f.bytes}B`;
}

const recordKey = (r: FlowRecord) =>
  key({
    src: r.src_addr,
    dst: r.dst_addr,
    sport: r.src_port,
    dport: r.dst_port,
    proto: r.protocol,
    packets: r.packets,
    bytes: r.bytes,
  });

interface TsharkFlow {
  fields: Record<string, unknown>;
  key: string;
}

interface TsharkMessage {
  sequence: number;
  flows: TsharkFlow[];
  hasTemplates: boolean;
}

/** tshark's JSON of a capture of IPFIX datagrams: per message its sequence number and decoded flows. */
async function decodeWithTshark(pcap: string, port: number, transport = "udp"): Promise<TsharkMessage[]> {
  const json = await exec("tshark", [
    "-r",
    pcap,
    "-d",
    `${transport}.port==${port},cflow`,
    "-T",
    "json",
    "--no-duplicate-keys",
  ]);
  const packets = JSON.parse(json) as { _source: { layers: { cflow?: Record<string, unknown> } } }[];
  const messages: TsharkMessage[] = [];
  for (const packet of packets) {
    const cflow = packet._source.layers.cflow;
    if (cflow === undefined) continue;
    const flows: TsharkFlow[] = [];
    for (const [name, set] of Object.entries(cflow)) {
      if (!/^Set \d+ \[id=25[67]\]/.test(name)) continue;
      for (const [flowName, flow] of Object.entries(set as Record<string, unknown>)) {
        if (!flowName.startsWith("Flow ")) continue;
        const f = flow as Record<string, string>;
        flows.push({
          fields: f,
          key: key({
            src: (f["cflow.srcaddr"] ?? f["cflow.srcaddrv6"]) as string,
            dst: (f["cflow.dstaddr"] ?? f["cflow.dstaddrv6"]) as string,
            sport: Number(f["cflow.srcport"]),
            dport: Number(f["cflow.dstport"]),
            proto: Number(f["cflow.protocol"]),
            packets: Number(f["cflow.packets"]),
            bytes: Number(f["cflow.octets"]),
          }),
        });
      }
    }
    messages.push({
      sequence: Number(cflow["cflow.sequence"]),
      flows,
      hasTemplates: Object.keys(cflow).some((k) => /^Set \d+ \[id=2\]/.test(k)),
    });
  }
  return messages;
}

/** What tshark shows, in template order, for kernflow's enterprise fields of one record (see the
 * ipfix README): fixed fields as hex bytes, then the non-empty strings (tshark omits empty ones). */
function expectedEnterpriseEntries(r: FlowRecord): string[] {
  const hex = (value: bigint, bytes: number) =>
    value
      .toString(16)
      .padStart(bytes * 2, "0")
      .match(/../g)
      ?.join(":") as string;
  const strings = [
    r.device,
    r.src.process_name,
    r.dst.process_name,
    r.src.process_cmdline,
    r.dst.process_cmdline,
    r.src.container_id,
    r.dst.container_id,
    r.src.container_name,
    r.dst.container_name,
    r.src.object_name,
    r.dst.object_name,
    r.src.object_namespace,
    r.dst.object_namespace,
    r.src.object_type,
    r.dst.object_type,
    r.src.workload_name,
    r.dst.workload_name,
    r.src.workload_namespace,
    r.dst.workload_namespace,
    r.src.node,
    r.dst.node,
    r.cluster_id,
  ];
  return [
    hex(BigInt(r.src.pid ?? 0xffffffff), 4),
    hex(BigInt(r.dst.pid ?? 0xffffffff), 4),
    hex(BigInt(r.retransmits), 8),
    hex(BigInt(r.rtt_us ?? 0xffffffff), 4),
    hex(r.app_latency_ms === null ? 0xffffffffffffffffn : BigInt(Math.round(r.app_latency_ms * 1000)), 8),
    hex(r.vantage === "src" ? 0n : 1n, 1),
    ...strings
      .filter((s): s is string => s !== null && s !== "")
      .map((s) => Buffer.from(s, "utf8").subarray(0, 254).toString("hex").match(/../g)?.join(":") as string),
  ];
}

describe.skipIf(typeof kernelSkip === "string" || decodersMissing.length > 0)(
  "capture --export ipfix:// decoded by tshark and nfdump",
  () => {
    let labOfTest: NetnsLab | null = null;
    afterEach(async () => {
      await labOfTest?.cleanup();
      labOfTest = null;
    });

    /** A lab of the test: the agent's namespace and a peer, joined by a veth. */
    async function agentAndPeer() {
      if (kernelSkip instanceof Error) throw kernelSkip;
      const lab = await NetnsLab.create();
      labOfTest = lab;
      const agentNs = await lab.namespace("agent");
      const peer = await lab.namespace("peer");
      return { lab, agentNs, peer, link: await lab.veth(agentNs, peer) };
    }

    it("exports exactly the printed IPv4 and IPv6 records, enterprise fields included, with gapless sequence numbers; a refusing TCP collector does not stop the capture", async () => {
      const { lab, agentNs, peer, link } = await agentAndPeer();
      // A fresh namespace: its loopback ports are all free, and only the exporter talks on them.
      const tsharkPort = 20000 + Math.floor(Math.random() * 20000);
      const nfcapdPort = tsharkPort + 1;
      const pcap = join(lab.tempDirectory, "ipfix.pcap");
      const nfDir = join(lab.tempDirectory, "nfcapd");
      mkdirSync(nfDir);
      const tshark = await startAndWait(
        agentNs,
        ["tshark", "-i", "lo", "-f", `udp port ${tsharkPort}`, "-w", pcap],
        /Capturing on/,
      );
      // tshark only sniffs; a socket must own the port, or the kernel refuses the datagrams (ICMP).
      const listener = await startAndWait(
        agentNs,
        [
          "python3",
          "-c",
          "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n" +
            `s.bind(('127.0.0.1',${tsharkPort}))\nprint('listening',flush=True)\nwhile True: s.recv(65535)`,
        ],
        /listening/,
      );
      const nfcapd = await startAndWait(
        agentNs,
        ["nfcapd", "-b", "127.0.0.1", "-p", String(nfcapdPort), "-w", nfDir, "-t", "3600"],
        /Startup/,
      );

      const agent = await startCaptureProcess(
        [
          ...["--interfaces", `kf${lab.id}*`, "--device", "ipfix-test"],
          ...["--export", `ipfix://127.0.0.1:${tsharkPort}?pen=${PEN}`],
          ...["--export", `ipfix://127.0.0.1:${nfcapdPort}`],
          // Nothing listens there: the agent must log, back off and go on capturing and exporting.
          ...["--export", "ipfix+tcp://127.0.0.1:9"],
        ],
        { ns: agentNs, timeoutMs: 30_000 },
      );

      const tcpServer = await lab.startServer(peer, {
        protocol: "tcp",
        bind: link.b.ipv4,
        replyBytes: 7_000,
      });
      await lab.runClient(agentNs, {
        protocol: "tcp",
        addr: link.b.ipv4,
        port: tcpServer.port,
        bytes: 60_000,
      });
      const udpServer = await lab.startServer(peer, { protocol: "udp", bind: link.b.ipv6 });
      await lab.runClient(agentNs, {
        protocol: "udp",
        addr: link.b.ipv6,
        port: udpServer.port,
        bytes: 900,
        datagrams: 3,
        processName: "kf-ipfix-udp",
      });
      await udpServer.waitForEvents(3);

      const printed = await agent.stop();
      // Let the last datagrams reach both collectors before they stop.
      await new Promise((r) => setTimeout(r, 1_000));
      await stopAndWait(tshark.child, "SIGINT");
      await stopAndWait(nfcapd.child, "SIGTERM");
      await stopAndWait(listener.child, "SIGKILL");

      expect(printed.some((r) => r.protocol === 6 && r.src_addr === link.a.ipv4)).toBe(true);
      expect(printed.some((r) => r.protocol === 17 && r.dst_addr === link.b.ipv6)).toBe(true);
      const expected = printed.map(recordKey).sort();
      expect(agent.stderr()).toMatch(
        /export ipfix\+tcp:\/\/127\.0\.0\.1:9: .*ECONNREFUSED.*retrying in \d+ ms/,
      );

      // tshark: same flows, the header sequence counts records with no gap, enterprise fields round-trip.
      const messages = await decodeWithTshark(pcap, tsharkPort);
      const tsharkFlows = messages.flatMap((m) => m.flows);
      expect(tsharkFlows.map((f) => f.key).sort()).toEqual(expected);
      let next = 0;
      for (const message of messages) {
        expect(message.sequence).toBe(next);
        next += message.flows.length;
      }
      const templates = await exec("tshark", [
        "-r",
        pcap,
        "-d",
        `udp.port==${tsharkPort},cflow`,
        "-T",
        "fields",
        "-e",
        "cflow.template_ipfix_field_pen",
      ]);
      expect(new Set(templates.split(/[\n,]/).filter((v) => v !== ""))).toEqual(new Set([String(PEN)]));
      for (const record of printed) {
        const flow = tsharkFlows.find(
          (f) =>
            f.key === recordKey(record) &&
            f.fields["cflow.if_name"] === record.interface &&
            f.fields["cflow.direction"] === (record.direction === "ingress" ? "0" : "1"),
        );
        expect(flow, recordKey(record)).toBeDefined();
        const entries = flow?.fields["cflow.enterprise_private_entry"];
        expect(Array.isArray(entries) ? entries : [entries]).toEqual(expectedEnterpriseEntries(record));
      }

      // nfcapd/nfdump: same flows, and no sequence failures counted by the collector itself.
      const files = readdirSync(nfDir).filter((f) => f.startsWith("nfcapd."));
      expect(files.length).toBeGreaterThan(0);
      const nfFlows: string[] = [];
      let failures = 0;
      for (const file of files) {
        const path = join(nfDir, file);
        const flows = JSON.parse((await exec("nfdump", ["-r", path, "-o", "json"])) || "[]") as Record<
          string,
          string | number
        >[];
        for (const f of flows) {
          nfFlows.push(
            key({
              src: String(f.src4_addr ?? f.src6_addr),
              dst: String(f.dst4_addr ?? f.dst6_addr),
              sport: Number(f.src_port ?? 0), // nfdump names no ports for ICMP
              dport: Number(f.dst_port ?? 0),
              proto: Number(f.proto),
              packets: Number(f.in_packets),
              bytes: Number(f.in_bytes),
            }),
          );
        }
        const summary = await exec("nfdump", ["-r", path, "-I"]);
        failures += Number(/Sequence failures: (\d+)/.exec(summary)?.[1] ?? Number.NaN);
      }
      expect(nfFlows.sort()).toEqual(expected);
      expect(failures).toBe(0);
    });
    it("exports over ipfix+tcp: templates once, then exactly the printed records with gapless sequence numbers, decoded by tshark from the TCP stream", async () => {
      const { lab, agentNs, peer, link } = await agentAndPeer();
      const port = 20000 + Math.floor(Math.random() * 20000);
      const pcap = join(lab.tempDirectory, "ipfix-tcp.pcap");
      const tshark = await startAndWait(
        agentNs,
        ["tshark", "-i", "lo", "-f", `tcp port ${port}`, "-w", pcap],
        /Capturing on/,
      );
      // A collector that accepts the session and reads everything, as nfacctd or ntopng would.
      const collector = await startAndWait(
        agentNs,
        [
          "python3",
          "-c",
          "import socket\ns=socket.socket()\n" +
            `s.bind(('127.0.0.1',${port}))\ns.listen(1)\nprint('listening',flush=True)\n` +
            "c,_=s.accept()\nwhile c.recv(65536): pass",
        ],
        /listening/,
      );
      const agent = await startCaptureProcess(
        ["--interfaces", `kf${lab.id}*`, "--export", `ipfix+tcp://127.0.0.1:${port}`],
        { ns: agentNs, timeoutMs: 30_000 },
      );
      const tcpServer = await lab.startServer(peer, {
        protocol: "tcp",
        bind: link.b.ipv4,
        replyBytes: 3_000,
      });
      await lab.runClient(agentNs, {
        protocol: "tcp",
        addr: link.b.ipv4,
        port: tcpServer.port,
        bytes: 20_000,
      });
      const printed = await agent.stop();
      await new Promise((r) => setTimeout(r, 1_000));
      await stopAndWait(tshark.child, "SIGINT");
      await stopAndWait(collector.child, "SIGKILL");

      expect(printed.some((r) => r.protocol === 6 && r.src_addr === link.a.ipv4)).toBe(true);
      const messages = await decodeWithTshark(pcap, port, "tcp");
      expect(
        messages
          .flatMap((m) => m.flows)
          .map((f) => f.key)
          .sort(),
      ).toEqual(printed.map(recordKey).sort());
      // The first message of the session holds the templates alone; none follows on the same connection.
      expect(messages[0]?.flows).toHaveLength(0);
      expect(messages.map((m) => m.hasTemplates)).toEqual(messages.map((_, i) => i === 0));
      let next = 0;
      for (const message of messages) {
        expect(message.sequence).toBe(next);
        next += message.flows.length;
      }
    });
  },
);
