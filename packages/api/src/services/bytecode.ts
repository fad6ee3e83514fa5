import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { announceConfigChange } from "../agent/config-bus";
import { InvalidBytecodeError, validateBytecode } from "../bytecode/elf";
import { bestForKernel, kernelMatches } from "../bytecode/kernel-match";
import type { Db, Tx } from "../db";
import { isUniqueViolation } from "../db";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { type Actor, writeAudit } from "./audit";
import { serializable } from "./transactions";

/** What a desired config names: enough for the agent to download (by sha256) and verify the object. */
export interface ChosenBytecode {
  id: string;
  sha256: string;
  name: string;
  size: number;
  kernelMatch: string;
}

export interface BytecodeView extends ChosenBytecode {
  isDefault: boolean;
  uploadedBy: string | null;
  createdAt: Date;
  /** Devices that report running this object. */
  devicesUsing: number;
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

/** The object itself, for the agent's download by sha256; null when no such bytecode is stored. */
export async function bytecodeContent(db: Db | Tx, sha256: string): Promise<Uint8Array | null> {
  const row = await db.bytecode.findUnique({ where: { sha256 }, select: { content: true } });
  return row ? row.content : null;
}

export async function listBytecode(db: Db | Tx): Promise<BytecodeView[]> {
  const rows = await db.bytecode.findMany({
    select: {
      ...metadataOnly,
      uploadedBy: { select: { email: true } },
      _count: { select: { devices: true } },
    },
    // The default first, then the newest uploads.
    orderBy: [{ isDefault: "desc" }, { createdAt: "desc" }],
  });
  return rows.map(({ uploadedBy, _count, ...row }) => ({
    ...row,
    uploadedBy: uploadedBy?.email ?? null,
    devicesUsing: _count.devices,
  }));
}

async function getBytecode(db: Db | Tx, id: string): Promise<BytecodeView> {
  const view = (await listBytecode(db)).find((b) => b.id === id);
  if (!view) throw new NotFoundError("Bytecode", id);
  return view;
}

function sha256Of(content: Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

function validateOrReject(content: Uint8Array): void {
  try {
    validateBytecode(content);
  } catch (error) {
    if (error instanceof InvalidBytecodeError)
      throw new InvalidInputError(`Rejected bytecode: ${error.message}`);
    throw error;
  }
}

/** Devices whose reported kernel any of the patterns matches, plus those running one of the given objects. */
async function affectedDevices(db: Db, patterns: string[], bytecodeIds: string[]): Promise<string[]> {
  const devices = await db.device.findMany({ select: { id: true, kernelRelease: true, bytecodeId: true } });
  return devices
    .filter(
      (d) =>
        (d.bytecodeId !== null && bytecodeIds.includes(d.bytecodeId)) ||
        (d.kernelRelease !== null && patterns.some((p) => kernelMatches(p, d.kernelRelease as string))),
    )
    .map((d) => d.id);
}

async function announceFor(db: Db, patterns: string[], bytecodeIds: string[]): Promise<void> {
  const deviceIds = await affectedDevices(db, patterns, bytecodeIds);
  if (deviceIds.length > 0) announceConfigChange({ deviceIds });
}

async function duplicateMessage(db: Db | Tx, sha256: string): Promise<string> {
  const existing = await db.bytecode.findUnique({ where: { sha256 }, select: { id: true, name: true } });
  return existing
    ? `This object is already stored as "${existing.name}" (${existing.id})`
    : "This object is already stored";
}

export interface BytecodeUpload {
  name: string;
  kernelMatch: string;
  content: Uint8Array;
}

export async function uploadBytecode(db: Db, actor: Actor, upload: BytecodeUpload): Promise<BytecodeView> {
  validateOrReject(upload.content);
  const sha256 = sha256Of(upload.content);
  let id: string;
  try {
    id = await db.$transaction(async (tx) => {
      if (await tx.bytecode.findUnique({ where: { sha256 }, select: { id: true } })) {
        throw new ConflictError(await duplicateMessage(tx, sha256));
      }
      const row = await tx.bytecode.create({
        data: {
          sha256,
          name: upload.name,
          size: upload.content.byteLength,
          kernelMatch: upload.kernelMatch,
          content: new Uint8Array(upload.content),
          uploadedById: actor.userId,
        },
        select: { id: true },
      });
      await writeAudit(tx, actor, {
        action: "bytecode.upload",
        targetType: "bytecode",
        targetId: row.id,
        details: {
          name: upload.name,
          kernelMatch: upload.kernelMatch,
          sha256,
          size: upload.content.byteLength,
        },
      });
      return row.id;
    });
  } catch (error) {
    // Two simultaneous uploads of one object: the loser hears which row won.
    if (isUniqueViolation(error)) throw new ConflictError(await duplicateMessage(db, sha256));
    throw error;
  }
  await announceFor(db, [upload.kernelMatch], []);
  return getBytecode(db, id);
}

export async function setBytecodeKernelMatch(
  db: Db,
  actor: Actor,
  id: string,
  kernelMatch: string,
): Promise<BytecodeView> {
  const before = await db.$transaction(async (tx) => {
    const row = await tx.bytecode.findUnique({ where: { id }, select: metadataOnly });
    if (!row) throw new NotFoundError("Bytecode", id);
    if (row.isDefault) {
      throw new InvalidInputError("The default bytecode matches every kernel (*); its kernel match is fixed");
    }
    await tx.bytecode.update({ where: { id }, data: { kernelMatch } });
    await writeAudit(tx, actor, {
      action: "bytecode.set_kernel_match",
      targetType: "bytecode",
      targetId: id,
      details: { name: row.name, kernelMatch: { from: row.kernelMatch, to: kernelMatch } },
    });
    return row;
  });
  await announceFor(db, [before.kernelMatch, kernelMatch], [id]);
  return getBytecode(db, id);
}

export async function deleteBytecode(
  db: Db,
  actor: Actor,
  id: string,
  options: { force: boolean },
): Promise<BytecodeView> {
  // Serializable: a device must not start reporting this object between the in-use check and the delete.
  const { view, usedBy } = await serializable(db, async (tx) => {
    const view = await getBytecode(tx, id);
    if (view.isDefault) {
      throw new ConflictError(`"${view.name}" is the default bytecode; it is replaced at start, not deleted`);
    }
    const users = await tx.device.findMany({ where: { bytecodeId: id }, select: { id: true, name: true } });
    if (users.length > 0 && !options.force) {
      const names = users.slice(0, 5).map((d) => d.name);
      const more = users.length > 5 ? ` and ${users.length - 5} more` : "";
      throw new ConflictError(
        `"${view.name}" is in use by ${users.length} device(s) (${names.join(", ")}${more}); delete with force to move them to the next best bytecode`,
      );
    }
    await tx.bytecode.delete({ where: { id } });
    await writeAudit(tx, actor, {
      action: "bytecode.delete",
      targetType: "bytecode",
      targetId: id,
      details: { name: view.name, sha256: view.sha256, force: options.force, devicesUsing: users.length },
    });
    return { view, usedBy: users.map((d) => d.id) };
  });
  const deviceIds = [...new Set([...usedBy, ...(await affectedDevices(db, [view.kernelMatch], []))])];
  if (deviceIds.length > 0) announceConfigChange({ deviceIds });
  return view;
}

const systemActor: Actor = { userId: null, label: "system", ip: null };

export const DEFAULT_BYTECODE_NAME = "kernflow.bpf.o (built-in CO-RE)";

/**
 * Registers the object built from bpf/ as the default CO-RE bytecode (kernel match `*`). Idempotent: the
 * same build changes nothing; a new build becomes the default and the previous default is removed, since
 * a stale build kept under `*` would outrank nothing and only confuse the list. Every agent is told.
 */
export async function registerDefaultBytecode(
  db: Db,
  path: string,
): Promise<{ id: string; sha256: string; changed: boolean }> {
  const content = new Uint8Array(await readFile(path));
  try {
    validateBytecode(content);
  } catch (error) {
    if (error instanceof InvalidBytecodeError) {
      throw new InvalidBytecodeError(`${path} cannot be the default bytecode: ${error.message}`);
    }
    throw error;
  }
  const sha256 = sha256Of(content);
  const result = await serializable(db, async (tx) => {
    const current = await tx.bytecode.findFirst({
      where: { isDefault: true },
      select: { id: true, sha256: true },
    });
    if (current?.sha256 === sha256) return { id: current.id, changed: false };
    const previous = await tx.bytecode.findMany({ where: { isDefault: true }, select: { id: true } });
    await tx.bytecode.deleteMany({ where: { id: { in: previous.map((p) => p.id) } } });
    // The same object may already be stored as an upload: it is promoted rather than stored twice.
    const row = await tx.bytecode.upsert({
      where: { sha256 },
      create: {
        sha256,
        name: DEFAULT_BYTECODE_NAME,
        size: content.byteLength,
        kernelMatch: "*",
        isDefault: true,
        content: Buffer.from(content),
      },
      update: { isDefault: true, kernelMatch: "*" },
      select: { id: true },
    });
    await writeAudit(tx, systemActor, {
      action: "bytecode.register_default",
      targetType: "bytecode",
      targetId: row.id,
      details: { path, sha256, size: content.byteLength, replaced: previous.map((p) => p.id) },
    });
    return { id: row.id, changed: true };
  });
  if (result.changed) announceConfigChange({ all: true });
  return { ...result, sha256 };
}
