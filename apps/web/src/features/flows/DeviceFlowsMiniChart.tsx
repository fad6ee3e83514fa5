"use client";

import { type FlowMetric, flowQuerySchema } from "@kernflow/protocol";
import Link from "next/link";
import { InlineError } from "@/features/shell/InlineError";
import { explorerSearchParams } from "./explorer-state";
import { FlowChart } from "./FlowChart";
import { isEmpty } from "./FlowsExplorer";
import styles from "./flows.module.css";
import { metricLabels } from "./units";
import { useFlowQuery } from "./useFlowQuery";

const HOUR = 3600;

// Everything the device itself saw: it is one end of each conversation it records, so keeping both
// vantages counts its sent and its received traffic, each once.
function deviceQuery(deviceName: string, metric: FlowMetric) {
  return flowQuerySchema.parse({
    metric,
    group_by: [],
    filters: [{ dimension: "device", op: "eq", value: deviceName }],
    range: { last_seconds: HOUR },
    bucket_seconds: 60,
    vantage: "all",
  });
}

/** Bits/s and packets/s of one device over the last hour, with a link to the same view in the explorer. */
export function DeviceFlowsMiniChart({ deviceName }: { deviceName: string }) {
  const bits = useFlowQuery(deviceQuery(deviceName, "bits_per_s"), true);
  const packets = useFlowQuery(deviceQuery(deviceName, "packets_per_s"), true);
  const explorerLink = `/flows?${explorerSearchParams({ query: deviceQuery(deviceName, "bits_per_s"), live: false })}`;
  const empty = bits.data && packets.data && isEmpty(bits.data) && isEmpty(packets.data);

  return (
    <div>
      <p className="muted">
        Bits/s and packets/s this device recorded over the last hour (both directions).{" "}
        <Link href={explorerLink}>Open in Flows</Link>
      </p>
      <InlineError error={bits.error ?? packets.error} />
      {bits.isPending || packets.isPending ? <p className="muted">Loading traffic…</p> : null}
      {empty ? <p className="empty">This device has sent no flows in the last hour.</p> : null}
      {!empty && bits.data && packets.data ? (
        <div className={styles.mini}>
          {[bits.data, packets.data].map((result) => (
            <div key={result.metric}>
              <h3>{metricLabels[result.metric]}</h3>
              <FlowChart
                result={result}
                height={160}
                label={`${metricLabels[result.metric]} of ${deviceName}`}
              />
            </div>
          ))}
        </div>
      ) : null}
    </div>
  );
}
