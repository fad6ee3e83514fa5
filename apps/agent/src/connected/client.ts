import { createHash } from "node:crypto";
import {
  agentErrorResponseSchema,
  agentPaths,
  type CheckInRequest,
  type CheckInResponse,
  checkInResponseSchema,
  type EnrollRequest,
  type EnrollResponse,
  enrollResponseSchema,
  type FlowBatchResponse,
  flowBatchResponseSchema,
} from "@kernflow/protocol";
import type { z } from "zod";

/** The console answered with an error status; `code`/`message` come from its `{ error }` body. */
export class AgentHttpError extends Error {
  override readonly name = "AgentHttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** From `Retry-After` (seconds) on 429/503, in milliseconds. */
    readonly retryAfterMs: number | null,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** No HTTP answer at all: refused connection, DNS failure, timeout, reset. */
export class ServerUnreachableError extends Error {
  override readonly name = "ServerUnreachableError";
}

/** The console answered 2xx with a body that is not what the protocol says. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
}

/** `Retry-After` as seconds (the form the protocol uses) or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const requestTimeoutMs = 30_000;

/** The agent side of the agent protocol: every answer is parsed with the protocol's schemas. */
export class AgentClient {
  private readonly base: string;

  constructor(
    server: string,
    private readonly credential: string | null,
  ) {
    this.base = server.replace(/\/+$/, "");
  }

  private async send(
    path: string,
    init: { method: string; body?: Buffer | string; headers?: Record<string, string>; timeoutMs?: number },
    signal?: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.credential !== null) headers.authorization = `Bearer ${this.credential}`;
    const timeout = AbortSignal.timeout(init.timeoutMs ?? requestTimeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new ServerUnreachableError(`console ${this.base} unreachable (${why})`, { cause: error });
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    let code = "http_error";
    let message = text.slice(0, 500) || response.statusText;
    try {
      const body = agentErrorResponseSchema.safeParse(JSON.parse(text));
      if (body.success) ({ code, message } = body.data.error);
    } catch {
      // Not JSON (a proxy's error page): the status and the start of the text say enough.
    }
    throw new AgentHttpError(
      response.status,
      code,
      message,
      parseRetryAfter(response.headers.get("retry-after")),
    );
  }

  private async json<T extends z.ZodType>(response: Response, schema: T, what: string): Promise<z.infer<T>> {
    let raw: unknown;
    try {
      raw = await response.json();
    } catch {
      throw new ProtocolError(`${what}: the console's answer is not JSON`);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success)
      throw new ProtocolError(`${what}: unexpected answer (${parsed.error.issues[0]?.message})`);
    return parsed.data;
  }

  async enroll(request: EnrollRequest, signal?: AbortSignal): Promise<EnrollResponse> {
    const response = await this.send(
      agentPaths.enroll,
      { method: "POST", body: JSON.stringify(request), headers: { "content-type": "application/json" } },
      signal,
    );
    return this.json(response, enrollResponseSchema, "enroll");
  }

  async checkIn(request: CheckInRequest, signal?: AbortSignal): Promise<CheckInResponse> {
    const response = await this.send(
      agentPaths.checkIn,
      {
        method: "POST",
        body: JSON.stringify(request),
        headers: { "content-type": "application/json" },
        // The server holds the request up to wait_ms; give it that plus time to answer.
        timeoutMs: request.wait_ms + 15_000,
      },
      signal,
    );
    return this.json(response, checkInResponseSchema, "check-in");
  }

  /** Downloads a bytecode object and checks it is the one asked for. */
  async downloadBytecode(sha256: string, signal?: AbortSignal): Promise<Buffer> {
    const response = await this.send(
      `${agentPaths.bytecode}/${sha256}`,
      { method: "GET", timeoutMs: 120_000 },
      signal,
    );
    const bytes = Buffer.from(await response.arrayBuffer());
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== sha256) throw new ProtocolError(`bytecode ${sha256}: downloaded bytes hash to ${actual}`);
    return bytes;
  }

  /** Posts one gzip-compressed JSON flow batch (the packed form, packed-batch.ts; the console takes both). */
  async postFlows(gzipBody: Buffer, signal?: AbortSignal): Promise<FlowBatchResponse> {
    const response = await this.send(
      agentPaths.flows,
      {
        method: "POST",
        body: gzipBody,
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        timeoutMs: 60_000,
      },
      signal,
    );
    return this.json(response, flowBatchResponseSchema, "flow batch");
  }
}
