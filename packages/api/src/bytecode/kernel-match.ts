import { InterfaceGlob } from "@kernflow/protocol";
import { z } from "zod";

/**
 * A bytecode's kernel match: an exact release (`6.8.0-45-generic`) or a glob over releases (`5.4.*-aws`,
 * `6.?.*`, `*`). Only `*` and `?` are wildcards; the characters allowed are those a kernel release uses
 * (`uname -r`: letters, digits, `.`, `-`, `_`, `+`, `~`), so no regular expression can reach the server.
 */
export const KERNEL_MATCH_MAX = 64;

export const kernelMatchSchema = z
  .string()
  .trim()
  .min(1, "kernel match must not be empty")
  .max(KERNEL_MATCH_MAX, `kernel match is longer than ${KERNEL_MATCH_MAX} characters`)
  .regex(
    /^[A-Za-z0-9._+~*?-]+$/,
    "kernel match may only hold a kernel release's characters (letters, digits, . - _ + ~) and the wildcards * and ?",
  );

export function isKernelGlob(match: string): boolean {
  return match.includes("*") || match.includes("?");
}

/** How specific a pattern is: its literal (non-wildcard) characters. `5.4.*-aws` (7) beats `5.*` (2). */
export function kernelMatchSpecificity(match: string): number {
  let literal = 0;
  for (const c of match) if (c !== "*" && c !== "?") literal += 1;
  return literal;
}

export function kernelMatches(match: string, release: string): boolean {
  if (!isKernelGlob(match)) return match === release;
  // The schema above admits no "[" or "\\", so the interface glob engine sees only literals, * and ?.
  return new InterfaceGlob(match).matches(release);
}

export interface KernelCandidate {
  kernelMatch: string;
  isDefault: boolean;
  createdAt: Date;
}

/**
 * Orders the candidates matching `release` best first: an exact release, then the most specific glob
 * (most literal characters; on a tie the newer upload), then the default bytecode. Returns the best or null.
 */
export function bestForKernel<T extends KernelCandidate>(
  candidates: readonly T[],
  release: string,
): T | null {
  const rank = (c: T): [number, number, number] => {
    const exact = !isKernelGlob(c.kernelMatch) && !c.isDefault ? 2 : c.isDefault ? 0 : 1;
    return [exact, kernelMatchSpecificity(c.kernelMatch), c.createdAt.getTime()];
  };
  let best: T | null = null;
  let bestRank: [number, number, number] | null = null;
  for (const c of candidates) {
    if (!kernelMatches(c.kernelMatch, release)) continue;
    const r = rank(c);
    if (bestRank === null || compareRank(r, bestRank) > 0) {
      best = c;
      bestRank = r;
    }
  }
  return best;
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}
