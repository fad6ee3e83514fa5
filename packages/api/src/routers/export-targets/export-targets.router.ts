import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import {
  createExportTarget,
  deleteExportTarget,
  getExportTarget,
  listExportTargets,
  sendExportTargetTest,
  updateExportTarget,
} from "../../services/export-targets";
import { adminProcedure, protectedProcedure } from "../../trpc";
import { idInput } from "../../validation";
import {
  exportTargetCreateInput,
  exportTargetOutput,
  exportTargetTestOutput,
  exportTargetUpdateInput,
} from "./export-targets.schema";

export const exportTargetsRouter = {
  list: protectedProcedure
    .meta({
      rest: {
        method: "GET",
        path: "/export-targets",
        summary: "List export targets with their delivery state",
      },
    })
    .output(z.array(exportTargetOutput))
    .query(({ ctx }) => listExportTargets(ctx.db)),

  get: protectedProcedure
    .meta({ rest: { method: "GET", path: "/export-targets/{id}", summary: "Get one export target" } })
    .input(idInput)
    .output(exportTargetOutput)
    .query(({ ctx, input }) => getExportTarget(ctx.db, input.id)),

  create: adminProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/export-targets",
        summary: "Create an IPFIX (UDP/TCP) or NATS export target, for one plan or all",
        successStatus: 201,
      },
    })
    .input(exportTargetCreateInput)
    .output(exportTargetOutput)
    .mutation(({ ctx, input }) => createExportTarget(ctx.db, ctx.actor, input)),

  update: adminProcedure
    .meta({
      rest: {
        method: "PATCH",
        path: "/export-targets/{id}",
        summary: "Change an export target; enabled=false pauses it",
      },
    })
    .input(exportTargetUpdateInput)
    .output(exportTargetOutput)
    .mutation(({ ctx, input: { id, ...changes } }) => updateExportTarget(ctx.db, ctx.actor, id, changes)),

  delete: adminProcedure
    .meta({ rest: { method: "DELETE", path: "/export-targets/{id}", summary: "Delete an export target" } })
    .input(idInput)
    .output(exportTargetOutput)
    .mutation(({ ctx, input }) => deleteExportTarget(ctx.db, ctx.actor, input.id)),

  sendTest: adminProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/export-targets/{id}/test",
        summary: "Send one test record to the target's collector and record the outcome",
      },
    })
    .input(idInput)
    .output(exportTargetTestOutput)
    .mutation(({ ctx, input }) => sendExportTargetTest(ctx.db, ctx.actor, input.id)),
} satisfies TRPCRouterRecord;
