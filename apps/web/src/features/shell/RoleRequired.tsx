import type { ReactNode } from "react";
import { useSessionUser } from "./ConsoleShell";
import { PageHeader } from "./PageHeader";
import { hasRole, roleNames } from "./roles";

type Role = Parameters<typeof hasRole>[1];

// A page the signed-in user's role cannot use says so instead of showing a "forbidden" error.
export function RoleRequired({
  title,
  minimum,
  children,
}: {
  title: string;
  minimum: Role;
  children: ReactNode;
}) {
  const me = useSessionUser();
  if (hasRole(me, minimum)) return children;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title={title} />
      <div className="notice" role="status">
        This page needs the {roleNames[minimum]} role. You are signed in as {roleNames[me.role]}.
      </div>
    </section>
  );
}
