import type { Writable } from "node:stream";
import type { FlowRecord } from "@kernflow/protocol";
import { type RecordSink, writeText } from "./sink";

/** One record per line, exactly the protocol's JSON shape, so `jq` and the console's ingest read it as is. */
export function formatNdjson(records: readonly FlowRecord[]): string {
  let text = "";
  for (const record of records) text += `${JSON.stringify(record)}\n`;
  return text;
}

export class NdjsonSink implements RecordSink {
  constructor(private readonly out: Writable) {}
  write(records: readonly FlowRecord[]): Promise<void> {
    return writeText(this.out, formatNdjson(records));
  }
  async close(): Promise<void> {}
}
