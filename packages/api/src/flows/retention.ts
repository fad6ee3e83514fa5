// Applies every plan's retention to the flow store (old day partitions dropped whole). The console runs it
// at start and then hourly; several console processes may run it at once (DROP TABLE IF EXISTS).
import type { FlowStore, RetentionResult } from "@kernflow/db";
import type { Db } from "../db";

export async function applyFlowRetention(
  db: Db,
  flowStore: FlowStore,
  now = new Date(),
): Promise<RetentionResult> {
  const plans = await db.plan.findMany({ select: { id: true, retentionDays: true } });
  return flowStore.applyRetention(
    plans.map((p) => ({ planId: p.id, retentionDays: p.retentionDays })),
    now,
  );
}

export const FLOW_RETENTION_INTERVAL_MS = 60 * 60 * 1000;

/** Runs retention now and every hour; the timer does not keep the process alive. Returns a stop function. */
export function scheduleFlowRetention(
  db: Db,
  flowStore: FlowStore,
  log: (message: string) => void = console.log,
) {
  const run = () => {
    applyFlowRetention(db, flowStore).then(
      (r) => {
        if (r.dropped.length > 0) log(`[kernflow] flow retention dropped ${r.dropped.length} partitions`);
      },
      (error) => console.error("[kernflow] flow retention failed; retrying in an hour", error),
    );
  };
  run();
  const timer = setInterval(run, FLOW_RETENTION_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
