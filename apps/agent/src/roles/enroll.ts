import { AgentClient, AgentHttpError } from "../connected/client";
import { gatherHostFacts } from "../connected/host-facts";
import type { AgentState } from "../connected/state";
import { writeAgentState } from "../connected/state";

export interface EnrollOptions {
  server: string;
  token: string;
  stateDir: string;
  signal?: AbortSignal;
}

/** The console refused the enrolment; the message says why in the operator's terms. */
export class EnrollRefusedError extends Error {
  override readonly name = "EnrollRefusedError";
}

/** Exchanges an enrollment token for this host's device and credential, kept in `state.json` (0600). */
export async function enroll(opts: EnrollOptions): Promise<AgentState> {
  const host = await gatherHostFacts();
  let answer: Awaited<ReturnType<AgentClient["enroll"]>>;
  try {
    answer = await new AgentClient(opts.server, null).enroll({ token: opts.token, host }, opts.signal);
  } catch (error) {
    if (error instanceof AgentHttpError && error.status === 403)
      throw new EnrollRefusedError(
        `enrollment token refused (unknown, expired, revoked or used up): ${error.message}`,
      );
    if (error instanceof AgentHttpError && error.status === 409)
      throw new EnrollRefusedError(`the token's plan has no room for another device: ${error.message}`);
    throw error;
  }
  const state: AgentState = {
    version: 1,
    server: opts.server.replace(/\/+$/, ""),
    device: { id: answer.device.id, name: answer.device.name, plan_name: answer.device.plan_name },
    credential: answer.credential,
    enrolled_at: new Date().toISOString(),
  };
  writeAgentState(opts.stateDir, state);
  return state;
}
