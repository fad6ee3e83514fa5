import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { deleteDevice, getDevice, listDevices, moveDevice, renameDevice } from "../../services/devices";
import { adminProcedure, protectedProcedure } from "../../trpc";
import { idInput } from "../../validation";
import { deviceListInput, deviceMoveInput, deviceOutput, deviceRenameInput } from "./devices.schema";

export const devicesRouter = {
  list: protectedProcedure
    .meta({ rest: { method: "GET", path: "/devices", summary: "List enrolled devices with their status" } })
    .input(deviceListInput)
    .output(z.array(deviceOutput))
    .query(({ ctx, input }) => listDevices(ctx.db, { planId: input?.planId })),

  get: protectedProcedure
    .meta({
      rest: { method: "GET", path: "/devices/{id}", summary: "Get one device with its agent's report" },
    })
    .input(idInput)
    .output(deviceOutput)
    .query(({ ctx, input }) => getDevice(ctx.db, input.id)),

  rename: adminProcedure
    .meta({ rest: { method: "PATCH", path: "/devices/{id}", summary: "Rename a device" } })
    .input(deviceRenameInput)
    .output(deviceOutput)
    .mutation(({ ctx, input }) => renameDevice(ctx.db, ctx.actor, input.id, input.name)),

  move: adminProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/devices/{id}/move",
        summary: "Move a device to another plan (within its limit)",
      },
    })
    .input(deviceMoveInput)
    .output(deviceOutput)
    .mutation(({ ctx, input }) => moveDevice(ctx.db, ctx.actor, input.id, input.planId)),

  delete: adminProcedure
    .meta({
      rest: {
        method: "DELETE",
        path: "/devices/{id}",
        summary: "Unenroll a device (its credential stops working)",
      },
    })
    .input(idInput)
    .output(deviceOutput)
    .mutation(({ ctx, input }) => deleteDevice(ctx.db, ctx.actor, input.id)),
} satisfies TRPCRouterRecord;
