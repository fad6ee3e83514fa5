import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { createApiToken, listApiTokens, revokeApiToken } from "../../services/api-tokens";
import { protectedProcedure } from "../../trpc";
import { idInput } from "../../validation";
import { apiTokenCreateInput, apiTokenCreateOutput, apiTokenOutput } from "./api-tokens.schema";

// Every user manages their own tokens; a token acts with its owner's role.
export const apiTokensRouter = {
  list: protectedProcedure
    .meta({ rest: { method: "GET", path: "/api-tokens", summary: "List your API tokens" } })
    .output(z.array(apiTokenOutput))
    .query(({ ctx }) => listApiTokens(ctx.db, ctx.auth.user.id)),

  create: protectedProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/api-tokens",
        summary: "Create an API token (secret shown once)",
        successStatus: 201,
      },
    })
    .input(apiTokenCreateInput)
    .output(apiTokenCreateOutput)
    .mutation(({ ctx, input }) =>
      createApiToken(ctx.db, { ...ctx.actor, userId: ctx.auth.user.id }, input.name),
    ),

  revoke: protectedProcedure
    .meta({ rest: { method: "DELETE", path: "/api-tokens/{id}", summary: "Revoke one of your API tokens" } })
    .input(idInput)
    .output(apiTokenOutput)
    .mutation(({ ctx, input }) =>
      revokeApiToken(ctx.db, { ...ctx.actor, userId: ctx.auth.user.id }, input.id),
    ),
} satisfies TRPCRouterRecord;
