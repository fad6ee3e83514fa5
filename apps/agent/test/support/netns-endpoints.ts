/**
 * Traffic endpoints of the namespace lab: TCP/UDP servers and clients run by python3 through a symlink
 * named after their role, so the kernel's comm (the agent's process_name) is a known value.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Netns } from "./netns";

const trafficScript = join(dirname(fileURLToPath(import.meta.url)), "netns-traffic.py");
/** A real interpreter, not a shim script: its comm must become the symlink's name when exec'd through one. */
export const python =
  process.env.KF_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

export interface TrafficEndpointOptions {
  /** cgroup v2 directory (from NetnsLab.cgroup) the process joins before it starts. */
  cgroup?: string;
  /** Process name (comm) the kernel will report; at most 15 characters. */
  processName?: string;
}

export interface ServerOptions extends TrafficEndpointOptions {
  protocol: "tcp" | "udp";
  bind: string;
  /** 0 or absent: any free port, reported back in TrafficServer.port. */
  port?: number;
  replyBytes?: number;
}

export interface ClientOptions extends TrafficEndpointOptions {
  protocol: "tcp" | "udp";
  addr: string;
  port: number;
  bytes: number;
  /** UDP only: the payload goes as this many equal datagrams. */
  datagrams?: number;
  /** UDP only: wait for one reply datagram after each send. */
  awaitReply?: boolean;
}

export interface ServerEvent {
  pid: number;
  event: "connection" | "datagram";
  peer_addr: string;
  peer_port: number;
  received: number;
  sent: number;
}

export interface TrafficServer {
  pid: number;
  port: number;
  processName: string;
  /** Resolves once `count` connections (TCP) or datagrams (UDP) have been handled. */
  waitForEvents(count: number, timeoutMs?: number): Promise<ServerEvent[]>;
  stop(): void;
}

export interface ClientResult {
  pid: number;
  local_port: number;
  sent: number;
  received: number;
}

/** Reads JSON lines from a child's stdout and hands them to the waiting callers. */
export function jsonLines(child: ChildProcess, onLine: (value: Record<string, unknown>) => void): void {
  if (child.stdout === null) throw new Error("child has no stdout pipe");
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith("{")) onLine(JSON.parse(line) as Record<string, unknown>);
  });
}

export function collectStderr(child: ChildProcess): () => string {
  let text = "";
  child.stderr?.on("data", (chunk) => {
    text += String(chunk);
  });
  return () => text;
}

function cgroupOption(cgroup: string | undefined): { cgroup?: string } {
  return cgroup === undefined ? {} : { cgroup };
}

/** A python3 launched through a symlink named `processName` in `dir`, so the kernel's comm is that name. */
function namedInterpreter(dir: string, processName: string): string {
  if (processName.length > 15)
    throw new Error(`process name "${processName}" exceeds the kernel's 15 characters`);
  const path = join(dir, processName);
  try {
    symlinkSync(python, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return path;
}

/** A TCP or UDP server in `ns` bound to `bind` (port 0 = any free port) that may reply with `replyBytes`. */
export async function startServer(ns: Netns, dir: string, options: ServerOptions): Promise<TrafficServer> {
  const processName = options.processName ?? "kf-server";
  const child = ns.spawn(
    [
      namedInterpreter(dir, processName),
      trafficScript,
      `${options.protocol}-server`,
      options.bind,
      String(options.port ?? 0),
      String(options.replyBytes ?? 0),
    ],
    cgroupOption(options.cgroup),
  );
  const stderr = collectStderr(child);
  const events: ServerEvent[] = [];
  const waiters: Array<() => void> = [];
  const ready = new Promise<{ pid: number; port: number }>((resolve, reject) => {
    child.once("exit", (code) =>
      reject(new Error(`${processName} exited ${code} before listening: ${stderr()}`)),
    );
    jsonLines(child, (line) => {
      if (line.event === "ready") resolve({ pid: line.pid as number, port: line.port as number });
      else {
        events.push(line as unknown as ServerEvent);
        for (const wake of waiters.splice(0)) wake();
      }
    });
  });
  const { pid, port } = await ready;
  return {
    pid,
    port,
    processName,
    waitForEvents: (count, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(
          () => reject(new Error(`${processName} saw ${events.length} of ${count} events: ${stderr()}`)),
          timeoutMs,
        );
        const check = () => {
          if (events.length >= count) {
            clearTimeout(deadline);
            resolve(events.slice(0, count));
          } else waiters.push(check);
        };
        check();
      }),
    stop: () => child.kill("SIGKILL"),
  };
}

/**
 * Sends exactly `bytes` of payload from `ns` to `addr:port` and waits for the reply to end. For UDP the
 * payload goes as `datagrams` datagrams of `bytes / datagrams` bytes each.
 */
export async function runClient(ns: Netns, dir: string, options: ClientOptions): Promise<ClientResult> {
  const interpreter = namedInterpreter(dir, options.processName ?? "kf-client");
  const args =
    options.protocol === "tcp"
      ? ["tcp-client", options.addr, String(options.port), String(options.bytes)]
      : (() => {
          const datagrams = options.datagrams ?? 1;
          if (options.bytes % datagrams !== 0) throw new Error("bytes must divide evenly into datagrams");
          return [
            "udp-client",
            options.addr,
            String(options.port),
            String(options.bytes / datagrams),
            String(datagrams),
            options.awaitReply ? "1" : "0",
          ];
        })();
  const out = await ns.exec([interpreter, trafficScript, ...args], cgroupOption(options.cgroup));
  const line = out.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as ClientResult;
}
