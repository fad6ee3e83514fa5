import type { FlowStore } from "@kernflow/db";
import type { Db } from "./db";
import { clientIpFromHeaders, isSecureRequest, readCookie, SESSION_COOKIE } from "./http/request-info";
import { type Authentication, authenticateApiToken, authenticateSession } from "./services/auth";
import { FixedWindowRateLimiter } from "./services/rate-limit";

export interface ApiDeps {
  db: Db;
  /** Where flow records are read (flows.query); absent where no flow store is configured. */
  flowStore?: FlowStore;
  /** Per-IP limiter for auth.login; defaults to one shared by the process (20 attempts a minute). */
  loginLimiter?: FixedWindowRateLimiter;
  /** The client address when the host framework knows it better than the forwarding headers do. */
  clientIp?: string | null;
}

const defaultLoginLimiter = new FixedWindowRateLimiter(20, 60_000);

export interface Context {
  db: Db;
  flowStore: FlowStore | null;
  auth: Authentication | null;
  /** Why credentials that were sent did not authenticate; reported only where authentication is required. */
  authFailure: string | null;
  ip: string | null;
  userAgent: string | null;
  req: Request;
  /** Headers of the response being built (cookies go here); absent when there is no HTTP response. */
  resHeaders: Headers | null;
  secureCookies: boolean;
  loginLimiter: FixedWindowRateLimiter;
}

export interface ContextOptions {
  resHeaders?: Headers | null;
  /** The browser's session cookie counts only on /api/trpc; REST automation must present an API token. */
  acceptSessionCookie: boolean;
}

export async function createContext(req: Request, deps: ApiDeps, options: ContextOptions): Promise<Context> {
  const { auth, authFailure } = await authenticate(req, deps.db, options.acceptSessionCookie);
  return {
    db: deps.db,
    flowStore: deps.flowStore ?? null,
    auth,
    authFailure,
    ip: deps.clientIp !== undefined ? deps.clientIp : clientIpFromHeaders(req),
    userAgent: req.headers.get("user-agent"),
    req,
    resHeaders: options.resHeaders ?? null,
    secureCookies: isSecureRequest(req),
    loginLimiter: deps.loginLimiter ?? defaultLoginLimiter,
  };
}

async function authenticate(
  req: Request,
  db: Db,
  acceptSessionCookie: boolean,
): Promise<{ auth: Authentication | null; authFailure: string | null }> {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "")?.[1];
  const chEmail = req.headers.get("x-ch-auth-email");
  const chToken = req.headers.get("x-ch-auth-api-token");
  if (bearer !== undefined) {
    const auth = await authenticateApiToken(db, bearer, null);
    return auth
      ? { auth, authFailure: null }
      : { auth: null, authFailure: "API token is unknown or revoked" };
  }
  if (chEmail !== null || chToken !== null) {
    if (!chEmail || !chToken) {
      return { auth: null, authFailure: "X-CH-Auth-Email and X-CH-Auth-API-Token must be sent together" };
    }
    const auth = await authenticateApiToken(db, chToken, chEmail);
    return auth
      ? { auth, authFailure: null }
      : { auth: null, authFailure: "API token is unknown, revoked or does not belong to that email" };
  }
  if (acceptSessionCookie) {
    const token = readCookie(req, SESSION_COOKIE);
    if (token) {
      const auth = await authenticateSession(db, token);
      return auth
        ? { auth, authFailure: null }
        : { auth: null, authFailure: "Session expired; log in again" };
    }
  }
  return { auth: null, authFailure: null };
}
