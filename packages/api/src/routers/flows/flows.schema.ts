import {
  flowDimensionSchema,
  flowMetricSchema,
  flowQueryResultSchema,
  flowQuerySchema,
} from "@kernflow/protocol";
import { z } from "zod";

/** The query model is the protocol's, shared with the explorer and REST. */
export const flowsQueryInput = flowQuerySchema;
export const flowsQueryOutput = flowQueryResultSchema;

export const flowsDimensionsOutput = z.object({
  dimensions: z.array(
    z.object({
      id: flowDimensionSchema,
      label: z.string(),
      side: z.enum(["src", "dst"]).nullable(),
      address: z.boolean(),
    }),
  ),
  metrics: z.array(z.object({ id: flowMetricSchema, volume: z.boolean() })),
});
