import { TRPCClientError } from "@trpc/client";

// The API words its errors for people (validation failures arrive as "maxDevices: must be at least 1"),
// so the message is shown as it is.
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isUnauthenticated(error: unknown): boolean {
  return (
    error instanceof TRPCClientError &&
    (error.data as { code?: unknown } | undefined)?.code === "UNAUTHORIZED"
  );
}
