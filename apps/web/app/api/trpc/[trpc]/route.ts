import { handleTrpcRequest } from "@kernflow/api";
import { serverDb } from "@/server/db";
import { serverFlowStore } from "@/server/flow-store";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function handle(request: Request): Promise<Response> {
  return handleTrpcRequest(request, { db: serverDb(), flowStore: serverFlowStore() });
}

export { handle as GET, handle as POST };
