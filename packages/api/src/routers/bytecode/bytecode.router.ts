import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { MAX_BYTECODE_BYTES } from "../../bytecode/elf";
import {
  chooseBytecode,
  deleteBytecode,
  listBytecode,
  setBytecodeKernelMatch,
  uploadBytecode,
} from "../../services/bytecode";
import { adminProcedure, protectedProcedure } from "../../trpc";
import {
  bytecodeChooseInput,
  bytecodeDeleteInput,
  bytecodeKernelMatchInput,
  bytecodeOutput,
  bytecodeUploadInput,
} from "./bytecode.schema";

export const bytecodeRouter = {
  list: protectedProcedure
    .meta({ rest: { method: "GET", path: "/bytecode", summary: "List stored BPF bytecode objects" } })
    .output(z.array(bytecodeOutput))
    .query(({ ctx }) => listBytecode(ctx.db)),

  /** Which object an agent on this kernel would be given; lets an operator check a kernel match. */
  choose: protectedProcedure
    .meta({
      rest: { method: "GET", path: "/bytecode/choose", summary: "The bytecode chosen for a kernel release" },
    })
    .input(bytecodeChooseInput)
    .output(
      z.object({
        bytecode: bytecodeOutput
          .pick({ id: true, sha256: true, name: true, size: true, kernelMatch: true })
          .nullable(),
      }),
    )
    .query(async ({ ctx, input }) => ({ bytecode: await chooseBytecode(ctx.db, input.kernelRelease) })),

  // Upload is REST only (raw application/octet-stream body, up to 8 MiB): the console page posts the file
  // to this same route with its session cookie and CSRF header, so there is one upload path, no base64.
  upload: adminProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/bytecode",
        summary: "Upload a compiled BPF object (application/octet-stream body) for a kernel match",
        successStatus: 201,
        rawBody: { field: "content", contentType: "application/octet-stream", maxBytes: MAX_BYTECODE_BYTES },
        acceptSessionCookie: true,
      },
    })
    .input(bytecodeUploadInput)
    .output(bytecodeOutput)
    .mutation(({ ctx, input }) =>
      uploadBytecode(ctx.db, ctx.actor, {
        name: input.name,
        kernelMatch: input.kernel_match,
        content: input.content,
      }),
    ),

  setKernelMatch: adminProcedure
    .meta({
      rest: { method: "PATCH", path: "/bytecode/{id}", summary: "Change which kernels a bytecode is for" },
    })
    .input(bytecodeKernelMatchInput)
    .output(bytecodeOutput)
    .mutation(({ ctx, input }) => setBytecodeKernelMatch(ctx.db, ctx.actor, input.id, input.kernelMatch)),

  delete: adminProcedure
    .meta({
      rest: {
        method: "DELETE",
        path: "/bytecode/{id}",
        summary: "Delete a bytecode (not the default; one in use only with force=true)",
      },
    })
    .input(bytecodeDeleteInput)
    .output(bytecodeOutput)
    .mutation(({ ctx, input }) => deleteBytecode(ctx.db, ctx.actor, input.id, { force: input.force })),
} satisfies TRPCRouterRecord;
