"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable, ListStates } from "@/features/shell/ResourceList";
import { useTRPC } from "@/trpc/client";
import { DeviceStatusBadge } from "./DeviceStatusBadge";
import { formatAgo, formatRate } from "./format";

/** Agents check in at least every 30 s; refreshing at a third of that keeps status changes visible. */
export const DEVICE_REFRESH_MS = 10_000;

const deviceColumns = [
  "Name",
  "Status",
  "Plan",
  "Last seen",
  "Kernel",
  "Agent",
  "Bytecode",
  { label: "Interfaces attached / matched", num: true },
  { label: "Flows/s", num: true },
] as const;

export function DevicesPage() {
  const trpc = useTRPC();
  const devices = useQuery({ ...trpc.devices.list.queryOptions(), refetchInterval: DEVICE_REFRESH_MS });

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Devices"
        summary="Enrolled agents: whether they check in, what they run and which interfaces they capture on."
        actions={
          <Link className="link-button" href="/enrollment-tokens">
            Enroll a device…
          </Link>
        }
      />
      <ListStates
        query={devices}
        loading="Loading devices…"
        empty="No devices yet. Create an enrollment token and run its command on a host."
      >
        {(rows) => (
          <DataTable label="Devices" columns={deviceColumns}>
            {rows.map((device) => (
              <tr key={device.id}>
                <th scope="row">
                  <Link href={`/devices/${device.id}`}>{device.name}</Link>
                </th>
                <td>
                  <DeviceStatusBadge status={device.status} />
                </td>
                <td>{device.planName}</td>
                <td className="nowrap">{formatAgo(device.lastSeenAt)}</td>
                <td>{device.kernelRelease ?? <span className="muted">—</span>}</td>
                <td>{device.agentVersion ?? <span className="muted">—</span>}</td>
                <td>{device.bytecode ? device.bytecode.name : <span className="muted">built-in</span>}</td>
                <td className="num">
                  {device.interfacesAttached.length} / {device.interfacesMatched.length}
                </td>
                <td className="num">{formatRate(device.flowsPerSecond)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </ListStates>
    </section>
  );
}
