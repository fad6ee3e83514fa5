import type { IpfixExporter } from "@kernflow/ipfix";
import { type FlowRecord, type PackedFlowBatch, packedRecordCount, unpackRecords } from "@kernflow/protocol";
import type { Db } from "../db";
import { recordExportFailure, recordExportSuccess } from "../services/export-targets";
import { createTargetExporter, type TargetRow } from "./target-exporter";

interface TargetExporter {
  signature: string;
  exporter: IpfixExporter;
  /** Batches to one target go in order, one at a time. */
  queue: Promise<void>;
  pending: number;
  lastUsed: number;
}

/** An exporter unused this long is closed (its target was deleted, paused or moved): sockets do not pile up. */
const IDLE_CLOSE_MS = 10 * 60_000;

/** Batches waiting for one slow collector beyond this are dropped, so memory stays bounded. */
const MAX_PENDING_BATCHES = 64;

/**
 * The console's IPFIX exporter: after ingest stores a batch, its records go to every enabled IPFIX target
 * of the device's plan and to the global ones (no plan). One exporter (socket, template schedule,
 * sequence, back-off) per target for the life of the process, re-made when the target's kind, URL or
 * enterprise number changes. Failures back off and are written to the target row; nothing here throws
 * at ingest. NATS targets are not served by this build.
 */
export class ConsoleExporter {
  private readonly exporters = new Map<string, TargetExporter>();

  constructor(
    private readonly log: (message: string) => void = (m) => console.error(`[kernflow export] ${m}`),
  ) {}

  /** Resolves once every target has had its try; never rejects. */
  async exportRecords(db: Db, planId: string, source: ExportedRecords): Promise<void> {
    if ((isPacked(source) ? packedRecordCount(source) : source.length) === 0) return;
    let targets: TargetRow[];
    try {
      targets = await db.exportTarget.findMany({
        where: {
          enabled: true,
          kind: { in: ["ipfix_udp", "ipfix_tcp"] },
          OR: [{ planId }, { planId: null }],
        },
        select: { id: true, kind: true, url: true, enterpriseId: true },
      });
    } catch (error) {
      this.log(`cannot read export targets: ${(error as Error).message}`);
      return;
    }
    this.closeIdle(Date.now());
    if (targets.length === 0) return;
    // Unpacked only here: most plans export nothing, and unpacking costs ~1 µs per record.
    const records = isPacked(source) ? unpackRecords(source) : source;
    await Promise.all(targets.map((target) => this.enqueue(db, target, records)));
  }

  private closeIdle(now: number): void {
    for (const [id, entry] of this.exporters) {
      if (entry.pending === 0 && now - entry.lastUsed > IDLE_CLOSE_MS) {
        this.exporters.delete(id);
        void entry.queue.then(() => entry.exporter.close());
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.exporters.values()];
    this.exporters.clear();
    await Promise.all(
      all.map(async (t) => {
        await t.queue;
        await t.exporter.close();
      }),
    );
  }

  private enqueue(db: Db, target: TargetRow, records: readonly FlowRecord[]): Promise<void> {
    const entry = this.exporterFor(target);
    if (entry === null) return Promise.resolve();
    if (entry.pending >= MAX_PENDING_BATCHES) {
      return recordExportFailure(
        db,
        target.id,
        `collector too slow: ${records.length} record(s) dropped`,
      ).catch(() => {});
    }
    entry.pending += 1;
    entry.lastUsed = Date.now();
    const done = entry.queue.then(async () => {
      try {
        const result = await entry.exporter.send(records);
        if (result.sent > 0) await recordExportSuccess(db, target.id, result.sent);
        if (result.error !== null) await recordExportFailure(db, target.id, result.error.message);
      } catch (error) {
        this.log(`export to target ${target.id} failed: ${(error as Error).message}`);
      } finally {
        entry.pending -= 1;
      }
    });
    entry.queue = done;
    return done;
  }

  private exporterFor(target: TargetRow): TargetExporter | null {
    const signature = `${target.kind} ${target.url} ${target.enterpriseId ?? ""}`;
    const existing = this.exporters.get(target.id);
    if (existing?.signature === signature) return existing;
    if (existing !== undefined) {
      const old = existing;
      void old.queue.then(() => old.exporter.close());
    }
    let exporter: IpfixExporter;
    try {
      exporter = createTargetExporter(target, this.log);
    } catch (error) {
      this.log(`export target ${target.id} unusable: ${(error as Error).message}`);
      return null;
    }
    const entry: TargetExporter = {
      signature,
      exporter,
      queue: Promise.resolve(),
      pending: 0,
      lastUsed: Date.now(),
    };
    this.exporters.set(target.id, entry);
    return entry;
  }
}

/** Whole records, or a stored packed batch (unpacked only when some target wants its records). */
export type ExportedRecords = readonly FlowRecord[] | PackedFlowBatch;

function isPacked(source: ExportedRecords): source is PackedFlowBatch {
  return "columns" in source;
}

const consoleExporter = new ConsoleExporter();

/**
 * The hook flow ingest calls after a batch is stored (not for a duplicate batch): sends its records to the
 * enabled IPFIX targets. Ingest does not wait for it; tests may.
 */
export function exportRecords(db: Db, planId: string, source: ExportedRecords): Promise<void> {
  return consoleExporter.exportRecords(db, planId, source);
}
