import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { ContainerRef } from "./cgroup";

/**
 * Container names on hosts without Kubernetes, read from the runtime's own state: Docker keeps each
 * container's config (with its name) in `<docker root>/containers/<id>/config.v2.json`. On Kubernetes
 * the aggregator names containers from kubetags instead, so a miss here is normal and cheap.
 */
export interface ContainerNameResolverOptions {
  dockerRoot?: string;
  /** Names change only on `docker rename`; a minute of staleness keeps the file reads rare. */
  ttlMs?: number;
  now?: () => number;
  /** Told about config files that cannot be read as Docker's; capture goes on with the name unknown. */
  warn?: (message: string) => void;
}

const dockerConfigSchema = z.object({ Name: z.string() });

export class ContainerNameResolver {
  private readonly dockerRoot: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  private readonly cache = new Map<string, { name: string | null; expires: number }>();

  constructor(options: ContainerNameResolverOptions = {}) {
    this.dockerRoot = options.dockerRoot ?? "/var/lib/docker";
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.warn = options.warn ?? ((message) => process.emitWarning(message, "KernflowEnrichWarning"));
  }

  async nameOf(container: ContainerRef): Promise<string | null> {
    // Only Docker writes this file; "unknown" covers cgroupfs layouts Docker also produces.
    if (container.runtime !== "docker" && container.runtime !== "unknown") return null;
    const now = this.now();
    const cached = this.cache.get(container.id);
    if (cached !== undefined && cached.expires > now) return cached.name;
    const name = await this.readDockerName(container.id);
    this.cache.set(container.id, { name, expires: now + this.ttlMs });
    return name;
  }

  private async readDockerName(id: string): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(join(this.dockerRoot, "containers", id, "config.v2.json"), "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // No Docker on this host, or the container is already gone: the name is simply unknown.
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw error;
    }
    let parsed: z.ZodSafeParseResult<z.infer<typeof dockerConfigSchema>>;
    try {
      parsed = dockerConfigSchema.safeParse(JSON.parse(text));
    } catch (error) {
      // A file Docker is rewriting at this instant can be cut short; the next lookup after the TTL retries.
      this.warn(`Docker config of container ${id} is not JSON: ${(error as Error).message}`);
      return null;
    }
    if (!parsed.success) {
      // One odd file must not stop flow capture for the whole host; say so and leave the name unknown.
      this.warn(`unexpected Docker config for container ${id}: ${z.prettifyError(parsed.error)}`);
      return null;
    }
    return parsed.data.Name.replace(/^\//, "") || null;
  }
}
