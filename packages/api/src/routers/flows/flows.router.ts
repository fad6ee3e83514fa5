import type { TRPCRouterRecord } from "@trpc/server";
import { listFlowDimensions, queryFlows } from "../../flows/query";
import { protectedProcedure } from "../../trpc";
import { flowsDimensionsOutput, flowsQueryInput, flowsQueryOutput } from "./flows.schema";

export const flowsRouter = {
  query: protectedProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/flows/query",
        summary:
          "Flow query: a metric (bits/s, packets/s, retransmits/s, application latency, RTT) over a time range, grouped by up to 4 dimensions, filtered, top N plus other",
      },
    })
    .input(flowsQueryInput)
    .output(flowsQueryOutput)
    .query(({ ctx, input }) => queryFlows(ctx.flowStore, input)),
  dimensions: protectedProcedure
    .meta({
      rest: { method: "GET", path: "/flows/dimensions", summary: "Flow dimensions and metrics, with labels" },
    })
    .output(flowsDimensionsOutput)
    .query(() => listFlowDimensions()),
} satisfies TRPCRouterRecord;
