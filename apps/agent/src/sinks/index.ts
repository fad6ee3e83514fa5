import type { Writable } from "node:stream";
import { NdjsonSink } from "./ndjson";
import type { RecordSink } from "./sink";
import { TableSink } from "./table";

export * from "./ndjson";
export * from "./sink";
export * from "./table";

export type OutputFormat = "ndjson" | "table";

export function createStdoutSink(format: OutputFormat, out: Writable): RecordSink {
  return format === "ndjson" ? new NdjsonSink(out) : new TableSink(out);
}
