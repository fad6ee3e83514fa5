import { EventEmitter } from "node:events";

/**
 * Tells waiting check-ins that a device's desired configuration may have changed, so a long-poll answers
 * at once instead of at its timeout. Every service that changes something in a desired config (capture
 * rules, bytecode, export targets, a device's plan) calls {@link announceConfigChange} after its
 * transaction commits.
 *
 * A change names the plans and/or devices it touches; `all: true` means every device (e.g. a new default
 * bytecode). Listeners re-compute the config of their device and answer if its hash moved.
 */
export interface ConfigChange {
  planIds?: string[];
  deviceIds?: string[];
  all?: boolean;
}

const emitter = new EventEmitter();
emitter.setMaxListeners(0);

export function announceConfigChange(change: ConfigChange): void {
  emitter.emit("change", change);
}

/** Returns the function that stops listening. */
export function onConfigChange(listener: (change: ConfigChange) => void): () => void {
  emitter.on("change", listener);
  return () => emitter.off("change", listener);
}
