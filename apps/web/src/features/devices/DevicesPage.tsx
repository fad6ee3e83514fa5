"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { InlineError } from "@/features/shell/InlineError";
import { PageHeader } from "@/features/shell/PageHeader";
import { useTRPC } from "@/trpc/client";
import { DeviceStatusBadge } from "./DeviceStatusBadge";
import { formatAgo, formatRate } from "./format";

/** Agents check in at least every 30 s; refreshing at a third of that keeps status changes visible. */
export const DEVICE_REFRESH_MS = 10_000;

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
      <InlineError error={devices.error} />
      {devices.isPending ? <p className="muted">Loading devices…</p> : null}
      {devices.data && devices.data.length === 0 ? (
        <p className="empty">No devices yet. Create an enrollment token and run its command on a host.</p>
      ) : null}
      {devices.data && devices.data.length > 0 ? (
        <table aria-label="Devices">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Plan</th>
              <th scope="col">Last seen</th>
              <th scope="col">Kernel</th>
              <th scope="col">Agent</th>
              <th scope="col">Bytecode</th>
              <th scope="col" className="num">
                Interfaces attached / matched
              </th>
              <th scope="col" className="num">
                Flows/s
              </th>
            </tr>
          </thead>
          <tbody>
            {devices.data.map((device) => (
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
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
