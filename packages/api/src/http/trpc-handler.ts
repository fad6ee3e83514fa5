import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import superjson from "superjson";
import { type ApiDeps, createContext } from "../context";
import { PayloadTooLargeError } from "../errors";
import { appRouter } from "../root";
import { MAX_BODY_BYTES, readBodyLimited } from "./body";

export const TRPC_ENDPOINT = "/api/trpc";

/** The tRPC fetch adapter at /api/trpc, for the console's route handler. */
export async function handleTrpcRequest(req: Request, deps: ApiDeps): Promise<Response> {
  let request = req;
  if (req.body !== null) {
    // The fetch adapter reads bodies without a limit, so the body is read (at most 1 MiB) before it sees it.
    try {
      const body = await readBodyLimited(req, MAX_BODY_BYTES);
      request = new Request(req.url, { method: req.method, headers: req.headers, body, signal: req.signal });
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return payloadTooLarge(error);
      throw error;
    }
  }
  return fetchRequestHandler({
    endpoint: TRPC_ENDPOINT,
    req: request,
    router: appRouter,
    createContext: ({ req: adapterReq, resHeaders }) =>
      createContext(adapterReq, deps, { resHeaders, acceptSessionCookie: true }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        console.error(`[kernflow api] tRPC ${path ?? "(unknown)"} failed`, error.cause ?? error);
      }
    },
  });
}

function payloadTooLarge(error: PayloadTooLargeError): Response {
  // Same envelope the tRPC client expects from the server, so it surfaces as a normal TRPCClientError.
  const shape = {
    message: error.message,
    code: TRPC_ERROR_CODES_BY_KEY.PAYLOAD_TOO_LARGE,
    data: { code: "PAYLOAD_TOO_LARGE", httpStatus: 413, fieldErrors: null },
  };
  return new Response(JSON.stringify({ error: superjson.serialize(shape) }), {
    status: 413,
    headers: { "content-type": "application/json" },
  });
}
