import { readFileSync } from "node:fs";
import { hostname, release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type HostFacts, hostFactsSchema } from "@kernflow/protocol";
import { listInterfaces } from "../capture/interfaces";

const packageJson = join(dirname(fileURLToPath(import.meta.url)), "../../package.json");

export function agentVersion(): string {
  const parsed = JSON.parse(readFileSync(packageJson, "utf8")) as { version?: unknown };
  return typeof parsed.version === "string" ? parsed.version : "unknown";
}

/** PRETTY_NAME of an os-release file (quotes and escapes removed), or null when there is none. */
export function prettyOsName(osRelease: string): string | null {
  for (const line of osRelease.split("\n")) {
    const match = /^PRETTY_NAME=(.*)$/.exec(line.trim());
    if (match === null) continue;
    let value = (match[1] as string).trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    value = value.replace(/\\(.)/g, "$1");
    return value.length > 0 ? value : null;
  }
  return null;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/** What the console is told about this host at enrolment and every check-in. The machine id is what
 * lets the console recognise a re-enrolling host instead of creating a duplicate device. */
export async function gatherHostFacts(
  roots: { etc?: string; sysClassNet?: string } = {},
): Promise<HostFacts> {
  const etc = roots.etc ?? "/etc";
  const machineId = readOr(join(etc, "machine-id"), "").trim();
  if (machineId === "")
    throw new Error(`${join(etc, "machine-id")} is missing or empty: the console needs a stable machine id`);
  const os =
    prettyOsName(readOr(join(etc, "os-release"), "")) ??
    prettyOsName(readOr("/usr/lib/os-release", "")) ??
    "Linux";
  const interfaces = (await listInterfaces(roots.sysClassNet)).map((i) => i.name).sort();
  return hostFactsSchema.parse({
    hostname: hostname(),
    machine_id: machineId,
    kernel_release: release(),
    os,
    agent_version: agentVersion(),
    interfaces: interfaces.slice(0, 4096),
  });
}
