import { handleAgentRequest } from "@kernflow/api";
import { serverDb } from "@/server/db";
import { serverFlowStore } from "@/server/flow-store";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// Check-ins are long-polls held up to 30 s (MAX_CHECK_IN_WAIT_MS): no platform timeout may cut them first.
export const maxDuration = 60;

function handle(request: Request): Promise<Response> {
  return handleAgentRequest(request, { db: serverDb(), flowStore: serverFlowStore() });
}

export { handle as GET, handle as POST };
