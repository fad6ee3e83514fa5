import { randomUUID } from "node:crypto";
import { emptyEndpoint, type FlowRecord, packFlowBatch } from "@kernflow/protocol";
import { test as base, expect } from "@playwright/test";
import { type FlowsConsole, startFlowsConsole } from "./flows-console";

/** One conversation of the seed: how many records, each with these counts. */
interface SeedConversation {
  client: string;
  server: string;
  port: number;
  records: number;
  bytes: number;
  packets: number;
  appLatencyMs: number | null;
  rttUs: number | null;
}

export const SEED_DEVICE = "pw-edge-1";

// Distinct counts per conversation so a wrong sum or a row counted twice cannot match by chance.
export const seedConversations: readonly SeedConversation[] = [
  {
    client: "curl",
    server: "nginx",
    port: 443,
    records: 3,
    bytes: 1_234_567,
    packets: 901,
    appLatencyMs: 12,
    rttUs: 800,
  },
  {
    client: "psql",
    server: "postgres",
    port: 5432,
    records: 2,
    bytes: 250_013,
    packets: 307,
    appLatencyMs: 40,
    rttUs: 1500,
  },
  {
    client: "dig",
    server: "unbound",
    port: 53,
    records: 4,
    bytes: 3_331,
    packets: 23,
    appLatencyMs: null,
    rttUs: null,
  },
];

function record(
  conversation: SeedConversation,
  index: number,
  vantage: "src" | "dst",
  now: number,
): FlowRecord {
  // Spread over the last half hour, inside every range the tests use.
  const end = new Date(now - (index * 7 + 1) * 60_000);
  const start = new Date(end.getTime() - 10_000);
  const octet = conversation.port % 200;
  return {
    ts_start: start.toISOString(),
    ts_end: end.toISOString(),
    device: SEED_DEVICE,
    vantage,
    interface: "eth0",
    direction: vantage === "src" ? "egress" : "ingress",
    protocol: conversation.port === 53 ? 17 : 6,
    src_addr: `10.1.0.${octet}`,
    dst_addr: `10.2.0.${octet}`,
    src_port: 40_000 + index,
    dst_port: conversation.port,
    bytes: conversation.bytes,
    packets: conversation.packets,
    sample_rate: 1,
    tcp_flags: 0x18,
    retransmits: 0,
    rtt_us: conversation.rttUs,
    app_latency_ms: conversation.appLatencyMs,
    src: { ...emptyEndpoint(), process_name: conversation.client, pid: 1000 + index },
    dst: { ...emptyEndpoint(), process_name: conversation.server, pid: 2000 + index },
    cluster_id: null,
  };
}

/**
 * Every conversation is recorded by both ends (a `src` and a `dst` vantage record), as when both hosts
 * run an agent; the explorer's default vantage must count each once.
 */
export function seedRecords(now = Date.now()): FlowRecord[] {
  return seedConversations.flatMap((conversation) =>
    Array.from({ length: conversation.records }, (_, index) => [
      record(conversation, index, "src", now),
      record(conversation, index, "dst", now),
    ]).flat(),
  );
}

export function seedTotals(filter: (conversation: SeedConversation) => boolean = () => true) {
  const chosen = seedConversations.filter(filter);
  return {
    bytes: chosen.reduce((sum, c) => sum + c.bytes * c.records, 0),
    packets: chosen.reduce((sum, c) => sum + c.packets * c.records, 0),
    records: chosen.reduce((sum, c) => sum + c.records, 0),
  };
}

export { expect };

/** Tests of the flow pages: their own console, seeded once per worker, and the page pointed at it. */
export const test = base.extend<object, { flowsConsole: FlowsConsole }>({
  flowsConsole: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument to be destructured.
    async ({}, use) => {
      const flowsConsole = await startFlowsConsole();
      try {
        const records = seedRecords();
        const result = await flowsConsole.flowStore.writeBatch(
          randomUUID(),
          randomUUID(),
          packFlowBatch(randomUUID(), records),
        );
        if (result.duplicate || result.accepted !== records.length) {
          throw new Error(`the seed was not stored whole: ${JSON.stringify(result)}`);
        }
        await use(flowsConsole);
      } finally {
        await flowsConsole.stop();
      }
    },
    { scope: "worker", timeout: 180_000 },
  ],
  baseURL: async ({ flowsConsole }, use) => {
    await use(flowsConsole.url);
  },
});
