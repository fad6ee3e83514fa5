import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { desiredConfigSchema } from "@kernflow/protocol";
import { z } from "zod";

/** Where `enroll` keeps the credential and `run` the last applied config, spool and bytecode cache. */
export const defaultStateDir = "/var/lib/kernflow";

/** The agent's identity after enrolment: `state.json` in the state directory, readable by root only. */
export const agentStateSchema = z
  .object({
    version: z.literal(1),
    server: z.url({ protocol: /^https?$/, error: "server must be an http(s) URL" }),
    device: z.object({ id: z.uuid(), name: z.string().min(1), plan_name: z.string() }).strict(),
    credential: z.string().min(32),
    enrolled_at: z.iso.datetime(),
  })
  .strict();
export type AgentState = z.infer<typeof agentStateSchema>;

/** The last configuration the agent applied, so a restart while the console is away captures as before. */
export const appliedConfigSchema = z
  .object({ config_hash: z.string().min(1), config: desiredConfigSchema })
  .strict();
export type AppliedConfig = z.infer<typeof appliedConfigSchema>;

/** The state directory is missing, unreadable or holds something that is not ours. */
export class StateError extends Error {
  override readonly name = "StateError";
}

/** Writes `file` so that a reader sees either the old or the whole new content, never a torn one, and
 * the credential is never readable by others, not even for an instant (the temp file is made 0600). */
export function writeFileAtomic(file: string, content: string | Buffer, mode = 0o600): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", mode);
  try {
    writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function writeAgentState(dir: string, state: AgentState): void {
  ensureStateDir(dir);
  writeFileAtomic(join(dir, "state.json"), `${JSON.stringify(agentStateSchema.parse(state), null, 2)}\n`);
}

function readJson(file: string, what: string): unknown | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StateError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new StateError(`${what} ${file} is not JSON; remove it and enroll again`);
  }
}

export function readAgentState(dir: string): AgentState {
  const file = join(dir, "state.json");
  const raw = readJson(file, "agent state");
  if (raw === undefined)
    throw new StateError(`not enrolled: ${file} does not exist; run 'kernflow-agent enroll' first`);
  const parsed = agentStateSchema.safeParse(raw);
  if (!parsed.success)
    throw new StateError(`agent state ${file} is invalid (${z.prettifyError(parsed.error)}); enroll again`);
  return parsed.data;
}

export function writeAppliedConfig(dir: string, applied: AppliedConfig): void {
  writeFileAtomic(join(dir, "config.json"), `${JSON.stringify(applied)}\n`);
}

/** The last applied config, or undefined when there is none or it no longer parses (the console will
 * send it again at the first check-in). */
export function readAppliedConfig(dir: string): AppliedConfig | undefined {
  const raw = readJson(join(dir, "config.json"), "applied config");
  if (raw === undefined) return undefined;
  const parsed = appliedConfigSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
