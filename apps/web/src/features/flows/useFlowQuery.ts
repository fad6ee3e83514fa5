"use client";

import type { FlowQuery } from "@kernflow/protocol";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/trpc/client";
import { LIVE_REFRESH_MS } from "./explorer-state";

/**
 * Runs `flows.query`. Live mode polls the same query (refetchInterval) rather than opening a tRPC
 * subscription: the range is relative, so each answer is the sliding window as of now; the console stays
 * stateless behind a load balancer (no per-browser stream to keep on one process); and the page and the
 * latency benchmark measure exactly the same request. `keepPreviousData` keeps the last answer on screen
 * while the next one loads, so neither polling nor a changed control blanks the chart.
 */
export function useFlowQuery(query: FlowQuery, live: boolean) {
  const trpc = useTRPC();
  return useQuery({
    ...trpc.flows.query.queryOptions(query),
    placeholderData: keepPreviousData,
    refetchInterval: live ? LIVE_REFRESH_MS : false,
    // A live view must not go stale in a background tab and then show old data as current.
    refetchIntervalInBackground: false,
    staleTime: live ? 0 : 30_000,
  });
}
