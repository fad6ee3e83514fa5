// Real PostgreSQL servers for tests that need a server of their own (not the shared test server).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort, startEmbeddedPostgres } from "../src/embedded";

const run = promisify(execFile);
const DEBIAN_PG_BIN = "/usr/lib/postgresql/15/bin";

export const isRoot = process.getuid?.() === 0;

export async function postgresAccount(): Promise<{ uid: number; gid: number }> {
  if (!isRoot) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run("id", ["-u", "postgres"]),
    run("id", ["-g", "postgres"]),
  ]);
  return { uid: Number(uid), gid: Number(gid) };
}

/** A temporary folder the postgres user can enter (mkdtemp makes it 0700). */
export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface ExternalServer {
  /** `postgresql://postgres:PASSWORD@127.0.0.1:PORT/<database>` */
  urlFor(database: string): string;
  password: string;
  port: number;
  kind: "debian-postgresql-15" | "embedded";
  stop(): Promise<void>;
}

/**
 * A PostgreSQL the code under test did not start: Debian's PostgreSQL 15 when installed (run as the
 * postgres user with password authentication), otherwise another embedded instance.
 */
export async function startExternalServer(): Promise<ExternalServer> {
  const tmp = await tempDir("kernflow-external-pg-");
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  if (!existsSync(path.join(DEBIAN_PG_BIN, "pg_ctl"))) {
    const server = await startEmbeddedPostgres({ dataDir: path.join(tmp.dir, "data"), ephemeral: true });
    return {
      urlFor: server.urlFor,
      password: new URL(server.url).password,
      port: server.port,
      kind: "embedded",
      stop: async () => {
        await server.stop();
        await tmp.remove();
      },
    };
  }
  const account = await postgresAccount();
  const dataDir = path.join(tmp.dir, "data");
  await mkdir(dataDir, { mode: 0o700 });
  await chown(dataDir, account.uid, account.gid);
  const pwfile = path.join(tmp.dir, "pwfile");
  await writeFile(pwfile, `${password}\n`, { mode: 0o644 });
  const asPostgres = { uid: account.uid, gid: account.gid, env: { ...process.env, LC_ALL: "C" } };
  await run(
    path.join(DEBIAN_PG_BIN, "initdb"),
    [
      "-D",
      dataDir,
      "-U",
      "postgres",
      `--pwfile=${pwfile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ],
    asPostgres,
  );
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off`;
  await run(
    path.join(DEBIAN_PG_BIN, "pg_ctl"),
    ["-D", dataDir, "-l", path.join(dataDir, "server.log"), "-o", options, "-w", "start"],
    asPostgres,
  );
  return {
    urlFor: (database) => `postgresql://postgres:${password}@127.0.0.1:${port}/${database}`,
    password,
    port,
    kind: "debian-postgresql-15",
    stop: async () => {
      await run(path.join(DEBIAN_PG_BIN, "pg_ctl"), ["-D", dataDir, "-m", "fast", "-w", "stop"], asPostgres);
      await tmp.remove();
    },
  };
}
