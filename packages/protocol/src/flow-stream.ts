/**
 * Flow batches over NATS JetStream (issue #8): the scale-out path between agents (or aggregators) and the
 * console's ingest workers, and a second export path anyone may subscribe to.
 *
 * Message: one {@link FlowBatch} per message on the URL's subject (`nats://HOST:PORT/SUBJECT`, default
 * subject `kernflow.flows`); body = gzip-compressed JSON of the batch in its whole-record form
 * (`flowBatchSchema`), which the HTTP path `agentPaths.flows` takes too (agents post the packed form of
 * packed-batch.ts there; this stream keeps whole records for its other consumers). Headers:
 *   - `Nats-Msg-Id`: the batch_id, so JetStream drops a re-publish inside its duplicate window (and the
 *     flow store, idempotent by batch_id, drops any later one);
 *   - `Content-Encoding: gzip`;
 *   - `Kernflow-Credential`: the device credential the batch is attributed to, checked by the ingest
 *     worker exactly as the HTTP path checks `Authorization: Bearer` (restrict who may subscribe).
 * Stream: `streamNameFor(subject)` holds the subject (file storage, limits retention); the ingest
 * workers share one durable pull consumer (explicit ack, ack after the store commit). A message that is
 * not a valid batch, or whose credential is refused, is re-published to `<subject>.dlq` (stream
 * `<stream>_DLQ`) with `Kernflow-Dead-Letter-Reason`, then acked.
 */
export const DEFAULT_FLOW_SUBJECT = "kernflow.flows";
export const DEFAULT_INGEST_CONSUMER = "kernflow-ingest";

export const flowStreamHeaders = {
  msgId: "Nats-Msg-Id",
  encoding: "Content-Encoding",
  credential: "Kernflow-Credential",
  deadLetterReason: "Kernflow-Dead-Letter-Reason",
} as const;

/** JetStream stream names allow no dots or wildcards: `kernflow.flows` → `KERNFLOW_FLOWS`. */
export function streamNameFor(subject: string): string {
  return subject.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase();
}

export function deadLetterSubjectFor(subject: string): string {
  return `${subject}.dlq`;
}

const subjectPattern = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/** `nats://HOST[:PORT][/SUBJECT]` → the server and the subject; throws a message naming what is wrong. */
export function parseNatsFlowUrl(text: string): { server: string; subject: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`"${text}" is not a URL; expected nats://HOST:PORT/SUBJECT`);
  }
  if (url.protocol !== "nats:") throw new Error(`"${text}" must start with nats://`);
  if (url.hostname === "") throw new Error(`"${text}" has no host`);
  const subject = decodeURIComponent(url.pathname.replace(/^\//, "")) || DEFAULT_FLOW_SUBJECT;
  if (!subjectPattern.test(subject))
    throw new Error(`"${text}": "${subject}" is not a NATS subject (dot-separated tokens, no wildcards)`);
  return { server: `${url.hostname}:${url.port === "" ? 4222 : url.port}`, subject };
}
