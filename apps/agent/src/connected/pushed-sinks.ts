import type { FlowRecord, SinkConfig } from "@kernflow/protocol";
import { parseExportUrl, UsageError } from "../cli-flags";
import { IpfixSink } from "../sinks/ipfix";
import type { RecordSink } from "../sinks/sink";
import { NatsExportSink } from "../transport/nats-sink";
import type { AgentErrors } from "./agent-errors";

/**
 * The export sinks the console pushes (besides shipping to the console itself), kept in step with the
 * desired config: a sink whose id, URL or enterprise number changed is closed and made anew, one no longer
 * wanted is closed. Sinks queue and never block the drain; one that cannot be made is a current `sink`
 * error of the agent (reported, so the console shows it) and the others still run.
 */
export class PushedSinks {
  private readonly running = new Map<string, { sink: RecordSink; target: string }>();

  constructor(
    private readonly errors: AgentErrors,
    private readonly log: (msg: string) => void,
  ) {}

  private static key(sink: SinkConfig): string {
    return JSON.stringify([sink.id, sink.kind, sink.url, sink.enterprise_id]);
  }

  get targets(): string[] {
    return [...this.running.values()].map((s) => s.target);
  }

  async apply(sinks: readonly SinkConfig[]): Promise<void> {
    const wanted = new Map(sinks.map((s) => [PushedSinks.key(s), s]));
    const closing: Promise<void>[] = [];
    for (const [key, sink] of this.running) {
      if (wanted.has(key)) continue;
      this.running.delete(key);
      closing.push(sink.sink.close());
    }
    this.errors.clearWhere((key) => key.startsWith("sink:"));
    for (const [key, config] of wanted) {
      if (this.running.has(key)) continue;
      try {
        const target = parseExportUrl(config.url);
        const expected =
          config.kind === "ipfix_udp" ? "ipfix-udp" : config.kind === "ipfix_tcp" ? "ipfix-tcp" : "nats";
        if (target.kind !== expected)
          throw new UsageError(`URL scheme does not match the sink kind ${config.kind}`);
        let sink: { sink: RecordSink; target: string };
        if (target.kind === "nats") {
          const host = target.host.includes(":") ? `[${target.host}]` : target.host;
          const url = `nats://${host}:${target.port}/${target.subject}`;
          sink = { sink: new NatsExportSink(url, this.log), target: url };
        } else {
          const ipfix = new IpfixSink(
            { ...target, ...(config.enterprise_id === null ? {} : { enterpriseId: config.enterprise_id }) },
            this.log,
          );
          sink = { sink: ipfix, target: ipfix.target };
        }
        this.running.set(key, sink);
        this.log(`exporting to ${sink.target} (sink ${config.id})`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.errors.set(`sink:${config.id}`, "sink", `sink ${config.url}: ${message}`);
        this.log(`sink ${config.url} not started: ${message}`);
      }
    }
    await Promise.all(closing);
  }

  async write(records: readonly FlowRecord[]): Promise<void> {
    for (const running of this.running.values()) await running.sink.write(records);
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((s) => s.sink.close()));
  }
}
