import type { AgentError } from "@kernflow/protocol";

/** The errors that are current (reported on every check-in until resolved; any makes health degraded),
 * keyed by what they are about so a retry replaces its own earlier error instead of piling up. */
export class AgentErrors {
  private readonly current = new Map<string, AgentError>();

  set(key: string, kind: string, message: string): void {
    this.current.set(key, { at: new Date().toISOString(), kind, message: message.slice(0, 4096) });
  }

  clear(key: string): void {
    this.current.delete(key);
  }

  clearWhere(predicate: (key: string) => boolean): void {
    for (const key of [...this.current.keys()]) if (predicate(key)) this.current.delete(key);
  }

  get size(): number {
    return this.current.size;
  }

  /** The newest 50, as the protocol allows. */
  list(): AgentError[] {
    return [...this.current.values()].sort((a, b) => b.at.localeCompare(a.at)).slice(0, 50);
  }
}
