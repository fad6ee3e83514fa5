import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";

export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * Node's HTTP server in front of a fetch-style handler, for running the agent protocol (and the REST API)
 * outside Next.js: integration tests and the fleet benchmark use it to talk real HTTP with keep-alive.
 * The request's signal aborts when the client hangs up, which ends a waiting check-in.
 */
export async function listenFetch(
  handler: FetchHandler,
  options: { host?: string; port?: number } = {},
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void serve(handler, req, res);
  });
  // Long-polls last up to 30 s; keep idle keep-alive sockets a little longer than the agents' pause.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function serve(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const aborter = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) aborter.abort();
  });
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, value);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    // Node's fetch needs `duplex` for a streamed body; not every RequestInit typing knows the field.
    const init: RequestInit & { duplex: "half" } = {
      method: req.method ?? "GET",
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
      signal: aborter.signal,
      duplex: "half",
    };
    const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, init);
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
    }
    res.end();
  } catch (error) {
    console.error("[kernflow agent] request failed", error);
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } }));
  }
}
