// Small readers of request headers shared by the tRPC and REST entry points.

export const SESSION_COOKIE = "kf_session";
export const CSRF_HEADER = "x-kernflow-csrf";

export function readCookie(req: Request, name: string): string | null {
  const header = req.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        // A cookie that is not valid percent-encoding cannot be one we set; treat it as absent.
        return null;
      }
    }
  }
  return null;
}

/**
 * The client address: the right-most X-Forwarded-For entry (the one the nearest proxy, e.g. Next.js itself,
 * appended, which a client cannot forge), else X-Real-IP. Null when the request carries neither.
 */
export function clientIpFromHeaders(req: Request): string | null {
  const forwarded = req.headers.get("x-forwarded-for");
  if (forwarded) {
    const last = forwarded.split(",").at(-1)?.trim();
    if (last) return last;
  }
  return req.headers.get("x-real-ip")?.trim() || null;
}

export function isSecureRequest(req: Request): boolean {
  const proto = req.headers.get("x-forwarded-proto");
  if (proto) return proto.split(",")[0]?.trim() === "https";
  return new URL(req.url).protocol === "https:";
}

export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  const attributes = [
    `${SESSION_COOKIE}=${token}`,
    "HttpOnly",
    "SameSite=Lax",
    "Path=/",
    `Max-Age=${maxAgeSeconds}`,
  ];
  if (secure) attributes.push("Secure");
  return attributes.join("; ");
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie("", 0, secure);
}

/**
 * Browsers send Origin on cross-site requests; if present it must name this very host (the Host header, or
 * X-Forwarded-Host when a reverse proxy rewrote Host; a cross-site page cannot set either).
 */
export function originMatchesHost(req: Request): boolean {
  const origin = req.headers.get("origin");
  if (origin === null) return true;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  const hosts = [req.headers.get("host") ?? new URL(req.url).host, req.headers.get("x-forwarded-host")];
  return hosts.some((host) => host !== null && host === originHost);
}
