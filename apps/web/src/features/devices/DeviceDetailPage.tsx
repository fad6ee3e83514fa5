"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { DeviceFlowsMiniChart } from "@/features/flows/DeviceFlowsMiniChart";
import { useSessionUser } from "@/features/shell/ConsoleShell";
import { InlineError } from "@/features/shell/InlineError";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable } from "@/features/shell/ResourceList";
import { hasRole } from "@/features/shell/roles";
import { formatTime } from "@/features/shell/time";
import { useTRPC } from "@/trpc/client";
import { DeviceActions } from "./DeviceActions";
import { DeviceStatusBadge } from "./DeviceStatusBadge";
import { DEVICE_REFRESH_MS } from "./DevicesPage";
import styles from "./devices.module.css";
import { formatAgo, formatRate } from "./format";

export function DeviceDetailPage({ id }: { id: string }) {
  const trpc = useTRPC();
  const canManage = hasRole(useSessionUser(), "admin");
  const query = useQuery({ ...trpc.devices.get.queryOptions({ id }), refetchInterval: DEVICE_REFRESH_MS });
  const device = query.data;

  if (!device) {
    return (
      <section aria-labelledby="page-title">
        <PageHeader title="Device" />
        <InlineError error={query.error} />
        {query.isPending ? <p className="muted">Loading device…</p> : null}
        <p>
          <Link href="/devices">All devices</Link>
        </p>
      </section>
    );
  }

  const interfaces = [...new Set([...device.interfacesSeen, ...device.interfacesAttached])].sort();
  const rule = device.captureRule;

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title={device.name}
        summary={`${device.hostname ?? "never checked in"} · plan ${device.planName}`}
        actions={<DeviceStatusBadge status={device.status} />}
      />
      <p>
        <Link href="/devices">← All devices</Link>
      </p>
      <div className={styles.columns}>
        <section className="card" aria-labelledby="device-facts-title">
          <h2 id="device-facts-title">Agent</h2>
          <dl className={styles.facts}>
            <dt>Status</dt>
            <dd>
              <DeviceStatusBadge status={device.status} />{" "}
              {device.health ? `(agent says ${device.health})` : ""}
            </dd>
            <dt>Last seen</dt>
            <dd>
              {formatAgo(device.lastSeenAt)}
              {device.lastSeenAt ? ` (${formatTime(device.lastSeenAt)})` : ""}
            </dd>
            <dt>Kernel</dt>
            <dd>{device.kernelRelease ?? "—"}</dd>
            <dt>OS</dt>
            <dd>{device.os ?? "—"}</dd>
            <dt>Agent version</dt>
            <dd>{device.agentVersion ?? "—"}</dd>
            <dt>Bytecode in use</dt>
            <dd>
              {device.bytecode ? (
                <>
                  {device.bytecode.name} <code>{device.bytecode.sha256.slice(0, 12)}</code>
                </>
              ) : (
                "the agent's built-in object"
              )}
            </dd>
            <dt>Config applied</dt>
            <dd>{device.configHashApplied ? <code>{device.configHashApplied.slice(0, 12)}</code> : "—"}</dd>
            <dt>Flows/s</dt>
            <dd>{formatRate(device.flowsPerSecond)}</dd>
            <dt>Map overflow</dt>
            <dd>{device.mapOverflow ?? "—"}</dd>
            <dt>Records spooled</dt>
            <dd>{device.recordsSpooled ?? "—"}</dd>
            <dt>Machine id</dt>
            <dd>
              <code>{device.machineId ?? "—"}</code>
            </dd>
            <dt>Enrolled</dt>
            <dd>{formatTime(device.createdAt)}</dd>
          </dl>
        </section>

        <section className="card" aria-labelledby="device-interfaces-title">
          <h2 id="device-interfaces-title">Interfaces</h2>
          <p className="muted">
            Capture rule ({rule.source}): include <code>{rule.include.join(", ")}</code>
            {rule.exclude.length > 0 ? (
              <>
                , exclude <code>{rule.exclude.join(", ")}</code>
              </>
            ) : null}
            . {device.interfacesAttached.length} attached of {device.interfacesMatched.length} matched.
          </p>
          {interfaces.length === 0 ? (
            <p className="empty">The agent has not reported any interface yet.</p>
          ) : (
            <DataTable label="Interfaces" columns={["Interface", "Matched by the rule", "Attached"]}>
              {interfaces.map((name) => (
                <tr key={name} data-interface={name}>
                  <th scope="row">
                    <code>{name}</code>
                  </th>
                  <td>{device.interfacesMatched.includes(name) ? "yes" : "no"}</td>
                  <td>{device.interfacesAttached.includes(name) ? "attached" : "—"}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </section>
      </div>

      {device.errors.length > 0 ? (
        <section className="card" aria-labelledby="device-errors-title">
          <h2 id="device-errors-title">Errors reported by the agent</h2>
          <ul>
            {device.errors.map((error) => (
              <li key={`${error.at}-${error.kind}`}>
                {formatTime(error.at)} <strong>{error.kind}</strong>: {error.message}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      {/* SLOT for engineer E (apps/web/src/features/flows): per-device flow mini charts go here, e.g.
          <DeviceFlowsMiniChart deviceName={device.name} />. Left empty on purpose by the devices feature. */}
      <section
        className={`card ${styles.flowsSlot}`}
        aria-labelledby="device-flows-title"
        data-slot="device-flows"
      >
        <h2 id="device-flows-title">Flows</h2>
        <DeviceFlowsMiniChart deviceName={device.name} />
      </section>

      {canManage ? <DeviceActions key={`${device.name}-${device.planId}`} device={device} /> : null}
    </section>
  );
}
