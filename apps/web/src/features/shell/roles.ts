import type { SessionUser } from "./ConsoleShell";

type Role = SessionUser["role"];

export const roles: readonly Role[] = ["member", "admin", "super_admin"];

export const roleNames: Record<Role, string> = {
  member: "member",
  admin: "admin",
  super_admin: "super admin",
};
