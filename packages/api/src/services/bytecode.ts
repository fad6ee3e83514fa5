import { bestForKernel } from "../bytecode/kernel-match";
import type { Db, Tx } from "../db";

/** What a desired config names: enough for the agent to download (by sha256) and verify the object. */
export interface ChosenBytecode {
  id: string;
  sha256: string;
  name: string;
  size: number;
  kernelMatch: string;
}

const metadataOnly = {
  id: true,
  sha256: true,
  name: true,
  size: true,
  kernelMatch: true,
  isDefault: true,
  createdAt: true,
} as const;

/**
 * The bytecode an agent on `kernelRelease` should run: an exact release match, else the most specific
 * glob (`5.4.*-aws` over `5.*`), else the default CO-RE object, else null (the agent keeps its own).
 */
export async function chooseBytecode(db: Db | Tx, kernelRelease: string): Promise<ChosenBytecode | null> {
  // Metadata only: the objects themselves are megabytes and a check-in must stay cheap.
  const rows = await db.bytecode.findMany({ select: metadataOnly });
  const best = bestForKernel(rows, kernelRelease);
  if (!best) return null;
  return {
    id: best.id,
    sha256: best.sha256,
    name: best.name,
    size: best.size,
    kernelMatch: best.kernelMatch,
  };
}
