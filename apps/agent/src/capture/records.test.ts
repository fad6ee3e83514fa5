import { emptyEndpoint, flowRecordSchema } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import type { BpfMap, MapEntry } from "../bpf/map";
import {
  encodeSockKey,
  flowKeyLayout,
  flowValueLayout,
  type SockKey,
  sockOwnerLayout,
  sockStatsLayout,
} from "../bpf/structs";
import { parseAddress } from "./addresses";
import { KtimeClock } from "./clock";
import { buildRecords, type RecordContext } from "./records";
import { SocketTable } from "./sockets";

const client = parseAddress("10.0.0.1");
const server = parseAddress("10.0.0.2");

function flowEntry(src: Buffer, sport: number, dst: Buffer, dport: number, direction: 0 | 1): MapEntry {
  const F = flowKeyLayout.fields;
  const key = Buffer.alloc(flowKeyLayout.size);
  src.copy(key, F.src_addr);
  dst.copy(key, F.dst_addr);
  key.writeUInt16LE(sport, F.src_port);
  key.writeUInt16LE(dport, F.dst_port);
  key.writeUInt32LE(3, F.ifindex);
  key.writeUInt8(6, F.protocol);
  key.writeUInt8(direction, F.direction);
  const value = Buffer.alloc(flowValueLayout.size); // one CPU
  value.writeBigUInt64LE(1500n, 0);
  value.writeBigUInt64LE(3n, 8);
  value.writeBigUInt64LE(1_000_000n, 16);
  value.writeBigUInt64LE(2_000_000n, 24);
  value.writeUInt16LE(0x18, 32);
  return { key, value };
}

function owner(tgid: number, comm: string): Buffer {
  const b = Buffer.alloc(sockOwnerLayout.size);
  b.writeUInt32LE(tgid, 0);
  b.writeUInt32LE(tgid, 4);
  b.write(comm, sockOwnerLayout.fields.comm);
  return b;
}

function stats(retransmits: number, latencySumNs: bigint, latencyCount: bigint, srttUs: number): Buffer {
  const b = Buffer.alloc(sockStatsLayout.size);
  b.writeBigUInt64LE(BigInt(retransmits), 0);
  b.writeBigUInt64LE(latencySumNs, 8);
  b.writeBigUInt64LE(latencyCount, 16);
  b.writeUInt32LE(srttUs, 24);
  return b;
}

/** Stand-ins for the two socket maps: this tests the join, the kernel side is tested in test/. */
function fakeMaps(owners: [SockKey, Buffer][]) {
  const ownerMap = new Map(owners.map(([k, v]) => [encodeSockKey(k).toString("hex"), v]));
  let pending: MapEntry[] = [];
  return {
    owners: {
      dump: () => [...ownerMap].map(([k, value]) => ({ key: Buffer.from(k, "hex"), value })),
    } as unknown as BpfMap,
    stats: {
      drain: () => {
        const out = pending;
        pending = [];
        return out;
      },
    } as unknown as BpfMap,
    addStats(key: SockKey, value: Buffer) {
      pending.push({ key: encodeSockKey(key), value });
    },
  };
}

const clientEnd: SockKey = {
  localAddr: client,
  localPort: 40000,
  remoteAddr: server,
  remotePort: 80,
  protocol: 6,
};
const listener: SockKey = {
  localAddr: server,
  localPort: 80,
  remoteAddr: Buffer.alloc(16),
  remotePort: 0,
  protocol: 6,
};

function context(sockets: SocketTable): RecordContext {
  return {
    deviceName: "host-a",
    cpus: 1,
    clock: new KtimeClock(),
    sockets,
    interfaceName: (i) => (i === 3 ? "eth0" : undefined),
    localAddresses: new Set(["10.0.0.1"]),
    endpointOf: async (o) => ({ ...emptyEndpoint(), pid: o.tgid, process_name: o.comm }),
  };
}

describe("flow records from drained maps", () => {
  it("joins both ends' owners, the sender's retransmits, RTT and the client's latency", async () => {
    const maps = fakeMaps([
      [clientEnd, owner(111, "curl")],
      [listener, owner(222, "nginx")],
    ]);
    maps.addStats(clientEnd, stats(3, 10_000_000n, 2n, 900));
    const sockets = new SocketTable(maps.owners, maps.stats);
    sockets.refresh();
    const [out, back] = await buildRecords(
      [flowEntry(client, 40000, server, 80, 1), flowEntry(server, 80, client, 40000, 0)],
      context(sockets),
    );
    expect(out).toMatchObject({
      device: "host-a",
      interface: "eth0",
      direction: "egress",
      vantage: "src",
      src_addr: "10.0.0.1",
      dst_addr: "10.0.0.2",
      bytes: 1500,
      packets: 3,
      tcp_flags: 0x18,
      retransmits: 3,
      rtt_us: 900,
      app_latency_ms: 5,
      src: { pid: 111, process_name: "curl" },
      dst: { pid: 222, process_name: "nginx" },
    });
    // nginx runs on this host too, so the host is also the source end of the reply.
    expect(back).toMatchObject({
      direction: "ingress",
      vantage: "src",
      retransmits: 0,
      rtt_us: 900,
      app_latency_ms: 5,
      src: { pid: 222 },
      dst: { pid: 111 },
    });
    expect(flowRecordSchema.safeParse(out).success).toBe(true);
    expect(Date.parse(out?.ts_end ?? "") - Date.parse(out?.ts_start ?? "")).toBe(1);
  });

  it("keeps retransmits for the next records when their flow had no packets in that interval", async () => {
    const maps = fakeMaps([]);
    const sockets = new SocketTable(maps.owners, maps.stats);
    maps.addStats(clientEnd, stats(2, 0n, 0n, 0));
    sockets.refresh();
    expect(await buildRecords([], context(sockets))).toEqual([]);
    sockets.refresh();
    const [later] = await buildRecords([flowEntry(client, 40000, server, 80, 1)], context(sockets));
    expect(later?.retransmits).toBe(2);
    sockets.refresh();
    const [after] = await buildRecords([flowEntry(client, 40000, server, 80, 1)], context(sockets));
    expect(after?.retransmits).toBe(0);
  });

  it("leaves ends without a known socket null and names an unknown interface by index", async () => {
    const sockets = new SocketTable(fakeMaps([]).owners, fakeMaps([]).stats);
    sockets.refresh();
    const entry = flowEntry(server, 80, client, 40000, 0);
    entry.key.writeUInt32LE(9, flowKeyLayout.fields.ifindex);
    const [r] = await buildRecords([entry], context(sockets));
    expect(r).toMatchObject({ interface: "if9", src: emptyEndpoint(), dst: emptyEndpoint(), rtt_us: null });
  });

  it("takes a source with a local socket owner as this host's, though its address is on no host interface", async () => {
    const podEnd: SockKey = {
      localAddr: server,
      localPort: 80,
      remoteAddr: client,
      remotePort: 40000,
      protocol: 6,
    };
    const maps = fakeMaps([[podEnd, owner(333, "pod-app")]]);
    const sockets = new SocketTable(maps.owners, maps.stats);
    sockets.refresh();
    const ctx = { ...context(sockets), localAddresses: new Set<string>() };
    const [fromPod, toPod] = await buildRecords(
      [flowEntry(server, 80, client, 40000, 1), flowEntry(client, 40000, server, 80, 0)],
      ctx,
    );
    expect(fromPod).toMatchObject({ vantage: "src", src: { pid: 333 } });
    expect(toPod).toMatchObject({ vantage: "dst", dst: { pid: 333 } });
  });
});
