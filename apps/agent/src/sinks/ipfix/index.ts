import { readFileSync } from "node:fs";
import { firstSeenInterfaceIndex, IpfixExporter } from "@kernflow/ipfix";
import type { FlowRecord } from "@kernflow/protocol";
import type { RecordSink } from "../sink";

export interface IpfixSinkTarget {
  kind: "ipfix-udp" | "ipfix-tcp";
  host: string;
  port: number;
  enterpriseId?: number;
  maxMessageBytes?: number;
}

/** Batches waiting for a slow collector beyond this are dropped (and counted), so memory stays bounded. */
const MAX_PENDING_BATCHES = 64;

/**
 * Sends every record to one IPFIX collector. `write` never waits for the network and never fails: the
 * capture's drain must not stall or stop because a collector is slow, down or refusing. Batches are sent
 * in order in the background; the exporter backs off on failures and the sink logs them.
 */
export class IpfixSink implements RecordSink {
  private readonly exporter: IpfixExporter;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private overflowDropped = 0;

  constructor(
    target: IpfixSinkTarget,
    private readonly log: (message: string) => void,
  ) {
    this.exporter = new IpfixExporter({
      transport: target.kind === "ipfix-udp" ? "udp" : "tcp",
      host: target.host,
      port: target.port,
      ...(target.enterpriseId === undefined ? {} : { enterpriseNumber: target.enterpriseId }),
      ...(target.maxMessageBytes === undefined ? {} : { maxMessageBytes: target.maxMessageBytes }),
      interfaceIndex: hostInterfaceIndex(),
      log: (message) => log(`export ${message}`),
    });
  }

  get target(): string {
    return this.exporter.target;
  }

  get stats() {
    return {
      ...this.exporter.stats,
      recordsDropped: this.exporter.stats.recordsDropped + this.overflowDropped,
    };
  }

  write(records: readonly FlowRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (this.pending >= MAX_PENDING_BATCHES) {
      this.overflowDropped += records.length;
      return Promise.resolve();
    }
    this.pending += 1;
    this.queue = this.queue.then(async () => {
      try {
        await this.exporter.send(records);
      } catch (error) {
        this.log(`export ${this.target}: ${(error as Error).message}`);
      } finally {
        this.pending -= 1;
      }
    });
    return Promise.resolve();
  }

  /** Waits for the batches already handed over (the final drain's included), then closes the socket. */
  async close(): Promise<void> {
    await this.queue;
    await this.exporter.close();
    const { recordsSent, recordsDropped } = this.stats;
    this.log(`export ${this.target}: ${recordsSent} record(s) sent, ${recordsDropped} dropped`);
  }
}

/**
 * The kernel's ifindex of an interface of this host (stable while it exists, and what other tools on the
 * host show); interfaces that are gone or were seen in another namespace get a first-seen number above
 * any real ifindex range used here, so the two never collide.
 */
function hostInterfaceIndex(): (name: string) => number {
  const known = new Map<string, number>();
  const fallback = firstSeenInterfaceIndex();
  return (name) => {
    let index = known.get(name);
    if (index !== undefined) return index;
    try {
      index = Number.parseInt(readFileSync(`/sys/class/net/${name}/ifindex`, "utf8"), 10);
    } catch {
      index = Number.NaN;
    }
    if (!Number.isInteger(index) || (index as number) <= 0) index = 0x4000_0000 + fallback(name);
    known.set(name, index as number);
    return index as number;
  };
}
