import { scheduleFlowRetention } from "@kernflow/api";
import { createFlowStore, type FlowStore } from "@kernflow/db";
import { serverDatabaseUrl, serverDb } from "./db";

// One flow store (and its own connection pool) per server process, created on first use and kept on
// globalThis for the same reasons as serverDb() in ./db.ts.
const holder = globalThis as typeof globalThis & {
  kernflowFlowStore?: { store: FlowStore; stopRetention: () => void };
};

export function serverFlowStore(): FlowStore {
  if (!holder.kernflowFlowStore) {
    const store = createFlowStore(serverDatabaseUrl());
    // Each plan's retention: old day partitions dropped at start and hourly after.
    holder.kernflowFlowStore = { store, stopRetention: scheduleFlowRetention(serverDb(), store) };
  }
  return holder.kernflowFlowStore.store;
}

/** Ends the retention schedule and the store's pool (launcher shutdown, before PostgreSQL stops). */
export async function closeServerFlowStore(): Promise<void> {
  const held = holder.kernflowFlowStore;
  holder.kernflowFlowStore = undefined;
  if (!held) return;
  held.stopRetention();
  await held.store.close();
}
