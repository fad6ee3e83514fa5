export { endpointIdentityColumns, recordColumns, rollupDimensions, wideRecordColumns } from "./columns";
export { dayPartitionName, FLOW_SCHEMA, listDayPartitions } from "./partitions";
export { autoBucketSeconds, InvalidFlowQueryError, MAX_BUCKETS, resolveTimeGrid } from "./query-plan";
export { encodeBatchRows, endpointKeyBytes } from "./record-rows";
export type {
  FlowQueryScope,
  FlowStore,
  FlowStoreOptions,
  PlannedQuery,
  PlanRetention,
  RetentionResult,
  WriteBatchResult,
} from "./store";
export { createFlowStore } from "./store";
