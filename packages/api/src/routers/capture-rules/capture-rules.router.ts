import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import {
  createCaptureRule,
  deleteCaptureRule,
  listCaptureRules,
  previewCaptureRule,
  updateCaptureRule,
} from "../../services/capture-rules";
import { adminProcedure, protectedProcedure } from "../../trpc";
import { idInput } from "../../validation";
import {
  captureRuleCreateInput,
  captureRuleListInput,
  captureRuleOutput,
  captureRulePreviewInput,
  captureRuleUpdateInput,
  devicePreviewOutput,
} from "./capture-rules.schema";

export const captureRulesRouter = {
  list: protectedProcedure
    .meta({
      rest: {
        method: "GET",
        path: "/capture-rules",
        summary: "List capture rules, optionally of one plan or device",
      },
    })
    .input(captureRuleListInput)
    .output(z.array(captureRuleOutput))
    .query(({ ctx, input }) => listCaptureRules(ctx.db, input)),

  create: adminProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/capture-rules",
        summary: "Create the capture rule of a plan or of a device (a device rule overrides its plan's)",
        successStatus: 201,
      },
    })
    .input(captureRuleCreateInput)
    .output(captureRuleOutput)
    .mutation(({ ctx, input }) => {
      const { name, include, exclude, sampleRate } = input;
      const target =
        input.scope === "plan"
          ? { scope: "plan" as const, planId: input.planId }
          : { scope: "device" as const, deviceId: input.deviceId };
      return createCaptureRule(ctx.db, ctx.actor, target, { name, include, exclude, sampleRate });
    }),

  update: adminProcedure
    .meta({
      rest: {
        method: "PATCH",
        path: "/capture-rules/{id}",
        summary: "Change a capture rule's name, globs or sample rate",
      },
    })
    .input(captureRuleUpdateInput)
    .output(captureRuleOutput)
    .mutation(({ ctx, input: { id, ...changes } }) => updateCaptureRule(ctx.db, ctx.actor, id, changes)),

  delete: adminProcedure
    .meta({ rest: { method: "DELETE", path: "/capture-rules/{id}", summary: "Delete a capture rule" } })
    .input(idInput)
    .output(captureRuleOutput)
    .mutation(({ ctx, input }) => deleteCaptureRule(ctx.db, ctx.actor, input.id)),

  // A read (members may preview), but over REST a POST: a draft's glob lists do not fit a query string.
  preview: protectedProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/capture-rules/preview",
        summary: "Which reported interfaces of each device in scope a saved or draft rule matches",
      },
    })
    .input(captureRulePreviewInput)
    .output(z.array(devicePreviewOutput))
    .query(({ ctx, input }) => previewCaptureRule(ctx.db, input)),
} satisfies TRPCRouterRecord;
