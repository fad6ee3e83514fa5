import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { ForbiddenError } from "../../errors";
import { clearedSessionCookie, originMatchesHost, sessionCookie } from "../../http/request-info";
import { login, logout, SESSION_TTL_MS } from "../../services/auth";
import { protectedProcedure, publicProcedure } from "../../trpc";
import { currentUserOutput, loginInput, meOutput, sessionOutput } from "./auth.schema";

export const authRouter = {
  login: publicProcedure
    .input(loginInput)
    .output(z.object({ user: currentUserOutput, csrfToken: z.string(), expiresAt: z.date() }))
    .mutation(async ({ ctx, input }) => {
      // Login has no session yet, hence no CSRF token; a foreign Origin is refused so that another site
      // cannot log the browser into an account of its choosing.
      if (!originMatchesHost(ctx.req)) throw new ForbiddenError("Cross-origin login refused");
      const result = await login(
        ctx.db,
        { email: input.email, password: input.password, ip: ctx.ip, userAgent: ctx.userAgent },
        ctx.loginLimiter,
      );
      ctx.resHeaders?.append(
        "set-cookie",
        sessionCookie(result.sessionToken, Math.floor(SESSION_TTL_MS / 1000), ctx.secureCookies),
      );
      return { user: result.user, csrfToken: result.csrfToken, expiresAt: result.expiresAt };
    }),

  logout: protectedProcedure.output(z.object({ ok: z.literal(true) })).mutation(async ({ ctx }) => {
    if (ctx.auth.kind === "session") await logout(ctx.db, ctx.auth.sessionId, ctx.actor);
    ctx.resHeaders?.append("set-cookie", clearedSessionCookie(ctx.secureCookies));
    return { ok: true as const };
  }),

  /** The browser's view of its login: null when it has no valid session cookie. */
  session: publicProcedure.output(sessionOutput).query(({ ctx }) => {
    const auth = ctx.auth;
    if (auth?.kind !== "session") return null;
    return { user: auth.user, csrfToken: auth.csrfToken, expiresAt: auth.expiresAt };
  }),

  me: protectedProcedure
    .meta({ rest: { method: "GET", path: "/me", summary: "The user the credentials belong to" } })
    .output(meOutput)
    .query(({ ctx }) => ({ user: ctx.auth.user, authenticatedBy: ctx.auth.kind })),
} satisfies TRPCRouterRecord;
