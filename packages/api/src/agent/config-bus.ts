import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import pg from "pg";
import { z } from "zod";

/**
 * Tells waiting check-ins that a device's desired configuration may have changed, so a long-poll answers
 * at once instead of at its timeout. Every service that changes something in a desired config (capture
 * rules, bytecode, export targets, a device's plan) calls {@link announceConfigChange} after its
 * transaction commits.
 *
 * A change names the plans and/or devices it touches; `all: true` means every device (e.g. a new default
 * bytecode). Listeners re-compute the config of their device and answer if its hash moved.
 *
 * Several console processes over one PostgreSQL: once {@link startConfigChangeRelay} runs in a process,
 * every announcement is also published with NOTIFY, and announcements of the other processes arrive by
 * LISTEN and are re-emitted here, so an agent waiting on any process hears a change made on any other.
 */
export interface ConfigChange {
  planIds?: string[];
  deviceIds?: string[];
  all?: boolean;
}

export const CONFIG_CHANGE_CHANNEL = "kernflow_config_change";

const emitter = new EventEmitter();
emitter.setMaxListeners(0);

// Identifies this process's own notifications, which were already emitted locally when announced.
const origin = randomUUID();

const relayedChangeSchema = z.object({
  origin: z.string(),
  change: z.object({
    planIds: z.array(z.string()).optional(),
    deviceIds: z.array(z.string()).optional(),
    all: z.boolean().optional(),
  }),
});

interface Relay {
  client: pg.Client;
  url: string;
}

const holder = globalThis as typeof globalThis & { kernflowConfigRelay?: Promise<Relay> };

export function announceConfigChange(change: ConfigChange): void {
  emitter.emit("change", change);
  const relay = holder.kernflowConfigRelay;
  if (!relay) return;
  void relay
    .then(({ client }) =>
      client.query("SELECT pg_notify($1, $2)", [CONFIG_CHANGE_CHANNEL, JSON.stringify({ origin, change })]),
    )
    .catch((error: unknown) => {
      // Local waiters already heard it; remote ones fall back to their long-poll timeout.
      console.error("[kernflow agent] could not relay a config change through PostgreSQL", error);
    });
}

/** Returns the function that stops listening. */
export function onConfigChange(listener: (change: ConfigChange) => void): () => void {
  emitter.on("change", listener);
  return () => emitter.off("change", listener);
}

/**
 * Starts (once per process) the PostgreSQL relay: one dedicated connection that LISTENs and NOTIFYs.
 * Calling it again returns the same relay. If the connection drops, it reconnects after a pause.
 */
export function startConfigChangeRelay(databaseUrl: string): Promise<void> {
  if (!holder.kernflowConfigRelay) {
    const relay = connectRelay(databaseUrl);
    holder.kernflowConfigRelay = relay;
    // A failed first connection is not remembered: the next call tries again.
    relay.catch(() => {
      if (holder.kernflowConfigRelay === relay) holder.kernflowConfigRelay = undefined;
    });
  }
  return holder.kernflowConfigRelay.then(() => undefined);
}

/** Closes the relay connection (tests, shutdown); announcements are then local only. */
export async function stopConfigChangeRelay(): Promise<void> {
  const relay = holder.kernflowConfigRelay;
  holder.kernflowConfigRelay = undefined;
  if (!relay) return;
  const { client } = await relay;
  client.removeAllListeners("end");
  await client.end();
}

async function connectRelay(url: string): Promise<Relay> {
  const client = new pg.Client({ connectionString: url });
  client.on("notification", (message) => {
    if (message.channel !== CONFIG_CHANGE_CHANNEL || !message.payload) return;
    let parsed: z.infer<typeof relayedChangeSchema>;
    try {
      parsed = relayedChangeSchema.parse(JSON.parse(message.payload));
    } catch (error) {
      console.error("[kernflow agent] ignored a malformed config-change notification", error);
      return;
    }
    if (parsed.origin !== origin) emitter.emit("change", parsed.change);
  });
  client.on("error", (error) =>
    console.error("[kernflow agent] config-change relay connection failed", error),
  );
  client.on("end", () => {
    // Lost connection: every waiter may have missed a change, so release them all, then reconnect.
    emitter.emit("change", { all: true } satisfies ConfigChange);
    holder.kernflowConfigRelay = new Promise((resolve) => setTimeout(resolve, 1000)).then(() =>
      connectRelay(url),
    );
  });
  await client.connect();
  await client.query(`LISTEN ${CONFIG_CHANGE_CHANNEL}`);
  return { client, url };
}
