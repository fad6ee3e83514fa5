import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { ZodError } from "zod";
import { DomainError, mapDomainError, RateLimitedError } from "../errors";
import { formatZodError } from "../validation";

export function jsonResponse(body: unknown, status: number, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Every REST failure becomes `{ error: { code, message } }` with the status tRPC assigns to its code. */
export function restErrorResponse(thrown: unknown): Response {
  const error =
    thrown instanceof TRPCError
      ? thrown
      : thrown instanceof DomainError
        ? mapDomainError(thrown)
        : new TRPCError({ code: "INTERNAL_SERVER_ERROR", cause: thrown });
  const status = getHTTPStatusCodeFromError(error);
  let message = error.message;
  if (error.cause instanceof ZodError) message = formatZodError(error.cause);
  if (error.code === "INTERNAL_SERVER_ERROR") {
    // The details (SQL, stack) go to the server log, never to the client.
    console.error("[kernflow api] REST request failed", error.cause ?? error);
    message = "Internal server error";
  }
  const headers: Record<string, string> = {};
  if (error.cause instanceof RateLimitedError) {
    headers["retry-after"] = String(
      Math.max(1, Math.ceil((error.cause.retryAt.getTime() - Date.now()) / 1000)),
    );
  }
  return jsonResponse(errorBody(error.code, message), status, headers);
}
