import type { Db, Tx } from "../db";
import { AuthenticationError } from "../errors";
import { randomSecret, sha256Hex } from "../services/secrets";

export const AGENT_CREDENTIAL_PREFIX = "kfa_";

/** A fresh agent credential and the hash the device row keeps (the secret itself is never stored). */
export function generateAgentCredential(): { credential: string; hash: string } {
  const credential = `${AGENT_CREDENTIAL_PREFIX}${randomSecret()}`;
  return { credential, hash: sha256Hex(credential) };
}

export const authenticatedDeviceSelect = {
  id: true,
  name: true,
  planId: true,
  credentialHash: true,
  kernelRelease: true,
  configHashApplied: true,
} as const;

export interface AuthenticatedDevice {
  id: string;
  name: string;
  planId: string;
  credentialHash: string | null;
  kernelRelease: string | null;
  configHashApplied: string | null;
}

export function bearerCredential(request: Request): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];
}

/**
 * The device a request's `Authorization: Bearer <credential>` belongs to. A rotated credential no longer
 * matches any hash and a deleted device has no row, so both are refused here (401).
 */
export async function authenticateAgent(db: Db | Tx, request: Request): Promise<AuthenticatedDevice> {
  const credential = bearerCredential(request);
  if (!credential)
    throw new AuthenticationError("Agent credential missing: send Authorization: Bearer <credential>");
  const device = await db.device.findUnique({
    where: { credentialHash: sha256Hex(credential) },
    select: authenticatedDeviceSelect,
  });
  if (!device) throw unknownCredentialError();
  return device;
}

export function unknownCredentialError(): AuthenticationError {
  return new AuthenticationError(
    "Agent credential is unknown: it was rotated, or the device was deleted; enroll again",
  );
}

/** The credential of `Authorization: Bearer <credential>`; 401 when there is none. */
export function requireBearerCredential(request: Request): string {
  const credential = bearerCredential(request);
  if (!credential)
    throw new AuthenticationError("Agent credential missing: send Authorization: Bearer <credential>");
  return credential;
}
