import { type ApiDeps, createContext } from "../context";
import { InvalidInputError } from "../errors";
import { readBodyLimited } from "../http/body";
import { createCaller } from "../root";
import { OPENAPI_PATH, REST_PREFIX } from "./constants";
import { errorBody, jsonResponse, restErrorResponse } from "./error-response";
import { openApiDocument } from "./openapi";
import { type JsonSchemaObject, restProcedures } from "./procedures";
import { matchRoute } from "./routes";

/** Serves everything under /api/v1: the REST face of the procedures that declare `meta.rest`. */
export async function handleRestRequest(req: Request, deps: ApiDeps): Promise<Response> {
  try {
    const url = new URL(req.url);
    if (!url.pathname.startsWith(`${REST_PREFIX}/`)) {
      return jsonResponse(errorBody("NOT_FOUND", `No REST endpoint at ${url.pathname}`), 404);
    }
    const path = url.pathname.slice(REST_PREFIX.length);
    if (path === OPENAPI_PATH) {
      if (req.method !== "GET") return methodNotAllowed(["GET"]);
      return jsonResponse(openApiDocument(), 200);
    }

    const { routes, byPath } = restProcedures();
    const match = matchRoute(routes, req.method, path);
    if (match.kind === "not_found") {
      return jsonResponse(errorBody("NOT_FOUND", `No REST endpoint ${req.method} ${url.pathname}`), 404);
    }
    if (match.kind === "method_not_allowed") return methodNotAllowed(match.allowed);

    const procedure = byPath.get(match.route.procedurePath);
    if (!procedure) throw new Error(`REST route without procedure: ${match.route.procedurePath}`);
    const rawBody = procedure.meta.rawBody;
    const fromRequest =
      req.method === "GET" || req.method === "DELETE"
        ? queryInput(url.searchParams, procedure.inputJsonSchema)
        : rawBody
          ? {
              ...queryInput(url.searchParams, procedure.inputJsonSchema),
              [rawBody.field]: await rawBodyInput(req, rawBody),
            }
          : await jsonBodyInput(req);
    // Path parameters win over same-named body fields: the URL names the resource being acted on.
    const input = procedure.input ? { ...fromRequest, ...match.params } : undefined;

    const ctx = await createContext(req, deps, {
      acceptSessionCookie: procedure.meta.acceptSessionCookie === true,
      resHeaders: null,
    });
    const caller = createCaller(ctx);
    const call = match.route.procedurePath
      .split(".")
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as (
      input: unknown,
    ) => Promise<unknown>;
    const output = await call(input);
    return jsonResponse(output, procedure.meta.successStatus ?? 200);
  } catch (error) {
    return restErrorResponse(error);
  }
}

function methodNotAllowed(allowed: string[]): Response {
  return jsonResponse(errorBody("METHOD_NOT_SUPPORTED", `Use ${allowed.join(" or ")} on this path`), 405, {
    allow: allowed.join(", "),
  });
}

async function rawBodyInput(
  req: Request,
  spec: { contentType: string; maxBytes: number },
): Promise<Uint8Array<ArrayBuffer>> {
  // Read first, then judge the type: a body left unread would stall the next request on a kept-alive
  // connection.
  const body = await readBodyLimited(req, spec.maxBytes);
  const type = req.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== spec.contentType) {
    throw new InvalidInputError(`Send the body as ${spec.contentType} (got ${type ?? "no content type"})`);
  }
  return body;
}

async function jsonBodyInput(req: Request): Promise<Record<string, unknown>> {
  const bytes = await readBodyLimited(req);
  const text = new TextDecoder().decode(bytes).trim();
  if (text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`Malformed JSON body: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidInputError("The JSON body must be an object");
  }
  return parsed as Record<string, unknown>;
}

/**
 * Query strings carry only text; numbers and booleans are converted where the input schema expects them, so
 * `?limit=20` validates as the number the procedure declares. Anything unconvertible is passed as given and
 * the schema reports it against its field.
 */
function queryInput(params: URLSearchParams, schema: JsonSchemaObject | null): Record<string, unknown> {
  const properties = schema?.properties ?? {};
  const input: Record<string, unknown> = {};
  for (const [key, raw] of params) {
    const type = properties[key]?.type;
    const types = Array.isArray(type) ? type : [type];
    if ((types.includes("integer") || types.includes("number")) && /^-?\d+(\.\d+)?$/.test(raw)) {
      input[key] = Number(raw);
    } else if (types.includes("boolean") && (raw === "true" || raw === "false")) {
      input[key] = raw === "true";
    } else {
      input[key] = raw;
    }
  }
  return input;
}
