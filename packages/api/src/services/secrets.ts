import { createHash, randomBytes } from "node:crypto";

// Session cookies, API tokens and CSRF tokens are random 256-bit values; only their SHA-256 is stored, so a
// database dump does not hand out working credentials. SHA-256 (not scrypt) is enough: the input has full
// entropy, and lookups must be fast and deterministic to find the row by hash.
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export const API_TOKEN_PREFIX = "kf_";
// The visible prefix lets a user recognise a token in lists and logs without revealing it.
const VISIBLE_CHARS = 8;

export function generateApiToken(): { secret: string; prefix: string; hash: string } {
  const secret = `${API_TOKEN_PREFIX}${randomSecret()}`;
  return {
    secret,
    prefix: secret.slice(0, API_TOKEN_PREFIX.length + VISIBLE_CHARS),
    hash: sha256Hex(secret),
  };
}
