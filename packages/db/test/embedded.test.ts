import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdir, readFile, stat } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from "../src/embedded";
import { DataDirInUseError, DataDirOwnerError, EmbeddedPostgresError, PortInUseError } from "../src/errors";
import { isRoot, postgresAccount, tempDir } from "./server-helpers";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function scratchDir(): Promise<string> {
  const tmp = await tempDir("kernflow-embedded-");
  cleanups.push(tmp.remove);
  return tmp.dir;
}

async function start(dataDir: string, port?: number): Promise<EmbeddedPostgresServer> {
  const server = await startEmbeddedPostgres({ dataDir, port, ephemeral: true });
  cleanups.push(() => server.stop());
  return server;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

async function processUid(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runUntilSigterm(dataDir: string, mode = "") {
  const fixture = path.join(import.meta.dirname, "fixtures", "serve-until-signal.ts");
  const child = spawn(process.execPath, ["--import", "tsx", fixture, dataDir, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: unknown[] = [];
  let buffered = "";
  let resolveStarted: (pid: number) => void = () => {};
  const started = new Promise<number>((resolve) => {
    resolveStarted = resolve;
  });
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = JSON.parse(buffered.slice(0, nl)) as { pid?: number };
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      if (line.pid) resolveStarted(line.pid);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const postmasterPid = await Promise.race([
    started,
    exited.then((e) => Promise.reject(new Error(`fixture exited early: ${JSON.stringify(e)}`))),
  ]);
  child.kill("SIGTERM");
  const exit = await exited;
  // The postmaster may take a moment to finish its fast shutdown after the fixture is gone.
  for (let i = 0; i < 100 && alive(postmasterPid); i++) await new Promise((r) => setTimeout(r, 50));
  return { exit, lines, postmasterPid };
}

async function runExitFixture(dataDir: string, mode: "stop" | "exit") {
  const fixture = path.join(import.meta.dirname, "fixtures", "exit-code-after-stop.ts");
  const child = spawn(process.execPath, ["--import", "tsx", fixture, dataDir, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, stdout };
}

describe("startEmbeddedPostgres", () => {
  it("initialises a new data folder owned by the server's user, serves SQL on loopback, and stops", async () => {
    const dataDir = path.join(await scratchDir(), "pg");
    const server = await startEmbeddedPostgres({ dataDir, ephemeral: true });
    cleanups.push(() => server.stop());

    const account = await postgresAccount();
    expect((await stat(dataDir)).uid).toBe(account.uid);
    expect(existsSync(path.join(dataDir, "PG_VERSION"))).toBe(true);
    const [row] = await sql<{ dir: string; v: string }>(
      server.url,
      "SELECT current_setting('data_directory') AS dir, current_setting('server_version_num') AS v",
    );
    expect(row?.dir).toBe(dataDir);

    const pid = Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
    expect(await processUid(pid)).toBe(account.uid);
    if (isRoot) expect(account.uid).not.toBe(0);

    await server.stop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(path.join(dataDir, "postmaster.pid"))).toBe(false);
    await expect(sql(server.url, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("keeps the data and the credentials across restarts, running initdb only once", async () => {
    const dataDir = path.join(await scratchDir(), "pg");
    const first = await startEmbeddedPostgres({ dataDir, ephemeral: true });
    await sql(first.url, "CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('still here')");
    await first.stop();
    const versionFile = await stat(path.join(dataDir, "PG_VERSION"));

    const second = await start(dataDir);
    expect(await sql(second.url, "SELECT v FROM kept")).toEqual([{ v: "still here" }]);
    expect((await stat(path.join(dataDir, "PG_VERSION"))).mtimeMs).toBe(versionFile.mtimeMs);
  });

  it("listens on the port it is given", async () => {
    const probe = net.createServer();
    const port = await new Promise<number>((resolve) =>
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      }),
    );
    const server = await start(path.join(await scratchDir(), "pg"), port);
    expect(server.port).toBe(port);
    expect(new URL(server.url).port).toBe(String(port));
    expect(await sql(server.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it("reports a port that is already in use", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const address = blocker.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const error = await startEmbeddedPostgres({ dataDir: path.join(await scratchDir(), "pg"), port }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as Error).message).toContain(String(port));
  });

  it("reports a data folder that another running server already uses", async () => {
    const dataDir = path.join(await scratchDir(), "pg");
    await start(dataDir);
    const error = await startEmbeddedPostgres({ dataDir, ephemeral: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirInUseError);
    expect((error as Error).message).toContain(dataDir);
  });

  it("stops a server left running by a console that was killed, and starts in its place", async () => {
    const dataDir = path.join(await scratchDir(), "pg");
    const fixture = path.join(import.meta.dirname, "fixtures", "start-then-die.ts");
    const child = await promisify(execFile)(process.execPath, ["--import", "tsx", fixture, dataDir]).catch(
      (error: { stdout?: string; signal?: string }) => {
        if (error.signal !== "SIGKILL") throw error;
        return { stdout: error.stdout ?? "" };
      },
    );
    const orphanUrl = (JSON.parse(child.stdout) as { url: string }).url;
    const orphanPid = Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
    expect(alive(orphanPid)).toBe(true);
    expect(await sql(orphanUrl, "SELECT 1 AS one")).toEqual([{ one: 1 }]);

    const server = await start(dataDir);
    expect(alive(orphanPid)).toBe(false);
    expect(await sql(server.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it("on SIGTERM, stops the server and exits 143 when the process has no SIGTERM handler of its own", async () => {
    const run = await runUntilSigterm(path.join(await scratchDir(), "pg"));
    expect(run.exit).toEqual({ code: 143, signal: null });
    expect(alive(run.postmasterPid)).toBe(false);
  });

  it("on SIGTERM, leaves the server to a process that handles the signal itself", async () => {
    const run = await runUntilSigterm(path.join(await scratchDir(), "pg"), "own-handler");
    expect(run.lines).toContainEqual({ queriedDuringShutdown: 1 });
    expect(run.exit).toEqual({ code: 0, signal: null });
    expect(alive(run.postmasterPid)).toBe(false);
  });

  it("keeps the exit code the process set once its server has stopped", async () => {
    const run = await runExitFixture(path.join(await scratchDir(), "pg"), "stop");
    expect(run.code).toBe(3);
  });

  it("stops the server when its process exits without stopping it, and exits with the code it asked for", async () => {
    const run = await runExitFixture(path.join(await scratchDir(), "pg"), "exit");
    expect(run.code).toBe(0);
    const pid = Number(run.stdout.trim());
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  });

  it.skipIf(!isRoot)("as root, refuses an initialised data folder that belongs to another user", async () => {
    const dataDir = path.join(await scratchDir(), "pg");
    const server = await startEmbeddedPostgres({ dataDir, ephemeral: true });
    await server.stop();
    await chown(dataDir, 0, 0);
    const error = await startEmbeddedPostgres({ dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirOwnerError);
    expect((error as Error).message).toMatch(/belongs to uid 0.*chown -R/);
  });

  it.skipIf(!isRoot)("as root, says which parent folder the postgres user cannot enter", async () => {
    const base = await scratchDir();
    const closed = path.join(base, "closed");
    await mkdir(closed, { mode: 0o700 });
    const error = await startEmbeddedPostgres({ dataDir: path.join(closed, "pg") }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedPostgresError);
    expect((error as Error).message).toContain(`cannot enter ${closed}`);
  });
});
