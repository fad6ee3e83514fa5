import { createHash } from "node:crypto";
import { type DesiredConfig, flowDestinationFromUrl, type SinkConfig } from "@kernflow/protocol";
import type { Db, Tx } from "../db";
import { type ChosenBytecode, chooseBytecode } from "../services/bytecode";
import { onConfigChange } from "./config-bus";

/**
 * How often an agent drains its maps and ships records when nothing says otherwise. Short, because the live
 * explorer must show a packet within 5 s of it crossing the interface (interval + shipping + the page's
 * 2 s refresh); the price is more records for long conversations (one per interval).
 */
export const DEFAULT_INTERVAL_MS = 2_000;

export interface DesiredConfigWithHash {
  config: DesiredConfig;
  hash: string;
}

/** JSON with object keys sorted at every level, so equal configs always hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function hashDesiredConfig(config: DesiredConfig): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}

/** Enabled export targets of the device's plan plus the global ones (no plan), in a stable order. */
async function sinksFor(db: Db | Tx, planId: string): Promise<SinkConfig[]> {
  const targets = await db.exportTarget.findMany({
    where: { enabled: true, OR: [{ planId }, { planId: null }] },
    select: { id: true, kind: true, url: true, enterpriseId: true },
    orderBy: { id: "asc" },
  });
  return targets.map((t) => ({ id: t.id, kind: t.kind, url: t.url, enterprise_id: t.enterpriseId }));
}

/**
 * The parts of a desired config that many devices share (bytecode per kernel, sinks per plan), kept until
 * the next announced change and for at most a second: when a plan-wide change wakes thousands of waiting
 * check-ins at once, they share one query for each instead of each running its own.
 */
const SHARED_PARTS_TTL_MS = 1000;
interface SharedParts {
  bornAt: number;
  generation: number;
  values: Map<string, Promise<unknown>>;
}
const sharedByDb = new WeakMap<object, SharedParts>();
// Bumped by every announced change: parts loaded before it are not handed out after it.
let generation = 0;
// Subscribed once, on first use, for the life of the process.
let listening = false;

function shared<T>(db: Db | Tx, key: string, load: () => Promise<T>): Promise<T> {
  if (!listening) {
    listening = true;
    onConfigChange(() => {
      generation += 1;
    });
  }
  let parts = sharedByDb.get(db);
  const now = Date.now();
  if (!parts || parts.generation !== generation || now - parts.bornAt > SHARED_PARTS_TTL_MS) {
    parts = { bornAt: now, generation, values: new Map() };
    sharedByDb.set(db, parts);
  }
  let value = parts.values.get(key) as Promise<T> | undefined;
  if (!value) {
    value = load();
    parts.values.set(key, value);
    const entries = parts.values;
    // A failed load is not shared with later callers.
    value.catch(() => entries.delete(key));
  }
  return value;
}

/** The parts a desired config is made of, as the loader found them for one device. */
export interface DesiredConfigParts {
  rule: { include: string[]; exclude: string[]; sampleRate: number };
  bytecode: ChosenBytecode | null;
  sinks: SinkConfig[];
  /** The plan's flow destination as stored (null = the console). */
  flowDestination: string | null;
}

/**
 * What the console wants a device to run: its effective capture rule, the bytecode chosen for its kernel,
 * the export sinks and flow destination of its plan, and the default interval; with the SHA-256 of its canonical JSON.
 */
export function buildDesiredConfig({
  rule,
  bytecode,
  sinks,
  flowDestination,
}: DesiredConfigParts): DesiredConfigWithHash {
  const config: DesiredConfig = {
    capture: {
      include: rule.include,
      exclude: rule.exclude,
      sample_rate: rule.sampleRate,
      interval_ms: DEFAULT_INTERVAL_MS,
    },
    bytecode: bytecode
      ? {
          sha256: bytecode.sha256,
          name: bytecode.name,
          size: bytecode.size,
          kernel_match: bytecode.kernelMatch,
        }
      : null,
    sinks,
    flow_destination: flowDestinationFromUrl(flowDestination),
  };
  return { config, hash: hashDesiredConfig(config) };
}

/** The bytecode for a kernel release, shared by every device on that kernel until the next change. */
export function sharedBytecodeFor(db: Db | Tx, kernelRelease: string | null): Promise<ChosenBytecode | null> {
  if (!kernelRelease) return Promise.resolve(null);
  return shared(db, `bytecode:${kernelRelease}`, () => chooseBytecode(db, kernelRelease));
}

/** The id of the bytecode row with this sha256 (null if none), shared until the next change. */
export function sharedBytecodeIdFor(db: Db | Tx, sha256: string): Promise<string | null> {
  return shared(db, `bytecode-id:${sha256}`, async () => {
    const row = await db.bytecode.findUnique({ where: { sha256 }, select: { id: true } });
    return row?.id ?? null;
  });
}

/** The sinks of a plan, shared by every device of the plan until the next change. */
export function sharedSinksFor(db: Db | Tx, planId: string): Promise<SinkConfig[]> {
  return shared(db, `sinks:${planId}`, () => sinksFor(db, planId));
}

/** The flow destination of a plan (null = the console), shared by its devices until the next change. */
export function sharedFlowDestinationFor(db: Db | Tx, planId: string): Promise<string | null> {
  return shared(db, `flow-destination:${planId}`, async () => {
    const plan = await db.plan.findUnique({ where: { id: planId }, select: { flowDestination: true } });
    return plan?.flowDestination ?? null;
  });
}
