import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { createUser, deleteUser, listUsers, resetPassword, updateUser } from "../../services/users";
import { superAdminProcedure } from "../../trpc";
import { idInput } from "../../validation";
import { userCreateInput, userOutput, userResetPasswordInput, userUpdateInput } from "./users.schema";

export const usersRouter = {
  list: superAdminProcedure
    .meta({ rest: { method: "GET", path: "/users", summary: "List users" } })
    .output(z.array(userOutput))
    .query(({ ctx }) => listUsers(ctx.db)),

  create: superAdminProcedure
    .meta({ rest: { method: "POST", path: "/users", summary: "Create a user", successStatus: 201 } })
    .input(userCreateInput)
    .output(userOutput)
    .mutation(({ ctx, input }) => createUser(ctx.db, ctx.actor, input)),

  update: superAdminProcedure
    .meta({ rest: { method: "PATCH", path: "/users/{id}", summary: "Change a user's name or role" } })
    .input(userUpdateInput)
    .output(userOutput)
    .mutation(({ ctx, input: { id, ...changes } }) => updateUser(ctx.db, ctx.actor, id, changes)),

  resetPassword: superAdminProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/users/{id}/password",
        summary: "Set a new password, unlock the account and end its sessions",
      },
    })
    .input(userResetPasswordInput)
    .output(userOutput)
    .mutation(({ ctx, input }) => resetPassword(ctx.db, ctx.actor, input.id, input.password)),

  delete: superAdminProcedure
    .meta({
      rest: {
        method: "DELETE",
        path: "/users/{id}",
        summary: "Delete a user (not yourself, not the last super_admin)",
      },
    })
    .input(idInput)
    .output(userOutput)
    .mutation(({ ctx, input }) => deleteUser(ctx.db, ctx.actor, input.id)),
} satisfies TRPCRouterRecord;
