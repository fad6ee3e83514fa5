// `npm start`: serves the built console in this one process — embedded PostgreSQL (unless DATABASE_URL
// is set), the first administrator, then Next.js on HOST:PORT. Run with tsx.
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import {
  type BootstrapCredentials,
  ensureBootstrapAdmin,
  InvalidBootstrapEnvError,
  registerDefaultBytecode,
} from "@kernflow/api";
import { DatabaseError, openDatabase, parseDatabaseEnv } from "@kernflow/db";
import { assertConsoleBuilt, ConsoleNotBuiltError } from "../src/launcher/build";
import { LauncherConfigError, parseLauncherEnv } from "../src/launcher/env";
import { ListenError, listen } from "../src/launcher/listen";
import { type LocalAgent, startLocalAgent } from "../src/launcher/local-agent";
import { closeServerDb } from "../src/server/db";
import { closeServerFlowStore } from "../src/server/flow-store";

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const webDir = fileURLToPath(new URL("..", import.meta.url));
const SHUTDOWN_TIMEOUT_MS = 15_000;

function say(message: string): void {
  process.stdout.write(`[kernflow] ${message}\n`);
}

function fail(message: string): never {
  process.stderr.write(`[kernflow] error: ${message}\n`);
  process.exit(1);
}

function consoleUrl(host: string, port: number): string {
  const shown = host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

async function main(): Promise<void> {
  const env = parseLauncherEnv(process.env);
  assertConsoleBuilt(webDir);
  // Next reads NODE_ENV when it loads; a production build must run with "production".
  Object.assign(process.env, { NODE_ENV: "production" });

  // Bind the port before starting PostgreSQL, so a taken port fails in milliseconds and leaves nothing
  // running. Requests that arrive before Next is ready wait for it.
  let resolveHandler!: (handler: RequestHandler) => void;
  const handlerReady = new Promise<RequestHandler>((resolve) => {
    resolveHandler = resolve;
  });
  const server = createServer((req, res) => {
    // The API rate-limits logins by the right-most X-Forwarded-For entry. Next.js fills that header only
    // when it is absent, so a client could choose its own address; appending the socket's peer makes the
    // right-most entry the one address the client cannot forge.
    const peer = req.socket.remoteAddress;
    if (peer) {
      const sent = req.headers["x-forwarded-for"];
      req.headers["x-forwarded-for"] = sent ? `${String(sent)}, ${peer}` : peer;
    }
    void handlerReady.then((handle) => handle(req, res));
  });
  const address = await listen(server, env.PORT, env.HOST);

  const db = await openDatabase({ env: process.env, log: say });
  let nextApp: { close(): Promise<void> } | undefined;
  let localAgent: LocalAgent | undefined;
  let shuttingDown = false;
  const shutdown = async (reason: string, code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`${reason}: stopping`);
    const timer = setTimeout(() => fail("shutdown took too long; exiting"), SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    // The agent first: it ships what it still holds to the console before the console goes.
    await localAgent?.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await nextApp?.close();
    // The route handlers' connections must go before PostgreSQL does, or they report its shutdown.
    await closeServerFlowStore();
    await closeServerDb();
    await db.close();
    say("stopped");
    process.exit(code);
  };
  // `on`, not `once`: under npm/tsx a Ctrl-C can arrive twice (from the terminal and relayed), and a
  // second signal with no listener would kill the process before PostgreSQL is stopped.
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));

  try {
    const admin = await ensureBootstrapAdmin(db.prisma, process.env);
    if (admin) printAdministrator(admin);
    await registerBuiltBytecode(db.prisma);

    // The route handlers make their own Prisma client from DATABASE_URL; this is how they find the
    // embedded server, whose URL only exists now.
    process.env.DATABASE_URL = db.url;
    const { default: next } = await import("next");
    const app = next({ dev: false, dir: webDir, hostname: env.HOST, port: address.port, httpServer: server });
    nextApp = app;
    await app.prepare();
    resolveHandler(app.getRequestHandler());
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  const url = consoleUrl(env.HOST, address.port);
  say(`console ready at ${url}`);
  if (env.KERNFLOW_LOCAL_AGENT) {
    // The console is useful without it, so a failed enrollment is reported, not fatal.
    localAgent = await startLocalAgent({
      prisma: db.prisma,
      consoleUrl: url,
      home: parseDatabaseEnv(process.env).home,
      say,
    }).catch((error: unknown) => {
      say(`local agent not started: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
  }
}

// The object built from bpf/ becomes the default CO-RE bytecode agents are given; without a build the
// console still runs and agents keep the object they ship with.
const builtBytecode = fileURLToPath(new URL("../../../bpf/build/kernflow.bpf.o", import.meta.url));

async function registerBuiltBytecode(prisma: Parameters<typeof registerDefaultBytecode>[0]): Promise<void> {
  if (!existsSync(builtBytecode)) {
    say(`no ${builtBytecode} (run make -C bpf): agents keep their own bytecode`);
    return;
  }
  const registered = await registerDefaultBytecode(prisma, builtBytecode);
  if (registered.changed) say(`default bytecode registered: ${registered.sha256.slice(0, 12)}`);
}

function printAdministrator(admin: BootstrapCredentials): void {
  // A password the operator chose (KERNFLOW_ADMIN_PASSWORD) is not echoed into logs.
  const lines = [
    "administrator account created — sign in with:",
    `  email:    ${admin.email}`,
    admin.generated ? `  password: ${admin.password}` : "  password: (the one in KERNFLOW_ADMIN_PASSWORD)",
  ];
  if (admin.generated) lines.push("this password is shown only once: store it now");
  const width = Math.max(...lines.map((line) => line.length));
  const rule = "=".repeat(width);
  process.stdout.write(`\n${rule}\n${lines.join("\n")}\n${rule}\n\n`);
}

main().catch((error: unknown) => {
  // Our own errors carry a message meant for the operator; anything else needs its stack.
  const expected = [
    LauncherConfigError,
    ConsoleNotBuiltError,
    ListenError,
    DatabaseError,
    InvalidBootstrapEnvError,
  ].some((type) => error instanceof type);
  fail(
    expected && error instanceof Error
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error),
  );
});
