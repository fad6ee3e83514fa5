// A real nats-server (Debian's, with JetStream) for the NATS transport tests of every package: its own port
// and store directory, restartable on the same port and store, killed on cleanup; clients of it, and the
// FlowBatch of a message it stored.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type FlowBatch, flowBatchSchema } from "@kernflow/protocol";
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";

export const natsServerBinary = ["/usr/bin/nats-server", "/usr/sbin/nats-server"].find((p) => existsSync(p));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class NatsServer {
  private child: ChildProcess | null = null;
  private readonly storeDir = mkdtempSync(join(tmpdir(), "kf-nats-"));
  port = 0;
  log = "";

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** A client of this server; `options` add to it (e.g. reconnecting forever across a restart). */
  connect(options: NodeConnectionOptions = {}): Promise<NatsConnection> {
    return connect({ servers: `127.0.0.1:${this.port}`, ...options });
  }

  async start(): Promise<this> {
    if (!natsServerBinary) throw new Error("nats-server is not installed (apt-get install nats-server)");
    if (this.port === 0) this.port = await freePort();
    const child = spawn(
      natsServerBinary,
      ["-js", "-a", "127.0.0.1", "-p", String(this.port), "-sd", this.storeDir],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.child = child;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += String(chunk);
        this.log += String(chunk);
        if (output.includes("Server is ready")) resolve();
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`nats-server exited ${code}: ${output}`)));
    });
    return this;
  }

  /** Stops the server (SIGTERM: it flushes its store, as a restart by an operator would). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    this.child = null;
  }

  async cleanup(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child?.once("exit", resolve));
      this.child.kill("SIGKILL");
      await exited;
    }
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** Message `seq` of `stream`, and the FlowBatch it carries (gzip JSON, parsed with the protocol's schema). */
export async function storedBatch(
  jsm: JetStreamManager,
  stream: string,
  seq: number,
): Promise<{ message: StoredMsg; batch: FlowBatch }> {
  const message = await jsm.streams.getMessage(stream, { seq });
  if (!message) throw new Error(`no message ${seq} in stream ${stream}`);
  return { message, batch: flowBatchSchema.parse(JSON.parse(gunzipSync(message.data).toString())) };
}
