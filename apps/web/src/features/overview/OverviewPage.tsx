"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useSessionUser } from "@/features/shell/ConsoleShell";
import { InlineError } from "@/features/shell/InlineError";
import { PageHeader } from "@/features/shell/PageHeader";
import { useTRPC } from "@/trpc/client";

function Stat({ label, value, href }: { label: string; value: number | undefined; href: string }) {
  return (
    <Link href={href} className="card stat" aria-label={`${label}: ${value ?? "loading"}`}>
      <span className="stat-value">{value ?? "…"}</span>
      <span className="stat-label">{label}</span>
    </Link>
  );
}

export function OverviewPage() {
  const trpc = useTRPC();
  const me = useSessionUser();
  const plans = useQuery(trpc.plans.list.queryOptions());
  // Listing users is a super admin's right; others simply do not see the count.
  const users = useQuery({ ...trpc.users.list.queryOptions(), enabled: me.role === "super_admin" });

  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Overview" summary="Devices, flows and latency charts arrive with their sections." />
      <InlineError error={plans.error} />
      <InlineError error={users.error} />
      <div className="stats">
        <Stat label="Plans" value={plans.data?.length} href="/plans" />
        <Stat
          label="Devices enrolled"
          value={plans.data?.reduce((total, plan) => total + plan.deviceCount, 0)}
          href="/plans"
        />
        {me.role === "super_admin" ? <Stat label="Users" value={users.data?.length} href="/users" /> : null}
      </div>
    </section>
  );
}
