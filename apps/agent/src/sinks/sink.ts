import type { Writable } from "node:stream";
import type { FlowRecord } from "@kernflow/protocol";

/** Where a capture's records go; one write per drained batch. */
export interface RecordSink {
  write(records: readonly FlowRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Writes text honouring back-pressure, so a slow pipe (`| less`) slows the drain instead of buffering forever. */
export function writeText(out: Writable, text: string): Promise<void> {
  if (text.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    out.once("error", onError);
    const flushed = out.write(text, (error) => {
      if (error) reject(error);
    });
    if (flushed) {
      out.off("error", onError);
      resolve();
    } else {
      out.once("drain", () => {
        out.off("error", onError);
        resolve();
      });
    }
  });
}
