import { scheduleFlowRetention } from "@kernflow/api";
import { createFlowStore, type FlowStore } from "@kernflow/db";
import { z } from "zod";
import { serverDb } from "./db";

const databaseUrlSchema = z
  .string({ error: "DATABASE_URL is not set: start the console with `npm start`, which provides it" })
  .regex(/^postgres(ql)?:\/\/.+/, "DATABASE_URL must be a postgres:// or postgresql:// URL");

// One flow store (and its own connection pool) per server process, created on first use and kept on
// globalThis for the same reasons as serverDb() in ./db.ts.
const holder = globalThis as typeof globalThis & { kernflowFlowStore?: FlowStore };

export function serverFlowStore(): FlowStore {
  if (!holder.kernflowFlowStore) {
    holder.kernflowFlowStore = createFlowStore(databaseUrlSchema.parse(process.env.DATABASE_URL));
    // Each plan's retention: old day partitions dropped at start and hourly after.
    scheduleFlowRetention(serverDb(), holder.kernflowFlowStore);
  }
  return holder.kernflowFlowStore;
}
