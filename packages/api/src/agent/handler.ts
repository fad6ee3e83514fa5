import type { FlowStore } from "@kernflow/db";
import {
  agentPaths,
  checkInRequestSchema,
  enrollRequestSchema,
  type RotateCredentialResponse,
  sha256Hex,
} from "@kernflow/protocol";
import type { Db } from "../db";
import { InvalidInputError, NotFoundError } from "../errors";
import { ingestFlowBatch } from "../flows/ingest";
import { clientIpFromHeaders } from "../http/request-info";
import { writeAudit } from "../services/audit";
import { checkIn } from "./check-in";
import { authenticateAgent, generateAgentCredential, requireBearerCredential } from "./credentials";
import { enrollAgent } from "./enroll";
import { agentErrorResponse, agentJson, agentUnavailable, parseAgentBody } from "./responses";

export interface AgentDeps {
  db: Db;
  /** Where flow batches go; without one, POST flows answers 503. */
  flowStore?: FlowStore;
  /** The client address when the host framework knows it better than the forwarding headers do. */
  clientIp?: string | null;
}

type Route = (request: Request, deps: AgentDeps, rest: string) => Promise<Response>;

const routes: Record<string, Partial<Record<string, Route>>> = {
  [agentPaths.enroll]: {
    POST: async (request, deps) => {
      const body = await parseAgentBody(request, enrollRequestSchema);
      const ip = deps.clientIp !== undefined ? deps.clientIp : clientIpFromHeaders(request);
      return agentJson(await enrollAgent(deps.db, body, ip), 201);
    },
  },
  [agentPaths.checkIn]: {
    POST: async (request, deps) => {
      // Authenticated by the statement that records the report (check-in.ts); a missing credential first.
      const credential = requireBearerCredential(request);
      const body = await parseAgentBody(request, checkInRequestSchema);
      return agentJson(await checkIn(deps.db, credential, body, request.signal), 200);
    },
  },
  [agentPaths.rotateCredential]: {
    POST: async (request, deps) => {
      const device = await authenticateAgent(deps.db, request);
      return agentJson(await rotateCredential(deps, request, device), 200);
    },
  },
  [agentPaths.bytecode]: {
    GET: async (request, deps, rest) => {
      await authenticateAgent(deps.db, request);
      const sha = sha256Hex.safeParse(rest);
      if (!sha.success)
        throw new InvalidInputError(`bytecode path must end in a lowercase hex SHA-256, not "${rest}"`);
      const row = await deps.db.bytecode.findUnique({
        where: { sha256: sha.data },
        select: { content: true },
      });
      if (!row) throw new NotFoundError("Bytecode", sha.data);
      return new Response(row.content, {
        status: 200,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(row.content.byteLength),
          // Content-addressed: the bytes behind a sha256 never change.
          "cache-control": "private, max-age=31536000, immutable",
        },
      });
    },
  },
  [agentPaths.flows]: {
    POST: async (request, deps) => {
      const device = await authenticateAgent(deps.db, request);
      if (!deps.flowStore) return agentUnavailable("flow ingest not available");
      return ingestFlowBatch({ db: deps.db, flowStore: deps.flowStore, device }, request);
    },
  },
};

/** The old credential stops working in the same statement that sets the new one. */
async function rotateCredential(
  deps: AgentDeps,
  request: Request,
  device: { id: string; name: string; credentialHash: string | null },
): Promise<RotateCredentialResponse> {
  const { credential, hash } = generateAgentCredential();
  await deps.db.$transaction(async (tx) => {
    // Conditional on the old hash: of two concurrent rotations with one credential, only one wins.
    const { count } = await tx.device.updateMany({
      where: { id: device.id, credentialHash: device.credentialHash },
      data: { credentialHash: hash },
    });
    if (count === 0) throw new NotFoundError("Device", device.id);
    await writeAudit(
      tx,
      { userId: null, label: `agent ${device.name}`, ip: deps.clientIp ?? clientIpFromHeaders(request) },
      {
        action: "devices.rotateCredential",
        targetType: "device",
        targetId: device.id,
        details: { name: device.name },
      },
    );
  });
  return { credential };
}

/** Serves every path of the agent protocol (`agentPaths`, under /api/agent/v1). */
export async function handleAgentRequest(request: Request, deps: AgentDeps): Promise<Response> {
  try {
    const { pathname } = new URL(request.url);
    const [base, rest] = splitRoute(pathname);
    const methods = routes[base];
    if (!methods) throw new NotFoundError("Agent protocol path", pathname);
    const route = methods[request.method];
    if (!route) {
      return agentJson(
        {
          error: { code: "METHOD_NOT_SUPPORTED", message: `${request.method} is not allowed on ${pathname}` },
        },
        405,
        { allow: Object.keys(methods).join(", ") },
      );
    }
    if (rest !== "" && base !== agentPaths.bytecode) throw new NotFoundError("Agent protocol path", pathname);
    return await route(request, deps, rest);
  } catch (error) {
    return agentErrorResponse(error);
  }
}

function splitRoute(pathname: string): [string, string] {
  const trimmed = pathname.replace(/\/+$/, "");
  if (trimmed.startsWith(`${agentPaths.bytecode}/`)) {
    return [agentPaths.bytecode, trimmed.slice(agentPaths.bytecode.length + 1)];
  }
  return [trimmed, ""];
}
