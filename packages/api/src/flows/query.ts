// The flow query service behind flows.query (tRPC) and POST /api/v1/flows/query (REST). The SQL lives in
// packages/db (FlowStore.query); this layer maps the store's errors to domain errors.
import { type FlowQueryScope, type FlowStore, InvalidFlowQueryError } from "@kernflow/db";
import {
  addressDimensions,
  type FlowDimension,
  type FlowQuery,
  type FlowQueryResult,
  flowDimensionLabels,
  flowDimensions,
  flowMetrics,
  volumeMetrics,
} from "@kernflow/protocol";
import { InvalidInputError } from "../errors";

export async function queryFlows(
  flowStore: FlowStore | null,
  query: FlowQuery,
  scope: FlowQueryScope = {},
): Promise<FlowQueryResult> {
  // A console process always has one; its absence is a wiring bug (a 500), not the caller's mistake.
  if (!flowStore)
    throw new Error("flows.query called on an API built without a flow store (ApiDeps.flowStore)");
  try {
    return await flowStore.query(query, scope);
  } catch (error) {
    if (error instanceof InvalidFlowQueryError) throw new InvalidInputError(error.message);
    throw error;
  }
}

export interface FlowDimensionInfo {
  id: FlowDimension;
  label: string;
  /** Which end of the conversation the dimension describes; null for record-wide ones. */
  side: "src" | "dst" | null;
  /** Address dimensions also take `cidr` filters. */
  address: boolean;
}

/** Every dimension with its Kentik-style label, for the explorer's pickers. */
export function listFlowDimensions(): {
  dimensions: FlowDimensionInfo[];
  metrics: { id: (typeof flowMetrics)[number]; volume: boolean }[];
} {
  return {
    dimensions: flowDimensions.map((id) => ({
      id,
      label: flowDimensionLabels[id],
      side: id.startsWith("src_") ? "src" : id.startsWith("dst_") ? "dst" : null,
      address: addressDimensions.includes(id),
    })),
    metrics: flowMetrics.map((id) => ({ id, volume: volumeMetrics.includes(id) })),
  };
}
