import { z } from "zod";
import { kernelMatchSchema } from "../../bytecode/kernel-match";

const name = z.string().trim().min(1, "must not be empty").max(200);

// REST takes these from the query string (`?name=…&kernel_match=…`) and the object from the raw body.
export const bytecodeUploadInput = z.strictObject({
  name,
  kernel_match: kernelMatchSchema,
  content: z.instanceof(Uint8Array, { message: "send the object as the application/octet-stream body" }),
});

export const bytecodeKernelMatchInput = z.strictObject({ id: z.uuid(), kernelMatch: kernelMatchSchema });

export const bytecodeDeleteInput = z.strictObject({
  id: z.uuid(),
  /** Delete even when devices run it; they move to the next best bytecode. */
  force: z.boolean().default(false),
});

export const bytecodeOutput = z.object({
  id: z.uuid(),
  sha256: z.string(),
  name: z.string(),
  size: z.int(),
  kernelMatch: z.string(),
  isDefault: z.boolean(),
  uploadedBy: z.string().nullable(),
  createdAt: z.date(),
  devicesUsing: z.int(),
});

export const bytecodeChooseInput = z.strictObject({ kernelRelease: z.string().trim().min(1).max(64) });
