import type { TRPCRouterRecord } from "@trpc/server";
import { listAuditEntries } from "../../services/audit";
import { adminProcedure } from "../../trpc";
import { auditListInput, auditListOutput } from "./audit.schema";

export const auditRouter = {
  list: adminProcedure
    .meta({ rest: { method: "GET", path: "/audit", summary: "Audit log, newest first, one page at a time" } })
    .input(auditListInput)
    .output(auditListOutput)
    .query(({ ctx, input }) => listAuditEntries(ctx.db, input)),
} satisfies TRPCRouterRecord;
