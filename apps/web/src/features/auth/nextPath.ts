// Where to go after signing in. `next` comes from the URL, so only same-site paths are followed: "//host"
// and "/\host" are protocol-relative URLs to another site in browsers.
export function safeNextPath(next: string | null): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}
