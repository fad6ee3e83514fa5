import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assertConsoleBuilt, ConsoleNotBuiltError } from "./build";
import { ListenError, listen } from "./listen";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kernflow-web-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function track(server: Server): Server {
  cleanups.push(() => server.close());
  return server;
}

describe("assertConsoleBuilt", () => {
  it("tells the operator to build first when there is no build", () => {
    const dir = tempDir();
    expect(() => assertConsoleBuilt(dir)).toThrow(ConsoleNotBuiltError);
    expect(() => assertConsoleBuilt(dir)).toThrow(/run npm run build first/);
  });

  it("accepts a directory with a Next build id", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".next"));
    writeFileSync(join(dir, ".next", "BUILD_ID"), "abc");
    expect(() => assertConsoleBuilt(dir)).not.toThrow();
  });
});

describe("listen", () => {
  it("binds port 0 to a free port and reports it", async () => {
    const address = await listen(track(createServer()), 0, "127.0.0.1");
    expect(address.port).toBeGreaterThan(0);
  });

  it("says the port is in use when another server holds it", async () => {
    const first = await listen(track(createServer()), 0, "127.0.0.1");
    const attempt = listen(track(createServer()), first.port, "127.0.0.1");
    await expect(attempt).rejects.toThrow(ListenError);
    await expect(attempt).rejects.toThrow(`port ${first.port} on 127.0.0.1 is already in use`);
  });
});
