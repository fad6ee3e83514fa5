"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable, ListStates } from "@/features/shell/ResourceList";
import { RoleRequired } from "@/features/shell/RoleRequired";
import { formatTime } from "@/features/shell/time";
import { useTRPC } from "@/trpc/client";

const PAGE_SIZE = 50;

// "name: \"lab\", maxDevices: 5" reads and wraps better in a table cell than one JSON blob.
function detailsText(details: unknown): string {
  if (details === null || details === undefined) return "";
  if (typeof details !== "object" || Array.isArray(details)) return JSON.stringify(details);
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join(", ");
}

export function AuditLogPage() {
  return (
    <RoleRequired title="Audit log" minimum="admin">
      <AuditLogTable />
    </RoleRequired>
  );
}

function AuditLogTable() {
  const trpc = useTRPC();
  // Cursor pages: each entry in `cursors` is where a page starts, so "Newer" is a step back in the list.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useQuery({
    ...trpc.audit.list.queryOptions({ limit: PAGE_SIZE, cursor }),
    placeholderData: keepPreviousData,
  });
  const nextCursor = page.data?.nextCursor ?? null;

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Audit log"
        summary="Every change made through the console, the API or by agents, newest first."
      />
      <ListStates
        query={{ error: page.error, isPending: page.isPending, data: page.data?.items }}
        loading="Loading audit log…"
        empty="Nothing has been recorded yet."
      >
        {(rows) => (
          <DataTable
            label="Audit log"
            columns={["Time", "Actor", "Action", "Target", "Details", "Address"]}
            className={page.isPlaceholderData ? "dimmed" : undefined}
          >
            {rows.map((entry) => (
              <tr key={entry.id}>
                <td className="nowrap">{formatTime(entry.at)}</td>
                <td>{entry.actorLabel}</td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>
                  {entry.targetType}
                  {entry.targetId ? <span className="muted"> {entry.targetId}</span> : null}
                </td>
                <td className="details">{detailsText(entry.details)}</td>
                <td>{entry.ip ?? ""}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </ListStates>
      <nav className="pager" aria-label="Audit log pages">
        <button
          type="button"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((previous) => previous.slice(0, -1))}
        >
          Newer
        </button>
        <span className="muted">Page {cursors.length}</span>
        <button
          type="button"
          disabled={!nextCursor || page.isPlaceholderData}
          onClick={() => nextCursor && setCursors((previous) => [...previous, nextCursor])}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
