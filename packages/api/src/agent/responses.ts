import { ZodError, type z } from "zod";
import { InvalidInputError } from "../errors";
import { readBodyLimited } from "../http/body";
import { errorBody, jsonResponse, restErrorResponse } from "../rest/error-response";
import { formatZodError } from "../validation";

// The agent protocol answers like REST (CONTRACTS.md §3): `{ error: { code, message } }` with the status of
// the domain error, so one mapping (src/errors.ts) decides every status.
export { jsonResponse as agentJson, restErrorResponse as agentErrorResponse };

export function agentUnavailable(message: string): Response {
  return jsonResponse(errorBody("SERVICE_UNAVAILABLE", message), 503, { "retry-after": "5" });
}

/** Reads a JSON body (1 MiB at most) and parses it with the protocol's schema, naming the bad field. */
export async function parseAgentBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  const bytes = await readBodyLimited(request);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new InvalidInputError("Request body must be JSON");
  }
  try {
    return schema.parse(raw);
  } catch (error) {
    if (error instanceof ZodError) throw new InvalidInputError(formatZodError(error));
    throw error;
  }
}
