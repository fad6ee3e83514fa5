import { handleRestRequest } from "@kernflow/api";
import { serverDb } from "@/server/db";
import { serverFlowStore } from "@/server/flow-store";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function handle(request: Request): Promise<Response> {
  return handleRestRequest(request, { db: serverDb(), flowStore: serverFlowStore() });
}

export { handle as DELETE, handle as GET, handle as PATCH, handle as POST, handle as PUT };
