import type { SessionUser } from "./ConsoleShell";

type Role = SessionUser["role"];

export const roles: readonly Role[] = ["member", "admin", "super_admin"];

export const roleNames: Record<Role, string> = {
  member: "member",
  admin: "admin",
  super_admin: "super admin",
};

// Only decides what the page offers; the API enforces the same order on every call.
export function hasRole(user: SessionUser, minimum: Role): boolean {
  return roles.indexOf(user.role) >= roles.indexOf(minimum);
}
