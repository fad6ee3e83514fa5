import type { Role } from "@kernflow/db";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import type { Context } from "./context";
import { AuthenticationError, DomainError, ForbiddenError, mapDomainError } from "./errors";
import { CSRF_HEADER, originMatchesHost } from "./http/request-info";
import type { Actor } from "./services/audit";
import { formatZodError } from "./validation";

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

/** Procedures with `rest` are also served under /api/v1 and described in openapi.json. */
export interface Meta {
  rest?: {
    method: HttpMethod;
    path: string;
    summary: string;
    successStatus?: number;
    /**
     * The body is not JSON but raw bytes (e.g. an uploaded object), handed to the procedure as a
     * Uint8Array in input field `field`, with its own size limit instead of the 1 MiB JSON one; the other
     * input fields come from the query string.
     */
    rawBody?: { field: string; contentType: string; maxBytes: number };
    /**
     * The console's pages may call this route with the session cookie (an upload is not tRPC-shaped); the
     * role check still demands the CSRF header and a same-origin request for such mutations.
     */
    acceptSessionCookie?: boolean;
  };
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const zodError = error.cause instanceof ZodError ? error.cause : null;
      return {
        ...shape,
        // A validation failure reads "maxDevices: expected number" rather than a dump of zod issues.
        message: zodError ? formatZodError(zodError) : shape.message,
        data: { ...shape.data, fieldErrors: zodError ? fieldErrors(zodError) : null },
      };
    },
  });

function fieldErrors(error: ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.join(".") || "(input)";
    out[key] = [...(out[key] ?? []), issue.message];
  }
  return out;
}

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

// Services throw DomainErrors; this is the one place they become tRPC errors (and through those, HTTP
// statuses). Input validation failures get a message naming the field ("maxDevices: expected number") here
// too, so server-side callers and REST see the same text as the browser.
const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const cause = result.error.cause;
  if (cause instanceof DomainError) throw mapDomainError(cause);
  if (result.error.code === "BAD_REQUEST" && cause instanceof ZodError) {
    throw new TRPCError({ code: "BAD_REQUEST", message: formatZodError(cause), cause });
  }
  return result;
});

const ROLE_RANK: Record<Role, number> = { member: 0, admin: 1, super_admin: 2 };

/** The one role check: authentication, CSRF for cookie-borne mutations, and the minimum role. */
function requireRole(minimum: Role) {
  return t.middleware(({ ctx, type, next }) => {
    const auth = ctx.auth;
    if (!auth) throw new AuthenticationError(ctx.authFailure ?? "Authentication required");
    if (auth.kind === "session" && type === "mutation") {
      // A cross-site page can make the browser send the cookie but cannot read the CSRF token to echo it.
      if (ctx.req.headers.get(CSRF_HEADER) !== auth.csrfToken) {
        throw new ForbiddenError(`Missing or wrong ${CSRF_HEADER} header`);
      }
      if (!originMatchesHost(ctx.req)) throw new ForbiddenError("Cross-origin request refused");
    }
    if (ROLE_RANK[auth.user.role] < ROLE_RANK[minimum]) {
      throw new ForbiddenError(`This requires the ${minimum} role`);
    }
    const actor: Actor = { userId: auth.user.id, label: auth.user.email, ip: ctx.ip };
    return next({ ctx: { ...ctx, auth, actor } });
  });
}

const baseProcedure = t.procedure.use(errorMapping);
export const publicProcedure = baseProcedure;
export const protectedProcedure = baseProcedure.use(requireRole("member"));
export const adminProcedure = baseProcedure.use(requireRole("admin"));
export const superAdminProcedure = baseProcedure.use(requireRole("super_admin"));
