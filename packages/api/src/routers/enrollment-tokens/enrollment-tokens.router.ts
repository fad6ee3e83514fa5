import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import {
  createEnrollmentToken,
  listEnrollmentTokens,
  revokeEnrollmentToken,
} from "../../services/enrollment-tokens";
import { adminProcedure } from "../../trpc";
import { idInput } from "../../validation";
import {
  enrollmentTokenCreateInput,
  enrollmentTokenCreateOutput,
  enrollmentTokenOutput,
} from "./enrollment-tokens.schema";

const HOUR_MS = 3_600_000;

// Enrollment tokens hand out devices in a plan, so even listing them is for admins.
export const enrollmentTokensRouter = {
  list: adminProcedure
    .meta({
      rest: { method: "GET", path: "/enrollment-tokens", summary: "List enrollment tokens with their uses" },
    })
    .output(z.array(enrollmentTokenOutput))
    .query(({ ctx }) => listEnrollmentTokens(ctx.db)),

  create: adminProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/enrollment-tokens",
        summary: "Create an enrollment token (secret and enroll commands shown once)",
        successStatus: 201,
      },
    })
    .input(enrollmentTokenCreateInput)
    .output(enrollmentTokenCreateOutput)
    .mutation(({ ctx, input: { expiresInHours, serverUrl, ...fields } }) =>
      createEnrollmentToken(
        ctx.db,
        ctx.actor,
        { ...fields, expiresAt: new Date(Date.now() + expiresInHours * HOUR_MS) },
        serverUrl ?? new URL(ctx.req.url).origin,
      ),
    ),

  revoke: adminProcedure
    .meta({
      rest: {
        method: "DELETE",
        path: "/enrollment-tokens/{id}",
        summary: "Revoke an enrollment token at once",
      },
    })
    .input(idInput)
    .output(enrollmentTokenOutput)
    .mutation(({ ctx, input }) => revokeEnrollmentToken(ctx.db, ctx.actor, input.id)),
} satisfies TRPCRouterRecord;
