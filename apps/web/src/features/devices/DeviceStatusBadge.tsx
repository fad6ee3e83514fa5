import styles from "./devices.module.css";

export type DeviceStatus = "pending" | "online" | "offline" | "degraded";

const explanation: Record<DeviceStatus, string> = {
  pending: "enrolled, never checked in",
  online: "checking in",
  degraded: "checking in, but the agent reports errors",
  offline: "missed its check-ins",
};

export function DeviceStatusBadge({ status }: { status: DeviceStatus }) {
  return (
    <span className={`${styles.status} ${styles[status]}`} title={explanation[status]} data-status={status}>
      {status}
    </span>
  );
}
