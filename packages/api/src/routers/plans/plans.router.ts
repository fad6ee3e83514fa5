import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { createPlan, deletePlan, getPlan, listPlans, updatePlan } from "../../services/plans";
import { adminProcedure, protectedProcedure } from "../../trpc";
import { idInput } from "../../validation";
import { planCreateInput, planOutput, planUpdateInput } from "./plans.schema";

export const plansRouter = {
  list: protectedProcedure
    .meta({ rest: { method: "GET", path: "/plans", summary: "List plans with their device counts" } })
    .output(z.array(planOutput))
    .query(({ ctx }) => listPlans(ctx.db)),

  get: protectedProcedure
    .meta({ rest: { method: "GET", path: "/plans/{id}", summary: "Get one plan" } })
    .input(idInput)
    .output(planOutput)
    .query(({ ctx, input }) => getPlan(ctx.db, input.id)),

  create: adminProcedure
    .meta({ rest: { method: "POST", path: "/plans", summary: "Create a plan", successStatus: 201 } })
    .input(planCreateInput)
    .output(planOutput)
    .mutation(({ ctx, input }) => createPlan(ctx.db, ctx.actor, input)),

  update: adminProcedure
    .meta({
      rest: {
        method: "PATCH",
        path: "/plans/{id}",
        summary: "Change a plan's name, description, limits or flow destination",
      },
    })
    .input(planUpdateInput)
    .output(planOutput)
    .mutation(({ ctx, input: { id, ...changes } }) => updatePlan(ctx.db, ctx.actor, id, changes)),

  delete: adminProcedure
    .meta({ rest: { method: "DELETE", path: "/plans/{id}", summary: "Delete a plan no device uses" } })
    .input(idInput)
    .output(planOutput)
    .mutation(({ ctx, input }) => deletePlan(ctx.db, ctx.actor, input.id)),
} satisfies TRPCRouterRecord;
