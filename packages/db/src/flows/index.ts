export { recordColumns, rollupDimensions } from "./columns";
export { dayPartitionName, FLOW_SCHEMA, listDayPartitions } from "./partitions";
export { autoBucketSeconds, InvalidFlowQueryError, MAX_BUCKETS, resolveTimeGrid } from "./query-plan";
export type {
  FlowQueryScope,
  FlowStore,
  FlowStoreOptions,
  PlannedQuery,
  PlanRetention,
  RetentionResult,
  WriteBatchResult,
  WriteMethod,
} from "./store";
export { createFlowStore } from "./store";
